/**
 * The machinery of one connection (see `Connection.ts` for the contract):
 * its handle and its dial loop, read loop and timers in one object.
 * `Connection.make` builds one from its context; a `WSManager` builds its
 * connections with `makeIn`, handing the transport, clock, tap and scope
 * over directly, so that adding a connection extends no context and the
 * dial loop's fiber holds the caller's context, not one of its own.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import type * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { ConnectionShape, ConnectionStats, ReadHooks } from "../Connection.ts"
import * as Config from "../ConnectionConfig.ts"
import * as Errors from "../ConnectionError.ts"
import { ConnectionEvent } from "../ConnectionEvent.ts"
import { ConnectionState } from "../ConnectionState.ts"
import * as ReconnectPolicy from "../ReconnectPolicy.ts"
import type * as Frame from "../Frame.ts"
import type * as Transport from "../Transport.ts"
import { CurrentState, type StateCell } from "./currentState.ts"
import * as Direct from "./direct.ts"
import { Hub } from "./hub.ts"
import { redactUrl } from "./redact.ts"
import type { Tap } from "./tap.ts"

/** How one dial-and-session ended. */
type Outcome =
  | { readonly _tag: "Stopped" }
  | { readonly _tag: "Restart" }
  | { readonly _tag: "Failed"; readonly error: Errors.SessionError; readonly uptime: number | undefined }

/** Why an open session is being ended, set once by whoever ends it first. */
type EndReason = Errors.HeartbeatTimeout | Errors.IdleTimeout | "restart" | "stop"

interface PendingPing {
  readonly key: string
  /** The `Clock`'s monotonic time when the ping was sent, in nanoseconds. */
  readonly sentAt: bigint
  /** Completed with the round-trip time in nanoseconds. */
  readonly done: Deferred.Deferred<bigint, Errors.NotConnected>
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

/** How the dial loop ended: the reason and error `Closed` reports. */
type Final = { readonly reason: string; readonly error: Errors.SessionError | Errors.InvalidConfig | undefined }
const CLOSED_BY_CALLER: Final = { reason: "closed by the caller", error: undefined }
const defectMessage = (defect: unknown): string => defect instanceof Error ? defect.message : String(defect)

/** Nanoseconds in a millisecond, for RTTs in fractional milliseconds. */
const NANOS_PER_MILLI = 1_000_000

/** A stepped reconnect schedule. */
type ReconnectStep = Effect.Success<ReturnType<typeof Schedule.toStep<unknown, Errors.ConnectionError, never, never>>>

/**
 * One connection: its handle (what callers get) and its machinery in one
 * object. Everything lives in fields and prototype methods, so an idle
 * connection holds no closure per function and no context of its own; the
 * functions a caller may pass around detached (`send`, `restart`, `close`)
 * are bound on first access.
 */
export class ConnectionImpl<R> implements ConnectionShape, Direct.DirectReader {
  // The fields a socket read touches come first, so that they share the
  // object's first cache lines: at a thousand connections each read finds
  // its connection cold, and every further line is a miss (FINDINGS.md).
  readonly name: string
  private readonly tap: Tap | undefined
  /**
   * Made at once only where it keeps frames for a first subscriber (a
   * connection of its own); a manager's connection makes it on the first
   * `frames`, so most never do, and a read then skips it.
   */
  private framesHubValue: Hub<Frame.Frame> | undefined
  /** The text hook, read per frame, so kept here rather than behind `hooks`. */
  private readonly onText: ReadHooks<R>["onText"]
  private readonly hasFrameHooks: boolean
  /** The message heartbeat, if that is the kind: read per frame, so kept here rather than behind `cfg`. */
  private readonly messageHeartbeat: Extract<Config.Resolved["heartbeat"], { readonly _tag: "Message" }> | undefined
  /** Work the direct path left for the read loop's fiber (it then wakes the fiber). */
  private pending: Effect.Effect<void, never, R> | undefined = undefined
  // Counters are plain fields of the connection itself, updated once per
  // batch by the one read loop: a Ref per frame would cost more than the
  // frame, and a separate object is one more cache line per socket read.
  private framesIn = 0
  private bytesIn = 0
  // Not a number until the first session: a field that only ever held
  // numbers would box these timestamps in objects of their own.
  private lastDataAt: number | undefined = undefined
  private lastFrameAt: number | undefined = undefined
  private live: Live | undefined = undefined

  /** The state now, for the manager (internal/currentState.ts). */
  readonly [CurrentState]: StateCell
  /** As `framesHubValue`, for events. */
  private eventsHubValue: Hub<ConnectionEvent> | undefined
  /** Set once `finish` has ended the hubs: a hub made later is born ended. */
  private hubsEnded = false
  /** Made on first access of `state`: a connection nobody observes holds no PubSub, replay buffer, semaphore or scope. */
  private stateRef: SubscriptionRef.SubscriptionRef<ConnectionState> | undefined = undefined

