/**
 * One named, self-healing WebSocket connection. It dials through the
 * `Transport`, proves the peer alive with a heartbeat, ends dead or silent
 * sessions, reconnects by a `Schedule`, runs `onOpen` (the place to
 * resubscribe) after every connect, and hands every frame to hooks and to
 * `frames` subscribers in receive order, a socket read at a time.
 *
 * One read loop per session is the only consumer of the socket: heartbeat,
 * idle timer, `restart` and `close` end a session by closing or terminating
 * the socket, and the read loop delivers everything that arrived before the
 * end. Nothing is dropped unless a subscriber chose `sliding`/`dropping`.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Config from "./ConnectionConfig.ts"
import * as Errors from "./ConnectionError.ts"
import { ConnectionEvent } from "./ConnectionEvent.ts"
import { ConnectionState } from "./ConnectionState.ts"
import type * as Frame from "./Frame.ts"
import * as Direct from "./internal/direct.ts"
import { Hub } from "./internal/hub.ts"
import { redactUrl } from "./internal/redact.ts"
import { CurrentState, type StateCell } from "./internal/currentState.ts"
import { CurrentTap } from "./internal/tap.ts"
import * as Transport from "./Transport.ts"

/**
 * What `onOpen` gets: the new session's number and a `send` bound to it.
 *
 * @category models
 * @since 0.1.0
 */
export interface OpenContext {
  readonly connection: string
  readonly session: number
  readonly send: (data: Frame.Outbound) => Effect.Effect<void, Errors.SendFailed>
}

/**
 * Handlers per frame kind, run in receive order on the connection's read
 * loop, a socket read's batch at a time. A frame hook may return an Effect
 * (run before the next frame is handed over) or be a plain function that
 * returns nothing: that form runs with no effect per frame, the fastest way
 * to handle a flood. A hook that fails or throws is reported as a
 * `HookFailed` event; the connection lives on. Hooks hold up the read loop
 * while they run: keep them short, or fork.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReadHooks<R = never> {
  /** After every (re)connect, before the session's first frame is delivered: resubscribe here. */
  readonly onOpen?: ((context: OpenContext) => Effect.Effect<void, unknown, R>) | undefined
  readonly onText?: ((frame: Frame.Text) => Effect.Effect<void, unknown, R> | void) | undefined
  readonly onBinary?: ((frame: Frame.Binary) => Effect.Effect<void, unknown, R> | void) | undefined
  readonly onPing?: ((frame: Frame.Ping) => Effect.Effect<void, unknown, R> | void) | undefined
  readonly onPong?: ((frame: Frame.Pong) => Effect.Effect<void, unknown, R> | void) | undefined
  readonly onClose?: ((frame: Frame.Close) => Effect.Effect<void, unknown, R> | void) | undefined
}

/**
 * Counters of one connection. Text payloads are counted in UTF-16 code
 * units (bytes, for the ASCII JSON that market data is), so no message is
 * encoded twice.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectionStats {
  readonly framesIn: number
  readonly bytesIn: number
  readonly framesOut: number
  readonly bytesOut: number
  /** Frames lost by `sliding`/`dropping` subscribers. */
  readonly dropped: number
  /** Sessions opened so far. */
  readonly sessions: number
  /** Reconnects: sessions after the first. */
  readonly reconnects: number
  /** Dials that failed. */
  readonly failedDials: number
  /** Receive time of the latest frame (epoch ms), if any. */
  readonly lastFrameAt: number | undefined
  /** Round-trip time of the latest answered ping, in ms. */
  readonly lastRtt: number | undefined
  /** How long the current session has been open, in ms (0 when not open). */
  readonly uptime: number
}

/**
 * A connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectionShape {
  readonly name: string
  /** The current state; `SubscriptionRef.changes(state)` streams every transition. */
  readonly state: SubscriptionRef.SubscriptionRef<ConnectionState>
  /** Every inbound frame of every session, in order, from the moment the stream starts. Ends when the connection closes. */
  readonly frames: Stream.Stream<Frame.Frame>
  /** Lifecycle events, from the moment the stream starts. Ends after `Closed`. */
  readonly events: Stream.Stream<ConnectionEvent>
  /**
   * Sends on the open session. While not open: fails with `NotConnected`,
   * or, with a `sendBuffer`, waits in it and is sent after the next
   * `onOpen` (it fails with `SendFailed` when the buffer is full and with
   * `ConnectionStopped` if the connection closes first).
   */
  readonly send: (
    data: Frame.Outbound
  ) => Effect.Effect<void, Errors.SendFailed | Errors.NotConnected | Errors.ConnectionStopped>
  /** Sends a protocol ping and waits for its pong: the round-trip time. */
  readonly ping: Effect.Effect<Duration.Duration, Errors.NotConnected | Errors.SendFailed | Errors.HeartbeatTimeout>
  /**
   * The feed went bad: close this session now and reconnect at once, without
   * backoff (during a backoff wait, dial now; while dialing, nothing more is
   * needed). Fails with `ConnectionStopped` after `close`.
   */
  readonly restart: (reason?: string) => Effect.Effect<void, Errors.ConnectionStopped>
  /**
   * Graceful stop: close frame, wait at most `closeTimeout`, terminate; no
   * more reconnects; streams end. The code must be one an endpoint may send
   * (1000, or 3000–4999); any other is sent as 1000. The reason is cut to the
   * 123 bytes a close frame holds. Calling it again waits for the first.
   */
  readonly close: (code?: number, reason?: string) => Effect.Effect<void>
  readonly stats: Effect.Effect<ConnectionStats>
}

