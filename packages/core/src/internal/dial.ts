/**
 * The dial loop of one connection: read the URL, dial it (through the
 * manager's governor if the transport has one), open the session (the
 * `onOpen` hook, queued sends, heartbeat and idle timer), read it on the
 * loop's fiber (connection.ts), settle how it ended, then reconnect after
 * the reconnect schedule's delay or end the loop. Each step is a small
 * generator; the steps are joined by tail calls (`Effect.flatMap`), so
 * that while a session is read the fiber holds the read loop's
 * continuation and no suspended generator, however many reconnects came
 * before. Also `restart`, which cuts a session or a backoff short.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Config from "../ConnectionConfig.ts"
import * as Errors from "../ConnectionError.ts"
import { ConnectionEvent } from "../ConnectionEvent.ts"
import { ConnectionState } from "../ConnectionState.ts"
import type * as States from "../ConnectionState.ts"
import type * as Frame from "../Frame.ts"
import * as ReconnectPolicy from "../ReconnectPolicy.ts"
import type * as Transport from "../Transport.ts"
import * as Close from "./close.ts"
import type { ConnectionImpl } from "./connection.ts"
import { CurrentState } from "./currentState.ts"
import * as DialScope from "./dialScope.ts"
import * as Heartbeat from "./heartbeat.ts"
import * as Idle from "./idle.ts"
import * as Lifecycle from "./lifecycle.ts"
import { redactUrl } from "./redact.ts"
import * as Send from "./send.ts"

/** A stepped reconnect schedule. */
export type ReconnectStep = Effect.Success<
  ReturnType<typeof Schedule.toStep<unknown, Errors.ConnectionError, never, never>>
>

/** A URL the config gave that is not one: the loop ends with it. */
interface Invalid {
  readonly _tag: "Invalid"
  readonly final: Lifecycle.Final
}

/** The dial loop, from its next dial on; ends with how it ended. */
export const run = <R>(self: ConnectionImpl<R>): Effect.Effect<Lifecycle.Final, never, R> =>
  Effect.flatMap(dial(self), (dialed): Effect.Effect<Lifecycle.Final, never, R> => {
    switch (dialed._tag) {
      case "Open":
        return self.readLoop(dialed)
      case "Invalid":
        return Effect.succeed(dialed.final)
      default:
        return next(self, dialed)
    }
  })

// The states a dial sets are object literals, not `ConnectionState`'s
// constructors: those copy their argument and add `_tag` after it, which
// moves the fields out of the object into a second one (40 B more, for a
// state every open connection holds). Same fields, same order.

/** Reports that dial `attempt` waits for a dial slot. */
const reportQueued = (self: ConnectionImpl<any>, attempt: number, url: string): Effect.Effect<void> =>
  Effect.andThen(
    self.setState({ attempt, url, _tag: "Queued" } satisfies States.Queued),
    Effect.suspend(() => self.emit(ConnectionEvent.Queued({ at: self.now(), attempt, url })))
  )

/** Reports that dial `attempt` starts. */
const reportConnecting = (self: ConnectionImpl<any>, attempt: number, url: string): Effect.Effect<void> =>
  Effect.andThen(
    self.setState({ attempt, url, _tag: "Connecting" } satisfies States.Connecting),
    Effect.suspend(() => self.emit(ConnectionEvent.Connecting({ at: self.now(), attempt, url })))
  )

/**
 * One dial, and the opening of its session. Through a transport that may
 * hold dials back (`openQueued`: a manager's governor), the transport runs
 * the reports: `Queued` if the dial has to wait for a slot, `Connecting`
 * when it starts. Through any other, `Connecting` is reported here, first.
 * The dial runs on the loop's fiber, with no fiber of its own (a thousand
 * connections queue at the dial governor together); for `close` during a
 * dial, see close.ts.
 */
const dial = Effect.fnUntraced(function*<R>(self: ConnectionImpl<R>) {
  self.attempt++
  const name = self.name
  // A URL given as a string was validated when the config was resolved; one given as an effect is checked at each dial.
  const source = self.url
  const url = typeof source === "string"
    ? Result.succeed(source)
    : yield* Effect.result(Effect.flatMap(source, (u) => Config.validateUrl(name, u)))
  if (url._tag === "Failure") {
    return { _tag: "Invalid", final: { reason: url.failure.message, error: url.failure } } satisfies Invalid
  }
  const attempt = self.attempt
  const shown = redactUrl(url.success)
  const openQueued = self.transport.openQueued
  if (openQueued === undefined) yield* reportConnecting(self, attempt, shown)
  // close() came before the dial began (while the Connecting event waited on a slow subscriber): no dial.
  if (self.closeRequest !== undefined) return Lifecycle.STOPPED
  const scope = DialScope.make()
  if (!Lifecycle.dial(self, scope)) return Lifecycle.STOPPED
  const request = openRequest(self, url.success)
  const opening = openQueued === undefined ? self.transport.open(request) : openQueued(request, {
    // Built when run: the manager's observer publishes when a report is built.
    queued: Effect.suspend(() => reportQueued(self, attempt, shown)),
    dialing: Effect.suspend(() => reportConnecting(self, attempt, shown))
  })
  return yield* Scope.provide(handshake(self, opening), scope)
})

