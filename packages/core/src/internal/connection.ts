/**
 * One connection's object (see `Connection.ts` for the contract): its
 * handle, its state and counters, and the hot path that reads a session and
 * delivers each batch to hooks, subscribers and the manager's observer. The
 * cold concerns live beside it as plain functions over this object: the dial
 * loop and backoff (dial.ts), sends (send.ts), pings and heartbeats
 * (heartbeat.ts), the idle timer (idle.ts), start and close (close.ts); the
 * loop's phase is one union with guarded transitions (lifecycle.ts).
 * make.ts makes them: `Connection.make` with `make`, a `WSManager` with
 * `makeObserved`, handing the transport, clock and observer over directly,
 * so that adding a connection extends no context.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import type * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { ConnectionShape, ConnectionStats, ReadHooks } from "../Connection.ts"
import * as Config from "../ConnectionConfig.ts"
import { ConnectionEvent } from "../ConnectionEvent.ts"
import { ConnectionState } from "../ConnectionState.ts"
import type * as Frame from "../Frame.ts"
import * as Transport from "../Transport.ts"
import * as Close from "./close.ts"
import { CurrentState, isStateRef } from "./currentState.ts"
import * as Dial from "./dial.ts"
import * as Direct from "./direct.ts"
import * as Heartbeat from "./heartbeat.ts"
import * as Hooks from "./hooks.ts"
import { Hub, NO_READERS, READERS_WAITING, RETAINED_FRAMES } from "./hub.ts"
import * as Idle from "./idle.ts"
import * as Lifecycle from "./lifecycle.ts"
import * as Logs from "./logs.ts"
import * as Metrics from "./metrics.ts"
import type { Observer } from "./observer.ts"
import { Seldom } from "./seldom.ts"
import * as Send from "./send.ts"
import type { Settings } from "./settings.ts"
import * as Stats from "./stats.ts"

/** The functions and effects of a connection's handle, each made once. */
interface Handle {
  send?: ConnectionShape["send"]
  restart?: ConnectionShape["restart"]
  close?: ConnectionShape["close"]
  ping?: ConnectionShape["ping"]
  stats?: ConnectionShape["stats"]
}

/**
 * One connection: its handle (what callers get) and its state in one
 * object. Everything lives in fields and prototype methods, so an idle
 * connection holds no closure per function and no context of its own; the
 * functions a caller may pass around detached (`send`, `restart`, `close`)
 * are bound on first access. Fields are not `private`: the sibling modules
 * named above read and write them; nothing outside `internal/` sees this
 * class (it is returned as a `ConnectionShape`).
 */
export class ConnectionImpl<R> implements ConnectionShape, Direct.DirectReader {
  // The fields a socket read touches come first, so that they share the
  // object's first cache lines: at a thousand connections each read finds
  // its connection cold, and every further line is a miss
  // (packages/bench/FINDINGS.md).
  readonly name: string
  readonly tap: Observer | undefined
  /**
   * Made at once only where it keeps frames for a first subscriber (a
   * connection of its own); a manager's connection makes it on the first
   * `frames`, so most never do, and a read then skips it.
   */
  framesHubValue: Hub<Frame.Frame> | undefined
  /** The text hook, read per frame, so kept here rather than behind `hooks`. */
  readonly onText: ReadHooks<R>["onText"]
  readonly hasFrameHooks: boolean
  /** The message heartbeat, if that is the kind: read per frame, so kept here rather than behind `cfg`. */
  readonly messageHeartbeat: Extract<Config.Resolved["heartbeat"], { readonly _tag: "Message" }> | undefined
  // Counters are plain fields of the connection itself, updated once per
  // batch by the one read loop: a Ref per frame would cost more than the
  // frame, and a separate object is one more cache line per socket read.
  framesIn = 0
  bytesIn = 0
  // Not a number until the first session: a field that only ever held
  // numbers would box these timestamps in objects of their own.
  lastDataAt: number | undefined = undefined
  lastFrameAt: number | undefined = undefined
  /** Where the dial loop is (lifecycle.ts); `Open` holds the session being read. */
  phase: Lifecycle.Phase = Lifecycle.IDLE
  /** Set once a hook returned an effect: frames then wait for their read's batch (see `ReadOne`). */
  hooksReturnEffects = false
  /** Set while a delivery waits on a slow consumer (the socket is paused: silence is not the peer's fault). */
  readerBlocked = false
  /** The message heartbeat's pong, completed with the `Clock`'s monotonic nanoseconds when it is read. */
  messagePong: Deferred.Deferred<bigint> | undefined = undefined
  /** Pings waiting for their pong; made with the first ping. */
  pendingPings: Array<Heartbeat.PendingPing> | undefined = undefined
  /** The open session's heartbeat (internal/heartbeat.ts), if it has one. */
  beat: Heartbeat.Beat | undefined = undefined
  /** The open session's idle timer (internal/idle.ts), if `idleTimeout` is set. */
  idleWatch: Idle.Watch | undefined = undefined