/**
 * The connection service, for `Connection.layer`.
 *
 * @category services
 * @since 0.1.0
 */
export class Connection extends Context.Service<Connection, ConnectionShape>()("@kharbranth/core/Connection") {}

/** How one dial-and-session ended. */
type Outcome =
  | { readonly _tag: "Stopped" }
  | { readonly _tag: "Restart" }
  | { readonly _tag: "Failed"; readonly error: Errors.ConnectionError; readonly uptime: number | undefined }

/** Why an open session is being ended, set once by whoever ends it first. */
type EndReason = Errors.HeartbeatTimeout | Errors.IdleTimeout | "restart" | "stop"

interface PendingPing {
  readonly key: string
  readonly sentAt: number
  readonly done: Deferred.Deferred<number, Errors.NotConnected>
}

interface Live {
  readonly session: Transport.Session
  readonly number: number
  readonly since: number
  endReason: EndReason | undefined
}

const encoder = new TextEncoder()

/** `text` cut to at most `bytes` UTF-8 bytes, on a character boundary. */
const truncateUtf8 = (text: string, bytes: number): string => {
  if (encoder.encode(text).byteLength <= bytes) return text
  let out = ""
  let size = 0
  for (const char of text) {
    const length = encoder.encode(char).byteLength
    if (size + length > bytes) break
    out += char
    size += length
  }
  return out
}
const decoder = new TextDecoder()
const STOPPED: Outcome = { _tag: "Stopped" }
const RESTART: Outcome = { _tag: "Restart" }

/**
 * The shape handed to callers, as a class: the lazy `state`, `frames` and
 * `events` live on the prototype, so each connection is one small object
 * (an object literal with getters is a dictionary-mode object).
 */
class Handle implements ConnectionShape {
  readonly name: string
  readonly send: ConnectionShape["send"]
  readonly ping: ConnectionShape["ping"]
  readonly restart: ConnectionShape["restart"]
  readonly close: ConnectionShape["close"]
  readonly stats: ConnectionShape["stats"]
  private readonly stateRef: () => SubscriptionRef.SubscriptionRef<ConnectionState>
  private readonly framesHub: Hub<Frame.Frame>
  private readonly eventsHub: Hub<ConnectionEvent>
  /** The state now, for the manager (internal/currentState.ts). */
  readonly [CurrentState]: StateCell
  constructor(
    parts: Omit<ConnectionShape, "state" | "frames" | "events"> & {
      readonly stateCell: StateCell
      readonly stateRef: () => SubscriptionRef.SubscriptionRef<ConnectionState>
      readonly framesHub: Hub<Frame.Frame>
      readonly eventsHub: Hub<ConnectionEvent>
    }
  ) {
    this.name = parts.name
    this.send = parts.send
    this.ping = parts.ping
    this.restart = parts.restart
    this.close = parts.close
    this.stats = parts.stats
    this.stateRef = parts.stateRef
    this.framesHub = parts.framesHub
    this.eventsHub = parts.eventsHub
    this[CurrentState] = parts.stateCell
  }
  get state(): SubscriptionRef.SubscriptionRef<ConnectionState> {
    return this.stateRef()
  }
  get frames(): Stream.Stream<Frame.Frame> {
    return this.framesHub.stream
  }
  get events(): Stream.Stream<ConnectionEvent> {
    return this.eventsHub.stream
  }
}