const openRequest = (self: ConnectionImpl<any>, url: string): Transport.OpenRequest => {
  const cfg = self.cfg
  return {
    connection: self.name,
    url,
    session: self.sessions + 1,
    protocols: cfg.protocols,
    headers: cfg.headers,
    connectTimeout: cfg.connectTimeout,
    maxPayload: cfg.maxPayload,
    compression: cfg.compression,
    highWaterMark: cfg.capacity,
    tls: cfg.tls,
    sendHighWaterMark: cfg.sendHighWaterMark,
    // The dial's phases, for the metrics' dial span (internal/metrics.ts).
    timings: self.metrics !== undefined
  }
}

/**
 * The transport's dial, in the dial's scope, and on success everything
 * between the handshake and the first read, done before reading so that
 * nothing of it waits on the fiber: the `Open` state and event, the
 * `onOpen` hook, the sends queued meanwhile, the session's heartbeat and
 * idle timer (timers on the clock's shared `Timers`, stopped by `next` and by
 * `finish`). A failed dial is reported as `DialFailed`.
 */
const handshake = Effect.fnUntraced(function*<R>(
  self: ConnectionImpl<R>,
  opening: Effect.Effect<Transport.Session, Errors.DialError, Scope.Scope>
) {
  const result = yield* Effect.result(opening)
  if (result._tag === "Failure") {
    Lifecycle.end(self)
    self.failedDials++
    yield* self.emit(ConnectionEvent.DialFailed({ at: self.now(), attempt: self.attempt, error: result.failure }))
    return { _tag: "Failed", error: result.failure, uptime: undefined } satisfies Lifecycle.Outcome as Lifecycle.Outcome
  }
  const socket = result.success
  const since = self.now()
  const state: States.Open = { session: socket.session, since, protocol: socket.protocol, _tag: "Open" }
  const current = Lifecycle.open(self, socket, state)
  // Not dialing any more: the loop is being interrupted, and finishes.
  if (current === undefined) return Lifecycle.STOPPED
  DialScope.keepSole(current.scope)
  self.sessions++
  self.lastDataAt = since
  // close() may have come while this session was dialing: it ends at once, gracefully.
  const closing = self.closeRequest
  if (closing !== undefined) yield* Close.endSession(current, "stop", "close", closing.code, closing.reason)
  yield* Effect.andThen(
    self.setState(state),
    Effect.suspend(() =>
      self.emit(
        ConnectionEvent.Opened({ at: since, session: state.session, attempt: self.attempt, protocol: socket.protocol })
      )
    )
  )
  const onOpen = self.hooks.onOpen
  if (onOpen !== undefined) {
    yield* Effect.catchCause(
      onOpen({
        connection: self.name,
        session: state.session,
        send: (data: Frame.Outbound) => Send.sendOn(self, current, data)
      }),
      (cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : self.emit(ConnectionEvent.HookFailed({ at: self.now(), session: state.session, hook: "onOpen", cause }))
    )
  }
  // Most sessions open with nothing queued: no generator for them.
  if (self.sendQueue !== undefined && self.sendQueue.length > 0) yield* Send.flushQueue(self, current)
  yield* Heartbeat.start(self, current)
  const idle = self.cfg.idleTimeout
  if (idle !== undefined) yield* Idle.start(self, current, idle)
  return current
})

/**
 * The read loop's end: settles how the session ended (failing the pings
 * still waiting; `Disconnected` if it ended unasked), then goes on with the
 * loop. The end's error is made only if the session ended unasked.
 */
export const sessionEnded = <R>(
  self: ConnectionImpl<R>,
  current: Lifecycle.Open,
  end: () => Transport.SessionEnd
): Effect.Effect<Lifecycle.Final, never, R> =>
  Effect.flatMap(settle(self, current, end), (outcome) => next(self, outcome))

const settle = Effect.fnUntraced(function*(
  self: ConnectionImpl<any>,
  current: Lifecycle.Open,
  end: () => Transport.SessionEnd
) {
  Lifecycle.end(self)
  Heartbeat.failPending(self)
  const uptime = self.now() - current.state.since
  const reason = current.endReason
  if (reason === "stop") return Lifecycle.STOPPED
  if (reason === "restart") return Lifecycle.RESTART
  const error: Errors.DisconnectError = reason ?? end()
  yield* self.emit(ConnectionEvent.Disconnected({ at: self.now(), session: current.state.session, error }))
  return { _tag: "Failed", error, uptime } satisfies Lifecycle.Outcome as Lifecycle.Outcome
})

/** Stops the session's timers, closes the dial's scope (the session's release), then what `outcome` calls for. */
const next = <R>(self: ConnectionImpl<R>, outcome: Lifecycle.Outcome): Effect.Effect<Lifecycle.Final, never, R> => {
  Heartbeat.stop(self)
  Idle.stop(self)
  const scope = Lifecycle.release(self)
  return scope === undefined
    ? decide(self, outcome)
    : Effect.andThen(DialScope.close(scope, Exit.void), Effect.suspend(() => decide(self, outcome)))
}

/** After a dial or session: end the loop, dial again at once (a restart), or back off and dial again. */
const decide = <R>(self: ConnectionImpl<R>, outcome: Lifecycle.Outcome): Effect.Effect<Lifecycle.Final, never, R> => {
  switch (outcome._tag) {
    case "Stopped":
      return Effect.succeed(Lifecycle.CLOSED_BY_CALLER)
    case "Restart":
      self.attempt = 0
      self.step = undefined
      return run(self)
    case "Failed": {
      if (self.closeRequest !== undefined) return Effect.succeed(Lifecycle.CLOSED_BY_CALLER)
      if (outcome.uptime !== undefined && outcome.uptime >= self.cfg.minUptime) {
        self.attempt = 0
        self.step = undefined
      }
      return Effect.flatMap(
        backoff(self, outcome.error),
        (final) => final === undefined ? run(self) : Effect.succeed(final)
      )
    }
  }
}

const scheduleEnded = (self: ConnectionImpl<any>, error: Errors.SessionError): Lifecycle.Final => ({
  reason: `reconnect schedule ended after ${self.attempt} attempts: ${error.message}`,
  error
})

/**
 * Waits the reconnect schedule's delay (less on `restart`); `undefined` to
 * dial again, or how the loop ends (not retried, the schedule ended, or a
 * `close` came).
 */
const backoff = Effect.fnUntraced(function*(self: ConnectionImpl<any>, error: Errors.SessionError) {
  if (!self.cfg.shouldReconnect(error)) {
    return { reason: `not retried: ${error.message}`, error } satisfies Lifecycle.Final
  }
  // The policy's maxAttempts counts dials since the last reset, which only the connection sees.
  const limit = ReconnectPolicy.maxDials(self.cfg.reconnect)
  if (limit !== undefined && self.attempt >= limit) return scheduleEnded(self, error)
  if (self.step === undefined) self.step = yield* Schedule.toStep(self.cfg.reconnect)
  const step = yield* Effect.result(self.step(self.now(), error))
  if (step._tag === "Failure") return scheduleEnded(self, error)
  const retryAfter = error._tag === "ConnectFailed" ? error.retryAfter ?? 0 : 0
  const delay = Math.round(Math.max(Duration.toMillis(step.success[1]), retryAfter))
  yield* self.setState(ConnectionState.Reconnecting({ attempt: self.attempt + 1, delay, error }))
  yield* self.emit(ConnectionEvent.Reconnecting({ at: self.now(), attempt: self.attempt + 1, delay }))
  // close() may have come while the reports waited on a slow subscriber.
  if (self.closeRequest !== undefined) return Lifecycle.CLOSED_BY_CALLER
  const wake = Deferred.makeUnsafe<Lifecycle.Outcome>()
  if (!Lifecycle.wait(self, wake)) return Lifecycle.CLOSED_BY_CALLER
  const woken = yield* Effect.raceFirst(
    Effect.as(Effect.sleep(Duration.millis(delay)), Lifecycle.RESTART),
    Deferred.await(wake)
  )
  Lifecycle.waited(self)
  return woken._tag === "Stopped" ? Lifecycle.CLOSED_BY_CALLER : undefined
})

/** The handle's `restart`: ends the open session at once, or cuts a backoff short; the loop then dials. */
export const restart = Effect.fnUntraced(function*(self: ConnectionImpl<any>, reason = "restart requested") {
  if (self[CurrentState]()._tag === "Closed" || self.closeRequest !== undefined) {
    return yield* new Errors.ConnectionStopped({ connection: self.name, reason: "restart after close" })
  }
  const phase = self.phase
  if (phase._tag === "Open") {
    yield* self.emit(ConnectionEvent.RestartRequested({ at: self.now(), session: phase.state.session, reason }))
    yield* Close.endSession(phase, "restart", "close", 1000, Close.truncateUtf8(reason, 123))
    yield* phase.socket.terminate
  } else if (phase._tag === "Waiting") {
    Deferred.doneUnsafe(phase.wake, Exit.succeed(Lifecycle.RESTART))
  }
})