  /**
   * The public state, stored once: the state itself until someone reads
   * `state`, then the `SubscriptionRef` (its `value` is the state from then
   * on). A connection nobody observes so holds no PubSub, replay buffer or
   * semaphore (about 1.9 KB each), nor a cell around the state. Read through
   * `[CurrentState]`, as the manager does (internal/currentState.ts).
   */
  stateStore: ConnectionState | SubscriptionRef.SubscriptionRef<ConnectionState>
  /** As `framesHubValue`, for events. */
  eventsHubValue: Hub<ConnectionEvent> | undefined

  framesOut = 0
  bytesOut = 0
  sessions = 0
  failedDials = 0
  /** In milliseconds, fractional (measured in nanoseconds). */
  lastRtt: number | undefined = undefined
  pingCounter = 0
  /** Sends waiting in the `sendBuffer` for a session; made with the first. */
  sendQueue: Array<Send.Queued> | undefined = undefined
  /** Dials since the last reset (a restart, or a session that lasted `minUptime`). */
  attempt = 0
  /**
   * The dial loop's fiber, from `start` on; `undefined` while the session's
   * reader is detached (internal/direct.ts), until a fiber is woken.
   */
  loop: Fiber.Fiber<Lifecycle.Final> | undefined = undefined
  /** The context the connection was made in, for the fibers `wake` forks (close.ts). */
  services: Context.Context<R> | undefined = undefined
  /** The handle's functions and effects, made on first access (most manager connections are never asked). */
  handle: Handle | undefined = undefined
  /** The URL of the last dial, redacted, for log lines (internal/logs.ts). */
  shownUrl: string | undefined = undefined
  /** Set at construction when `Metrics.enabled` is true (internal/metrics.ts); called once per event. */
  metrics: Metrics.ConnectionMetrics | undefined = undefined
  /** The fields set only now and then (see `Seldom`), behind the accessors below. */
  seldom: Seldom<R> | undefined = undefined

  get leftover(): Effect.Effect<void, never, R> | undefined {
    return this.seldom?.leftover
  }
  set leftover(work: Effect.Effect<void, never, R> | undefined) {
    this.setSeldom("leftover", work)
  }
  get step(): Dial.ReconnectStep | undefined {
    return this.seldom?.step
  }
  set step(step: Dial.ReconnectStep | undefined) {
    this.setSeldom("step", step)
  }
  get closeRequest(): Lifecycle.CloseRequest | undefined {
    return this.seldom?.closeRequest
  }
  set closeRequest(request: Lifecycle.CloseRequest | undefined) {
    this.setSeldom("closeRequest", request)
  }
  get hookFailureWarned(): number | undefined {
    return this.seldom?.hookFailureWarned
  }
  set hookFailureWarned(session: number | undefined) {
    this.setSeldom("hookFailureWarned", session)
  }
  /** Sets a seldom field, making their object only to hold something (clearing one needs none). */
  private setSeldom<K extends keyof Seldom<R>>(key: K, value: Seldom<R>[K]): void {
    if (value !== undefined || this.seldom !== undefined) (this.seldom ??= new Seldom<R>())[key] = value
  }

