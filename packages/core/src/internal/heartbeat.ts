/**
 * Pings and heartbeats of an open session: `ping` on the handle, the pong
 * bookkeeping the read path calls per pong, and the session's heartbeat
 * (protocol pings or an application message), which ends the session with
 * `HeartbeatTimeout` when an answer is late and the reader was not to
 * blame. Between rounds a heartbeat is a timer in its clock's shared
 * `Timers`; a round runs on a fiber of its own.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { ConnectionShape } from "../Connection.ts"
import * as Errors from "../ConnectionError.ts"
import { ConnectionEvent } from "../ConnectionEvent.ts"
import type * as Frame from "../Frame.ts"
import * as Close from "./close.ts"
import type { ConnectionImpl } from "./connection.ts"
import { CurrentState } from "./currentState.ts"
import * as Idle from "./idle.ts"
import * as Lifecycle from "./lifecycle.ts"
import * as Send from "./send.ts"
import * as Timers from "./timers.ts"

export interface PendingPing {
  readonly key: string
  /** The `Clock`'s monotonic time when the ping was sent, in nanoseconds. */
  readonly sentAt: bigint
  /** Completed with the round-trip time in nanoseconds. */
  readonly done: Deferred.Deferred<bigint, Errors.NotConnected>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Nanoseconds in a millisecond, for RTTs in fractional milliseconds. */
const NANOS_PER_MILLI = 1_000_000

/** A protocol pong was read: it answers the ping with its payload, or else the oldest. */
export const pongRead = (self: ConnectionImpl<any>, frame: Frame.Pong): void => {
  const pings = self.pendingPings
  if (pings === undefined || pings.length === 0) return
  const key = decoder.decode(frame.data)
  let index = pings.findIndex((p) => p.key === key)
  if (index < 0) index = 0
  const [answered] = pings.splice(index, 1)
  const rtt = self.clock.monotonicTimeNanosUnsafe() - answered!.sentAt
  self.lastRtt = Number(rtt) / NANOS_PER_MILLI
  self.metrics?.rtt(self.lastRtt)
  Deferred.doneUnsafe(answered!.done, Effect.succeed(rtt))
}

/** The message heartbeat's pong was read: only a pong pays for the clock read, for the RTT. */
export const messagePongRead = (self: ConnectionImpl<any>): void => {
  if (self.messagePong !== undefined) {
    Deferred.doneUnsafe(self.messagePong, Effect.succeed(self.clock.monotonicTimeNanosUnsafe()))
  }
}

const removePing = (self: ConnectionImpl<any>, pending: PendingPing): void => {
  self.pendingPings = self.pendingPings?.filter((p) => p !== pending)
}

/**
 * Sends a protocol ping; waits for the pong and returns the RTT in
 * nanoseconds (from the `Clock`'s monotonic time, taken when the ping is
 * sent and when its pong is read), or `undefined` after `timeout`.
 */
const pingOnce = Effect.fnUntraced(function*(
  self: ConnectionImpl<any>,
  current: Lifecycle.Open,
  timeout: number,
  payload?: Uint8Array
) {
  const key = payload === undefined ? `kh${++self.pingCounter}` : decoder.decode(payload)
  const pending: PendingPing = {
    key,
    sentAt: self.clock.monotonicTimeNanosUnsafe(),
    done: Deferred.makeUnsafe<bigint, Errors.NotConnected>()
  }
  const pings = self.pendingPings ??= []
  pings.push(pending)
  yield* current.socket.ping(payload ?? encoder.encode(key)).pipe(
    Effect.tapError(() => Effect.sync(() => removePing(self, pending)))
  )
  return yield* Deferred.await(pending.done).pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(timeout),
      orElse: () => Effect.sync(() => (removePing(self, pending), undefined))
    })
  )
})

/** Fails the pings still waiting: their session ended. */
export const failPending = (self: ConnectionImpl<any>): void => {
  const pings = self.pendingPings
  self.pendingPings = undefined
  if (pings === undefined || pings.length === 0) return
  // An error is made only when someone waits for it.
  const gone = new Errors.NotConnected({ connection: self.name, state: "session ended before the pong" })
  for (const pending of pings) Deferred.doneUnsafe(pending.done, Effect.fail(gone))
}

/** The handle's `ping`: a protocol ping on the open session, timed out as the heartbeat's would be. */
export const ping = (self: ConnectionImpl<any>): ConnectionShape["ping"] => {
  const current = Lifecycle.usable(self)
  if (current === undefined) {
    return Effect.fail(new Errors.NotConnected({ connection: self.name, state: self[CurrentState]()._tag }))
  }
  const hb = self.cfg.heartbeat
  const timeout = hb._tag === "None" ? self.cfg.connectTimeout : hb.timeout
  return Effect.flatMap(pingOnce(self, current, timeout), (rtt) =>
    rtt === undefined
      ? Effect.fail(new Errors.HeartbeatTimeout({ connection: self.name, session: current.state.session, timeout }))
      : Effect.succeed(Duration.nanos(rtt)))
}