  private framesOut = 0
  private bytesOut = 0
  private sessions = 0
  private failedDials = 0
  /** In milliseconds, fractional (measured in nanoseconds). */
  private lastRtt: number | undefined = undefined
  private wake: Deferred.Deferred<void> | undefined = undefined
  private readerBlocked = false
  private pingCounter = 0
  /** Pings waiting for their pong; made with the first ping. */
  private pendingPings: Array<PendingPing> | undefined = undefined
  /** The message heartbeat's pong, completed with the `Clock`'s monotonic nanoseconds when it is read. */
  private messagePong: Deferred.Deferred<bigint> | undefined = undefined
  /** Sends waiting in the `sendBuffer` for a session; made with the first. */
  private sendQueue:
    | Array<
      { readonly data: Frame.Outbound; readonly done: Deferred.Deferred<void, Errors.SendFailed | Errors.ConnectionStopped> }
    >
    | undefined = undefined
  private attempt = 0
  /**
   * The reconnect schedule, stepped with each failure; `undefined` after a
   * reset (a restart, or a session that lasted `minUptime`) until the next
   * failure makes a fresh one, so an open connection holds none.
   */
  private step: ReconnectStep | undefined = undefined
  /** Set once by `close`: the close frame to send. */
  private stopRequest: { readonly code: number; readonly reason: string } | undefined = undefined
  /** Made only while the dial loop waits for `close` (during a backoff). */
  private stopWaiter: Deferred.Deferred<void> | undefined = undefined
  /** Whether `finish` has begun, and whether it is done. */
  private finished = false
  private stopped = false
  /** Made only while a `close` waits for the end. */
  private stoppedWaiter: Deferred.Deferred<void> | undefined = undefined
  private main: Fiber.Fiber<Final> | undefined = undefined
  /** Whether the dial loop's fiber is in the transport's `open` (see `dialOnce`). */
  private dialing = false
  /** Forked by a `close` during a dial: gives the dial up at `closeTimeout` (see `closeNow`). */
  private giveUp: Fiber.Fiber<void> | undefined = undefined
  /** The scope of the current dial and its session (see `dialAndRun`). */
  private dialScope: Scope.Closeable | undefined = undefined
  private sendBound: ConnectionShape["send"] | undefined = undefined
  private restartBound: ConnectionShape["restart"] | undefined = undefined
  private closeBound: ConnectionShape["close"] | undefined = undefined
  private pingEffect: ConnectionShape["ping"] | undefined = undefined
  private statsEffect: ConnectionShape["stats"] | undefined = undefined

  private readonly cfg: Config.Resolved
  private readonly transport: Transport.Transport["Service"]
  private readonly clock: Clock.Clock
  private readonly hooks: ReadHooks<R>

  constructor(
    name: string,
    cfg: Config.Resolved,
    transport: Transport.Transport["Service"],
    clock: Clock.Clock,
    tap: Tap | undefined,
    hooks: ReadHooks<R>
  ) {
    this.name = name
    this.cfg = cfg
    this.transport = transport
    this.clock = clock
    this.tap = tap
    this.hooks = hooks
    this.onText = hooks.onText
    this[CurrentState] = { value: ConnectionState.Idle() }
    this.framesHubValue = tap === undefined || tap.retainFrames
      ? new Hub<Frame.Frame>(cfg.capacity, cfg.strategy, cfg.capacity)
      : undefined
    this.eventsHubValue = tap === undefined ? new Hub<ConnectionEvent>(Number.POSITIVE_INFINITY, "suspend", 1024) : undefined
    this.hasFrameHooks = hooks.onText !== undefined || hooks.onBinary !== undefined || hooks.onPing !== undefined ||
      hooks.onPong !== undefined || hooks.onClose !== undefined
    this.messageHeartbeat = cfg.heartbeat._tag === "Message" ? cfg.heartbeat : undefined
  }

  // ---- the handle ------------------------------------------------------

  get state(): SubscriptionRef.SubscriptionRef<ConnectionState> {
    return this.stateRef ??= Effect.runSync(SubscriptionRef.make(this[CurrentState].value))
  }
  get frames(): Stream.Stream<Frame.Frame> {
    return (this.framesHubValue ??= this.lateHub(new Hub<Frame.Frame>(this.cfg.capacity, this.cfg.strategy, 0))).stream
  }
  get events(): Stream.Stream<ConnectionEvent> {
    return (this.eventsHubValue ??= this.lateHub(new Hub<ConnectionEvent>(Number.POSITIVE_INFINITY, "suspend", 0))).stream
  }

  private lateHub<A>(hub: Hub<A>): Hub<A> {
    if (this.hubsEnded) hub.endNow()
    return hub
  }
  get send(): ConnectionShape["send"] {
    return this.sendBound ??= (data) => this.sendNow(data)
  }
  get restart(): ConnectionShape["restart"] {
    return this.restartBound ??= (reason) => this.restartNow(reason)
  }
  get close(): ConnectionShape["close"] {
    return this.closeBound ??= (code, reason) => this.closeNow(code, reason)
  }
  get ping(): ConnectionShape["ping"] {
    return this.pingEffect ??= Effect.suspend(() => this.pingNow())
  }
  get stats(): ConnectionShape["stats"] {
    return this.statsEffect ??= Effect.sync(() => this.statsNow())
  }

  private now(): number {
    return this.clock.currentTimeMillisUnsafe()
  }

  private emit(event: ConnectionEvent): Effect.Effect<void> {
    const hub = this.eventsHubValue
    const published = hub === undefined ? Effect.void : hub.publish([event])
    return this.tap === undefined ? published : Effect.andThen(published, this.tap.event(this.name, event))
  }

  private setState(next: ConnectionState): Effect.Effect<void> {
    const set = Effect.suspend(() => {
      this[CurrentState].value = next
      return this.stateRef === undefined ? Effect.void : SubscriptionRef.set(this.stateRef, next)
    })
    return this.tap === undefined ? set : Effect.andThen(set, this.tap.state(this.name, next))
  }

  // ---- sending -------------------------------------------------------

  private sendOn(current: Live, data: Frame.Outbound): Effect.Effect<void, Errors.SendFailed> {
    return Effect.tap(current.session.send(data), () =>
      Effect.sync(() => {
        this.framesOut++
        this.bytesOut += typeof data === "string" ? data.length : data.byteLength
      })).pipe(
        Effect.tapError((error) => this.emit(ConnectionEvent.SendFailed({ at: this.now(), session: current.number, error })))
      )
  }

  private sendNow(data: Frame.Outbound): Effect.Effect<void, Errors.SendFailed | Errors.NotConnected | Errors.ConnectionStopped> {
    return Effect.suspend((): Effect.Effect<void, Errors.SendFailed | Errors.NotConnected | Errors.ConnectionStopped> => {
      const live = this.live
      if (live !== undefined && live.endReason === undefined) return this.sendOn(live, data)
      const current = this[CurrentState].value
      if (current._tag === "Closed") {
        return Effect.fail(new Errors.ConnectionStopped({ connection: this.name, reason: current.reason }))
      }
      const sendBuffer = this.cfg.sendBuffer
      if (sendBuffer === 0) return Effect.fail(new Errors.NotConnected({ connection: this.name, state: current._tag }))
      if ((this.sendQueue?.length ?? 0) >= sendBuffer) {
        return Effect.fail(
          new Errors.SendFailed({
            connection: this.name,
            reason: `send buffer full (${sendBuffer} messages waiting for a connection)`
          })
        )
      }
      const done = Deferred.makeUnsafe<void, Errors.SendFailed | Errors.ConnectionStopped>()
      const queue = this.sendQueue ??= []
      queue.push({ data, done })
      return Deferred.await(done)
    })
  }