  /** The config's URL (validated when the config was resolved), or the effect that gives it before each dial. */
  readonly url: string | Effect.Effect<string>
  /** The rest of the resolved config, shared with a manager's other connections that resolve to the same (settings.ts). */
  readonly cfg: Settings
  readonly transport: Transport.Transport["Service"]
  readonly clock: Clock.Clock
  readonly hooks: ReadHooks<R>

  constructor(
    name: string,
    url: string | Effect.Effect<string>,
    cfg: Settings,
    transport: Transport.Transport["Service"],
    clock: Clock.Clock,
    tap: Observer | undefined,
    hooks: ReadHooks<R>
  ) {
    this.name = name
    this.url = url
    this.cfg = cfg
    this.transport = transport
    this.clock = clock
    this.tap = tap
    this.hooks = hooks
    this.onText = hooks.onText
    this.stateStore = ConnectionState.Idle()
    this.framesHubValue = tap === undefined || tap.retainFrames
      ? new Hub<Frame.Frame>(cfg.capacity, cfg.strategy, Math.min(cfg.capacity, RETAINED_FRAMES))
      : undefined
    this.eventsHubValue = tap === undefined
      ? new Hub<ConnectionEvent>(Number.POSITIVE_INFINITY, "suspend", 1024)
      : undefined
    this.hasFrameHooks = hooks.onText !== undefined || hooks.onBinary !== undefined || hooks.onPing !== undefined ||
      hooks.onPong !== undefined || hooks.onClose !== undefined
    this.messageHeartbeat = cfg.heartbeat._tag === "Message" ? cfg.heartbeat : undefined
  }

  // ---- the handle ------------------------------------------------------

  get state(): SubscriptionRef.SubscriptionRef<ConnectionState> {
    const store = this.stateStore
    if (isStateRef(store)) return store
    // `SubscriptionRef` has no synchronous constructor; making it is pure
    // (no fiber, no wait). From here on the ref is the only store.
    const ref = Effect.runSync(SubscriptionRef.make(store))
    this.stateStore = ref
    return ref
  }
  /** The state now, without making the `SubscriptionRef`. */
  [CurrentState](): ConnectionState {
    const store = this.stateStore
    return isStateRef(store) ? store.value : store
  }
  get frames(): Stream.Stream<Frame.Frame> {
    return (this.framesHubValue ??= this.lateHub(new Hub<Frame.Frame>(this.cfg.capacity, this.cfg.strategy, 0))).stream
  }
  get events(): Stream.Stream<ConnectionEvent> {
    return (this.eventsHubValue ??= this.lateHub(new Hub<ConnectionEvent>(Number.POSITIVE_INFINITY, "suspend", 0)))
      .stream
  }

  /** A hub made after the connection finished is born ended. */
  private lateHub<A>(hub: Hub<A>): Hub<A> {
    if (Lifecycle.isFinished(this)) hub.endNow()
    return hub
  }
  get send(): ConnectionShape["send"] {
    return (this.handle ??= {}).send ??= (data) => Send.send(this, data)
  }
  get restart(): ConnectionShape["restart"] {
    return (this.handle ??= {}).restart ??= (reason) => Dial.restart(this, reason)
  }
  get close(): ConnectionShape["close"] {
    return (this.handle ??= {}).close ??= (code, reason) => Close.close(this, code, reason)
  }
  get ping(): ConnectionShape["ping"] {
    return (this.handle ??= {}).ping ??= Effect.suspend(() => Heartbeat.ping(this))
  }
  get stats(): ConnectionShape["stats"] {
    return (this.handle ??= {}).stats ??= Effect.sync(() => this.statsNow())
  }

  now(): number {
    return this.clock.currentTimeMillisUnsafe()
  }

