/**
 * A venue feed that stays correct for days: a subscription registry per
 * connection, replayed after every reconnect at the venue's message budget;
 * make-before-break rotation before the venue's forced disconnects
 * (`maxLifetime`, server notices) with no gap and no duplicate for streams
 * that carry a sequence; staleness per topic (a quiet topic is resubscribed,
 * a topic that stays quiet restarts its connection); sequence-gap detection
 * with a restart or a resync callback; and sharding across as many
 * connections as the venue's per-connection stream cap needs. Consumers see
 * one `frames` stream and one `events` stream whatever the shards and
 * rotations underneath.
 *
 * Each shard is a core `Connection` (its own dial, heartbeat, idle timer and
 * reconnect schedule); a rotation runs a second one beside it until the
 * switch. Frames are taken a socket read at a time; per frame the feed asks
 * the profile whether it is an answer, a notice or data of a topic, and asks
 * the `sequence` reader (if given) where it sits in its stream.
 *
 * @since 0.1.0
 */
import {
  type Connection as ConnectionModule,
  Connection,
  ConnectionConfig,
  ConnectionError,
  type ConnectionEvent,
  type Frame,
  Hub,
  RateWindow,
  Transport
} from "@kharbranth/core"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import { SubscriptionError } from "./internal/feed/errors.ts"
import * as Registry from "./internal/feed/registry.ts"
import * as Sequencer from "./internal/feed/sequencer.ts"
import * as Venue from "./Venue.ts"
import * as VenueBudgets from "./VenueBudgets.ts"

export { SubscriptionError } from "./internal/feed/errors.ts"

/**
 * A sequence gap: `expected` is the number the stream should have continued
 * with (for venues that chain by the previous number: the previous number it
 * should have named) and `got` what it named instead. `sessionStart` is true
 * when the gap is at the first message of a stream on a new session (after a
 * reconnect or a rotation that could not overlap): data was missed while no
 * session was up, and a restart would not bring it back.
 *
 * @category models
 * @since 0.1.0
 */
export interface Gap {
  readonly feed: string
  readonly stream: string
  readonly expected: number
  readonly got: number
  readonly shard: number
  readonly sessionStart: boolean
}

/**
 * A feed's lifecycle events; `at` is the `Clock` time in epoch ms.
 *
 * @category models
 * @since 0.1.0
 */
export type FeedEvent = Data.TaggedEnum<{
  /** The venue confirmed these topics (outside a replay). */
  Subscribed: { readonly at: number; readonly shard: number; readonly topics: ReadonlyArray<string> }
  /**
   * The venue rejected these topics, or did not answer in time. `permanent`:
   * a rejection the venue documents as final (they read `failed` and are
   * not retried); otherwise they read `retrying` and are sent again at
   * `retryAt` (backoff from 1 s, doubling to 60 s) or on the next session.
   */
  SubscribeFailed: {
    readonly at: number
    readonly shard: number
    readonly topics: ReadonlyArray<string>
    readonly reason: string
    readonly permanent: boolean
    readonly retryAt: number | undefined
  }
  /** These topics were removed from the registry. */
  Unsubscribed: { readonly at: number; readonly topics: ReadonlyArray<string> }
  /** A new shard (a connection of its own) was opened for topics over the per-connection cap. */
  ShardAdded: { readonly at: number; readonly shard: number; readonly connection: string }
  /** A shard's last topic left; its connection was closed. */
  ShardRemoved: { readonly at: number; readonly shard: number }
  /** Every topic of a shard was sent again on a new session and the venue answered each. */
  Replayed: {
    readonly at: number
    readonly shard: number
    readonly session: number
    readonly requests: number
    readonly confirmed: number
    readonly failed: ReadonlyArray<string>
    readonly took: number
  }
  /** A rotation began: a second session is dialed beside the live one. */
  RotationStarted: { readonly at: number; readonly shard: number; readonly reason: string }
  /** Consumers now read the new session; the old one is closed. `overlapped` is false when the switch was forced by `rotationTimeout`. */
  Rotated: {
    readonly at: number
    readonly shard: number
    readonly generation: number
    readonly took: number
    readonly overlapped: boolean
  }
  /** The new session never got ready within `rotationTimeout`; the old one stays live. */
  RotationFailed: { readonly at: number; readonly shard: number; readonly reason: string }
  /** A topic was quiet longer than its cadence; `action` is what the feed did. */
  Stale: {
    readonly at: number
    readonly topic: string
    readonly quietFor: number
    readonly action: "resubscribe" | "restart"
  }
  /**
   * A sequence gap; `action` is what the feed did. `"hold"`: the stream is
   * a book that nothing on the socket repairs (`Sequence.needsResync`) and
   * no resync callback was given: its frames are held, not delivered,
   * until its venue sends a snapshot (see `Held`).
   */
  GapDetected: Gap & { readonly at: number; readonly action: "restart" | "resync" | "report" | "hold" }
  /**
   * A stream's frames are being held after a gap: its book would be wrong.
   * `Released` follows when a resync ran (or a snapshot came).
   */
  Held: { readonly at: number; readonly stream: string; readonly reason: string }
  /** A held stream flows again; `frames` held frames were delivered, `dropped` were over the limit. */
  Released: { readonly at: number; readonly stream: string; readonly frames: number; readonly dropped: number }
  /**
   * The venue restarted a stream's numbering (OKX resets `seqId` after
   * maintenance: an update whose `seqId` is below its `prevSeqId`, chained
   * on the last one delivered). The message is delivered; numbering goes
   * on from `to`.
   */
  SequenceReset: {
    readonly at: number
    readonly shard: number
    readonly stream: string
    readonly from: number
    readonly to: number
  }
  /**
   * A `sequence` or `cadence` function, or a function of a user-written
   * profile, threw (the first error of a batch). The message was read as
   * unsequenced, the topic as unchecked, or the frame delivered as it came.
   */
  ReaderFailed: { readonly at: number; readonly reader: "sequence" | "cadence" | "profile"; readonly error: unknown }
  /** The resync callback failed. */
  ResyncFailed: { readonly at: number; readonly stream: string; readonly cause: Cause.Cause<unknown> }
  /** An event of one of the feed's connections. */
  Connection: {
    readonly at: number
    readonly shard: number
    readonly connection: string
    readonly event: ConnectionEvent.ConnectionEvent
  }
}>

/**
 * Constructors and matchers for feed events.
 *
 * @category constructors
 * @since 0.1.0
 */
export const FeedEvent = Data.taggedEnum<FeedEvent>()

/**
 * Where a topic stands: `pending` until the venue answers (again after every
 * reconnect), `confirmed`, `retrying` (rejected for a transient reason or
 * not answered in time: sent again at `retryAt` and on every new session),
 * or `failed` (a rejection the venue documents as final, such as an unknown
 * instrument: not replayed until subscribed again).
 *
 * @category models
 * @since 0.1.0
 */
export interface Subscription {
  readonly topic: string
  readonly state: "pending" | "confirmed" | "retrying" | "failed"
  readonly shard: number
  readonly reason: string | undefined
  /** When the topic last delivered data (or was last confirmed), epoch ms. */
  readonly lastDataAt: number | undefined
  /** Transient failures in a row. */
  readonly failures: number
  /** When a `retrying` topic is sent again, epoch ms. */
  readonly retryAt: number | undefined
}

/**
 * One shard: its current connection's name, generation (rotations so far)
 * and topics.
 *
 * @category models
 * @since 0.1.0
 */
export interface ShardInfo {
  readonly shard: number
  readonly connection: string
  readonly generation: number
  readonly open: boolean
  readonly rotating: boolean
  readonly topics: ReadonlyArray<string>
}

/**
 * Counters of a feed.
 *
 * @category models
 * @since 0.1.0
 */
export interface FeedStats {
  readonly shards: number
  readonly topics: number
  /** Frames handed to `frames`. */
  readonly delivered: number
  /** Frames dropped because their sequence was already delivered (rotation overlap, venue repeats). */
  readonly duplicates: number
  readonly gaps: number
  readonly rotations: number
  readonly resubscribes: number
  readonly restarts: number
  readonly replays: number
  /** Requests (subscribe/unsubscribe) sent. */
  readonly requests: number
  /** Batches in which a `sequence`, `cadence` or profile function threw. */
  readonly readerFailures: number
  /** Topics sent again after a transient failure. */
  readonly retries: number
  /** Sequence resets the venue made (OKX `seqId` after maintenance). */
  readonly resets: number
  /** Frames held after an unrepaired gap and not yet released. */
  readonly held: number
  /** Held frames dropped over the hold limit (the oldest first). */
  readonly heldDropped: number
  /** Events a full `events` buffer dropped (the oldest first). */
  readonly eventsDropped: number
}

