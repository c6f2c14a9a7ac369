/**
 * The idle timer of an open session (`idleTimeout`): a session that reads
 * no data for that long is closed with `IdleTimeout`, and cut after
 * `closeTimeout` if the peer does not answer the close frame. Time spent
 * waiting on a slow subscriber does not count, since the socket is paused.
 * Also how a session is ended, once, by whoever ends it first.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Errors from "../ConnectionError.ts"
import { endSession } from "./close.ts"
import type { ConnectionImpl } from "./connection.ts"
import type * as Lifecycle from "./lifecycle.ts"

/** Waits while the reader waits on a slow subscriber. */
export const awaitReader = Effect.fnUntraced(function*(self: ConnectionImpl<any>) {
  while (self.readerBlocked) yield* Effect.sleep(Duration.millis(10))
})

/** The session's idle timer, forked in the session's scope. */
export const loop = Effect.fnUntraced(function*(self: ConnectionImpl<any>, current: Lifecycle.Open, idle: number) {
  while (current.endReason === undefined) {
    const remaining = self.lastDataAt! + idle - self.now()
    if (remaining > 0) {
      yield* Effect.sleep(Duration.millis(remaining))
    } else if (self.readerBlocked) {
      yield* awaitReader(self)
      self.lastDataAt = self.now()
    } else {
      const error = new Errors.IdleTimeout({ connection: self.name, session: current.number, idleTimeout: idle })
      yield* endSession(current, error, "close", 4000, "idle timeout")
      // A peer that does not answer the close frame is cut after closeTimeout
      // (this fiber is interrupted first if the session ends sooner).
      yield* Effect.sleep(Duration.millis(self.cfg.closeTimeout))
      return yield* current.socket.terminate
    }
  }
})
