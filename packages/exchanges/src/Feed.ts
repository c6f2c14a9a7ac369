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
import { ConnectionConfig, ConnectionError, type Frame, Hub, RateWindow, Transport } from "@kharbranth/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import type * as Stream from "effect/Stream"
import type * as AuthApi from "./Auth.ts"
import * as Auth from "./internal/feed/auth.ts"
import * as Context from "./internal/feed/context.ts"
import type { AuthFailed, SubscriptionError } from "./internal/feed/errors.ts"
import * as FeedMetrics from "./internal/feed/metrics.ts"
import type { FeedEvent, FeedStats, GapAction, ShardInfo, Subscription } from "./internal/feed/model.ts"
import * as Operations from "./internal/feed/operations.ts"
import * as Rotation from "./internal/feed/rotation.ts"
import * as Shards from "./internal/feed/shards.ts"
import * as Timer from "./internal/feed/timer.ts"
import * as Venue from "./Venue.ts"
import * as VenueBudgets from "./VenueBudgets.ts"

export {
  /**
   * A private feed's login the venue refused for good (bad key, secret or
   * passphrase; a clock still refused after one correction): the feed
   * stopped. Carries the venue's `code` and text, never a secret.
   *
   * @category errors
   * @since 0.1.0
   */
  AuthFailed,
  /**
   * A subscribe or unsubscribe the venue rejected or did not answer within
   * `confirmTimeout`, or topics the feed cannot take (a venue cap).
   * `permanent` is true when the topics were dropped for good, false when
   * they stay registered and are retried with backoff.
   *
   * @category errors
   * @since 0.1.0
   */
  SubscriptionError
} from "./internal/feed/errors.ts"