/**
 * Makes a connection that lives as long as the scope: closing the scope
 * closes it gracefully. Fails at once with `InvalidConfig` for a bad config.
 *
 * @example
 * ```ts
 * import { Connection, Heartbeat, ReconnectPolicy } from "@kharbranth/core"
 * import { NodeTransport } from "@kharbranth/node"
 * import { Effect, Stream } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const conn = yield* Connection.make("okx", {
 *     url: "wss://ws.okx.com:8443/ws/v5/public",
 *     heartbeat: Heartbeat.message({ interval: "20 seconds", timeout: "5 seconds", message: "ping", isPong: (t) => t === "pong" }),
 *     reconnect: ReconnectPolicy.exponential({ base: "250 millis", max: "10 seconds" })
 *   }, {
 *     onOpen: ({ send }) => send(JSON.stringify({ op: "subscribe", args: [{ channel: "trades", instId: "BTC-USDT" }] }))
 *   })
 *   yield* conn.frames.pipe(Stream.take(10), Stream.runForEach((frame) => Effect.log(frame._tag)))
 * }).pipe(Effect.scoped, Effect.provide(NodeTransport.layer()))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <R = never>(
  name: string,
  config: Config.ConnectionConfig,
  hooks: ReadHooks<R> = {}
): Effect.Effect<ConnectionShape, Errors.InvalidConfig, Transport.Transport | Scope.Scope | R> =>
  Effect.gen(function*() {
    const cfg = yield* Config.resolve(name, config)
    const transport = yield* Transport.Transport
    const clock = yield* Clock.Clock
    const now = () => clock.currentTimeMillisUnsafe()

    const tap = yield* CurrentTap

    // The state lives in a plain variable; its SubscriptionRef (a PubSub, a
    // replay buffer, a semaphore, a scope) is made on first access, so a
    // connection nobody observes does not hold one.
    const stateCell: StateCell = { value: ConnectionState.Idle() }
    let stateRef: SubscriptionRef.SubscriptionRef<ConnectionState> | undefined
    const stateRefOf = () => stateRef ??= Effect.runSync(SubscriptionRef.make(stateCell.value))
    const frames = new Hub<Frame.Frame>(cfg.capacity, cfg.strategy, tap === undefined || tap.retainFrames ? cfg.capacity : 0)
    const events = new Hub<ConnectionEvent>(Number.POSITIVE_INFINITY, "suspend", tap === undefined ? 1024 : 0)
    const stopSignal = yield* Deferred.make<{ readonly code: number; readonly reason: string }>()
    const stopped = yield* Deferred.make<void>()

    // Counters are plain fields updated once per batch by the one read loop:
    // a Ref per frame would cost more than the frame itself.
    const counters = {
      framesIn: 0,
      bytesIn: 0,
      framesOut: 0,
      bytesOut: 0,
      sessions: 0,
      failedDials: 0,
      lastFrameAt: undefined as number | undefined,
      lastRtt: undefined as number | undefined
    }
    let live: Live | undefined
    let wake: Deferred.Deferred<void> | undefined
    let readerBlocked = false
    let lastDataAt = 0
    let pingCounter = 0
    let pendingPings: Array<PendingPing> = []
    let messagePong: Deferred.Deferred<void> | undefined
    const sendQueue: Array<{ readonly data: Frame.Outbound; readonly done: Deferred.Deferred<void, Errors.SendFailed | Errors.ConnectionStopped> }> = []

    const emit = tap === undefined
      ? (event: ConnectionEvent) => events.publish([event])
      : (event: ConnectionEvent) => Effect.andThen(events.publish([event]), tap.event(name, event))
    const setStateOnly = (next: ConnectionState) =>
      Effect.suspend(() => {
        stateCell.value = next
        return stateRef === undefined ? Effect.void : SubscriptionRef.set(stateRef, next)
      })
    const setState = tap === undefined
      ? setStateOnly
      : (next: ConnectionState) => Effect.andThen(setStateOnly(next), tap.state(name, next))

    // ---- sending -------------------------------------------------------

    const sendOn = (current: Live, data: Frame.Outbound) =>
      Effect.tap(current.session.send(data), () =>
        Effect.sync(() => {
          counters.framesOut++
          counters.bytesOut += typeof data === "string" ? data.length : data.byteLength
        })).pipe(
          Effect.tapError((error) =>
            emit(ConnectionEvent.SendFailed({ at: now(), session: current.number, error }))
          )
        )

    const send = (data: Frame.Outbound) =>
      Effect.suspend((): Effect.Effect<void, Errors.SendFailed | Errors.NotConnected | Errors.ConnectionStopped> => {
        if (live !== undefined && live.endReason === undefined) return sendOn(live, data)
        const current = stateCell.value
        if (current._tag === "Closed") {
          return Effect.fail(new Errors.ConnectionStopped({ connection: name, reason: current.reason }))
        }
        if (cfg.sendBuffer === 0) return Effect.fail(new Errors.NotConnected({ connection: name, state: current._tag }))
        if (sendQueue.length >= cfg.sendBuffer) {
          return Effect.fail(
            new Errors.SendFailed({
              connection: name,
              reason: `send buffer full (${cfg.sendBuffer} messages waiting for a connection)`
            })
          )
        }
        const done = Deferred.makeUnsafe<void, Errors.SendFailed | Errors.ConnectionStopped>()
        sendQueue.push({ data, done })
        return Deferred.await(done)
      })

    const flushSendQueue = (current: Live) =>
      Effect.gen(function*() {
        while (sendQueue.length > 0 && current.endReason === undefined) {
          const item = sendQueue.shift()!
          const exit = yield* Effect.exit(sendOn(current, item.data))
          Deferred.doneUnsafe(item.done, exit)
        }
      })

    // ---- pings -----------------------------------------------------------

    const onPong = (frame: Frame.Pong) => {
      if (pendingPings.length === 0) return
      const key = decoder.decode(frame.data)
      let index = pendingPings.findIndex((p) => p.key === key)
      // A pong with a foreign payload answers the oldest ping.
      if (index < 0) index = 0
      const [answered] = pendingPings.splice(index, 1)
      counters.lastRtt = frame.receivedAt - answered!.sentAt
      Deferred.doneUnsafe(answered!.done, Effect.succeed(frame.receivedAt))
    }

    /** Sends a protocol ping; the effect waits for the pong and returns the RTT in ms, or `undefined` after `timeout`. */
    const pingOnce = (current: Live, timeout: number, payload?: Uint8Array) =>
      Effect.gen(function*() {
        const key = payload === undefined ? `kh${++pingCounter}` : decoder.decode(payload)
        const pending: PendingPing = { key, sentAt: now(), done: Deferred.makeUnsafe<number, Errors.NotConnected>() }
        pendingPings.push(pending)
        yield* current.session.ping(payload ?? encoder.encode(key)).pipe(
          Effect.tapError(() => Effect.sync(() => removePing(pending)))
        )
        return yield* Deferred.await(pending.done).pipe(
          Effect.map((at) => at - pending.sentAt),
          Effect.timeoutOrElse({
            duration: Duration.millis(timeout),
            orElse: () => Effect.sync(() => (removePing(pending), undefined))
          })
        )
      })
    const removePing = (pending: PendingPing) => {
      pendingPings = pendingPings.filter((p) => p !== pending)
    }

    // ---- ending a session ---------------------------------------------

    /** Ends the live session for `reason` (the first reason wins). */
    const endSession = (current: Live, reason: EndReason, how: "terminate" | "close", code = 1000, text = "") =>
      Effect.suspend(() => {
        if (current.endReason !== undefined) return Effect.void
        current.endReason = reason
        return how === "terminate" ? current.session.terminate : current.session.close(code, text)
      })

    /** While the read loop waits on a slow subscriber, the socket is paused: silence is not the peer's fault. */
    const awaitReader = Effect.gen(function*() {
      while (readerBlocked) yield* Effect.sleep(Duration.millis(10))
    })

    const heartbeatLoop = (current: Live): Effect.Effect<void> => {
      const hb = cfg.heartbeat
      if (hb._tag === "None") return Effect.void
      const missed = (timeout: number) =>
        Effect.gen(function*() {
          yield* emit(ConnectionEvent.HeartbeatMissed({ at: now(), session: current.number, timeout }))
          yield* endSession(current, new Errors.HeartbeatTimeout({ connection: name, session: current.number, timeout }), "terminate")
        })
      // A deadline passed while the read loop waited on a slow subscriber (the
      // socket paused, so the pong could not be read): wait for it and try again.
      const excused = Effect.suspend(() => readerBlocked ? Effect.as(awaitReader, true) : Effect.succeed(false))
      if (hb._tag === "Protocol") {
        return Effect.gen(function*() {
          while (current.endReason === undefined) {
            yield* Effect.sleep(Duration.millis(hb.interval))
            const rtt = yield* pingOnce(current, hb.timeout, hb.payload).pipe(Effect.orElseSucceed(() => null))
            if (rtt === null) return
            if (rtt === undefined && !(yield* excused)) return yield* missed(hb.timeout)
          }
        })
      }
      return Effect.gen(function*() {
        while (current.endReason === undefined) {
          yield* Effect.sleep(Duration.millis(hb.interval))
          const pong = Deferred.makeUnsafe<void>()
          messagePong = pong
          const sentAt = now()
          const sent = yield* Effect.exit(sendOn(current, hb.message()))
          if (Exit.isFailure(sent)) return
          const answered = yield* Deferred.await(pong).pipe(
            Effect.map(() => {
              counters.lastRtt = now() - sentAt
              return true
            }),
            Effect.timeoutOrElse({ duration: Duration.millis(hb.timeout), orElse: () => Effect.succeed(false) })
          )
          if (!answered && !(yield* excused)) return yield* missed(hb.timeout)
        }
      })
    }

    const idleLoop = (current: Live, idle: number) =>
      Effect.gen(function*() {
        while (current.endReason === undefined) {
          const remaining = lastDataAt + idle - now()
          if (remaining > 0) {
            yield* Effect.sleep(Duration.millis(remaining))
          } else if (readerBlocked) {
            yield* awaitReader
            lastDataAt = now()
          } else {
            const error = new Errors.IdleTimeout({ connection: name, session: current.number, idleTimeout: idle })
            yield* endSession(current, error, "close", 4000, "idle timeout")
            // A peer that does not answer the close frame is cut after closeTimeout
            // (this fiber is interrupted first if the session ends sooner).
            yield* Effect.sleep(Duration.millis(cfg.closeTimeout))
            return yield* current.session.terminate
          }
        }
      })

    // ---- the read loop -----------------------------------------------

    const hookFor = (frame: Frame.Frame): Effect.Effect<void, unknown, R> | void => {
      switch (frame._tag) {
        case "Text":
          return hooks.onText?.(frame)
        case "Binary":
          return hooks.onBinary?.(frame)
        case "Ping":
          return hooks.onPing?.(frame)
        case "Pong":
          return hooks.onPong?.(frame)
        case "Close":
          return hooks.onClose?.(frame)
      }
    }

    /**
     * Runs the hooks of `batch[from…]` in receive order. Hooks that are plain
     * functions run right here, with no effect per frame (the hot path); from
     * the first hook that returns an effect on, the rest of the batch runs as
     * one effect under one guard. A hook that throws or fails is reported as
     * `HookFailed` and the rest of the batch still runs.
     */
    const runHooks = (current: Live, batch: ReadonlyArray<Frame.Frame>, from: number): Effect.Effect<void, never, R> => {
      for (let i = from; i < batch.length; i++) {
        let result: Effect.Effect<void, unknown, R> | void
        try {
          result = hookFor(batch[i]!)
        } catch (defect) {
          // The boundary with a user's synchronous code: a throw is a defect of that hook.
          return hookFailed(current, batch, i, Cause.die(defect))
        }
        if (result !== undefined && Effect.isEffect(result)) return effectfulHooks(current, batch, i, result)
      }
      return Effect.void
    }

    const effectfulHooks = (
      current: Live,
      batch: ReadonlyArray<Frame.Frame>,
      start: number,
      first: Effect.Effect<void, unknown, R>
    ): Effect.Effect<void, never, R> => {
      let index = start
      return Effect.catchCause(
        Effect.gen(function*() {
          yield* first
          for (index = start + 1; index < batch.length; index++) {
            const result = hookFor(batch[index]!)
            if (result !== undefined && Effect.isEffect(result)) yield* result
          }
        }),
        (cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.failCause(cause as Cause.Cause<never>)
            : hookFailed(current, batch, index, cause)
      )
    }

    const hookFailed = (current: Live, batch: ReadonlyArray<Frame.Frame>, index: number, cause: Cause.Cause<unknown>) =>
      Effect.andThen(
        emit(ConnectionEvent.HookFailed({ at: now(), session: current.number, hook: `on${batch[index]!._tag}`, cause })),
        Effect.suspend(() => runHooks(current, batch, index + 1))
      )

    const guardHook = <E>(current: Live, hook: string, effect: Effect.Effect<void, E, R>) =>
      Effect.catchCause(effect, (cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : emit(ConnectionEvent.HookFailed({ at: now(), session: current.number, hook, cause })))

    const hasFrameHooks = hooks.onText !== undefined || hooks.onBinary !== undefined || hooks.onPing !== undefined ||
      hooks.onPong !== undefined || hooks.onClose !== undefined
    const hb = cfg.heartbeat

    /** Accounting and heartbeat bookkeeping for one batch; returns the frames to deliver. */
    const observe = (batch: ReadonlyArray<Frame.Frame>): ReadonlyArray<Frame.Frame> => {
      let deliver: Array<Frame.Frame> | undefined
      for (let i = 0; i < batch.length; i++) {
        const frame = batch[i]!
        switch (frame._tag) {
          case "Text":
            counters.bytesIn += frame.data.length
            if (hb._tag === "Message" && hb.isPong(frame.data)) {
              if (messagePong !== undefined) Deferred.doneUnsafe(messagePong, Effect.void)
              if (!hb.deliverPongs) {
                deliver ??= batch.slice(0, i)
                continue
              }
            } else {
              lastDataAt = frame.receivedAt
            }
            break
          case "Binary":
            counters.bytesIn += frame.data.byteLength
            lastDataAt = frame.receivedAt
            break
          case "Pong":
            onPong(frame)
            break
          default:
        }
        deliver?.push(frame)
      }
      counters.framesIn += batch.length
      counters.lastFrameAt = batch[batch.length - 1]!.receivedAt
      return deliver ?? batch
    }

    /** Runs a delivery that may wait on a slow consumer, marking the reader blocked meanwhile. */
    const blocking = (publish: Effect.Effect<void>) =>
      publish === Effect.void ? publish : Effect.suspend(() => {
        readerBlocked = true
        return Effect.ensuring(publish, Effect.sync(() => {
          readerBlocked = false
        }))
      })

    /** Hands a batch to subscribers, then to the manager's tap; each may wait on a slow consumer. */
    const publishBatch = (batch: ReadonlyArray<Frame.Frame>): Effect.Effect<void> => {
      const publish = frames.publish(batch)
      if (publish !== Effect.void) return Effect.andThen(blocking(publish), publishTap(batch))
      return tap === undefined ? Effect.void : blocking(tap.frames(name, batch))
    }
    const publishTap = (batch: ReadonlyArray<Frame.Frame>) =>
      Effect.suspend(() => tap === undefined ? Effect.void : blocking(tap.frames(name, batch)))

    /** Work the direct path left for the read loop's fiber (it then wakes the fiber). */
    let pending: Effect.Effect<void, never, R> | undefined

    const takePending = () => {
      const work = pending
      pending = undefined
      return work
    }

    /**
     * Delivers a batch while the read loop is parked, with no fiber wake-up:
     * plain-function hooks, then subscribers that have room. From the first
     * step that needs the fiber on, the rest is left in `pending`.
     */
    const directReader = (current: Live): Direct.DirectReader => (raw) => {
      const batch = observe(raw)
      if (batch.length === 0) return true
      if (hasFrameHooks) {
        const hooked = runHooks(current, batch, 0)
        if (hooked !== Effect.void) {
          pending = Effect.andThen(hooked, Effect.suspend(() => publishBatch(batch)))
          return false
        }
      }
      const published = publishBatch(batch)
      if (published === Effect.void) return true
      pending = published
      return false
    }

    /** Reads until the session ends; every frame taken is delivered. */
    const readLoop = (current: Live): Effect.Effect<Transport.SessionEnd, never, R> => {
      const attach = Direct.attachOf(current.session.take)
      // A loop of flatMaps rather than a generator: while the session is open
      // the fiber waits in `take` holding one continuation, not a suspended
      // generator and its registers.
      const loop: Effect.Effect<never, Transport.SessionEnd, R> = Effect.flatMap(current.session.take, (raw) => {
        const work = takePending()
        const deliver = deliverTaken(current, raw)
        if (work === undefined) return deliver === Effect.void ? loop : Effect.andThen(deliver, loop)
        return Effect.andThen(work, deliver === Effect.void ? loop : Effect.andThen(deliver, loop))
      })
      const run = Effect.suspend(() => {
        takePending()
        attach?.(directReader(current))
        return Effect.flip(loop)
      })
      return attach === undefined ? run : Effect.ensuring(run, Effect.sync(() => attach(undefined)))
    }

    /** The fiber's delivery of a taken batch: hooks, then subscribers and tap (`Effect.void` when all ran here). */
    const deliverTaken = (current: Live, raw: ReadonlyArray<Frame.Frame>): Effect.Effect<void, never, R> => {
      if (raw.length === 0) return Effect.void
      const batch = observe(raw)
      if (batch.length === 0) return Effect.void
      if (hasFrameHooks) {
        const hooked = runHooks(current, batch, 0)
        if (hooked !== Effect.void) return Effect.andThen(hooked, Effect.suspend(() => publishBatch(batch)))
      }
      return publishBatch(batch)
    }

    // ---- one session -------------------------------------------------

    const runSession = (session: Transport.Session): Effect.Effect<Outcome, never, R | Scope.Scope> =>
      Effect.flatMap(
        openSession(session),
        // The read loop runs on this fiber: no fiber per session besides the
        // heartbeat. close() bounds how long it may take to drain.
        (current) => Effect.flatMap(readLoop(current), (end) => sessionEnded(current, end))
      )

    /** Everything between the handshake and the first read; done before reading, so nothing of it waits on the fiber. */
    const openSession = (session: Transport.Session): Effect.Effect<Live, never, R | Scope.Scope> =>
      Effect.gen(function*() {
        const since = now()
        const current: Live = { session, number: session.session, since, endReason: undefined }
        counters.sessions++
        lastDataAt = since
        live = current
        // close() may have come while this session was dialing: it ends at once, gracefully.
        const stopping = Deferred.isDoneUnsafe(stopSignal) ? yield* Deferred.await(stopSignal) : undefined
        if (stopping !== undefined) yield* endSession(current, "stop", "close", stopping.code, stopping.reason)
        yield* setState(ConnectionState.Open({ session: current.number, since, protocol: session.protocol }))
        yield* emit(ConnectionEvent.Opened({ at: since, session: current.number, attempt, protocol: session.protocol }))
        if (hooks.onOpen !== undefined) {
          const sendHere = (data: Frame.Outbound) => sendOn(current, data)
          yield* guardHook(current, "onOpen", hooks.onOpen({ connection: name, session: current.number, send: sendHere }))
        }
        yield* flushSendQueue(current)
        if (cfg.heartbeat._tag !== "None") yield* Effect.forkScoped(heartbeatLoop(current))
        if (cfg.idleTimeout !== undefined) yield* Effect.forkScoped(idleLoop(current, cfg.idleTimeout))
        return current
      })

    const sessionEnded = (current: Live, end: Transport.SessionEnd): Effect.Effect<Outcome> =>
      Effect.suspend((): Effect.Effect<Outcome> => {
        live = undefined
        const gone = new Errors.NotConnected({ connection: name, state: "session ended before the pong" })
        for (const pending of pendingPings) Deferred.doneUnsafe(pending.done, Effect.fail(gone))
        pendingPings = []
        const uptime = now() - current.since
        const reason = current.endReason
        if (reason === "stop") return Effect.succeed(STOPPED)
        if (reason === "restart") return Effect.succeed(RESTART)
        const error: Errors.ConnectionError = reason ?? end
        const failed: Outcome = { _tag: "Failed", error, uptime }
        return Effect.as(emit(ConnectionEvent.Disconnected({ at: now(), session: current.number, error })), failed)
      })

    // ---- the dial loop ---------------------------------------------------

    let attempt = 0
    const awaitStop = Effect.as(Deferred.await(stopSignal), STOPPED)

    // The dial's generator ends before the session starts (it returns the
    // session to run), so an open connection holds no suspended dial frame.
    const dialOnce = (url: string): Effect.Effect<Outcome, never, R | Scope.Scope> =>
      Effect.flatten(Effect.gen(function*() {
        const request: Transport.OpenRequest = {
          connection: name,
          url,
          session: counters.sessions + 1,
          protocols: cfg.protocols,
          headers: cfg.headers,
          connectTimeout: cfg.connectTimeout,
          maxPayload: cfg.maxPayload,
          compression: cfg.compression,
          highWaterMark: cfg.capacity,
          sendHighWaterMark: cfg.sendHighWaterMark
        }
        // close() during a dial gives the handshake up to closeTimeout to finish,
        // so the session can then be closed with a close frame, not cut.
        const opened = yield* Effect.raceFirst(
          Effect.result(transport.open(request)),
          Effect.andThen(awaitStop, Effect.as(Effect.sleep(Duration.millis(cfg.closeTimeout)), STOPPED))
        )
        if ("_tag" in opened && opened._tag === "Stopped") return Effect.succeed(STOPPED)
        const result = opened as Exclude<typeof opened, Outcome>
        if (result._tag === "Failure") {
          counters.failedDials++
          yield* emit(ConnectionEvent.DialFailed({ at: now(), attempt, error: result.failure }))
          const failed: Outcome = { _tag: "Failed", error: result.failure, uptime: undefined }
          return Effect.succeed(failed)
        }
        return runSession(result.success)
      }))

    const dialLoop = Effect.gen(function*() {
      let step = yield* Schedule.toStep(cfg.reconnect)
      let finalError: Errors.ConnectionError | undefined
      let finalReason = "closed by the caller"
      loop: while (true) {
        attempt++
        const url = yield* Effect.result(Effect.flatMap(cfg.url, (u) => Config.validateUrl(name, u)))
        if (url._tag === "Failure") {
          finalError = url.failure
          finalReason = url.failure.message
          break
        }
        const shown = redactUrl(url.success)
        yield* setState(ConnectionState.Connecting({ attempt, url: shown }))
        yield* emit(ConnectionEvent.Connecting({ at: now(), attempt, url: shown }))
        const outcome = yield* Effect.scoped(dialOnce(url.success))
        switch (outcome._tag) {
          case "Stopped":
            break loop
          case "Restart":
            attempt = 0
            step = yield* Schedule.toStep(cfg.reconnect)
            continue loop
          case "Failed": {
            if (Deferred.isDoneUnsafe(stopSignal)) break loop
            const error = outcome.error
            if (outcome.uptime !== undefined && outcome.uptime >= cfg.minUptime) {
              attempt = 0
              step = yield* Schedule.toStep(cfg.reconnect)
            }
            if (!cfg.shouldReconnect(error)) {
              finalError = error
              finalReason = `not retried: ${error.message}`
              break loop
            }
            const next = yield* Effect.result(step(now(), error))
            if (next._tag === "Failure") {
              finalError = error
              finalReason = `reconnect schedule ended after ${attempt} attempts: ${error.message}`
              break loop
            }
            const retryAfter = error._tag === "ConnectFailed" ? error.retryAfter ?? 0 : 0
            const delay = Math.round(Math.max(Duration.toMillis(next.success[1]), retryAfter))
            yield* setState(ConnectionState.Reconnecting({ attempt: attempt + 1, delay, error }))
            yield* emit(ConnectionEvent.Reconnecting({ at: now(), attempt: attempt + 1, delay }))
            const woken = Deferred.makeUnsafe<void>()
            wake = woken
            const waited = yield* Effect.raceFirst(
              Effect.as(Effect.raceFirst(Effect.sleep(Duration.millis(delay)), Deferred.await(woken)), RESTART),
              awaitStop
            )
            wake = undefined
            if (waited._tag === "Stopped") break loop
          }
        }
      }
      return { reason: finalReason, error: finalError }
    })

    // Runs once: at the end of the dial loop, or when the loop is interrupted
    // (the interruption may land while the first run is finishing).
    let finished = false
    const finish = (result: { readonly reason: string; readonly error: Errors.ConnectionError | undefined }) =>
      Effect.gen(function*() {
        if (finished) return
        finished = true
        live = undefined
        const stoppedError = new Errors.ConnectionStopped({ connection: name, reason: result.reason })
        for (const item of sendQueue.splice(0)) Deferred.doneUnsafe(item.done, Effect.fail(stoppedError))
        yield* setState(ConnectionState.Closed(result))
        yield* emit(ConnectionEvent.Closed({ at: now(), ...result }))
        yield* frames.end
        yield* events.end
        yield* Deferred.succeed(stopped, undefined)
      })

    const main = yield* Effect.forkScoped(
      Effect.flatMap(dialLoop, finish).pipe(
        Effect.onInterrupt(() => finish({ reason: "connection scope closed", error: undefined }))
      )
    )

    // close(): the read loop drains the close handshake. Past closeTimeout the
    // socket is terminated; if the loop is still held (a slow subscriber, a
    // hook that never ends), past two more it is interrupted and the
    // connection finishes anyway. close() always returns.
    const closeTimeout = Duration.millis(cfg.closeTimeout)
    const close = (requestedCode = 1000, requestedReason = "") =>
      Effect.gen(function*() {
        const code = requestedCode === 1000 || (Number.isInteger(requestedCode) && requestedCode >= 3000 && requestedCode <= 4999)
          ? requestedCode
          : 1000
        const reason = truncateUtf8(requestedReason, 123)
        if (!Deferred.isDoneUnsafe(stopSignal)) {
          yield* Deferred.succeed(stopSignal, { code, reason })
          const current = live
          if (current !== undefined) yield* endSession(current, "stop", "close", code, reason)
        }
        yield* Deferred.await(stopped).pipe(
          Effect.timeoutOrElse({
            duration: closeTimeout,
            orElse: () =>
              Effect.andThen(
                Effect.suspend(() => live?.session.terminate ?? Effect.void),
                Deferred.await(stopped).pipe(
                  Effect.timeoutOrElse({ duration: Duration.times(closeTimeout, 2), orElse: () => Fiber.interrupt(main) })
                )
              )
          })
        )
      })
    yield* Effect.addFinalizer(() => close())

    return new Handle({
      name,
      stateCell,
      stateRef: stateRefOf,
      framesHub: frames,
      eventsHub: events,
      send,
      ping: Effect.suspend((): ConnectionShape["ping"] => {
        const current = live
        if (current === undefined || current.endReason !== undefined) {
          return Effect.fail(new Errors.NotConnected({ connection: name, state: stateCell.value._tag }))
        }
        const timeout = cfg.heartbeat._tag === "None" ? cfg.connectTimeout : cfg.heartbeat.timeout
        return Effect.flatMap(pingOnce(current, timeout), (rtt) =>
          rtt === undefined
            ? Effect.fail(new Errors.HeartbeatTimeout({ connection: name, session: current.number, timeout }))
            : Effect.succeed(Duration.millis(rtt)))
      }),
      restart: (reason = "restart requested") =>
        Effect.gen(function*() {
          const current = stateCell.value
          if (current._tag === "Closed" || Deferred.isDoneUnsafe(stopSignal)) {
            return yield* new Errors.ConnectionStopped({ connection: name, reason: "restart after close" })
          }
          const session = live
          if (session !== undefined) {
            yield* emit(ConnectionEvent.RestartRequested({ at: now(), session: session.number, reason }))
            yield* endSession(session, "restart", "close", 1000, truncateUtf8(reason, 123))
            yield* session.session.terminate
          } else if (wake !== undefined) {
            yield* Deferred.succeed(wake, undefined)
          }
        }),
      close,
      stats: Effect.sync(() => ({
        ...counters,
        dropped: frames.dropped,
        reconnects: Math.max(0, counters.sessions - 1),
        uptime: live === undefined ? 0 : now() - live.since
      }))
    })
  })

/**
 * A layer providing one `Connection`, closed gracefully when the layer is
 * released.
 *
 * @example
 * ```ts
 * import { Connection } from "@kharbranth/core"
 * import { NodeTransport } from "@kharbranth/node"
 * import { Effect, Layer, Stream } from "effect"
 *
 * const Feed = Connection.layer("btc", { url: "wss://stream.binance.com:9443/ws/btcusdt@trade" }).pipe(
 *   Layer.provide(NodeTransport.layer())
 * )
 * const program = Effect.gen(function*() {
 *   const conn = yield* Connection.Connection
 *   yield* conn.frames.pipe(Stream.take(5), Stream.runDrain)
 * }).pipe(Effect.provide(Feed))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <R = never>(
  name: string,
  config: Config.ConnectionConfig,
  hooks?: ReadHooks<R>
): Layer.Layer<Connection, Errors.InvalidConfig, Transport.Transport | R> =>
  Layer.effect(Connection, make(name, config, hooks))
