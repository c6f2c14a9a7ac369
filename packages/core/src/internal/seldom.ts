/**
 * The fields of a connection (internal/connection.ts) that it sets only now
 * and then, kept in an object of their own that the first of them to be set
 * makes.
 */
import type * as Effect from "effect/Effect"
import type * as Dial from "./dial.ts"
import type * as Lifecycle from "./lifecycle.ts"

/**
 * What a connection sets only now and then (a failure's backoff, a close,
 * a failed hook, work the direct path left), made by the first of them to
 * be set: an idle healthy connection holds none of it (four fields less
 * per connection). Read and written through the connection's accessors
 * of the same names.
 */
export class Seldom<R> {
  /**
   * Work the direct path (`ReadDirect`, `ReadOne`) could not finish
   * synchronously and left for the read loop's fiber, which the session
   * then wakes (`Wake`); the fiber runs it before the next batch it takes
   * (`takeLeftover`). Only ever set while the reader waits for a take
   * (detached, or its fiber parked in `Park`), so the two paths never
   * overlap.
   */
  leftover: Effect.Effect<void, never, R> | undefined = undefined
  /**
   * The reconnect schedule, stepped with each failure; `undefined` after a
   * reset until the next failure makes a fresh one, so an open connection
   * holds none.
   */
  step: Dial.ReconnectStep | undefined = undefined
  /** Set once by `close`; every phase honours it at its next step. */
  closeRequest: Lifecycle.CloseRequest | undefined = undefined
  /** The session whose first failed hook was logged as a warning (internal/logs.ts). */
  hookFailureWarned: number | undefined = undefined
}
