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
 */
import type * as Frame from "../Frame.ts"

/** Delivers a batch synchronously; `false` if the fiber must take over (the batch is then the reader's to finish). */
export type DirectReader = (batch: ReadonlyArray<Frame.Frame>) => boolean

/** Attaches a reader to a session's inbox (`undefined` detaches). */
export type Attach = (reader: DirectReader | undefined) => void

const sources = new WeakMap<object, Attach>()

/** Called by an `Inbox` for its `take` effect. */
export const register = (take: object, attach: Attach): void => {
  sources.set(take, attach)
}

/** The attach function behind a session's `take`, if it is an `Inbox`'s. */
export const attachOf = (take: object): Attach | undefined => sources.get(take)