/** A deadline passed while the reader waited on a slow subscriber (the pong could not be read): wait for it, excused. */
const excused = (self: ConnectionImpl<any>): Effect.Effect<boolean> =>
  Effect.suspend(() => self.readerBlocked ? Effect.as(Idle.awaitReader(self), true) : Effect.succeed(false))

const missed = Effect.fnUntraced(function*(self: ConnectionImpl<any>, current: Lifecycle.Open, timeout: number) {
  yield* self.emit(ConnectionEvent.HeartbeatMissed({ at: self.now(), session: current.state.session, timeout }))
  yield* Close.endSession(
    current,
    new Errors.HeartbeatTimeout({ connection: self.name, session: current.state.session, timeout }),
    "terminate"
  )
})

/**
 * One protocol heartbeat round: the ping, and the wait for its pong. `true`
 * to go on (answered, or late while the reader was blocked), `false` when
 * the session ended or the round ended it.
 */
const protocolRound = (
  self: ConnectionImpl<any>,
  current: Lifecycle.Open,
  hb: Extract<ConnectionImpl<any>["cfg"]["heartbeat"], { readonly _tag: "Protocol" }>
): Effect.Effect<boolean> =>
  Effect.flatMap(pingOnce(self, current, hb.timeout, hb.payload).pipe(Effect.orElseSucceed(() => null)), (rtt) => {
    if (rtt === null) return Effect.succeed(false)
    if (rtt !== undefined) return Effect.succeed(true)
    return Effect.flatMap(
      excused(self),
      (ok) => ok ? Effect.succeed(true) : Effect.as(missed(self, current, hb.timeout), false)
    )
  })

/** One message heartbeat round: the message, and the wait for its pong; as `protocolRound`. */
const messageRound = Effect.fnUntraced(function*(
  self: ConnectionImpl<any>,
  current: Lifecycle.Open,
  hb: Extract<ConnectionImpl<any>["cfg"]["heartbeat"], { readonly _tag: "Message" }>
) {
  const pong = Deferred.makeUnsafe<bigint>()
  self.messagePong = pong
  const sentAt = self.clock.monotonicTimeNanosUnsafe()
  const sent = yield* Effect.exit(Send.sendOn(self, current, hb.message()))
  if (Exit.isFailure(sent)) return false
  const answered = yield* Deferred.await(pong).pipe(
    Effect.map((readAt) => {
      self.lastRtt = Number(readAt - sentAt) / NANOS_PER_MILLI
      self.metrics?.rtt(self.lastRtt)
      return true
    }),
    Effect.timeoutOrElse({ duration: Duration.millis(hb.timeout), orElse: () => Effect.succeed(false) })
  )
  if (answered || (yield* excused(self))) return true
  yield* missed(self, current, hb.timeout)
  return false
})

/**
 * A session's heartbeat between rounds: its timer in the clock's shared
 * `Timers` (no fiber while it waits), and the fiber of the round under way,
 * if one is. Ended by `stop` when the session's scope closes.
 */
export interface Beat extends Timers.Duty {
  readonly current: Lifecycle.Open
}

/** Whether `beat` is still the heartbeat of a session going on. */
const beating = (self: ConnectionImpl<any>, beat: Beat): boolean =>
  self.beat === beat && beat.current.endReason === undefined

/** The next round `interval` ms from now, on the clock's shared timers. */
const schedule = (self: ConnectionImpl<any>, beat: Beat, interval: number): Effect.Effect<void> =>
  Effect.map(Timers.forClock(self.clock).add(interval, () => runRound(self, beat)), (timer) => {
    beat.timer = timer
  })

/** A round is due: run on a fiber of its own, which schedules the next round if the session goes on. */
const runRound = (self: ConnectionImpl<any>, beat: Beat): void => {
  beat.timer = undefined
  const hb = self.cfg.heartbeat
  if (hb._tag === "None" || !beating(self, beat)) return
  const round = hb._tag === "Protocol" ? protocolRound(self, beat.current, hb) : messageRound(self, beat.current, hb)
  Timers.runDuty(
    self.services!,
    beat,
    Effect.flatMap(round, (goOn) => goOn && beating(self, beat) ? schedule(self, beat, hb.interval) : Effect.void)
  )
}

/**
 * Starts the session's heartbeat (nothing for `Heartbeat.none`): its first
 * round `interval` ms from now. Runs on a fiber with the connection's clock.
 */
export const start = (self: ConnectionImpl<any>, current: Lifecycle.Open): Effect.Effect<void> => {
  const hb = self.cfg.heartbeat
  if (hb._tag === "None") return Effect.void
  const beat: Beat = { current, timer: undefined, fiber: undefined }
  self.beat = beat
  return schedule(self, beat, hb.interval)
}

/** Ends the session's heartbeat: its timer, and the round under way (interrupted). */
export const stop = (self: ConnectionImpl<any>): void => {
  const beat = self.beat
  if (beat === undefined) return
  self.beat = undefined
  Timers.endDuty(self.clock, beat)
}