  /** Logs an event (internal/logs.ts), then publishes it to the events hub (if made) and the observer. */
  emit(event: ConnectionEvent): Effect.Effect<void> {
    this.metrics?.event(event)
    const hub = this.eventsHubValue
    const published = Effect.andThen(Logs.logEvent(this, event), hub === undefined ? Effect.void : hub.publish([event]))
    return this.tap === undefined ? published : Effect.andThen(published, this.tap.event(this.name, event))
  }

  /** The one writer of the public state (its one store, see `stateStore`) and the observer. */
  setState(next: ConnectionState): Effect.Effect<void> {
    const set = Effect.suspend(() => {
      const store = this.stateStore
      if (isStateRef(store)) return SubscriptionRef.set(store, next)
      this.stateStore = next
      return Effect.void
    })
    return this.tap === undefined ? set : Effect.andThen(set, this.tap.state(this.name, next))
  }

  // ---- hooks -----------------------------------------------------------

  hookFor(frame: Frame.Frame): Effect.Effect<void, unknown, R> | void {
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
   * one effect under one guard (internal/hooks.ts). A hook that throws or
   * fails is reported as `HookFailed` and the rest of the batch still runs.
   */
  runHooks(
    current: Lifecycle.Open,
    batch: ReadonlyArray<Frame.Frame>,
    from: number
  ): Effect.Effect<void, never, R> {
    for (let i = from; i < batch.length; i++) {
      let result: Effect.Effect<void, unknown, R> | void
      try {
        result = this.hookFor(batch[i]!)
      } catch (defect) {
        // The boundary with a user's synchronous code: a throw is a defect of that hook.
        return Hooks.failed(this, current, batch, i, Cause.die(defect))
      }
      if (result !== undefined && Effect.isEffect(result)) {
        this.hooksReturnEffects = true
        return Hooks.effectful(this, current, batch, i, result)
      }
    }
    return Effect.void
  }

  // ---- the read path ---------------------------------------------------

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
            Heartbeat.messagePongRead(this)
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
          Heartbeat.pongRead(this, frame)
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
      return Effect.ensuring(
        publish,
        Effect.sync(() => {
          this.readerBlocked = false
        })
      )
    })
  }

  /** Hands a batch to subscribers, then to the manager's observer; each may wait on a slow consumer. */
  private publishBatch(batch: ReadonlyArray<Frame.Frame>): Effect.Effect<void> {
    const hub = this.framesHubValue
    const publish = hub === undefined ? Effect.void : hub.publish(batch)
    if (publish !== Effect.void) {
      return Effect.andThen(
        this.blocking(publish),
        Effect.suspend(() => this.publishTap(batch))
      )
    }
    return this.publishTap(batch)
  }

  private publishTap(batch: ReadonlyArray<Frame.Frame>): Effect.Effect<void> {
    return this.tap === undefined ? Effect.void : this.blocking(this.tap.frames(this.name, batch))
  }

  private takeLeftover(): Effect.Effect<void, never, R> | undefined {
    const work = this.leftover
    this.leftover = undefined
    return work
  }

  /**
   * Delivers a batch while the reader waits (detached, or parked), with no
   * fiber wake-up: plain-function hooks, then subscribers that have room.
   * From the first step that needs the fiber on, the rest is left in
   * `leftover`.
   */
  [Direct.ReadDirect](raw: ReadonlyArray<Frame.Frame>): boolean {
    // Called only while the reader waits for this session's take,
    // between `Lifecycle.open` and `Lifecycle.end`, so the phase is `Open`:
    // the same delivery as the fiber's, run here up to the first step that needs it.
    const work = this.deliver(this.phase as Lifecycle.Open, raw)
    if (work === Effect.void) return true
    this.leftover = work
    return false
  }

  /**
   * Delivers one frame as the transport reads it, while the reader waits
   * and nothing is buffered ahead of it (internal/direct.ts), so a
   * plain-function hook or a waiting subscriber has it before the rest of
   * its socket read is parsed. Declined, for the batch, once a hook has
   * returned an effect (that hook's work is the fiber's); for subscribers
   * when one of them is busy (it could not take the frame now anyway); and
   * while the session's reads are large, as under a flood: there the batch
   * costs less (a stream's fiber woken per frame, ~0.6 µs; a hook called
   * per frame through here, a few dozen ns) and a frame waits for little
   * more than the parsing of its read.
   */
  [Direct.ReadOne](frame: Frame.Frame, smallReads: boolean): Direct.Took {
    if (this.hooksReturnEffects || !smallReads) return Direct.DECLINED
    // Subscribers take it alone only while each is parked waiting for it;
    // a busy one gets it with the rest of its read. (The two answers
    // combine bitwise: `READERS_BUSY` in either is kept.)
    const readers = (this.framesHubValue?.readers ?? NO_READERS) | (this.tap?.frameReaders() ?? NO_READERS)
    if (readers !== NO_READERS && readers !== READERS_WAITING) return Direct.DECLINED
    const current = this.phase as Lifecycle.Open
    if (!this.observeOne(frame)) return Direct.DELIVERED
    let work: Effect.Effect<void, never, R> = Effect.void
    if (this.hasFrameHooks) {
      let hooked: Effect.Effect<void, never, R> | undefined
      try {
        const result = this.hookFor(frame)
        if (result !== undefined && Effect.isEffect(result)) {
          this.hooksReturnEffects = true
          hooked = Hooks.effectful(this, current, [frame], 0, result)
        }
      } catch (defect) {
        hooked = Hooks.failed(this, current, [frame], 0, Cause.die(defect))
      }
      // The rest of this frame's delivery, as the batch path would run it.
      if (hooked !== undefined) work = Effect.andThen(hooked, Effect.suspend(() => this.publishBatch([frame])))
    }
    if (work === Effect.void && readers !== NO_READERS) work = this.publishBatch([frame])
    if (work === Effect.void) return Direct.DELIVERED
    this.leftover = work
    return Direct.LEFT_WORK
  }

  /** `observe` for one frame: whether it is delivered (a swallowed pong is not). */
  private observeOne(frame: Frame.Frame): boolean {
    this.framesIn++
    this.lastFrameAt = frame.receivedAt
    switch (frame._tag) {
      case "Text": {
        this.bytesIn += frame.data.length
        const hb = this.messageHeartbeat
        if (hb !== undefined && hb.isPong(frame.data)) {
          Heartbeat.messagePongRead(this)
          return hb.deliverPongs
        }
        this.lastDataAt = frame.receivedAt
        return true
      }
      case "Binary":
        this.bytesIn += frame.data.byteLength
        this.lastDataAt = frame.receivedAt
        return true
      case "Pong":
        Heartbeat.pongRead(this, frame)
        return true
      default:
        return true
    }
  }

  /**
   * Reads until the session ends; every frame taken is delivered. Then it
   * settles the session's end and goes on with the dial loop, as a tail
   * call. With nothing to take, the reader detaches and the loop's fiber
   * ends: an idle open connection holds no fiber; the session wakes it
   * through `Wake`, which goes on with this loop on a new fiber
   * (internal/direct.ts). The reader is detached for good at the end of
   * the session, or by `finish` (close.ts) if the loop never got there.
   */
  readLoop(current: Lifecycle.Open): Effect.Effect<Lifecycle.Final, never, R> {
    const source = Direct.sourceOf<Transport.SessionEnd>(current.socket)
    if (source === undefined) return this.readLoopOf(current)
    const taken = this.readSteps(current, source)
    return Effect.suspend(() => {
      this.takeLeftover()
      source[Direct.AttachDirect](this)
      // Nothing to deliver yet: straight to the first take.
      return taken(NO_FRAMES)
    })
  }

  /**
   * The read loop's step over `source`: what it does with each take. Built
   * for each fiber that runs the loop (the first, then each `Wake`), and
   * held by that fiber only: a detached reader holds none of it.
   */
  private readSteps(
    current: Lifecycle.Open,
    source: Direct.Source<Transport.SessionEnd>
  ): (raw: ReadonlyArray<Frame.Frame>) => Effect.Effect<Lifecycle.Final, never, R> {
    // A loop of flatMaps rather than a generator, over a take that never
    // fails or waits: no suspended generator and no failure handler.
    // A reader whose hooks return effects needs a fiber for every read: it
    // parks in `Park` rather than detach, and is resumed, not forked anew.
    let parked: Effect.Effect<Lifecycle.Final, never, R> | undefined
    const taken = (raw: ReadonlyArray<Frame.Frame>): Effect.Effect<Lifecycle.Final, never, R> => {
      if (raw === Direct.DETACHED) return DETACHED
      if (raw === Direct.PARK) return parked ??= Effect.flatMap(source[Direct.Park], taken)
      if (raw !== Direct.END) return this.deliverThen(current, raw, loop)
      source[Direct.AttachDirect](undefined)
      // The end's error is made only if the session ended unasked (see `Dial.sessionEnded`).
      return Dial.sessionEnded(this, current, () => source[Direct.EndedWith]())
    }
    const loop: Effect.Effect<Lifecycle.Final, never, R> = Effect.flatMap(
      Effect.sync(() => source[Direct.TakeOrDetach]()),
      taken
    )
    return taken
  }

  get [Direct.KeepsFiber](): boolean {
    return this.hooksReturnEffects
  }

  [Direct.Detached](): void {
    this.loop = undefined
  }

  [Direct.Wake](frames: Effect.Effect<ReadonlyArray<Frame.Frame>>): void {
    // Only an attached reader is woken, between `readLoop` and the session's
    // end (or `finish`): the phase is the session's `Open`.
    const current = this.phase as Lifecycle.Open
    const source = Direct.sourceOf<Transport.SessionEnd>(current.socket)!
    Close.wake(this, Effect.flatMap(frames, this.readSteps(current, source)))
  }

  /** The read loop over any other transport's session, whose `take` fails at the end. */
  private readLoopOf(current: Lifecycle.Open): Effect.Effect<Lifecycle.Final, never, R> {
    const loop: Effect.Effect<never, Transport.SessionEnd, R> = Effect.flatMap(
      current.socket.take,
      (raw) => this.deliverThen(current, raw, loop)
    )
    return Effect.suspend(() => {
      this.takeLeftover()
      return Effect.catch(loop, (end) => Dial.sessionEnded(this, current, () => end))
    })
  }

  /** Runs the work the direct path left, then delivers this batch, then `next`. */
  private deliverThen<A, E>(
    current: Lifecycle.Open,
    raw: ReadonlyArray<Frame.Frame>,
    next: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E, R> {
    const work = this.takeLeftover()
    const deliver = this.deliver(current, raw)
    if (work === undefined) return deliver === Effect.void ? next : Effect.andThen(deliver, next)
    return Effect.andThen(work, deliver === Effect.void ? next : Effect.andThen(deliver, next))
  }

  /** Delivers a taken batch: hooks, then subscribers and observer (`Effect.void` when all ran here). */
  private deliver(current: Lifecycle.Open, raw: ReadonlyArray<Frame.Frame>): Effect.Effect<void, never, R> {
    if (raw.length === 0) return Effect.void
    const batch = this.observe(raw)
    if (batch.length === 0) return Effect.void
    if (this.hasFrameHooks) {
      const hooked = this.runHooks(current, batch, 0)
      if (hooked !== Effect.void) return Effect.andThen(hooked, Effect.suspend(() => this.publishBatch(batch)))
    }
    return this.publishBatch(batch)
  }

  statsNow(): ConnectionStats {
    return Stats.of(this)
  }
}

/** An empty batch: delivers nothing, and the read loop goes on to its next take. */
const NO_FRAMES: ReadonlyArray<Frame.Frame> = []

/** A loop fiber's end when its reader detached (see `readLoop`). */
const DETACHED: Effect.Effect<Lifecycle.Final> = Effect.succeed(Lifecycle.DETACHED)