export {
  /**
   * A feed's lifecycle events (`Subscribed`, `SubscribeFailed`, `Replayed`,
   * `RotationStarted`, `Rotated`, `Stale`, `GapDetected`, `Held`,
   * `Released`, `Connection`, …), with their constructors and matchers
   * (`FeedEvent.$is`, `FeedEvent.$match`); `at` is the `Clock` time in epoch ms.
   *
   * @category models
   * @since 0.1.0
   */
  FeedEvent
} from "./internal/feed/model.ts"
export type {
  /**
   * A feed's counters: shards, topics, frames delivered, duplicates dropped,
   * gaps, rotations, resubscribes, restarts, replays, requests, retries,
   * sequence resets, held frames and dropped events.
   *
   * @category models
   * @since 0.1.0
   */
  FeedStats,
  /**
   * A sequence gap: the number the stream should have continued with
   * (`expected`), the one it named (`got`), its shard, and whether it fell
   * at the first message of a new session (`sessionStart`).
   *
   * @category models
   * @since 0.1.0
   */
  Gap,
  /**
   * What to do on a sequence gap: `"restart"` the shard's connection (the
   * default), only `"report"` it, or run a resync callback with the `Gap`.
   *
   * @category models
   * @since 0.1.0
   */
  GapAction,
  /**
   * One shard: its current connection's name, generation (rotations so
   * far), whether it is open or rotating, and its topics.
   *
   * @category models
   * @since 0.1.0
   */
  ShardInfo,
  /**
   * Where a topic stands (`pending`, `confirmed`, `retrying` or `failed`),
   * on which shard, why, when it last delivered data, and when a `retrying`
   * topic is sent again.
   *
   * @category models
   * @since 0.1.0
   */
  Subscription
} from "./internal/feed/model.ts"

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
   * The API key a profile with `auth` logs in with (see `Auth`); required
   * for such a profile, refused for any other. Every session logs in before
   * its first subscribe.
   */
  readonly credentials?: AuthApi.Credentials | undefined
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
  /**
   * How long one run of the resync callback (`onGap` as a function) for a
   * held stream may take: past it the run is interrupted and counts as
   * failed. A failed run is retried after 1 s, doubling to 60 s, until one
   * succeeds. Default 30 seconds.
   */
  readonly resyncTimeout?: Duration.Input | undefined
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
  ) => Effect.Effect<void, SubscriptionError | ConnectionError.ConnectionStopped | AuthFailed>
  /** Removes topics from the registry (never replayed again) and waits for the venue's answer. */
  readonly unsubscribe: (
    topics: string | ReadonlyArray<string>
  ) => Effect.Effect<void, SubscriptionError | ConnectionError.ConnectionStopped | AuthFailed>
  /**
   * Unsubscribes and subscribes held topics again on their live sessions
   * (a fresh snapshot, where the venue sends one): the targeted repair for a
   * book whose checksum failed. Waits for the venue's answers.
   */
  readonly resubscribe: (
    topics: string | ReadonlyArray<string>
  ) => Effect.Effect<void, SubscriptionError | ConnectionError.ConnectionStopped | AuthFailed>
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
      credentials,
      eventsCapacity: eventsCapacityOption,
      holdLimit: holdLimitOption,
      resyncTimeout: resyncTimeoutOption,
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
      return ms > 0 && Number.isFinite(ms)
        ? Effect.succeed(ms)
        : invalid(field, `must be positive and finite, got ${ms} ms`)
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
    const resyncTimeout = yield* durationField("resyncTimeout", resyncTimeoutOption, 30_000)
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
    const capacity = capacityOption ?? 16_384
    const eventsCapacity = eventsCapacityOption ?? 4096
    // One connection config per route, each checked here, so opening a
    // shard later cannot fail on config.
    const configs = new Map<string | undefined, ConnectionConfig.ConnectionConfig>()
    const configFor = (route: string | undefined): ConnectionConfig.ConnectionConfig => {
      let config = configs.get(route)
      if (config === undefined) {
        const url = route === undefined
          ? connectionOptions.url
          : urlsOption?.[route] ?? connectionOptions.url ?? profile.urls[route]
        config = Venue.connectionConfig(profile, { ...connectionOptions, url })
        configs.set(route, config)
      }
      return config
    }
    const config = configFor(undefined)
    yield* ConnectionConfig.resolve(name, config)
    for (const route of Object.keys(urlsOption ?? {})) {
      if (profile.auth?.rest?.includes(route) !== true) yield* ConnectionConfig.resolve(name, configFor(route))
    }
    // Budget per connection: the venue's rate when it counts per connection,
    // less what the heartbeat sends in a second where the venue counts it:
    // the client's pings (one for an interval of a second or more, two for
    // 900 ms…) and, where pongs count too, the pong to the venue's ping.
    const venueRate = profile.limits.messagesScope === "ip" ? undefined : profile.limits.messagesPerSecond
    const heartbeat = config.heartbeat
    const heartbeatReserve =
      profile.limits.countsHeartbeat === true && heartbeat !== undefined && heartbeat._tag !== "None"
        ? Math.ceil(1000 / Math.max(1, millis(heartbeat.interval)))
        : 0
    const pongReserve = profile.limits.countsPongs === true ? 1 : 0
    const budget = messagesPerSecond ??
      (venueRate === undefined ? undefined : Math.max(1, venueRate - heartbeatReserve - pongReserve))

    const auth = yield* Auth.make(name, profile, credentials, urlsOption)
    const clock = yield* Clock.Clock
    const baseTransport = yield* Transport.Transport
    const dialWindow = dialWindowSpec === undefined
      ? RateWindow.unlimited
      : RateWindow.make(dialWindowSpec.count, dialWindowMs, clock)
    // The user's functions run on the feed's own fibers: one that throws is
    // reported (`ReaderFailed`) and read as "nothing", never a dead fiber.
    const ctx: Context.Context = {
      name,
      profile,
      confirmTimeout,
      rotationTimeout,
      lifetime,
      cap: streamsPerConnection ?? profile.limits.streamsPerConnection ?? Number.POSITIVE_INFINITY,
      holdLimit: holdLimitOption ?? 10_000,
      resyncTimeout,
      onGap,
      rotateOnNotice,
      budget,
      checksCadence: cadence !== undefined,
      scope: yield* Effect.scope,
      clock,
      now: () => clock.currentTimeMillisUnsafe(),
      budgets: yield* VenueBudgets.VenueBudgets,
      transport: { open: (request) => Effect.andThen(dialWindow.take, baseTransport.open(request)) },
      frames: new Hub.Hub<Frame.Frame>(capacity, "suspend", capacity),
      events: new Hub.Hub<FeedEvent>(eventsCapacity, "sliding", eventsCapacity),
      registry: new Map(),
      shards: [],
      lastSeq: new Map(),
      holds: new Map(),
      counters: {
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
      },
      assignLock: Semaphore.makeUnsafe(1),
      closed: false,
      nextShard: 0,
      readerFailure: undefined,
      metrics: undefined,
      auth,
      topicCadence: (topic) => {
        if (cadence === undefined) return undefined
        const input = guard(ctx, "cadence", () => cadence(topic))
        if (input === undefined) return undefined
        const decoded = Duration.fromInput(input)
        return decoded._tag === "None" ? undefined : Duration.toMillis(decoded.value)
      },
      readSequence: sequence === undefined ? undefined : (text) => guard(ctx, "sequence", () => sequence(text)),
      routeOf: (
        topic
      ) => (profile.route === undefined ? undefined : guard(ctx, "profile", () => profile.route!(topic))),
      configFor,
      rotateShard: (shard, reason) => Rotation.rotate(ctx, shard, reason),
      removeShard: (shard) => Shards.remove(ctx, shard)
    }
    ctx.metrics = yield* FeedMetrics.attach(ctx, ctx.scope, ctx.now)
    yield* Timer.start(ctx, tick)
    const close = Operations.makeClose(ctx)
    yield* Scope.addFinalizer(ctx.scope, close)
    if (auth !== undefined) auth.stop = () => close

    if (initialTopics.length > 0) {
      yield* Operations.checkTopics(ctx, "subscribe", initialTopics).pipe(
        Effect.mapError((e) =>
          new ConnectionError.InvalidConfig({ connection: name, field: "topics", reason: e.reason })
        )
      )
      yield* Context.fork(ctx, Operations.subscribe(ctx, initialTopics))
    }

    const feed: Feed = {
      name,
      profile,
      frames: ctx.frames.stream,
      events: ctx.events.stream,
      subscribe: (topics) => Operations.subscribe(ctx, topics),
      unsubscribe: (topics) => Operations.unsubscribe(ctx, topics),
      resubscribe: (topics) => Operations.resubscribe(ctx, topics),
      restart: (reason = "requested") =>
        Effect.forEach([...ctx.shards], (shard) => Context.restartConnection(shard.live, reason), { discard: true }),
      subscriptions: Effect.sync(() =>
        [...ctx.registry.values()].map((e) => ({
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
        ctx.shards.map((s) => ({
          shard: s.index,
          connection: s.live.name,
          generation: s.generation,
          open: s.live.open,
          rotating: s.standby !== undefined,
          topics: [...s.topics]
        }))
      ),
      rotate: (reason = "requested") =>
        Effect.forEach([...ctx.shards], (shard) => Rotation.rotate(ctx, shard, reason), {
          concurrency: "unbounded",
          discard: true
        }),
      stats: Effect.sync(() => {
        let held = 0
        for (const hold of ctx.holds.values()) held += hold.frames.length
        return {
          shards: ctx.shards.length,
          topics: ctx.registry.size,
          ...ctx.counters,
          held,
          eventsDropped: ctx.events.dropped
        }
      }),
      close
    }
    return feed
  })

const millis = (input: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(input))

/** Runs a user function; what it throws is kept for a `ReaderFailed` event and read as undefined. */
const guard = <A>(
  ctx: Context.Context,
  reader: "sequence" | "cadence" | "profile",
  f: () => A | undefined
): A | undefined => {
  try {
    return f()
  } catch (error) {
    ctx.readerFailure ??= { reader, error }
    return undefined
  }
}
