/**
 * A synchronous way for a connection to read an `Inbox` without waking its
 * fiber. While the connection's read loop is parked in `take`, the inbox's
 * flush hands each batch to the connection's direct reader instead; the
 * reader returns `true` when it delivered the whole batch synchronously, or
 * `false` when it needs its fiber (an Effect-returning or failing hook, a
 * full `suspend` subscriber), in which case the inbox wakes the parked
 * `take` with an empty batch and the reader has left the rest of the work
 * for the fiber. Transports built on `Inbox` get this for free; any other
 * session is read through its fiber as before.
 *
 * A frame that arrives while the reader is parked and nothing is buffered
 * is first offered alone (`ReadOne`): a frame is then in its consumer's
 * hands as the transport emits it, not after the rest of its read was
 * parsed. A reader that declines gets it in the read's batch.
 */
import type * as Effect from "effect/Effect"
import type * as Frame from "../Frame.ts"

/** The method a direct reader implements (a symbol: it is not part of any public shape). */
export const ReadDirect: unique symbol = Symbol.for("@kharbranth/core/internal/ReadDirect")

/** The method that takes one frame as the transport reads it, before the rest of its read (see `ReadOne`). */
export const ReadOne: unique symbol = Symbol.for("@kharbranth/core/internal/ReadOne")

/**
 * What `ReadOne` did with a frame: `DECLINED` (not taken: the source
 * buffers it for the batch, as every other frame), `DELIVERED` (synchronously), or
 * `LEFT_WORK` (taken, and the rest of its delivery left for the reader's
 * fiber, which the source must wake).
 */
export type Took = typeof DECLINED | typeof DELIVERED | typeof LEFT_WORK
export const DECLINED = 0
export const DELIVERED = 1
export const LEFT_WORK = 2

/**
 * Delivers a batch synchronously; `false` if the fiber must take over (the
 * batch is then the reader's to finish). An object with a method, not a
 * closure: the connection itself is the reader, so a read touches no extra
 * function or context object.
 */
export interface DirectReader {
  readonly [ReadDirect]: (batch: ReadonlyArray<Frame.Frame>) => boolean
  /**
   * Offered a frame the moment the transport reads it, while the reader is
   * parked and nothing is buffered ahead of it: a frame whose consumers are
   * plain functions or waiting subscribers is delivered at once, without
   * waiting for the rest of its socket read. `smallReads` says whether the
   * source's recent socket reads held few frames: handing frames over one
   * by one is worth it only then.
   */
  readonly [ReadOne]: (frame: Frame.Frame, smallReads: boolean) => Took
}

/** The method a source of direct reads implements (an `Inbox`). */
export const AttachDirect: unique symbol = Symbol.for("@kharbranth/core/internal/AttachDirect")

/**
 * A source's `take` that never fails: the end comes as `END`, its error
 * from `EndedWith`. It registers no cleanup for an interrupted take (one
 * more closure and stack frame per park, held by every idle connection's
 * fiber): a reader interrupted while parked in it detaches itself with
 * `AttachDirect(undefined)`, which also drops its parked take.
 */
export const TakeOrEnd: unique symbol = Symbol.for("@kharbranth/core/internal/TakeOrEnd")

/** The terminal error of a source that gave `END`. */
export const EndedWith: unique symbol = Symbol.for("@kharbranth/core/internal/EndedWith")

/**
 * What `TakeOrEnd` gives once the source has ended and is empty. A read
 * loop over it needs no failure handler, which would be one more frame
 * (and closures) held by every idle connection's parked fiber.
 */
export const END: ReadonlyArray<never> = Object.freeze([])

/**
 * What can be read directly: attaches a reader to a session's inbox
 * (`undefined` detaches it, and drops a take of `TakeOrEnd` left parked by
 * an interrupted reader).
 */
export interface Source<E = unknown> {
  readonly [AttachDirect]: (reader: DirectReader | undefined) => void
  readonly [TakeOrEnd]: Effect.Effect<ReadonlyArray<Frame.Frame>>
  readonly [EndedWith]: () => E
}

const sources = new WeakMap<object, Source>()

/** Called by an `Inbox` for its `take` effect. */
export const register = (take: object, source: Source): void => {
  sources.set(take, source)
}

const isSource = (value: object): value is Source => AttachDirect in value

/**
 * The source behind a session: the session itself if it is an `Inbox` (a
 * transport's session may extend it), or the `Inbox` whose `take` it
 * passes on; `undefined` for any other session.
 */
export const sourceOf = <E>(session: { readonly take: object }): Source<E> | undefined =>
  (isSource(session) ? session : sources.get(session.take)) as Source<E> | undefined