/**
 * What to do on a sequence gap: `"restart"` the shard's connection (the
 * default; the gapped message and the rest of that session's data are not
 * delivered, so nothing built on the gap reaches consumers, and the new
 * session starts with the venue's snapshot where it sends one), only
 * `"report"` it as an event, or run a resync callback (fetch a REST
 * snapshot, rebuild the book). The callback runs in its own fiber; frames
 * keep flowing meanwhile, except for a stream that nothing on the socket
 * repairs (`Sequence.needsResync`: Binance diff depth), whose frames are
 * held from the gap until the callback succeeds and then released in order.
 * Such a stream's frames are held after any gap that a restart cannot mend
 * (one at a session's start, or any with `"report"`) until a resync ran or
 * a snapshot came: a book that would be wrong is never handed over.
 *
 * @category models
 * @since 0.1.0
 */
export type GapAction = "restart" | "report" | ((gap: Gap) => Effect.Effect<void, unknown>)

/**
 * Options of a feed: every `Venue.Options` field (URL, heartbeat retiming,
 * reconnect schedule, timeouts…) for its connections, plus the feed's own.
 *
 * @category models
 * @since 0.1.0
 */
export interface FeedOptions extends Venue.Options {
  /** Topics subscribed at start. */
  readonly topics?: ReadonlyArray<string> | undefined
  /**
   * Requests per second per connection, counted over any window of 1.1 s
   * (a tenth of margin for transit jitter: the venue counts on arrival).
   * Default: the profile's `messagesPerSecond` when counted per connection,
   * less the heartbeat's pings per second where the venue counts them
   * (`countsHeartbeat`); else unlimited.
   */
  readonly messagesPerSecond?: number | undefined
  /** Topics per connection before a new shard is opened. Default: the profile's `streamsPerConnection`, else unlimited. */
  readonly streamsPerConnection?: number | undefined
  /** Dials allowed per window across the feed's connections. Default: the profile's `connections` limit. */
  readonly connectionLimit?: { readonly count: number; readonly window: Duration.Input } | undefined
  /** Rotate a session older than this. Default: 95% of the profile's `maxLifetime`; none if it has none. */
  readonly maxLifetime?: Duration.Input | undefined
  /** Rotate when the venue announces a disconnect. Default true. */
  readonly rotateOnNotice?: boolean | undefined
  /** How long a rotation may wait for the new session to be ready before switching anyway (if it has data) or giving up. Default 30 seconds. */
  readonly rotationTimeout?: Duration.Input | undefined
  /** A request the venue has not answered after this long fails. Default 10 seconds. */
  readonly confirmTimeout?: Duration.Input | undefined
  /**
   * The expected cadence of each topic: a topic quiet for longer is
   * resubscribed, and if it stays quiet for another cadence its connection
   * is restarted. Return undefined for quiet-by-nature topics (never checked).
   * Default: no topic is checked.
   */
  readonly cadence?: ((topic: string) => Duration.Input | undefined) | undefined
  /** Reads where a data message sits in its stream (see each venue module's `sequence`). Enables gap detection and duplicate removal. */
  readonly sequence?: ((text: string) => Venue.Sequence | undefined) | undefined
  /** What a gap triggers. Default `"restart"`. */
  readonly onGap?: GapAction | undefined
  /** Period of the feed's one timer (lifetimes, cadences, answer deadlines). Default 250 ms. */
  readonly checkInterval?: Duration.Input | undefined
  /** Frames buffered for each `frames` subscriber. Default 16,384. */
  readonly capacity?: number | undefined
  /**
   * Events buffered for each `events` subscriber. Default 4,096. A
   * subscriber that falls this far behind loses the oldest events (counted
   * in `stats.eventsDropped`); the feed itself never waits for it.
   */
  readonly eventsCapacity?: number | undefined
  /**
   * Endpoint URLs by route key (see `Venue.Profile.route`), replacing the
   * profile's own for routed venues (a simulator's, a testnet's). Without
   * it, `url` (if given) serves every route.
   */
  readonly urls?: Readonly<Record<string, string>> | undefined
  /** Frames held per stream after an unrepaired gap before the oldest are dropped. Default 10,000. */
  readonly holdLimit?: number | undefined
}

/**
 * A feed.
 *
 * @category models
 * @since 0.1.0
 */
export interface Feed {
  readonly name: string
  readonly profile: Venue.Profile
  /** Every frame of every shard's live session, deduplicated, in receive order per shard. Ends when the feed closes. */
  readonly frames: Stream.Stream<Frame.Frame>
  /** The feed's events and its connections' events. Ends when the feed closes. */
  readonly events: Stream.Stream<FeedEvent>
  /**
   * Adds topics to the registry and waits until the venue confirmed them
   * (after the next connect, if no session is up: wrap it in
   * `Effect.timeout` to bound the wait; the topics stay registered). Topics
   * already held are not sent again. Fails with `SubscriptionError` naming
   * every rejected topic; the others stay subscribed.
   */
  readonly subscribe: (
    topics: string | ReadonlyArray<string>
  ) => Effect.Effect<void, SubscriptionError | ConnectionError.ConnectionStopped>
  /** Removes topics from the registry (never replayed again) and waits for the venue's answer. */
  readonly unsubscribe: (
    topics: string | ReadonlyArray<string>
  ) => Effect.Effect<void, SubscriptionError | ConnectionError.ConnectionStopped>
  /**
   * Unsubscribes and subscribes held topics again on their live sessions
   * (a fresh snapshot, where the venue sends one): the targeted repair for a
   * book whose checksum failed. Waits for the venue's answers.
   */
  readonly resubscribe: (
    topics: string | ReadonlyArray<string>
  ) => Effect.Effect<void, SubscriptionError | ConnectionError.ConnectionStopped>
  /** Restarts every shard's live session now (reconnect at once, replay). */
  readonly restart: (reason?: string) => Effect.Effect<void>
  /** The registry, in subscription order. */
  readonly subscriptions: Effect.Effect<ReadonlyArray<Subscription>>
  readonly shards: Effect.Effect<ReadonlyArray<ShardInfo>>
  /** Rotates every shard now (make-before-break); returns when each switched or gave up. */
  readonly rotate: (reason?: string) => Effect.Effect<void>
  readonly stats: Effect.Effect<FeedStats>
  /** Closes every connection gracefully; streams end, waiting calls fail with `ConnectionStopped`. */
  readonly close: Effect.Effect<void>
}

type Entry = Registry.Entry<Shard>

interface Replay {
  pending: number
  confirmed: number
  requests: number
  readonly failed: Array<string>
  readonly startedAt: number
  readonly session: number
}

/** How a request ended: the topics the venue rejected (or left unanswered), or `lost` with its session. */
interface Answer {
  readonly failed: ReadonlyArray<string>
  readonly reason: string | undefined
  readonly lost: boolean
}

interface Inflight {
  readonly request: Venue.Request
  readonly open: Set<string>
  readonly sentAt: number
  readonly done: Deferred.Deferred<Answer>
  readonly failed: Array<string>
  reason: string | undefined
  readonly replay: Replay | undefined
}

/** What a standby session's venue answered, applied to the registry if it becomes live. */
interface Outcome {
  readonly topics: ReadonlyArray<string>
  readonly outcome: "confirmed" | "rejected"
  readonly reason: string | undefined
  readonly permanent: boolean
}

/**
 * One connection of a shard: the live one, a rotation's standby, or a
 * retired one being closed. Its core `Connection` may go through many
 * sessions (`sessionNo`).
 */
interface Session {
  readonly shard: Shard
  readonly generation: number
  readonly connection: string
  readonly scope: Scope.Closeable
  conn: ConnectionModule.ConnectionShape | undefined
  phase: "standby" | "live" | "retired"
  open: boolean
  sessionNo: number
  openedAt: number | undefined
  nextId: number
  inflight: Array<Inflight>
  replayFiber: Fiber.Fiber<void> | undefined
  replayDone: boolean
  gotData: boolean
  /** Topics already requested on the current core session (by its replay or a subscribe). */
  requested: Set<string>
  /** The core session a gap is restarting (0: none): its later data is not delivered (it would build on the gap). */
  broken: number
  /** Streams delivered on the current core session (a gap at a stream's first message is a session-start gap). */
  seen: Set<string>
  /** The core session `seen` is about; frames, not `onOpen`, move it on, since old frames may still be in flight. */
  seenSession: number
  /** Standby only: frames held until the switch, and each stream's first sequence among them. */
  buffer: Array<Frame.Frame>
  firstSeq: Map<string, Venue.Sequence>
  /** Standby only: the venue's answers to its replay, for the registry at the switch. */
  outcomes: Array<Outcome>
  readonly switched: Deferred.Deferred<boolean>
  /** Requests per second (`messagesPerSecond`) and per hour (`requestsPerHour`) of this connection. */
  readonly window: RateWindow.RateWindow
  readonly hourly: RateWindow.RateWindow
}