  private flushSendQueue(current: Live): Effect.Effect<void> {
    // Most sessions open with nothing queued: no generator for them.
    if (this.sendQueue === undefined || this.sendQueue.length === 0) return Effect.void
    return Effect.gen({ self: this }, function*() {
      while (this.sendQueue !== undefined && this.sendQueue.length > 0 && current.endReason === undefined) {
        const item = this.sendQueue.shift()!
        const exit = yield* Effect.exit(this.sendOn(current, item.data))
        Deferred.doneUnsafe(item.done, exit)
      }
    })
  }

  // ---- pings -----------------------------------------------------------

  private onPong(frame: Frame.Pong): void {
    const pings = this.pendingPings
    if (pings === undefined || pings.length === 0) return
    const key = decoder.decode(frame.data)
    let index = pings.findIndex((p) => p.key === key)
    // A pong with a foreign payload answers the oldest ping.
    if (index < 0) index = 0
    const [answered] = pings.splice(index, 1)
    const rtt = this.clock.monotonicTimeNanosUnsafe() - answered!.sentAt
    this.lastRtt = Number(rtt) / NANOS_PER_MILLI
    Deferred.doneUnsafe(answered!.done, Effect.succeed(rtt))
  }

  /**
   * Sends a protocol ping; the effect waits for the pong and returns the RTT
   * in nanoseconds (from the `Clock`'s monotonic time, taken when the ping is
   * sent and when its pong is read), or `undefined` after `timeout`.
   */
  private pingOnce(
    current: Live,
    timeout: number,
    payload?: Uint8Array
  ): Effect.Effect<bigint | undefined, Errors.SendFailed | Errors.NotConnected> {
    return Effect.gen({ self: this }, function*() {
      const key = payload === undefined ? `kh${++this.pingCounter}` : decoder.decode(payload)
      const pending: PendingPing = {
        key,
        sentAt: this.clock.monotonicTimeNanosUnsafe(),
        done: Deferred.makeUnsafe<bigint, Errors.NotConnected>()
      }
      const pings = this.pendingPings ??= []
      pings.push(pending)
      yield* current.session.ping(payload ?? encoder.encode(key)).pipe(
        Effect.tapError(() => Effect.sync(() => this.removePing(pending)))
      )
      return yield* Deferred.await(pending.done).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(timeout),
          orElse: () => Effect.sync(() => (this.removePing(pending), undefined))
        })
      )
    })
  }

  private removePing(pending: PendingPing): void {
    this.pendingPings = this.pendingPings?.filter((p) => p !== pending)
  }

  private pingNow(): ConnectionShape["ping"] {
    const current = this.live
    if (current === undefined || current.endReason !== undefined) {
      return Effect.fail(new Errors.NotConnected({ connection: this.name, state: this[CurrentState].value._tag }))
    }
    const hb = this.cfg.heartbeat
    const timeout = hb._tag === "None" ? this.cfg.connectTimeout : hb.timeout
    return Effect.flatMap(this.pingOnce(current, timeout), (rtt) =>
      rtt === undefined
        ? Effect.fail(new Errors.HeartbeatTimeout({ connection: this.name, session: current.number, timeout }))
        : Effect.succeed(Duration.nanos(rtt)))
  }

  // ---- ending a session ---------------------------------------------

  /** Ends the live session for `reason` (the first reason wins). */
  private endSession(current: Live, reason: EndReason, how: "terminate" | "close", code = 1000, text = ""): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (current.endReason !== undefined) return Effect.void
      current.endReason = reason
      return how === "terminate" ? current.session.terminate : current.session.close(code, text)
    })
  }

  /** While the read loop waits on a slow subscriber, the socket is paused: silence is not the peer's fault. */
  private awaitReader(): Effect.Effect<void> {
    return Effect.gen({ self: this }, function*() {
      while (this.readerBlocked) yield* Effect.sleep(Duration.millis(10))
    })
  }

  /** A deadline passed while the read loop waited on a slow subscriber (the socket paused, so the pong could not be read): wait for it and try again. */
  private excused(): Effect.Effect<boolean> {
    return Effect.suspend(() => this.readerBlocked ? Effect.as(this.awaitReader(), true) : Effect.succeed(false))
  }

  private heartbeatMissed(current: Live, timeout: number): Effect.Effect<void> {
    return Effect.gen({ self: this }, function*() {
      yield* this.emit(ConnectionEvent.HeartbeatMissed({ at: this.now(), session: current.number, timeout }))
      yield* this.endSession(
        current,
        new Errors.HeartbeatTimeout({ connection: this.name, session: current.number, timeout }),
        "terminate"
      )
    })
  }

  private heartbeatLoop(current: Live): Effect.Effect<void> {
    const hb = this.cfg.heartbeat
    if (hb._tag === "None") return Effect.void
    if (hb._tag === "Protocol") {
      return Effect.gen({ self: this }, function*() {
        while (current.endReason === undefined) {
          yield* Effect.sleep(Duration.millis(hb.interval))
          const rtt = yield* this.pingOnce(current, hb.timeout, hb.payload).pipe(Effect.orElseSucceed(() => null))
          if (rtt === null) return
          if (rtt === undefined && !(yield* this.excused())) return yield* this.heartbeatMissed(current, hb.timeout)
        }
      })
    }
    return Effect.gen({ self: this }, function*() {
      while (current.endReason === undefined) {
        yield* Effect.sleep(Duration.millis(hb.interval))
        const pong = Deferred.makeUnsafe<bigint>()
        this.messagePong = pong
        const sentAt = this.clock.monotonicTimeNanosUnsafe()
        const sent = yield* Effect.exit(this.sendOn(current, hb.message()))
        if (Exit.isFailure(sent)) return
        const answered = yield* Deferred.await(pong).pipe(
          Effect.map((readAt) => {
            this.lastRtt = Number(readAt - sentAt) / NANOS_PER_MILLI
            return true
          }),
          Effect.timeoutOrElse({ duration: Duration.millis(hb.timeout), orElse: () => Effect.succeed(false) })
        )
        if (!answered && !(yield* this.excused())) return yield* this.heartbeatMissed(current, hb.timeout)
      }
    })
  }

  private idleLoop(current: Live, idle: number): Effect.Effect<void> {
    return Effect.gen({ self: this }, function*() {
      while (current.endReason === undefined) {
        const remaining = this.lastDataAt! + idle - this.now()
        if (remaining > 0) {
          yield* Effect.sleep(Duration.millis(remaining))
        } else if (this.readerBlocked) {
          yield* this.awaitReader()
          this.lastDataAt = this.now()
        } else {
          const error = new Errors.IdleTimeout({ connection: this.name, session: current.number, idleTimeout: idle })
          yield* this.endSession(current, error, "close", 4000, "idle timeout")
          // A peer that does not answer the close frame is cut after closeTimeout
          // (this fiber is interrupted first if the session ends sooner).
          yield* Effect.sleep(Duration.millis(this.cfg.closeTimeout))
          return yield* current.session.terminate
        }
      }
    })
  }

  // ---- the read loop -----------------------------------------------

  private hookFor(frame: Frame.Frame): Effect.Effect<void, unknown, R> | void {
    const hooks = this.hooks
    switch (frame._tag) {
      case "Text":
        return this.onText?.(frame)
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
  private runHooks(current: Live, batch: ReadonlyArray<Frame.Frame>, from: number): Effect.Effect<void, never, R> {
    for (let i = from; i < batch.length; i++) {
      let result: Effect.Effect<void, unknown, R> | void
      try {
        result = this.hookFor(batch[i]!)
      } catch (defect) {
        // The boundary with a user's synchronous code: a throw is a defect of that hook.
        return this.hookFailed(current, batch, i, Cause.die(defect))
      }
      if (result !== undefined && Effect.isEffect(result)) return this.effectfulHooks(current, batch, i, result)
    }
    return Effect.void
  }

  private effectfulHooks(
    current: Live,
    batch: ReadonlyArray<Frame.Frame>,
    start: number,
    first: Effect.Effect<void, unknown, R>
  ): Effect.Effect<void, never, R> {
    let index = start
    return Effect.catchCause(
      Effect.gen({ self: this }, function*() {
        yield* first
        for (index = start + 1; index < batch.length; index++) {
          const result = this.hookFor(batch[index]!)
          if (result !== undefined && Effect.isEffect(result)) yield* result
        }
      }),
      (cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : this.hookFailed(current, batch, index, cause)
    )
  }

  private hookFailed(
    current: Live,
    batch: ReadonlyArray<Frame.Frame>,
    index: number,
    cause: Cause.Cause<unknown>
  ): Effect.Effect<void, never, R> {
    return Effect.andThen(
      this.emit(ConnectionEvent.HookFailed({ at: this.now(), session: current.number, hook: `on${batch[index]!._tag}`, cause })),
      Effect.suspend(() => this.runHooks(current, batch, index + 1))
    )
  }

  private guardHook<E>(current: Live, hook: string, effect: Effect.Effect<void, E, R>): Effect.Effect<void, never, R> {
    return Effect.catchCause(effect, (cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : this.emit(ConnectionEvent.HookFailed({ at: this.now(), session: current.number, hook, cause })))
  }

  /** Accounting and heartbeat bookkeeping for one batch; returns the frames to deliver. */
  private observe(batch: ReadonlyArray<Frame.Frame>): ReadonlyArray<Frame.Frame> {
    const hb = this.messageHeartbeat
    let bytesIn = 0
    let deliver: Array<Frame.Frame> | undefined
    for (let i = 0; i < batch.length; i++) {
      const frame = batch[i]!
      switch (frame._tag) {
        case "Text":
          bytesIn += frame.data.length
          if (hb !== undefined && hb.isPong(frame.data)) {
            // Only a pong pays for the clock read: the time it was read, for the RTT.
            if (this.messagePong !== undefined) {
              Deferred.doneUnsafe(this.messagePong, Effect.succeed(this.clock.monotonicTimeNanosUnsafe()))
            }
            if (!hb.deliverPongs) {
              deliver ??= batch.slice(0, i)
              continue
            }
          } else {
            this.lastDataAt = frame.receivedAt
          }
          break
        case "Binary":
          bytesIn += frame.data.byteLength
          this.lastDataAt = frame.receivedAt
          break
        case "Pong":
          this.onPong(frame)
          break
        default:
      }
      deliver?.push(frame)
    }
    this.bytesIn += bytesIn
    this.framesIn += batch.length
    this.lastFrameAt = batch[batch.length - 1]!.receivedAt
    return deliver ?? batch
  }

  /** Runs a delivery that may wait on a slow consumer, marking the reader blocked meanwhile. */
  private blocking(publish: Effect.Effect<void>): Effect.Effect<void> {
    return publish === Effect.void ? publish : Effect.suspend(() => {
      this.readerBlocked = true
      return Effect.ensuring(publish, Effect.sync(() => {
        this.readerBlocked = false
      }))
    })
  }

  /** Hands a batch to subscribers, then to the manager's tap; each may wait on a slow consumer. */
  private publishBatch(batch: ReadonlyArray<Frame.Frame>): Effect.Effect<void> {
    const hub = this.framesHubValue
    const publish = hub === undefined ? Effect.void : hub.publish(batch)
    if (publish !== Effect.void) return Effect.andThen(this.blocking(publish), Effect.suspend(() => this.publishTap(batch)))
    return this.publishTap(batch)
  }

  private publishTap(batch: ReadonlyArray<Frame.Frame>): Effect.Effect<void> {
    return this.tap === undefined ? Effect.void : this.blocking(this.tap.frames(this.name, batch))
  }

  private takePending(): Effect.Effect<void, never, R> | undefined {
    const work = this.pending
    this.pending = undefined
    return work
  }

  /**
   * Delivers a batch while the read loop is parked, with no fiber wake-up:
   * plain-function hooks, then subscribers that have room. From the first
   * step that needs the fiber on, the rest is left in `pending`.
   */
  [Direct.ReadDirect](raw: ReadonlyArray<Frame.Frame>): boolean {
    // Called only while the read loop is parked in this session's `take`,
    // between `openSession` (which sets `live`) and `sessionEnded`: the same
    // delivery as the fiber's, run here up to the first step that needs it.
    const work = this.deliverTaken(this.live!, raw)
    if (work === Effect.void) return true
    this.pending = work
    return false
  }

  /**
   * Reads until the session ends; every frame taken is delivered. Then it
   * settles the session's end and ends the dial, as a tail call. The direct
   * reader is detached there; an interrupted loop leaves it on an inbox that
   * no longer has a reader waiting, which never calls it.
   */
  private readLoop(current: Live): Effect.Effect<Final, never, R> {
    const source = Direct.sourceOf<Transport.SessionEnd>(current.session)
    if (source === undefined) return this.readLoopOf(current)
    // A loop of flatMaps rather than a generator, over a take that never
    // fails: while the session is open the fiber waits in that take holding
    // this one continuation, with no suspended generator and no failure
    // handler below it.
    const loop: Effect.Effect<Final, never, R> = Effect.flatMap(source[Direct.TakeOrEnd], (raw) => {
      if (raw !== Direct.END) return this.afterTake(current, raw, loop)
      source[Direct.AttachDirect](undefined)
      // The end's error is made only if the session ended unasked (see `sessionEnded`).
      return this.afterRead(current, () => source[Direct.EndedWith]())
    })
    return Effect.suspend(() => {
      this.takePending()
      source[Direct.AttachDirect](this)
      return loop
    })
  }

  /** The read loop over any other transport's session, whose `take` fails at the end. */
  private readLoopOf(current: Live): Effect.Effect<Final, never, R> {
    const loop: Effect.Effect<never, Transport.SessionEnd, R> = Effect.flatMap(
      current.session.take,
      (raw) => this.afterTake(current, raw, loop)
    )
    return Effect.suspend(() => {
      this.takePending()
      return Effect.catch(loop, (end) => this.afterRead(current, () => end))
    })
  }

  /** Work the direct path left, then this batch's delivery, then `next`. */
  private afterTake<A, E>(
    current: Live,
    raw: ReadonlyArray<Frame.Frame>,
    next: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, R> {
    const work = this.takePending()
    const deliver = this.deliverTaken(current, raw)
    if (work === undefined) return deliver === Effect.void ? next : Effect.andThen(deliver, next)
    return Effect.andThen(work, deliver === Effect.void ? next : Effect.andThen(deliver, next))
  }

  private afterRead(current: Live, end: () => Transport.SessionEnd): Effect.Effect<Final, never, R> {
    return Effect.flatMap(this.sessionEnded(current, end), (outcome) => this.endDial(outcome))
  }

  /** The fiber's delivery of a taken batch: hooks, then subscribers and tap (`Effect.void` when all ran here). */
  private deliverTaken(current: Live, raw: ReadonlyArray<Frame.Frame>): Effect.Effect<void, never, R> {
    if (raw.length === 0) return Effect.void
    const batch = this.observe(raw)
    if (batch.length === 0) return Effect.void
    if (this.hasFrameHooks) {
      const hooked = this.runHooks(current, batch, 0)
      if (hooked !== Effect.void) return Effect.andThen(hooked, Effect.suspend(() => this.publishBatch(batch)))
    }
    return this.publishBatch(batch)
  }

  // ---- one session -------------------------------------------------

  /** Everything between the handshake and the first read; done before reading, so nothing of it waits on the fiber. */
  private openSession(session: Transport.Session): Effect.Effect<Live, never, R | Scope.Scope> {
    // Plain effects, not a generator: this runs for every session of every connection.
    return Effect.suspend(() => {
      const since = this.now()
      const current: Live = { session, number: session.session, since, endReason: undefined }
      this.sessions++
      this.lastDataAt = since
      this.live = current
      const opened = Effect.andThen(
        this.setState(ConnectionState.Open({ session: current.number, since, protocol: session.protocol })),
        Effect.suspend(() =>
          this.emit(
            ConnectionEvent.Opened({ at: since, session: current.number, attempt: this.attempt, protocol: session.protocol })
          )
        )
      )
      // close() may have come while this session was dialing: it ends at once, gracefully.
      const stopping = this.stopRequest
      const first = stopping === undefined
        ? opened
        : Effect.andThen(this.endSession(current, "stop", "close", stopping.code, stopping.reason), opened)
      return Effect.andThen(first, Effect.suspend(() => this.afterOpened(current)))
    })
  }

  /** The `onOpen` hook, the sends queued meanwhile, and the session's timers. */
  private afterOpened(current: Live): Effect.Effect<Live, never, R | Scope.Scope> {
    const onOpen = this.hooks.onOpen
    const hooked = onOpen === undefined ? Effect.void : this.guardHook(
      current,
      "onOpen",
      onOpen({ connection: this.name, session: current.number, send: (data: Frame.Outbound) => this.sendOn(current, data) })
    )
    return Effect.andThen(
      hooked,
      Effect.suspend(() => {
        let rest: Effect.Effect<unknown, never, R | Scope.Scope> = this.flushSendQueue(current)
        if (this.cfg.heartbeat._tag !== "None") rest = Effect.andThen(rest, Effect.forkScoped(this.heartbeatLoop(current)))
        const idle = this.cfg.idleTimeout
        if (idle !== undefined) rest = Effect.andThen(rest, Effect.forkScoped(this.idleLoop(current, idle)))
        return Effect.as(rest, current)
      })
    )
  }

  private sessionEnded(current: Live, end: () => Transport.SessionEnd): Effect.Effect<Outcome> {
    return Effect.suspend((): Effect.Effect<Outcome> => {
      this.live = undefined
      // An error is made only when someone waits for it: each is a schema-checked class with a stack trace.
      const pings = this.pendingPings
      this.pendingPings = undefined
      if (pings !== undefined && pings.length > 0) {
        const gone = new Errors.NotConnected({ connection: this.name, state: "session ended before the pong" })
        for (const pending of pings) Deferred.doneUnsafe(pending.done, Effect.fail(gone))
      }
      const uptime = this.now() - current.since
      const reason = current.endReason
      if (reason === "stop") return Effect.succeed(STOPPED)
      if (reason === "restart") return Effect.succeed(RESTART)
      const error: Errors.DisconnectError = reason ?? end()
      const failed: Outcome = { _tag: "Failed", error, uptime }
      return Effect.as(this.emit(ConnectionEvent.Disconnected({ at: this.now(), session: current.number, error })), failed)
    })
  }

  // ---- the dial loop ---------------------------------------------------

  /** Waits for `close`; the deferred it waits on exists only while it waits. */
  private awaitStop(): Effect.Effect<Outcome> {
    return Effect.suspend(() => {
      if (this.stopRequest !== undefined) return Effect.succeed(STOPPED)
      const waiter = Deferred.makeUnsafe<void>()
      this.stopWaiter = waiter
      return Effect.ensuring(
        Effect.as(Deferred.await(waiter), STOPPED),
        Effect.sync(() => {
          if (this.stopWaiter === waiter) this.stopWaiter = undefined
        })
      )
    })
  }

  // The dial loop is a chain of flatMaps, not a generator: while a session
  // is open the fiber holds the continuations of this dial and no suspended
  // generator, and the effects it holds (the dial's scope, the session) keep
  // no closure but the ones they need.
  private dialLoop(): Effect.Effect<Final, never, R> {
    return this.dialNext()
  }

  /** One turn of the dial loop: the URL, a dial, its session, and what comes after. */
  private dialNext(): Effect.Effect<Final, never, R> {
    return Effect.suspend(() => {
      this.attempt++
      const name = this.name
      return Effect.flatMap(Effect.result(Effect.flatMap(this.cfg.url, (u) => Config.validateUrl(name, u))), (url) => {
        if (url._tag === "Failure") return Effect.succeed<Final>({ reason: url.failure.message, error: url.failure })
        return this.dialAndRun(url.success)
      })
    })
  }

  /** Reports that dial `attempt` waits for a dial slot (the governor runs it: see `dialOnce`). */
  private reportQueued(attempt: number, shown: string): Effect.Effect<void> {
    return Effect.andThen(
      this.setState(ConnectionState.Queued({ attempt, url: shown })),
      Effect.suspend(() => this.emit(ConnectionEvent.Queued({ at: this.now(), attempt, url: shown })))
    )
  }

  /** Reports that dial `attempt` starts. */
  private reportConnecting(attempt: number, shown: string): Effect.Effect<void> {
    return Effect.andThen(
      this.setState(ConnectionState.Connecting({ attempt, url: shown })),
      Effect.suspend(() => this.emit(ConnectionEvent.Connecting({ at: this.now(), attempt, url: shown })))
    )
  }

  /**
   * A dial and its session in a scope of their own, then what comes after.
   * The scope is held in a field and closed by `endDial` (or by `finish` on
   * an interruption), not by `Effect.scoped`: while the session is open the
   * fiber then holds no frame for it. The read loop runs on this fiber (no
   * fiber per session besides the heartbeat), and every step after the
   * session opens is a tail call, so an idle connection's fiber holds the
   * read loop's continuation and little else.
   */
  private dialAndRun(url: string): Effect.Effect<Final, never, R> {
    return Effect.suspend(() => {
      const scope = Scope.makeUnsafe()
      this.dialScope = scope
      return Effect.flatMap(
        Scope.provide(this.dialOnce(url), scope),
        (opened) => "_tag" in opened ? this.endDial(opened) : this.readLoop(opened)
      )
    })
  }

  /** Closes the dial's scope (the session's release, its heartbeat), then what comes after. */
  private endDial(outcome: Outcome): Effect.Effect<Final, never, R> {
    const scope = this.dialScope
    this.dialScope = undefined
    if (scope === undefined) return this.afterSession(outcome)
    return Effect.andThen(Scope.close(scope, Exit.void), Effect.suspend(() => this.afterSession(outcome)))
  }

  /**
   * Reports the dial and makes it. Through a transport that may hold dials
   * back (`openQueued`: a manager's governor), the transport runs the
   * reports: `Queued` if the dial has to wait for a slot, `Connecting` when
   * it starts. Through any other, `Connecting` is reported here, first.
   */
  private dialOnce(url: string): Effect.Effect<Live | Outcome, never, R | Scope.Scope> {
    const attempt = this.attempt
    const shown = redactUrl(url)
    const openQueued = this.transport.openQueued
    if (openQueued !== undefined) {
      return this.dialWith(url, (request) =>
        openQueued(request, {
          // Built when run: the manager's tap publishes when a report is built.
          queued: Effect.suspend(() => this.reportQueued(attempt, shown)),
          dialing: Effect.suspend(() => this.reportConnecting(attempt, shown))
        }))
    }
    return Effect.andThen(this.reportConnecting(attempt, shown), this.dialWith(url, (request) => this.transport.open(request)))
  }

  private dialWith(
    url: string,
    open: (request: Transport.OpenRequest) => Effect.Effect<Transport.Session, Errors.DialError, Scope.Scope>
  ): Effect.Effect<Live | Outcome, never, R | Scope.Scope> {
    return Effect.suspend(() => {
      // close() came before the dial began (while the Connecting event waited on a slow subscriber): no dial.
      if (this.stopRequest !== undefined) return Effect.succeed(STOPPED)
      const cfg = this.cfg
      const request: Transport.OpenRequest = {
        connection: this.name,
        url,
        session: this.sessions + 1,
        protocols: cfg.protocols,
        headers: cfg.headers,
        connectTimeout: cfg.connectTimeout,
        maxPayload: cfg.maxPayload,
        compression: cfg.compression,
        highWaterMark: cfg.capacity,
        tls: cfg.tls,
        sendHighWaterMark: cfg.sendHighWaterMark
      }
      // The dial runs on this fiber, with no fiber of its own (a thousand
      // connections queue at the dial governor together). close() during a
      // dial gives the handshake up to closeTimeout to finish, so that the
      // session can then be closed with a close frame, not cut; past that,
      // close() interrupts this fiber, which ends the loop (see `closeNow`).
      // A dial still waiting for its slot (`Queued`) is given up at once.
      this.dialing = true
      return Effect.flatMap(Effect.result(open(request)), (opened) => {
        this.dialed()
        return this.afterDial(opened)
      })
    })
  }

  /** The dial is over: a `close` waiting to give it up has nothing left to do. */
  private dialed(): void {
    this.dialing = false
    const giveUp = this.giveUp
    this.giveUp = undefined
    giveUp?.interruptUnsafe()
  }

  private afterDial(
    result: Result.Result<Transport.Session, Errors.ConnectFailed | Errors.ConnectTimeout>
  ): Effect.Effect<Live | Outcome, never, R | Scope.Scope> {
    if (result._tag === "Failure") {
      this.failedDials++
      const failed: Outcome = { _tag: "Failed", error: result.failure, uptime: undefined }
      return Effect.as(
        this.emit(ConnectionEvent.DialFailed({ at: this.now(), attempt: this.attempt, error: result.failure })),
        failed
      )
    }
    return this.openSession(result.success)
  }

  private afterSession(outcome: Outcome): Effect.Effect<Final, never, R> {
    switch (outcome._tag) {
      case "Stopped":
        return Effect.succeed(CLOSED_BY_CALLER)
      case "Restart":
        this.attempt = 0
        this.step = undefined
        return this.dialNext()
      case "Failed": {
        if (this.stopRequest !== undefined) return Effect.succeed(CLOSED_BY_CALLER)
        if (outcome.uptime !== undefined && outcome.uptime >= this.cfg.minUptime) {
          this.attempt = 0
          this.step = undefined
        }
        return this.backoff(outcome.error)
      }
    }
  }

  /** The reconnect schedule's step, stepped since the last reset; made at the first failure after one. */
  private reconnectStep(): Effect.Effect<ReconnectStep> {
    return this.step !== undefined
      ? Effect.succeed(this.step)
      : Effect.map(Schedule.toStep(this.cfg.reconnect), (step) => this.step = step)
  }

  /** Waits the schedule's delay (or less, on `restart`), then dials again; or ends the loop. */
  private backoff(error: Errors.SessionError): Effect.Effect<Final, never, R> {
    if (!this.cfg.shouldReconnect(error)) return Effect.succeed<Final>({ reason: `not retried: ${error.message}`, error })
    // The policy's maxAttempts counts dials since the last reset, which only the connection sees.
    const limit = ReconnectPolicy.maxDials(this.cfg.reconnect)
    if (limit !== undefined && this.attempt >= limit) {
      return Effect.succeed<Final>({ reason: `reconnect schedule ended after ${this.attempt} attempts: ${error.message}`, error })
    }
    return Effect.flatMap(Effect.flatMap(this.reconnectStep(), (step) => Effect.result(step(this.now(), error))), (next) => {
      if (next._tag === "Failure") {
        return Effect.succeed<Final>({
          reason: `reconnect schedule ended after ${this.attempt} attempts: ${error.message}`,
          error
        })
      }
      const retryAfter = error._tag === "ConnectFailed" ? error.retryAfter ?? 0 : 0
      const delay = Math.round(Math.max(Duration.toMillis(next.success[1]), retryAfter))
      return Effect.andThen(
        this.setState(ConnectionState.Reconnecting({ attempt: this.attempt + 1, delay, error })),
        Effect.suspend(() =>
          Effect.andThen(
            this.emit(ConnectionEvent.Reconnecting({ at: this.now(), attempt: this.attempt + 1, delay })),
            Effect.suspend(() => {
              const woken = Deferred.makeUnsafe<void>()
              this.wake = woken
              return Effect.flatMap(
                Effect.raceFirst(
                  Effect.as(Effect.raceFirst(Effect.sleep(Duration.millis(delay)), Deferred.await(woken)), RESTART),
                  this.awaitStop()
                ),
                (waited) => {
                  this.wake = undefined
                  return waited._tag === "Stopped" ? Effect.succeed(CLOSED_BY_CALLER) : this.dialNext()
                }
              )
            })
          )
        )
      )
    })
  }

  // Runs once: at the end of the dial loop, or when the loop is interrupted
  // (the interruption may land while the first run is finishing).
  private finish(result: Final): Effect.Effect<void> {
    return Effect.gen({ self: this }, function*() {
      if (this.finished) return
      this.finished = true
      this.dialed()
      // An interruption leaves the dial's scope open: closed here, first, as
      // `Effect.scoped` would have before this runs.
      const scope = this.dialScope
      this.dialScope = undefined
      if (scope !== undefined) yield* Scope.close(scope, Exit.void)
      this.live = undefined
      const waiting = this.sendQueue
      this.sendQueue = undefined
      if (waiting !== undefined && waiting.length > 0) {
        const stoppedError = new Errors.ConnectionStopped({ connection: this.name, reason: result.reason })
        for (const item of waiting) Deferred.doneUnsafe(item.done, Effect.fail(stoppedError))
      }
      yield* this.setState(ConnectionState.Closed(result))
      yield* this.emit(ConnectionEvent.Closed({ at: this.now(), ...result }))
      yield* Effect.sync(() => {
        this.hubsEnded = true
        this.framesHubValue?.endNow()
        this.eventsHubValue?.endNow()
      })
      this.stopped = true
      if (this.stoppedWaiter !== undefined) Deferred.doneUnsafe(this.stoppedWaiter, Exit.void)
    })
  }

  /**
   * Forks the dial loop, tied to the connection's scope by one finalizer;
   * uninterruptible, so no fiber is forked without it. The loop runs in
   * the context of the fiber that made the connection, as is: a context per
   * connection would cost more than an idle connection's fiber.
   */
  start(scope: Scope.Scope): Effect.Effect<void, never, R> {
    // One frame for every way out: the loop's end, an interruption, or a
    // defect (a throwing schedule, a bug), which closes the connection with
    // its message rather than leaving it silently stuck.
    const loop = Effect.onExit(this.dialLoop(), (exit) =>
      Exit.isSuccess(exit)
        ? this.finish(exit.value)
        : Cause.hasInterrupts(exit.cause)
        ? this.finish(this.stopRequest !== undefined ? CLOSED_BY_CALLER : { reason: "connection scope closed", error: undefined })
        : this.finish({ reason: `defect in the dial loop: ${defectMessage(Cause.squash(exit.cause))}`, error: undefined }))
    return Effect.uninterruptible(Effect.flatMap(Effect.forkDetach(loop), (main) => {
      this.main = main
      // One finalizer, in the order two would run (the last added first):
      // close gracefully, then make sure the dial loop's fiber is gone. It
      // runs on the connection's clock, whichever fiber closes the scope.
      return Scope.addFinalizer(
        scope,
        Effect.suspend(() =>
          Effect.provideService(Effect.andThen(this.closeNow(), Fiber.interrupt(main)), Clock.Clock, this.clock)
        )
      )
    }))
  }

  /** Waits until the connection has finished; the deferred it waits on exists only while someone waits. */
  private awaitStopped(): Effect.Effect<void> {
    return Effect.suspend(() => this.stopped ? Effect.void : Deferred.await(this.stoppedWaiter ??= Deferred.makeUnsafe<void>()))
  }

  // close(): the read loop drains the close handshake. Past closeTimeout the
  // socket is terminated; if the loop is still held (a slow subscriber, a
  // hook that never ends), past two more it is interrupted and the
  // connection finishes anyway. close() always returns. A close during a
  // dial forks one timer that gives the dial up at closeTimeout (the loop's
  // fiber is interrupted; it finishes as closed by the caller), whether or
  // not its caller is still waiting; a dial that ends first stops it. A dial
  // still waiting for its slot (`Queued`) is given up at once.
  private closeNow(requestedCode = 1000, requestedReason = ""): Effect.Effect<void> {
    return Effect.gen({ self: this }, function*() {
      const code = requestedCode === 1000 || (Number.isInteger(requestedCode) && requestedCode >= 3000 && requestedCode <= 4999)
        ? requestedCode
        : 1000
      const reason = truncateUtf8(requestedReason, 123)
      if (this.stopRequest === undefined) {
        this.stopRequest = { code, reason }
        if (this.stopWaiter !== undefined) Deferred.doneUnsafe(this.stopWaiter, Exit.void)
        const current = this.live
        if (current !== undefined) yield* this.endSession(current, "stop", "close", code, reason)
        const main = this.main
        if (this.dialing && main !== undefined) {
          // A dial still waiting for its slot has no handshake to finish: it is given up at once.
          const grace = this[CurrentState].value._tag === "Queued"
            ? Effect.void
            : Effect.sleep(Duration.millis(this.cfg.closeTimeout))
          this.giveUp = yield* Effect.forkDetach(
            Effect.andThen(grace, Fiber.interrupt(main)).pipe(Effect.provideService(Clock.Clock, this.clock))
          )
        }
      }
      const closeTimeout = Duration.millis(this.cfg.closeTimeout)
      yield* this.awaitStopped().pipe(
        Effect.timeoutOrElse({
          duration: closeTimeout,
          orElse: () =>
            Effect.andThen(
              Effect.suspend(() => this.live?.session.terminate ?? Effect.void),
              this.awaitStopped().pipe(
                Effect.timeoutOrElse({
                  duration: Duration.times(closeTimeout, 2),
                  orElse: () => this.main === undefined ? Effect.void : Fiber.interrupt(this.main)
                })
              )
            )
        })
      )
    })
  }

  private restartNow(reason = "restart requested"): Effect.Effect<void, Errors.ConnectionStopped> {
    return Effect.gen({ self: this }, function*() {
      const current = this[CurrentState].value
      if (current._tag === "Closed" || this.stopRequest !== undefined) {
        return yield* new Errors.ConnectionStopped({ connection: this.name, reason: "restart after close" })
      }
      const session = this.live
      if (session !== undefined) {
        yield* this.emit(ConnectionEvent.RestartRequested({ at: this.now(), session: session.number, reason }))
        yield* this.endSession(session, "restart", "close", 1000, truncateUtf8(reason, 123))
        yield* session.session.terminate
      } else if (this.wake !== undefined) {
        yield* Deferred.succeed(this.wake, undefined)
      }
    })
  }

  private statsNow(): ConnectionStats {
    return {
      framesIn: this.framesIn,
      bytesIn: this.bytesIn,
      framesOut: this.framesOut,
      bytesOut: this.bytesOut,
      sessions: this.sessions,
      failedDials: this.failedDials,
      lastFrameAt: this.lastFrameAt,
      lastRtt: this.lastRtt,
      dropped: this.framesHubValue?.dropped ?? 0,
      reconnects: Math.max(0, this.sessions - 1),
      uptime: this.live === undefined ? 0 : this.now() - this.live.since
    }
  }
}


/**
 * Makes a connection and starts its dial loop, closed with `scope`. The
 * services come as arguments rather than from the context: `WSManager.add`
 * runs this once per connection. Fails with `InvalidConfig` for a bad config.
 */
export const makeIn = <R>(
  name: string,
  config: Config.ConnectionConfig,
  hooks: ReadHooks<R>,
  transport: Transport.Transport["Service"],
  clock: Clock.Clock,
  tap: Tap | undefined,
  scope: Scope.Scope
): Effect.Effect<ConnectionShape, Errors.InvalidConfig, R> =>
  Effect.flatMap(Config.resolve(name, config), (cfg) => {
    const connection = new ConnectionImpl<R>(name, cfg, transport, clock, tap, hooks)
    return Effect.as(connection.start(scope), connection)
  })
