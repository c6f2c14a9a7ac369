/**
 * The idle timer of an open session (`idleTimeout`): a session that reads
 * no data for that long is closed with `IdleTimeout`, and cut after
 * `closeTimeout` if the peer does not answer the close frame. Time spent
 * waiting on a slow subscriber does not count, since the socket is paused.
 * While data keeps coming the timer is an entry in the clock's shared
 * `Timers`, with no fiber.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Errors from "../ConnectionError.ts"
import { endSession } from "./close.ts"
import type { ConnectionImpl } from "./connection.ts"
import type * as Lifecycle from "./lifecycle.ts"
import * as Timers from "./timers.ts"

/** Waits while the reader waits on a slow subscriber. */
export const awaitReader = Effect.fnUntraced(function*(self: ConnectionImpl<any>) {
  while (self.readerBlocked) yield* Effect.sleep(Duration.millis(10))
})

/**
 * A session's idle timer (`idleTimeout`): a timer in the clock's shared
 * `Timers` while data keeps coming (no fiber of its own), and the fiber
 * that ends the session once it went quiet, if it has come to that. Ended
 * by `stop` when the session's scope closes.
 */
export interface Watch extends Timers.Duty {
  readonly current: Lifecycle.Open
  readonly idle: number
}

/** Starts the session's idle timer: it first looks `idle` ms after the session's last data. */
export const start = (self: ConnectionImpl<any>, current: Lifecycle.Open, idle: number): Effect.Effect<void> => {
  const watch: Watch = { current, idle, timer: undefined, fiber: undefined }
  self.idleWatch = watch
  return arm(self, watch, self.lastDataAt! + idle - self.now())
}

const arm = (self: ConnectionImpl<any>, watch: Watch, delay: number): Effect.Effect<void> =>
  Effect.map(Timers.forClock(self.clock).add(Math.max(0, delay), () => look(self, watch)), (timer) => {
    watch.timer = timer
  })

/**
 * The timer came (a callback of the clock's `Timers`): look again later if
 * data came meanwhile, wait out a blocked reader, or end the session.
 */
const look = (self: ConnectionImpl<any>, watch: Watch): void => {
  watch.timer = undefined
  const current = watch.current
  if (self.idleWatch !== watch || current.endReason !== undefined) return
  const remaining = self.lastDataAt! + watch.idle - self.now()
  if (remaining > 0) {
    // Data came meanwhile: look again when the session would next be idle, with no fiber.
    watch.timer = Timers.forClock(self.clock).addFromCallback(remaining, () => look(self, watch))
    return
  }
  const next = self.readerBlocked
    // Time spent waiting on a slow subscriber does not count: the socket was paused.
    ? Effect.andThen(
      awaitReader(self),
      Effect.suspend(() => {
        self.lastDataAt = self.now()
        return arm(self, watch, watch.idle)
      })
    )
    : quiet(self, current, watch.idle)
  Timers.runDuty(self.services!, watch, next)
}

/** The session went quiet: closed with `IdleTimeout`, and cut after `closeTimeout` if the peer does not answer. */
const quiet = Effect.fnUntraced(function*(self: ConnectionImpl<any>, current: Lifecycle.Open, idle: number) {
  const error = new Errors.IdleTimeout({ connection: self.name, session: current.state.session, idleTimeout: idle })
  yield* endSession(current, error, "close", 4000, "idle timeout")
  // A peer that does not answer the close frame is cut after closeTimeout
  // (this fiber is interrupted first if the session ends sooner).
  yield* Effect.sleep(Duration.millis(self.cfg.closeTimeout))
  return yield* current.socket.terminate
})

/** Ends the session's idle timer: its timer, and the fiber it runs, if any (interrupted). */
export const stop = (self: ConnectionImpl<any>): void => {
  const watch = self.idleWatch
  if (watch === undefined) return
  self.idleWatch = undefined
  Timers.endDuty(self.clock, watch)
}