class Shard {
  readonly index: number
  /** The `urls` key of the endpoint it dials (undefined: the default URL). */
  readonly route: string | undefined
  readonly config: ConnectionConfig.ConnectionConfig
  readonly budget: VenueBudgets.Budget
  /** Its active topics: `failed` ones leave, so they neither count against the cap nor keep it open. */
  readonly topics = new Set<string>()
  /** Set right after construction: a session needs its shard first. */
  live!: Session
  standby: Session | undefined = undefined
  /** Sessions a switch replaced, closed once the rotation is reported. */
  retired: Array<Session> = []
  generation = 0
  nextRotationAt = 0
  removed = false
  constructor(
    index: number,
    route: string | undefined,
    config: ConnectionConfig.ConnectionConfig,
    budget: VenueBudgets.Budget
  ) {
    this.index = index
    this.route = route
    this.config = config
    this.budget = budget
  }
}

/** Frames of a stream held after a gap nothing on the socket repairs. */
interface Hold {
  readonly frames: Array<Frame.Frame>
  dropped: number
  resyncing: boolean
}

const millis = (input: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(input))
const STANDBY_BUFFER_LIMIT = 100_000
/**
 * The window a connection's requests are counted over: a tenth longer than
 * the venue's second. A venue counts requests as they arrive, so one delayed
 * in transit more than the requests after it would, counted over exactly a
 * second, share a venue window with one request too many (Binance then
 * closes the connection). The tenth absorbs up to 100 ms of such jitter.
 */
const REQUEST_WINDOW_MS = 1100
/** The hour of `requestsPerHour`, with the same margin for transit. */
const REQUEST_HOUR_MS = 3_600_000 + 100
const lostAnswer: Answer = { failed: [], reason: undefined, lost: true }

