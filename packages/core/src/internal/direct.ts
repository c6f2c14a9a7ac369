/**
 * A synchronous way for a connection to read an `Inbox`, with no fiber of
 * its own while nothing needs one. The connection's read loop takes with
 * `TakeOrDetach`: when the inbox is empty, the take *detaches* the reader
 * instead of parking a fiber, and the loop's fiber ends. From then on the
 * inbox's flush hands each batch to the reader's `ReadDirect`, which
 * returns `true` when it delivered the whole batch synchronously, or
 * `false` when it needs a fiber (an Effect-returning or failing hook, a
 * full `suspend` subscriber), having left the rest of the work for it; the
 * inbox then calls the reader's `Wake` with an empty batch, and the reader
 * forks a fiber that goes on with its read loop. The session's end, and a
 * batch with no direct reader to take it, wake it the same way. So an idle
 * open connection holds no fiber, no parked continuation and no async
 * context. Transports built on `Inbox` get this for free; any other
 * session is read through a fiber parked in its `take`.
 *
 * A frame that arrives while the reader waits (detached, or parked) and nothing is
 * buffered is first offered alone (`ReadOne`): a frame is then in its
 * consumer's hands as the transport emits it, not after the rest of its
 * read was parsed. A reader that declines gets it in the read's batch.
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
   * Offered a frame the moment the transport reads it, while the reader waits
   * (detached, or parked) and nothing is buffered ahead of it: a frame whose consumers are
   * plain functions or waiting subscribers is delivered at once, without
   * waiting for the rest of its socket read. `smallReads` says whether the
   * source's recent socket reads held few frames: handing frames over one
   * by one is worth it only then.
   */
  readonly [ReadOne]: (frame: Frame.Frame, smallReads: boolean) => Took
  /**
   * Whether the reader keeps its fiber parked rather than detach: a reader
   * that needs a fiber for every read anyway (its hooks return effects)
   * would otherwise fork one per read.
   */
  readonly [KeepsFiber]: boolean
  /** Called by `TakeOrDetach` in the step that detaches the reader (its fiber is about to end). */
  readonly [Detached]: () => void
  /**
   * Called once per detach when the reader must go on with a fiber: with
   * the frames to deliver, an empty batch (work `ReadDirect` or `ReadOne`
   * left), or `END`.
   */
  readonly [Wake]: (frames: Effect.Effect<ReadonlyArray<Frame.Frame>>) => void
}

/** The method a source of direct reads implements (an `Inbox`). */
export const AttachDirect: unique symbol = Symbol.for("@kharbranth/core/internal/AttachDirect")

/**
 * A source's take, a synchronous method (the reader makes the effect that
 * calls it, held by its fiber only): the buffered frames;
 * `END` once the source has ended and is empty; or, when there is nothing
 * to take, `DETACHED`, having detached the attached reader (its `Detached`
 * called in the same step) until it is woken by `Wake`, or `PARK` for a
 * reader that keeps its fiber.
 */
export const TakeOrDetach: unique symbol = Symbol.for("@kharbranth/core/internal/TakeOrDetach")

/** The source's take that parks the reader's fiber until there is something to take (see `PARK`). */
export const Park: unique symbol = Symbol.for("@kharbranth/core/internal/Park")

/** Whether a reader keeps its fiber parked rather than detach (see `DirectReader`). */
export const KeepsFiber: unique symbol = Symbol.for("@kharbranth/core/internal/KeepsFiber")

/** The reader's method `TakeOrDetach` calls as it detaches it. */
export const Detached: unique symbol = Symbol.for("@kharbranth/core/internal/Detached")

/** The reader's method a source calls to wake it after a detach. */
export const Wake: unique symbol = Symbol.for("@kharbranth/core/internal/Wake")

/** The terminal error of a source that gave `END`. */
export const EndedWith: unique symbol = Symbol.for("@kharbranth/core/internal/EndedWith")

/**
 * What `TakeOrDetach` gives once the source has ended and is empty. A read
 * loop over it needs no failure handler.
 */
export const END: ReadonlyArray<never> = Object.freeze([])

/** What `TakeOrDetach` gives when there is nothing to take: the reader has been detached. */
export const DETACHED: ReadonlyArray<never> = Object.freeze([])

/**
 * What `TakeOrDetach` gives when there is nothing to take and the reader
 * keeps its fiber (`KeepsFiber`): it then waits in `Park`, which registers
 * no cleanup for an interrupted take (the reader detaches itself with
 * `AttachDirect(undefined)`).
 */
export const PARK: ReadonlyArray<never> = Object.freeze([])

/**
 * What can be read directly: attaches a reader to a session's inbox;
 * `undefined` detaches it for good (a reader detached by `TakeOrDetach` is
 * then never woken, and one parked in `Park` never resumed).
 */
export interface Source<E = unknown> {
  readonly [AttachDirect]: (reader: DirectReader | undefined) => void
  readonly [TakeOrDetach]: () => ReadonlyArray<Frame.Frame>
  readonly [Park]: Effect.Effect<ReadonlyArray<Frame.Frame>>
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
