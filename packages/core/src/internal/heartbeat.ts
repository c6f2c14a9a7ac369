/**
 * Pings and heartbeats of an open session: `ping` on the handle, the pong
 * bookkeeping the read path calls per pong, and the session's heartbeat
 * loop (protocol pings or an application message), which ends the session
 * with `HeartbeatTimeout` when an answer is late and the reader was not to
 * blame.
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
      ? Effect.fail(new Errors.HeartbeatTimeout({ connection: self.name, session: current.number, timeout }))
      : Effect.succeed(Duration.nanos(rtt)))
}

/** A deadline passed while the reader waited on a slow subscriber (the pong could not be read): wait for it, excused. */
const excused = (self: ConnectionImpl<any>): Effect.Effect<boolean> =>
  Effect.suspend(() => self.readerBlocked ? Effect.as(Idle.awaitReader(self), true) : Effect.succeed(false))

const missed = Effect.fnUntraced(function*(self: ConnectionImpl<any>, current: Lifecycle.Open, timeout: number) {
  yield* self.emit(ConnectionEvent.HeartbeatMissed({ at: self.now(), session: current.number, timeout }))
  yield* Close.endSession(
    current,
    new Errors.HeartbeatTimeout({ connection: self.name, session: current.number, timeout }),
    "terminate"
  )
})

const protocolLoop = Effect.fnUntraced(function*(
  self: ConnectionImpl<any>,
  current: Lifecycle.Open,
  hb: Extract<ConnectionImpl<any>["cfg"]["heartbeat"], { readonly _tag: "Protocol" }>
) {
  while (current.endReason === undefined) {
    yield* Effect.sleep(Duration.millis(hb.interval))
    const rtt = yield* pingOnce(self, current, hb.timeout, hb.payload).pipe(Effect.orElseSucceed(() => null))
    if (rtt === null) return
    if (rtt === undefined && !(yield* excused(self))) return yield* missed(self, current, hb.timeout)
  }
})

const messageLoop = Effect.fnUntraced(function*(
  self: ConnectionImpl<any>,
  current: Lifecycle.Open,
  hb: Extract<ConnectionImpl<any>["cfg"]["heartbeat"], { readonly _tag: "Message" }>
) {
  while (current.endReason === undefined) {
    yield* Effect.sleep(Duration.millis(hb.interval))
    const pong = Deferred.makeUnsafe<bigint>()
    self.messagePong = pong
    const sentAt = self.clock.monotonicTimeNanosUnsafe()
    const sent = yield* Effect.exit(Send.sendOn(self, current, hb.message()))
    if (Exit.isFailure(sent)) return
    const answered = yield* Deferred.await(pong).pipe(
      Effect.map((readAt) => {
        self.lastRtt = Number(readAt - sentAt) / NANOS_PER_MILLI
        self.metrics?.rtt(self.lastRtt)
        return true
      }),
      Effect.timeoutOrElse({ duration: Duration.millis(hb.timeout), orElse: () => Effect.succeed(false) })
    )
    if (!answered && !(yield* excused(self))) return yield* missed(self, current, hb.timeout)
  }
})

/** The session's heartbeat, forked in the session's scope; `undefined` for `Heartbeat.none`. */
export const loop = (self: ConnectionImpl<any>, current: Lifecycle.Open): Effect.Effect<void> | undefined => {
  const hb = self.cfg.heartbeat
  switch (hb._tag) {
    case "None":
      return undefined
    case "Protocol":
      return protocolLoop(self, current, hb)
    case "Message":
      return messageLoop(self, current, hb)
  }
}