/**
 * Makes a feed for `profile` and starts it: shards are opened as topics
 * need them, so a feed with no topics dials nothing until its first
 * `subscribe`. Lives until the scope closes.
 *
 * @example
 * ```ts
 * import { NodeTransport } from "@kharbranth/node"
 * import { Binance, Feed } from "@kharbranth/exchanges"
 * import { Effect, Stream } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const feed = yield* Feed.make("binance", Binance.spot, {
 *     topics: [Binance.trade("btcusdt")],
 *     sequence: Binance.sequence,
 *     cadence: () => "30 seconds"
 *   })
 *   yield* feed.frames.pipe(Stream.take(10), Stream.runForEach((f) => Effect.log(f._tag)))
 * }).pipe(Effect.scoped, Effect.provide(NodeTransport.layer()))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  name: string,
  profile: Venue.Profile,
  options: FeedOptions = {}
): Effect.Effect<Feed, ConnectionError.InvalidConfig, Transport.Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const {
      cadence,
      capacity: capacityOption,
      checkInterval,
      confirmTimeout: confirmTimeoutOption,
      connectionLimit,
      eventsCapacity: eventsCapacityOption,
      holdLimit: holdLimitOption,
      maxLifetime,
      messagesPerSecond,
      onGap = "restart",
      rotateOnNotice = true,
      rotationTimeout: rotationTimeoutOption,
      sequence,
      streamsPerConnection,
      topics: initialTopics = [],
      urls: urlsOption,
      ...connectionOptions
    } = options
    const invalid = (field: string, reason: string) =>
      Effect.fail(new ConnectionError.InvalidConfig({ connection: name, field, reason }))
    const durationField = (field: string, input: Duration.Input | undefined, fallback: number) => {
      if (input === undefined) return Effect.succeed(fallback)
      const decoded = Duration.fromInput(input)
      if (decoded._tag === "None") return invalid(field, `not a duration: ${String(input)}`)
      const ms = Duration.toMillis(decoded.value)
      return ms > 0 && Number.isFinite(ms) ? Effect.succeed(ms) : invalid(field, `must be positive and finite, got ${ms} ms`)
    }
    const positive = (field: string, value: number | undefined) =>
      value === undefined || (Number.isInteger(value) && value > 0)
        ? Effect.void
        : invalid(field, `must be a positive integer, got ${String(value)}`)

    if (onGap !== "restart" && onGap !== "report" && typeof onGap !== "function") {
      yield* invalid("onGap", `must be "restart", "report" or a function, got ${String(onGap)}`)
    }
    if (sequence !== undefined && typeof sequence !== "function") yield* invalid("sequence", "must be a function")
    if (cadence !== undefined && typeof cadence !== "function") yield* invalid("cadence", "must be a function")
    yield* positive("messagesPerSecond", messagesPerSecond)
    yield* positive("streamsPerConnection", streamsPerConnection)
    yield* positive("capacity", capacityOption)
    yield* positive("eventsCapacity", eventsCapacityOption)
    yield* positive("holdLimit", holdLimitOption)
    if (connectionLimit !== undefined) yield* positive("connectionLimit.count", connectionLimit.count)
    const confirmTimeout = yield* durationField("confirmTimeout", confirmTimeoutOption, 10_000)
    const rotationTimeout = yield* durationField("rotationTimeout", rotationTimeoutOption, 30_000)
    const tick = yield* durationField("checkInterval", checkInterval, 250)
    const profileLifetime = profile.limits.maxLifetime === undefined
      ? undefined
      : Math.floor(millis(profile.limits.maxLifetime) * 0.95)
    const lifetime = maxLifetime === undefined
      ? profileLifetime
      : yield* durationField("maxLifetime", maxLifetime, 0)
    const dialWindowSpec = connectionLimit ?? profile.limits.connections
    const dialWindowMs = dialWindowSpec === undefined
      ? 0
      : yield* durationField("connectionLimit.window", dialWindowSpec.window, 0)
    const cap = streamsPerConnection ?? profile.limits.streamsPerConnection ?? Number.POSITIVE_INFINITY
    const capacity = capacityOption ?? 16_384
    const holdLimit = holdLimitOption ?? 10_000
    // One connection config per route, each checked here, so opening a
    // shard later cannot fail on config.
    const configs = new Map<string | undefined, ConnectionConfig.ConnectionConfig>()
    const routeUrl = (route: string | undefined): ConnectionConfig.ConnectionConfig["url"] | undefined => {
      if (route === undefined) return connectionOptions.url
      return urlsOption?.[route] ?? connectionOptions.url ?? profile.urls[route]
    }
    const configFor = (route: string | undefined): ConnectionConfig.ConnectionConfig => {
      let config = configs.get(route)
      if (config === undefined) {
        config = Venue.connectionConfig(profile, { ...connectionOptions, url: routeUrl(route) })
        configs.set(route, config)
      }
      return config
    }
    const config = configFor(undefined)
    yield* ConnectionConfig.resolve(name, config)
    for (const route of Object.keys(urlsOption ?? {})) yield* ConnectionConfig.resolve(name, configFor(route))
    // Budget per connection: the venue's rate when it counts per connection,
    // less what the heartbeat sends in a second where the venue counts it:
    // the client's pings (one for an interval of a second or more, two for
    // 900 ms…) and, where pongs count too, the pong to the venue's ping.
    const venueRate = profile.limits.messagesScope === "ip" ? undefined : profile.limits.messagesPerSecond
    const heartbeat = config.heartbeat
    const heartbeatReserve = profile.limits.countsHeartbeat === true && heartbeat !== undefined && heartbeat._tag !== "None"
      ? Math.ceil(1000 / Math.max(1, millis(heartbeat.interval)))
      : 0
    const pongReserve = profile.limits.countsPongs === true ? 1 : 0
    const budget = messagesPerSecond ??
      (venueRate === undefined ? undefined : Math.max(1, venueRate - heartbeatReserve - pongReserve))
    // The user's functions run on the feed's own fibers: one that throws is
    // reported (`ReaderFailed`) and read as "nothing", never a dead fiber.
    let readerFailure: { readonly reader: "sequence" | "cadence" | "profile"; readonly error: unknown } | undefined
    const topicCadence = (topic: string): number | undefined => {
      let input: Duration.Input | undefined
      try {
        input = cadence?.(topic)
      } catch (error) {
        readerFailure ??= { reader: "cadence", error }
        return undefined
      }
      if (input === undefined) return undefined
      const decoded = Duration.fromInput(input)
      return decoded._tag === "None" ? undefined : Duration.toMillis(decoded.value)
    }
    const readSequence = sequence === undefined ? undefined : (text: string): Venue.Sequence | undefined => {
      try {
        return sequence(text)
      } catch (error) {
        readerFailure ??= { reader: "sequence", error }
        return undefined
      }
    }
    const routeOf = (topic: string): string | undefined => {
      if (profile.route === undefined) return undefined
      try {
        return profile.route(topic)
      } catch (error) {
        readerFailure ??= { reader: "profile", error }
        return undefined
      }
    }

    const feedScope = yield* Effect.scope
    const clock = yield* Clock.Clock
    const budgets = yield* VenueBudgets.VenueBudgets
    const now = () => clock.currentTimeMillisUnsafe()
    const baseTransport = yield* Transport.Transport
    const dialWindow = dialWindowSpec === undefined
      ? RateWindow.unlimited
      : RateWindow.make(dialWindowSpec.count, dialWindowMs, clock)
    const transport = Transport.Transport.of({
      open: (request) => Effect.andThen(dialWindow.take, baseTransport.open(request))
    })

    const frames = new Hub.Hub<Frame.Frame>(capacity, "suspend", capacity)
    const eventsCapacity = eventsCapacityOption ?? 4096
    const events = new Hub.Hub<FeedEvent>(eventsCapacity, "sliding", eventsCapacity)
    const registry = new Map<string, Entry>()
    const shards: Array<Shard> = []
    const lastSeq = new Map<string, number>()
    const holds = new Map<string, Hold>()
    const assignLock = Semaphore.makeUnsafe(1)
    let closed = false
    let nextShard = 0
    const counters = {
      delivered: 0,
      duplicates: 0,
      gaps: 0,
      rotations: 0,
      resubscribes: 0,
      restarts: 0,
      replays: 0,
      requests: 0,
      readerFailures: 0,
      retries: 0,
      resets: 0,
      heldDropped: 0
    }

    const emit = (event: FeedEvent): Effect.Effect<void> => events.publish([event])
    const stopped = (reason: string) => new ConnectionError.ConnectionStopped({ connection: name, reason })
    const fork = <A, E>(effect: Effect.Effect<A, E>) => Effect.asVoid(Effect.forkIn(Effect.ignore(effect), feedScope))

    // ---- requests ---------------------------------------------------------

    /**
     * The profile's requests for `topics` (one per topic when `single`),
     * split further wherever one would exceed `maxRequestBytes`.
     */
    const buildRequests = (
      session: Session,
      op: "subscribe" | "unsubscribe",
      topics: ReadonlyArray<string>,
      single = false
    ): ReadonlyArray<Venue.Request> => {
      if (single) return topics.flatMap((topic) => buildRequests(session, op, [topic]))
      const maxBytes = profile.limits.maxRequestBytes
      const frame = (ts: ReadonlyArray<string>): ReadonlyArray<Venue.Request> => {
        const trial = op === "subscribe" ? profile.subscribe(ts, session.nextId) : profile.unsubscribe(ts, session.nextId)
        const fits = maxBytes === undefined || trial.every((request) => request.text.length <= maxBytes)
        if (fits || ts.length <= 1) {
          session.nextId += trial.length
          return trial
        }
        const half = Math.ceil(ts.length / 2)
        return [...frame(ts.slice(0, half)), ...frame(ts.slice(half))]
      }
      return topics.length === 0 ? [] : frame(topics)
    }

    /**
     * Sends `requests` on `session`, each once every budget admits it (the
     * connection's second and hour, the venue's per-IP windows); answers are
     * matched by `settle`. A send that fails ends the batch: the session is
     * gone, and the next one replays the registry.
     */
    const sendRequests = (
      session: Session,
      requests: ReadonlyArray<Venue.Request>,
      replay: Replay | undefined
    ): Effect.Effect<ReadonlyArray<Inflight>> =>
      Effect.suspend(() => {
        const sent: Array<Inflight> = []
        const sessionNo = session.sessionNo
        const shared = session.shard.budget
        const one = (request: Venue.Request): Effect.Effect<boolean> =>
          session.window.take.pipe(
            Effect.andThen(session.hourly.take),
            Effect.andThen(shared.requests.take),
            Effect.andThen(shared.messages.take),
            Effect.andThen(Effect.suspend(() => {
              if (session.sessionNo !== sessionNo || session.phase === "retired") return Effect.succeed(false)
              const inflight: Inflight = {
                request,
                open: new Set(request.topics),
                sentAt: now(),
                done: Deferred.makeUnsafe<Answer>(),
                failed: [],
                reason: undefined,
                replay
              }
              session.inflight.push(inflight)
              counters.requests += 1
              const send = session.conn === undefined ? Effect.void : session.conn.send(request.text)
              return send.pipe(
                Effect.as(true),
                Effect.catchCause(() =>
                  Effect.sync(() => {
                    session.inflight = session.inflight.filter((i) => i !== inflight)
                    Deferred.doneUnsafe(inflight.done, Effect.succeed(lostAnswer))
                    return false
                  })
                ),
                Effect.tap((ok) => Effect.sync(() => ok && sent.push(inflight)))
              )
            }))
          )
        const loop = (i: number): Effect.Effect<ReadonlyArray<Inflight>> =>
          i >= requests.length
            ? Effect.succeed(sent)
            : Effect.flatMap(one(requests[i]!), (ok) => (ok ? loop(i + 1) : Effect.succeed(sent)))
        return loop(0)
      })

    /** Builds and sends the requests for `topics`; with `replay`, they count towards it. */
    const sendPaced = (
      session: Session,
      op: "subscribe" | "unsubscribe",
      topics: ReadonlyArray<string>,
      replay?: Replay
    ): Effect.Effect<ReadonlyArray<Inflight>> =>
      Effect.suspend(() => {
        const requests = buildRequests(session, op, topics)
        if (replay !== undefined) {
          replay.pending += requests.length
          replay.requests += requests.length
        }
        return sendRequests(session, requests, replay)
      })

    /**
     * Settles whatever `confirmation` answers among `session`'s requests in
     * flight: the topics it names (by topic or instrument) and, when it
     * names none, every topic of the request its id or order points at. A
     * rejection that names none of a request's several topics is not
     * guessed at: each topic is asked again on its own.
     */
    const settle = (session: Session, confirmation: Venue.Confirmation, at: number, after: Array<Effect.Effect<void>>) => {
      const namesAny = confirmation.topics.length > 0 || (confirmation.instruments?.length ?? 0) > 0
      for (const inflight of session.inflight) {
        const outcome = Venue.outcome(inflight.request, confirmation)
        if (outcome === undefined) continue
        const open = [...inflight.open]
        const named = confirmation.kind === "active" ? open : open.filter((t) => Venue.names(confirmation, t))
        if (named.length === 0 && namesAny && confirmation.kind !== "active") continue
        if (named.length === 0 && outcome === "rejected" && open.length > 1) {
          inflight.open.clear()
          askOneByOne(session, inflight, open, after)
        } else {
          const topics = named.length > 0 ? named : open
          for (const topic of topics) inflight.open.delete(topic)
          const reason = outcome === "rejected" ? confirmation.reason ?? "rejected by the venue" : undefined
          if (outcome === "rejected") {
            inflight.failed.push(...topics)
            inflight.reason ??= reason
          }
          applyOutcome(session, inflight, {
            topics,
            outcome,
            reason,
            permanent: confirmation.permanent === true
          }, at, after)
        }
        if (inflight.open.size === 0) finish(session, inflight, at, after)
        if (confirmation.kind !== "active") break
      }
    }

    /** Sends each of `topics` again in a request of its own, so the venue's next answers name one topic each. */
    const askOneByOne = (session: Session, inflight: Inflight, topics: ReadonlyArray<string>, after: Array<Effect.Effect<void>>) => {
      const requests = buildRequests(session, inflight.request.op, topics, true)
      const replay = inflight.replay
      if (replay !== undefined) {
        replay.pending += requests.length
        replay.requests += requests.length
      }
      after.push(fork(sendRequests(session, requests, replay)))
    }

    const applyOutcome = (
      session: Session,
      inflight: Inflight,
      result: Outcome,
      at: number,
      after: Array<Effect.Effect<void>>
    ) => {
      const replay = inflight.replay
      if (replay !== undefined) {
        if (result.outcome === "confirmed") replay.confirmed += result.topics.length
        else replay.failed.push(...result.topics)
      }
      if (inflight.request.op !== "subscribe") return
      if (result.outcome === "rejected") {
        for (const topic of result.topics) session.requested.delete(topic)
      }
      if (session.phase === "standby") session.outcomes.push(result)
      else if (session.phase === "live") applyToRegistry(session.shard, result, replay === undefined, at, after)
    }

    /** The registry's transitions for a live session's answer; events unless it was part of a replay. */
    const applyToRegistry = (
      shard: Shard,
      result: Outcome,
      report: boolean,
      at: number,
      after: Array<Effect.Effect<void>>
    ) => {
      const settled: Array<string> = []
      const final: Array<Entry> = []
      let retryAt: number | undefined
      for (const topic of result.topics) {
        const entry = registry.get(topic)
        if (entry === undefined || entry.shard !== shard) continue
        if (result.outcome === "confirmed") {
          if (Registry.confirm(entry, at)) settled.push(topic)
          continue
        }
        const state = Registry.reject(entry, name, result.reason ?? "rejected", result.permanent, at)
        if (state === undefined) continue
        settled.push(topic)
        if (state === "failed") final.push(entry)
        else retryAt = entry.retryAt
      }
      if (final.length > 0) after.push(retire(shard, final))
      if (!report || settled.length === 0) return
      after.push(emit(
        result.outcome === "confirmed"
          ? FeedEvent.Subscribed({ at, shard: shard.index, topics: settled })
          : FeedEvent.SubscribeFailed({
            at,
            shard: shard.index,
            topics: settled,
            reason: result.reason ?? "rejected",
            permanent: result.permanent,
            retryAt
          })
      ))
    }

    /** Topics failed for good leave their shard (and its budgets); a shard left with none is closed. */
    const retire = (shard: Shard, entries: ReadonlyArray<Entry>): Effect.Effect<void> =>
      Effect.suspend(() => {
        for (const entry of entries) release(entry)
        return shard.topics.size === 0 ? removeShard(shard) : Effect.void
      })

    /** A topic no longer held: out of its shard, and its share of the venue's caps given back. */
    const release = (entry: Entry): void => {
      if (!entry.shard.topics.delete(entry.topic)) return
      entry.shard.budget.subscriptions.release()
      entry.shard.budget.topic(entry.topic).release()
    }

    const finish = (session: Session, inflight: Inflight, at: number, after: Array<Effect.Effect<void>>) => {
      session.inflight = session.inflight.filter((i) => i !== inflight)
      Deferred.doneUnsafe(inflight.done, Effect.succeed({ failed: inflight.failed, reason: inflight.reason, lost: false }))
      const replay = inflight.replay
      if (replay === undefined) return
      replay.pending -= 1
      if (replay.pending > 0) return
      if (replay.session === session.sessionNo) session.replayDone = true
      counters.replays += 1
      after.push(emit(FeedEvent.Replayed({
        at,
        shard: session.shard.index,
        session: replay.session,
        requests: replay.requests,
        confirmed: replay.confirmed,
        failed: replay.failed,
        took: at - replay.startedAt
      })))
    }

    /** Requests the venue has not answered within `confirmTimeout` fail; their topics are retried. */
    const expire = (session: Session, at: number, after: Array<Effect.Effect<void>>) => {
      for (const inflight of [...session.inflight]) {
        if (at - inflight.sentAt < confirmTimeout) continue
        const topics = [...inflight.open]
        inflight.open.clear()
        inflight.failed.push(...topics)
        inflight.reason = `no answer within ${confirmTimeout} ms`
        applyOutcome(session, inflight, { topics, outcome: "rejected", reason: inflight.reason, permanent: false }, at, after)
        finish(session, inflight, at, after)
      }
    }

    /**
     * The session that carried `session.inflight` ended: no answer will
     * come. Callers waiting on those requests are told (`lost`); the
     * registry keeps the topics, and the next session replays them.
     */
    const abandon = (session: Session): void => {
      const inflight = session.inflight
      session.inflight = []
      for (const i of inflight) Deferred.doneUnsafe(i.done, Effect.succeed(lostAnswer))
    }

    // ---- sessions ---------------------------------------------------------

    /** After every (re)connect: send the shard's topics again, paced, in registry order. */
    const onOpen = (session: Session, context: ConnectionModule.OpenContext): Effect.Effect<void> =>
      Effect.suspend(() => {
        const at = now()
        abandon(session)
        session.open = true
        session.sessionNo = context.session
        session.openedAt = at
        session.replayDone = false
        session.requested = new Set()
        session.outcomes = []
        if (session.phase === "retired") return Effect.void
        const topics = [...session.shard.topics]
        if (session.phase === "live") {
          for (const topic of topics) {
            const entry = registry.get(topic)
            if (entry !== undefined) Registry.replaying(entry)
          }
        }
        for (const topic of topics) session.requested.add(topic)
        if (topics.length === 0) {
          session.replayDone = true
          return Effect.void
        }
        const previous = session.replayFiber
        // The first session of a shard just subscribes; later ones (and a
        // rotation's new session) replay, and report it.
        const isReplay = context.session > 1 || session.phase === "standby"
        const replay: Replay | undefined = isReplay
          ? { pending: 0, confirmed: 0, requests: 0, failed: [], startedAt: at, session: context.session }
          : undefined
        return Effect.gen(function*() {
          if (previous !== undefined) yield* Fiber.interrupt(previous)
          session.replayFiber = yield* Effect.forkIn(Effect.asVoid(sendPaced(session, "subscribe", topics, replay)), session.scope)
        })
      })

    const onConnectionEvent = (session: Session, event: ConnectionEvent.ConnectionEvent): Effect.Effect<void> => {
      if ((event._tag === "Disconnected" && event.session === session.sessionNo) || event._tag === "Closed") {
        session.open = false
        session.openedAt = undefined
        abandon(session)
      }
      return emit(FeedEvent.Connection({
        at: event.at,
        shard: session.shard.index,
        connection: session.connection,
        event
      }))
    }

    const makeSession = (shard: Shard, generation: number, phase: Session["phase"]) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(feedScope, "sequential")
        const connection = `${name}/${shard.index}.${generation}`
        const requestsPerHour = profile.limits.requestsPerHour
        const session: Session = {
          shard,
          generation,
          connection,
          scope,
          conn: undefined,
          phase,
          open: false,
          sessionNo: 0,
          openedAt: undefined,
          nextId: 1,
          inflight: [],
          replayFiber: undefined,
          replayDone: false,
          gotData: false,
          seen: new Set(),
          seenSession: 0,
          requested: new Set(),
          broken: 0,
          buffer: [],
          firstSeq: new Map(),
          outcomes: [],
          switched: Deferred.makeUnsafe<boolean>(),
          window: budget === undefined ? RateWindow.unlimited : RateWindow.make(budget, REQUEST_WINDOW_MS, clock),
          hourly: requestsPerHour === undefined
            ? RateWindow.unlimited
            : RateWindow.make(requestsPerHour, REQUEST_HOUR_MS, clock)
        }
        const conn = yield* Connection.make(connection, shard.config, {
          onOpen: (context) => onOpen(session, context)
        }).pipe(
          Effect.provideService(Transport.Transport, transport),
          Scope.provide(scope),
          Effect.orDie,
          Effect.onError(() => Scope.close(scope, Exit.void))
        )
        session.conn = conn
        yield* conn.frames.pipe(
          Stream.runForEachArray((batch) => onBatch(session, batch)),
          Effect.forkIn(scope)
        )
        yield* conn.events.pipe(
          Stream.runForEach((event) => onConnectionEvent(session, event)),
          Effect.forkIn(scope)
        )
        return session
      })

    /** Closes a session that will carry nothing more; its unanswered requests are lost. */
    const closeSession = (session: Session): Effect.Effect<void> =>
      Effect.suspend(() => {
        session.phase = "retired"
        abandon(session)
        return Scope.close(session.scope, Exit.void)
      })

    // ---- frames -----------------------------------------------------------

    /**
     * Whether a live session's data message goes out: drops duplicates,
     * reports gaps and resets, holds a stream a gap left unrepaired. A
     * snapshot restarts its stream (venues reset numbering after a restart:
     * Bybit `u` = 1), except while a rotation's held frames are released
     * (`overlap`): there a snapshot older than what consumers already have
     * would take their book back in time, so it is dropped.
     */
    const admit = (
      session: Session,
      frame: Frame.Frame,
      seq: Venue.Sequence | undefined,
      at: number,
      after: Array<Effect.Effect<void>>,
      overlap = false
    ): boolean => {
      if (seq === undefined) return true
      const stream = seq.stream
      const last = lastSeq.get(stream)
      const first = !session.seen.has(stream)
      session.seen.add(stream)
      const verdict = Sequencer.judge(last, seq, overlap)
      const hold = holds.get(stream)
      switch (verdict._tag) {
        case "Duplicate":
          counters.duplicates += 1
          return false
        case "Reset":
          counters.resets += 1
          after.push(emit(FeedEvent.SequenceReset({ at, shard: session.shard.index, stream, from: verdict.from, to: verdict.to })))
          break
        case "InOrder":
          if (hold !== undefined && seq.snapshot === true && !hold.resyncing) {
            // The venue's snapshot repairs the stream: what was held is older.
            holds.delete(stream)
            counters.heldDropped += hold.frames.length
            after.push(emit(FeedEvent.Released({ at, stream, frames: 0, dropped: hold.frames.length + hold.dropped })))
            lastSeq.set(stream, seq.last)
            return true
          }
          break
        case "Gap": {
          counters.gaps += 1
          const gap: Gap = {
            feed: name,
            stream,
            expected: verdict.expected,
            got: verdict.got,
            shard: session.shard.index,
            sessionStart: first
          }
          if (hold !== undefined) {
            // Already held: the resync under way (or to come) covers it.
            after.push(emit(FeedEvent.GapDetected({ ...gap, at, action: "hold" })))
            break
          }
          if (onGap === "restart" && !first) {
            session.broken = session.seenSession
            after.push(gapRestart(gap, session, at))
            return false
          }
          if (seq.needsResync === true) {
            holds.set(stream, { frames: [], dropped: 0, resyncing: typeof onGap === "function" })
            after.push(gapHold(gap, at))
          } else {
            after.push(gapReport(gap, at))
          }
          break
        }
      }
      lastSeq.set(stream, seq.last)
      const held = holds.get(stream)
      if (held === undefined) return true
      held.frames.push(frame)
      if (held.frames.length > holdLimit) {
        held.frames.shift()
        held.dropped += 1
        counters.heldDropped += 1
      }
      return false
    }

    const resync = typeof onGap === "function" ? onGap : undefined

    /** Runs the resync callback in its own fiber; `ResyncFailed` if it fails. */
    const runResync = (gap: Gap, onSuccess: Effect.Effect<void>): Effect.Effect<void> =>
      resync === undefined ? Effect.void : fork(Effect.suspend(() => resync(gap)).pipe(
        Effect.andThen(onSuccess),
        Effect.catchCause((cause) => emit(FeedEvent.ResyncFailed({ at: now(), stream: gap.stream, cause })))
      ))

    const gapRestart = (gap: Gap, session: Session, at: number): Effect.Effect<void> => {
      counters.restarts += 1
      return Effect.andThen(
        emit(FeedEvent.GapDetected({ ...gap, at, action: "restart" })),
        restartSession(session, `sequence gap on ${gap.stream}: expected ${gap.expected}, got ${gap.got}`)
      )
    }

    /** A gap a restart would not mend (at a session's start) or that is only reported: the resync callback, if any. */
    const gapReport = (gap: Gap, at: number): Effect.Effect<void> =>
      resync === undefined
        ? emit(FeedEvent.GapDetected({ ...gap, at, action: "report" }))
        : Effect.andThen(emit(FeedEvent.GapDetected({ ...gap, at, action: "resync" })), runResync(gap, Effect.void))

    /** A gap in a stream nothing on the socket repairs: its frames are held until the resync ran. */
    const gapHold = (gap: Gap, at: number): Effect.Effect<void> =>
      Effect.andThen(
        emit(FeedEvent.GapDetected({ ...gap, at, action: resync === undefined ? "hold" : "resync" })),
        Effect.andThen(
          emit(FeedEvent.Held({
            at,
            stream: gap.stream,
            reason: resync === undefined
              ? "no snapshot on the socket and no resync callback (onGap): held until the venue sends a snapshot"
              : "held until the resync callback succeeds"
          })),
          runResync(gap, releaseHold(gap.stream))
        )
      )

    /** Delivers a held stream's frames in order and lets it flow again. */
    const releaseHold = (stream: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        const hold = holds.get(stream)
        if (hold === undefined) return Effect.void
        holds.delete(stream)
        const at = now()
        counters.delivered += hold.frames.length
        return Effect.andThen(
          frames.publish(hold.frames),
          emit(FeedEvent.Released({ at, stream, frames: hold.frames.length, dropped: hold.dropped }))
        )
      })

    const reportReaderFailure = (at: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        const failure = readerFailure
        readerFailure = undefined
        if (failure === undefined) return Effect.void
        counters.readerFailures += 1
        return emit(FeedEvent.ReaderFailed({ at, reader: failure.reader, error: failure.error }))
      })

    const restartSession = (session: Session, reason: string): Effect.Effect<void> =>
      session.conn === undefined ? Effect.void : Effect.ignore(session.conn.restart(reason))

    /** One frame of a batch: answers, notices, data; what goes out is pushed on `out`. */
    const onFrame = (
      session: Session,
      frame: Frame.Frame,
      at: number,
      out: Array<Frame.Frame>,
      after: Array<Effect.Effect<void>>
    ): void => {
      const shard = session.shard
      if (frame._tag !== "Text") {
        if (session.phase === "live") out.push(frame)
        return
      }
      const text = frame.data
      const confirmation = profile.confirmation(text)
      if (confirmation !== undefined) {
        settle(session, confirmation, at, after)
        if (session.phase === "live") out.push(frame)
        return
      }
      if (profile.isNotice(text)) {
        if (session.phase === "live") {
          out.push(frame)
          if (rotateOnNotice) after.push(fork(rotateShard(shard, "notice")))
        }
        return
      }
      // One reading per message: the sequence (if a reader was given) names
      // the stream, which is the topic for the venue readers; the topic is
      // read on its own only where it is used (staleness, a standby's
      // first data) and the sequence did not already name a held topic.
      const seq = readSequence === undefined ? undefined : readSequence(text)
      const topic = seq !== undefined && registry.has(seq.stream)
        ? seq.stream
        : cadence !== undefined || session.phase === "standby"
        ? profile.topicOf(text)
        : undefined
      if (topic !== undefined) session.gotData = true
      if (session.phase === "standby") {
        session.buffer.push(frame)
        if (seq !== undefined && !session.firstSeq.has(seq.stream)) session.firstSeq.set(seq.stream, seq)
        return
      }
      if (frame.session !== session.seenSession) {
        session.seenSession = frame.session
        session.seen = new Set()
      }
      if (frame.session === session.broken) return
      const admitted = admit(session, frame, seq, at, after)
      // Only data that moves its stream on is news of the topic: a
      // duplicate (or a frame of a restarting session) does not count.
      if (topic !== undefined && (admitted || holds.has(topic))) {
        const entry = registry.get(topic)
        if (entry !== undefined && entry.shard === shard) {
          entry.lastData = at
          entry.quiet = 0
        }
      }
      if (admitted) out.push(frame)
    }

    const onBatch = (session: Session, batch: ReadonlyArray<Frame.Frame>): Effect.Effect<void> => {
      if (session.phase === "retired") return Effect.void
      const at = now()
      const out: Array<Frame.Frame> = []
      const after: Array<Effect.Effect<void>> = []
      const shard = session.shard
      for (const frame of batch) {
        try {
          onFrame(session, frame, at, out, after)
        } catch (error) {
          // A user-written profile that throws: reported, and the frame is
          // delivered as it came rather than lost.
          readerFailure ??= { reader: "profile", error }
          if (session.phase === "live") out.push(frame)
        }
      }
      const standby = shard.standby
      if (standby !== undefined && ready(standby)) out.push(...switchOver(shard, standby, at, true, after))
      return deliver(out, after, at)
    }

    /** Hands `out` to consumers, then runs what the frames triggered (events, actions). */
    const deliver = (out: ReadonlyArray<Frame.Frame>, after: Array<Effect.Effect<void>>, at: number): Effect.Effect<void> => {
      counters.delivered += out.length
      if (readerFailure !== undefined) after.push(reportReaderFailure(at))
      const published = frames.publish(out)
      return after.length === 0 ? published : Effect.andThen(published, Effect.all(after, { discard: true }))
    }

    /** Whether a standby session may take over: replayed, has data, and overlaps the live one on every sequenced stream. */
    const ready = (standby: Session): boolean => {
      if (!standby.replayDone || !standby.gotData) return false
      if (standby.buffer.length >= STANDBY_BUFFER_LIMIT) return true
      if (!standby.shard.live.open) return true
      for (const [stream, seq] of standby.firstSeq) {
        if (!Sequencer.overlaps(lastSeq.get(stream), seq)) return false
      }
      return true
    }

    /**
     * Makes `standby` the live session: the registry takes the new session's
     * answers (a topic it rejected no longer reads `confirmed`), its held
     * frames go out (deduplicated), the old session stops delivering.
     */
    const switchOver = (
      shard: Shard,
      standby: Session,
      at: number,
      overlapped: boolean,
      after: Array<Effect.Effect<void>>
    ): Array<Frame.Frame> => {
      const old = shard.live
      old.phase = "retired"
      abandon(old)
      shard.retired.push(old)
      standby.phase = "live"
      shard.live = standby
      shard.standby = undefined
      for (const topic of shard.topics) {
        const entry = registry.get(topic)
        if (entry !== undefined) {
          entry.lastData = at
          entry.quiet = 0
        }
      }
      for (const outcome of standby.outcomes) applyToRegistry(shard, outcome, true, at, after)
      standby.outcomes = []
      const out: Array<Frame.Frame> = []
      for (const frame of standby.buffer) {
        if (frame.session !== standby.seenSession) {
          standby.seenSession = frame.session
          standby.seen = new Set()
        }
        const seq = frame._tag !== "Text" || readSequence === undefined ? undefined : readSequence(frame.data)
        if (admit(standby, frame, seq, at, after, true)) out.push(frame)
      }
      standby.buffer = []
      standby.firstSeq = new Map()
      Deferred.doneUnsafe(standby.switched, Effect.succeed(overlapped))
      return out
    }

    // ---- rotation -----------------------------------------------------------

    const rotateShard = (shard: Shard, reason: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (closed || shard.removed || shard.standby !== undefined) return Effect.void
        const startedAt = now()
        shard.nextRotationAt = startedAt + rotationTimeout
        shard.generation += 1
        const generation = shard.generation
        return Effect.gen(function*() {
          yield* emit(FeedEvent.RotationStarted({ at: startedAt, shard: shard.index, reason }))
          const standby = yield* makeSession(shard, generation, "standby")
          if (closed || shard.removed) return yield* closeSession(standby)
          shard.standby = standby
          const outcome = yield* Deferred.await(standby.switched).pipe(Effect.timeoutOption(Duration.millis(rotationTimeout)))
          let overlapped: boolean | undefined = outcome._tag === "Some" ? outcome.value : undefined
          if (overlapped === undefined && shard.standby === standby && standby.replayDone && standby.gotData) {
            // Not overlapped in time (the old session fell behind or went
            // quiet): switch anyway; any gap is reported by the sequence check.
            const after: Array<Effect.Effect<void>> = []
            const at = now()
            yield* deliver(switchOver(shard, standby, at, false, after), after, at)
            overlapped = false
          }
          if (overlapped === undefined) {
            if (shard.standby === standby) shard.standby = undefined
            yield* closeSession(standby)
            yield* emit(FeedEvent.RotationFailed({
              at: now(),
              shard: shard.index,
              reason: `the new session was not ready within ${rotationTimeout} ms`
            }))
            return
          }
          counters.rotations += 1
          shard.nextRotationAt = 0
          yield* emit(FeedEvent.Rotated({
            at: now(),
            shard: shard.index,
            generation,
            took: now() - startedAt,
            overlapped
          }))
          const retired = shard.retired
          shard.retired = []
          yield* Effect.forEach(retired, closeSession, { discard: true })
        })
      })

    // ---- shards -----------------------------------------------------------

    const addShard = (route: string | undefined) =>
      Effect.gen(function*() {
        const config = configFor(route)
        const url = typeof config.url === "string" ? config.url : profile.urls[route ?? ""] ?? profile.url
        const shared = budgets.budget(profile, url, clock)
        if (!shared.connections.take()) return undefined
        const index = nextShard++
        const shard = new Shard(index, route, config, shared)
        shard.live = yield* makeSession(shard, 0, "live").pipe(Effect.onError(() => Effect.sync(() => shared.connections.release())))
        shards.push(shard)
        yield* emit(FeedEvent.ShardAdded({ at: now(), shard: index, connection: shard.live.connection }))
        return shard
      })

    /**
     * Registers each new topic on the first shard of its route with room,
     * opening shards as needed; a topic a venue cap refuses is returned in
     * `refused` with the cap's reason, never registered nor sent.
     */
    const assign = (topics: ReadonlyArray<string>) =>
      assignLock.withPermits(1)(Effect.gen(function*() {
        const placed = new Map<Shard, Array<string>>()
        const refused = new Map<string, Array<string>>()
        for (const topic of topics) {
          const held = registry.get(topic)
          if (held !== undefined && Registry.isActive(held)) continue
          const route = routeOf(topic)
          let shard = shards.find((s) => !s.removed && s.route === route && s.topics.size < cap)
          if (shard === undefined) shard = yield* addShard(route)
          if (shard === undefined) {
            addTo(refused, `the venue's cap of ${profile.limits.connectionsPerIp} connections per IP is reached`, topic)
            continue
          }
          if (!shard.budget.subscriptions.take()) {
            addTo(refused, `the venue's cap of ${profile.limits.subscriptionsPerIp} subscriptions per IP is reached`, topic)
            if (shard.topics.size === 0) yield* removeShardNow(shard)
            continue
          }
          if (!shard.budget.topic(topic).take()) {
            shard.budget.subscriptions.release()
            addTo(refused, `the venue's cap of ${profile.limits.subscribersPerTopic} connections per topic is reached`, topic)
            if (shard.topics.size === 0) yield* removeShardNow(shard)
            continue
          }
          shard.topics.add(topic)
          registry.set(topic, Registry.make(topic, shard, topicCadence(topic)))
          addTo(placed, shard, topic)
        }
        return { placed, refused }
      }))

    const sessionsOf = (shard: Shard): ReadonlyArray<Session> =>
      shard.standby === undefined ? [shard.live] : [shard.live, shard.standby]

    // ---- subscribe / unsubscribe --------------------------------------------

    /** What the venue rejected (or left unanswered) of some requests, and the first reason it gave. */
    interface Rejections {
      readonly failed: Array<string>
      reason: string | undefined
      permanent: boolean | undefined
    }
    const noRejections = (): Rejections => ({ failed: [], reason: undefined, permanent: undefined })

    /** Waits for the venue's answers to `sent`, adding what it rejected to `into`; a lost answer rejects nothing. */
    const awaitAnswers = (sent: ReadonlyArray<Inflight>, into: Rejections) =>
      Effect.forEach(sent, (inflight) =>
        Effect.map(Deferred.await(inflight.done), (answer) => {
          into.failed.push(...answer.failed)
          into.reason ??= answer.reason
        }), { discard: true })

    /** Waits for the registry to settle `waiters`, adding the rejected topics to `into`; fails if the feed stopped. */
    const awaitWaiters = (waiters: ReadonlyArray<Registry.Waiter>, into: Rejections) =>
      Effect.gen(function*() {
        const results = yield* Effect.forEach(waiters, (w) => Effect.exit(Deferred.await(w)))
        for (const result of results) {
          if (result._tag === "Success") continue
          const found = Cause.findErrorOption(result.cause)
          if (found._tag === "None") continue
          const error = found.value
          if (error._tag === "ConnectionStopped") return yield* Effect.fail(error)
          into.failed.push(...error.topics)
          into.reason ??= error.reason
          into.permanent = (into.permanent ?? true) && error.permanent === true
        }
      })

    /** Fails with the `SubscriptionError` naming every rejected topic, if any. */
    const failOn = (op: "subscribe" | "unsubscribe", rejections: Rejections): Effect.Effect<void, SubscriptionError> =>
      rejections.failed.length === 0
        ? Effect.void
        : Effect.fail(
          new SubscriptionError({
            feed: name,
            op,
            topics: rejections.failed,
            reason: rejections.reason ?? "rejected",
            ...(rejections.permanent === undefined ? {} : { permanent: rejections.permanent })
          })
        )

    /** Appends `topic` to the list of `key`. */
    const addTo = <K>(groups: Map<K, Array<string>>, key: K, topic: string): void => {
      const list = groups.get(key)
      if (list === undefined) groups.set(key, [topic])
      else list.push(topic)
    }

    const toList = (topics: string | ReadonlyArray<string>): ReadonlyArray<string> =>
      [...new Set(typeof topics === "string" ? [topics] : topics)]

    const checkTopics = (
      op: "subscribe" | "unsubscribe",
      topics: ReadonlyArray<string>
    ): Effect.Effect<void, SubscriptionError> => {
      const bad = topics.filter((t) => typeof t !== "string" || t.length === 0)
      return bad.length === 0
        ? Effect.void
        : Effect.fail(new SubscriptionError({ feed: name, op, topics: bad.map(String), reason: "a topic must be a non-empty string" }))
    }

    /** Sends `topics` on every open session of `shard` that has not requested them yet. */
    const request = (shard: Shard, topics: ReadonlyArray<string>): Effect.Effect<void> =>
      Effect.forEach(sessionsOf(shard), (session) => {
        if (!session.open || session.phase === "retired") return Effect.void
        // A session that opened meanwhile is replaying them already: a
        // second request would be rejected as a duplicate by some venues.
        const missing = topics.filter((t) => !session.requested.has(t))
        for (const topic of missing) session.requested.add(topic)
        return missing.length === 0 ? Effect.void : fork(sendPaced(session, "subscribe", missing))
      }, { discard: true })

    const subscribe = (input: string | ReadonlyArray<string>) =>
      Effect.gen(function*() {
        if (closed) return yield* Effect.fail(stopped("the feed is closed"))
        const topics = toList(input)
        yield* checkTopics("subscribe", topics)
        const { placed, refused } = yield* assign(topics)
        yield* reportReaderFailure(now())
        const refusedTopics = new Set([...refused.values()].flat())
        const waits: Array<Registry.Waiter> = []
        for (const topic of topics) {
          const entry = registry.get(topic)
          if (entry === undefined || entry.state === "confirmed" || refusedTopics.has(topic)) continue
          waits.push(Registry.wait(entry))
        }
        for (const [shard, list] of placed) yield* request(shard, list)
        const rejections = noRejections()
        yield* awaitWaiters(waits, rejections)
        for (const [reason, list] of refused) {
          rejections.failed.push(...list)
          rejections.reason ??= reason
          rejections.permanent = true
        }
        yield* failOn("subscribe", rejections)
      })

    const unsubscribe = (input: string | ReadonlyArray<string>) =>
      Effect.gen(function*() {
        if (closed) return yield* Effect.fail(stopped("the feed is closed"))
        const topics = toList(input)
        yield* checkTopics("unsubscribe", topics)
        const byShard = new Map<Shard, Array<string>>()
        const touched = new Set<Shard>()
        const removed: Array<string> = []
        for (const topic of topics) {
          const entry = registry.get(topic)
          if (entry === undefined) continue
          registry.delete(topic)
          lastSeq.delete(topic)
          holds.delete(topic)
          const active = entry.shard.topics.has(topic)
          release(entry)
          touched.add(entry.shard)
          for (const session of sessionsOf(entry.shard)) session.requested.delete(topic)
          removed.push(topic)
          Registry.settle(entry, Effect.fail(new SubscriptionError({ feed: name, op: "subscribe", topics: [topic], reason: "unsubscribed before the venue confirmed it", permanent: true })))
          if (active) addTo(byShard, entry.shard, topic)
        }
        if (removed.length === 0) return
        yield* emit(FeedEvent.Unsubscribed({ at: now(), topics: removed }))
        const rejections = noRejections()
        for (const [shard, list] of byShard) {
          for (const session of sessionsOf(shard)) {
            if (!session.open || session.phase === "retired") continue
            const sent = yield* sendPaced(session, "unsubscribe", list)
            if (session === shard.live) yield* awaitAnswers(sent, rejections)
          }
        }
        for (const shard of touched) if (shard.topics.size === 0) yield* removeShard(shard)
        yield* failOn("unsubscribe", rejections)
      })

    /**
     * Unsubscribe then subscribe on the live session, and wait until the
     * registry settles each topic: by this answer, or, if the session drops
     * first, by the next session's replay.
     */
    const resendTopics = (session: Session, topics: ReadonlyArray<string>, into: Rejections) =>
      Effect.gen(function*() {
        const unsubscribed = yield* sendPaced(session, "unsubscribe", topics)
        yield* Effect.forEach(unsubscribed, (i) => Deferred.await(i.done), { discard: true })
        const waiters: Array<Registry.Waiter> = []
        for (const topic of topics) {
          const entry = registry.get(topic)
          if (entry !== undefined && Registry.isActive(entry)) waiters.push(Registry.wait(entry))
        }
        yield* sendPaced(session, "subscribe", topics)
        yield* awaitWaiters(waiters, into)
      })

    const resubscribe = (input: string | ReadonlyArray<string>) =>
      Effect.gen(function*() {
        if (closed) return yield* Effect.fail(stopped("the feed is closed"))
        const topics = toList(input)
        yield* checkTopics("subscribe", topics)
        const unknown = topics.filter((t) => registry.get(t)?.state !== "confirmed")
        if (unknown.length > 0) {
          return yield* Effect.fail(new SubscriptionError({ feed: name, op: "subscribe", topics: unknown, reason: "not a confirmed subscription of this feed" }))
        }
        const byShard = new Map<Shard, Array<string>>()
        for (const topic of topics) addTo(byShard, registry.get(topic)!.shard, topic)
        const rejections = noRejections()
        yield* Effect.forEach(byShard, ([shard, list]) => resendTopics(shard.live, list, rejections), {
          concurrency: "unbounded",
          discard: true
        })
        yield* failOn("subscribe", rejections)
      })

    /** Closes a shard with no topic left: its connections, and its share of the venue's connection cap. */
    const removeShardNow = (shard: Shard): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (shard.topics.size > 0 || shard.removed) return Effect.void
        shard.removed = true
        shards.splice(shards.indexOf(shard), 1)
        shard.budget.connections.release()
        const sessions = [...sessionsOf(shard), ...shard.retired]
        shard.retired = []
        return Effect.andThen(
          Effect.forEach(sessions, closeSession, { discard: true }),
          emit(FeedEvent.ShardRemoved({ at: now(), shard: shard.index }))
        )
      })
    const removeShard = (shard: Shard) => assignLock.withPermits(1)(removeShardNow(shard))

    // ---- the feed's one timer ----------------------------------------------

    const check: Effect.Effect<void> = Effect.suspend(() => {
      const at = now()
      const after: Array<Effect.Effect<void>> = []
      for (const shard of shards) {
        for (const session of sessionsOf(shard)) expire(session, at, after)
        const live = shard.live
        if (
          lifetime !== undefined && live.open && live.openedAt !== undefined && shard.standby === undefined &&
          at - live.openedAt >= lifetime && at >= shard.nextRotationAt
        ) {
          after.push(fork(rotateShard(shard, "maxLifetime")))
        }
      }
      const retry = new Map<Shard, Array<string>>()
      const restart = new Set<Shard>()
      for (const entry of registry.values()) {
        const shard = entry.shard
        if (Registry.isDue(entry, at) && shard.live.open && !shard.removed) {
          Registry.request(entry)
          shard.live.requested.delete(entry.topic)
          addTo(retry, shard, entry.topic)
          continue
        }
        if (entry.cadence === undefined || entry.state !== "confirmed" || entry.lastData === undefined) continue
        if (!shard.live.open || shard.standby !== undefined || restart.has(shard)) continue
        const quietFor = at - entry.lastData
        if (quietFor <= entry.cadence) continue
        entry.lastData = at
        if (entry.quiet === 0) {
          entry.quiet = 1
          counters.resubscribes += 1
          const session = shard.live
          after.push(emit(FeedEvent.Stale({ at, topic: entry.topic, quietFor, action: "resubscribe" })))
          after.push(fork(resendTopics(session, [entry.topic], noRejections())))
        } else {
          entry.quiet = 0
          restart.add(shard)
          counters.restarts += 1
          after.push(emit(FeedEvent.Stale({ at, topic: entry.topic, quietFor, action: "restart" })))
          after.push(restartSession(shard.live, `topic ${entry.topic} quiet for ${quietFor} ms after a resubscribe`))
        }
      }
      for (const [shard, list] of retry) {
        counters.retries += list.length
        after.push(request(shard, list))
      }
      return Effect.all(after, { discard: true })
    })
    yield* Effect.forkIn(Effect.forever(Effect.andThen(Effect.sleep(Duration.millis(tick)), check)), feedScope)

    // ---- lifecycle ----------------------------------------------------------

    const closeDone = Deferred.makeUnsafe<void>()
    const close: Effect.Effect<void> = Effect.suspend(() => {
      if (closed) return Deferred.await(closeDone)
      closed = true
      const error = stopped("the feed is closed")
      for (const entry of registry.values()) {
        Registry.settle(entry, Effect.fail(error))
        release(entry)
      }
      for (const shard of shards) shard.budget.connections.release()
      return Effect.forEach(
        shards.flatMap((s) => [...sessionsOf(s), ...s.retired]),
        closeSession,
        { concurrency: "unbounded", discard: true }
      ).pipe(
        Effect.andThen(frames.end),
        Effect.andThen(events.end),
        Effect.andThen(Deferred.succeed(closeDone, undefined))
      )
    })
    yield* Scope.addFinalizer(feedScope, close)

    if (initialTopics.length > 0) {
      yield* checkTopics("subscribe", initialTopics).pipe(
        Effect.mapError((e) => new ConnectionError.InvalidConfig({ connection: name, field: "topics", reason: e.reason }))
      )
      yield* fork(subscribe(initialTopics))
    }

    const feed: Feed = {
      name,
      profile,
      frames: frames.stream,
      events: events.stream,
      subscribe,
      unsubscribe,
      resubscribe,
      restart: (reason = "requested") =>
        Effect.forEach([...shards], (shard) => restartSession(shard.live, reason), { discard: true }),
      subscriptions: Effect.sync(() =>
        [...registry.values()].map((e) => ({
          topic: e.topic,
          state: e.state,
          shard: e.shard.index,
          reason: e.reason,
          lastDataAt: e.lastData,
          failures: e.failures,
          retryAt: e.retryAt
        }))
      ),
      shards: Effect.sync(() =>
        shards.map((s) => ({
          shard: s.index,
          connection: s.live.connection,
          generation: s.generation,
          open: s.live.open,
          rotating: s.standby !== undefined,
          topics: [...s.topics]
        }))
      ),
      rotate: (reason = "requested") =>
        Effect.forEach([...shards], (shard) => rotateShard(shard, reason), { concurrency: "unbounded", discard: true }),
      stats: Effect.sync(() => {
        let held = 0
        for (const hold of holds.values()) held += hold.frames.length
        return {
          shards: shards.length,
          topics: registry.size,
          ...counters,
          held,
          eventsDropped: events.dropped
        }
      }),
      close
    }
    return feed
  })
