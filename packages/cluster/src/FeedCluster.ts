/**
 * `FeedCluster`: feeds run as `effect/cluster` entities, one entity per
 * venue connection (a *slice* of a feed), spread over runner processes
 * that share a PostgreSQL database, recreated on a surviving runner when
 * theirs dies.
 *
 * The desired state (feeds, and which slice holds each topic) is stored in
 * the database; the live subscription states are rebuilt by each slice's
 * `Feed`, which replays its topics on every new session. A program adds a
 * feed, subscribes topics (placed on slices as `Feed` places them on
 * shards: free room first), reads the status of every slice from any
 * process, and reads a feed's frames merged over its slices.
 *
 * Two layers, one entity code: `layerLocal` (in memory, one process, no
 * database) and `layerPg` (a runner or a client-only member of a cluster
 * over PostgreSQL).
 *
 * @since 0.1.0
 */
import { NodeCrypto } from "@effect/platform-node"
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as Transport from "@kharbranth/core/Transport"
import { Binance, Bybit, Coinbase, Hyperliquid, Kraken, Okx } from "@kharbranth/exchanges"
import { NodeTransport } from "@kharbranth/node"
import * as MessageStorage from "effect/cluster/MessageStorage"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as Runners from "effect/cluster/Runners"
import * as RunnerStorage from "effect/cluster/RunnerStorage"
import * as Sharding from "effect/cluster/Sharding"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as Singleton from "effect/cluster/Singleton"
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as FeedSlice from "./FeedSlice.ts"
import * as DialLimiter from "./internal/dialLimiter.ts"
import * as Frames from "./internal/frames.ts"
import * as Registry from "./internal/registry.ts"
import * as Slice from "./internal/slice.ts"
import * as Socket from "./internal/socket.ts"

export type {
  /**
   * An item of `frames`: a slice's data frame, or `SliceMoved` when a new
   * activation of the slice (another runner, a new session) takes over.
   *
   * @category models
   * @since 0.1.0
   */
  ClusterItem,
  /**
   * Options of `frames`: stall timeout, registry poll interval, buffer.
   *
   * @category models
   * @since 0.1.0
   */
  FramesOptions
} from "./internal/frames.ts"
export type {
  /**
   * A feed as the registry stores it: name, kind, URLs, slice size.
   *
   * @category models
   * @since 0.1.0
   */
  FeedRow
} from "./internal/registry.ts"
export {
  /**
   * The registry's database failed: the operation did not happen and can be retried.
   *
   * @category errors
   * @since 0.1.0
   */
  StorageError
} from "./internal/registry.ts"

/**
 * A feed the registry does not hold.
 *
 * @category errors
 * @since 0.1.0
 */
export class UnknownFeed extends Schema.TaggedError<UnknownFeed>()("UnknownFeed", { feed: Schema.String }) {
  override get message(): string {
    return `feed cluster: no feed "${this.feed}" (add it with FeedCluster.addFeed)`
  }
}

/**
 * Bad input to `addFeed` or `subscribe`: a kind no definition has, a bad
 * name or slice size, an empty topic.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidFeed extends Schema.TaggedError<InvalidFeed>()("InvalidFeed", {
  feed: Schema.String,
  field: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `feed cluster: feed "${this.feed}": ${this.field}: ${this.reason}`
  }
}

/**
 * A slice did not answer within the timeout: its runner is gone and the
 * cluster has not moved it yet, or the venue is slow. The registry holds
 * the change; the slice applies it when it is back (the reconciler sees to
 * it).
 *
 * @category errors
 * @since 0.1.0
 */
export class SliceUnavailable extends Schema.TaggedError<SliceUnavailable>()("SliceUnavailable", {
  feed: Schema.String,
  slice: Schema.Number,
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `feed cluster: slice ${this.feed}/${this.slice} did not answer ${this.operation}: ${this.reason}`
  }
}

/**
 * A feed to add: its `name` (letters, digits, `.`, `_`, `-`), its `kind` (a
 * key of the definitions every process of the cluster was given), the URL
 * or URLs its connections dial (default: the profile's), and `sliceSize`,
 * the topics one slice (one connection) holds (default: the profile's
 * `streamsPerConnection`, else 100).
 *
 * @category models
 * @since 0.1.0
 */
export interface FeedSpec {
  readonly name: string
  readonly kind: string
  readonly url?: string | undefined
  readonly urls?: Readonly<Record<string, string>> | undefined
  readonly sliceSize?: number | undefined
}

/**
 * The service.
 *
 * @category models
 * @since 0.1.0
 */
export interface Shape {
  /** Adds a feed to the registry, or updates its URLs and slice size; dials nothing until it has topics. */
  readonly addFeed: (spec: FeedSpec) => Effect.Effect<void, InvalidFeed | Registry.StorageError>
  /** Removes a feed and its topics, and stops its slices. */
  readonly removeFeed: (name: string) => Effect.Effect<void, Registry.StorageError | SliceUnavailable>
  readonly feeds: Effect.Effect<ReadonlyArray<Registry.FeedRow>, Registry.StorageError>
  /**
   * Adds topics to a feed: each new topic is stored on a slice (free room
   * first, a new slice when none has room), then each slice that got
   * topics subscribes them and answers once the venue did. Returns those
   * slices' status: a topic the venue refused is `failed` there, with its
   * reason.
   */
  readonly subscribe: (
    feed: string,
    topics: ReadonlyArray<string>
  ) => Effect.Effect<
    ReadonlyArray<FeedSlice.SliceStatus>,
    UnknownFeed | InvalidFeed | Registry.StorageError | SliceUnavailable
  >
  /** Removes topics from a feed; a slice left empty stops. */
  readonly unsubscribe: (
    feed: string,
    topics: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<FeedSlice.SliceStatus>, UnknownFeed | Registry.StorageError | SliceUnavailable>
  /** Every slice of the feed, asked where it runs, concurrently. */
  readonly status: (
    feed: string
  ) => Effect.Effect<ReadonlyArray<FeedSlice.SliceStatus>, UnknownFeed | Registry.StorageError | SliceUnavailable>
  /**
   * Unsubscribes and subscribes the feed's topics again on their live
   * sessions (a fresh snapshot where the venue sends one), each on its
   * slice: the repair for a book that lost its sync. Returns those slices'
   * status.
   */
  readonly resubscribe: (
    feed: string,
    topics: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<FeedSlice.SliceStatus>, UnknownFeed | Registry.StorageError | SliceUnavailable>
  /** Restarts the feed's sessions (one slice, or all): reconnect at once, replay. */
  readonly restart: (
    feed: string,
    slice?: number
  ) => Effect.Effect<void, UnknownFeed | Registry.StorageError | SliceUnavailable>
  /** Rotates the feed's connections (one slice, or all), make-before-break on their runner. */
  readonly rotate: (
    feed: string,
    slice?: number
  ) => Effect.Effect<void, UnknownFeed | Registry.StorageError | SliceUnavailable>
  /** Starts every slice the registry holds that is not running (what the reconciler does periodically). */
  readonly ensureAll: Effect.Effect<number, Registry.StorageError>
  /**
   * The feed's frames, merged over its slices, with `SliceMoved` markers
   * (see `ClusterItem`). It never fails: a slice's stream that ends, fails
   * or stalls is asked again, and a feed not (yet) in the registry yields
   * nothing until it has slices.
   */
  readonly frames: (feed: string, options?: Frames.FramesOptions) => Stream.Stream<Frames.ClusterItem>
}

/**
 * @category services
 * @since 0.1.0
 */
export class FeedCluster extends Context.Service<FeedCluster, Shape>()("@kharbranth/cluster/FeedCluster") {}

/**
 * Timeouts of the service's requests to slices.
 *
 * @category models
 * @since 0.1.0
 */
export interface RequestOptions {
  /** `status`, `ensureAll`, `restart`, `rotate`, `stop`. Default 10 seconds. */
  readonly requestTimeout?: Duration.Input | undefined
  /** `subscribe` and `unsubscribe`, which wait for the venue's answers. Default 30 seconds. */
  readonly syncTimeout?: Duration.Input | undefined
}

const namePattern = /^[A-Za-z0-9._-]+$/

/**
 * The service over whatever cluster is provided (`Sharding`), the
 * registry and the definitions.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: RequestOptions = {}): Effect.Effect<
  Shape,
  never,
  Sharding.Sharding | Registry.Registry | FeedSlice.Definitions
> =>
  Effect.gen(function*() {
    const registry = yield* Registry.Registry
    const definitions = yield* FeedSlice.Definitions
    const clientFor = yield* FeedSlice.FeedSlice.client
    const requestTimeout = Duration.fromInputUnsafe(options.requestTimeout ?? "10 seconds")
    const syncTimeout = Duration.fromInputUnsafe(options.syncTimeout ?? "30 seconds")

    const ask = <A>(
      feed: string,
      slice: number,
      operation: string,
      timeout: Duration.Duration,
      call: (client: ReturnType<typeof clientFor>) => Effect.Effect<A, unknown>
    ): Effect.Effect<A, SliceUnavailable> =>
      call(clientFor(FeedSlice.entityId(feed, slice))).pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () =>
            Effect.fail(
              new SliceUnavailable({ feed, slice, operation, reason: `no answer within ${Duration.format(timeout)}` })
            )
        }),
        Effect.mapError((error) =>
          error instanceof SliceUnavailable
            ? error
            : new SliceUnavailable({ feed, slice, operation, reason: String(error) })
        )
      )

    const feedRow = (name: string) =>
      Effect.flatMap(
        registry.feed(name),
        (row) => Option.isSome(row) ? Effect.succeed(row.value) : Effect.fail(new UnknownFeed({ feed: name }))
      )

    const routeOf = (row: Registry.FeedRow) => definitions[row.kind]?.profile.route ?? (() => undefined)

    const sliceNumbers = (feed: string) => Effect.map(registry.slices(feed), (rows) => rows.map((r) => r.slice))

    const addFeed = (spec: FeedSpec) =>
      Effect.gen(function*() {
        const invalid = (field: string, reason: string) =>
          Effect.fail(new InvalidFeed({ feed: spec.name, field, reason }))
        if (!namePattern.test(spec.name)) return yield* invalid("name", "use letters, digits, '.', '_' or '-'")
        const definition = definitions[spec.kind]
        if (definition === undefined) {
          return yield* invalid("kind", `no definition "${spec.kind}" (known: ${Object.keys(definitions).join(", ")})`)
        }
        const sliceSize = spec.sliceSize ?? definition.profile.limits.streamsPerConnection ?? 100
        if (!Number.isInteger(sliceSize) || sliceSize < 1) return yield* invalid("sliceSize", "must be an integer ≥ 1")
        yield* registry.upsertFeed({ name: spec.name, kind: spec.kind, url: spec.url, urls: spec.urls, sliceSize })
      })

    const syncSlices = (feed: string, slices: ReadonlyArray<number>) =>
      Effect.forEach(slices, (slice) => ask(feed, slice, "Sync", syncTimeout, (c) => c.Sync()), {
        concurrency: "unbounded"
      })

    const subscribe = (feed: string, topics: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const row = yield* feedRow(feed)
        const empty = topics.find((t) => t.length === 0)
        if (empty !== undefined) return yield* new InvalidFeed({ feed, field: "topics", reason: "a topic is empty" })
        const placed = yield* registry.assign(row, topics, routeOf(row))
        return yield* syncSlices(feed, [...placed.keys()])
      })

    const unsubscribe = (feed: string, topics: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        yield* feedRow(feed)
        const left = yield* registry.release(feed, topics)
        return yield* syncSlices(feed, left)
      })

    const resubscribe = (feed: string, topics: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        yield* feedRow(feed)
        const located = yield* registry.locate(feed, topics)
        return yield* Effect.forEach(
          [...located.entries()],
          ([slice, list]) => ask(feed, slice, "Resubscribe", syncTimeout, (c) => c.Resubscribe({ topics: list })),
          { concurrency: "unbounded" }
        )
      })

    const status = (feed: string) =>
      Effect.gen(function*() {
        yield* feedRow(feed)
        const slices = yield* sliceNumbers(feed)
        return yield* Effect.forEach(slices, (slice) => ask(feed, slice, "Status", requestTimeout, (c) => c.Status()), {
          concurrency: "unbounded"
        })
      })

    const each = (feed: string, slice: number | undefined, operation: string, call: "Restart" | "Rotate") =>
      Effect.gen(function*() {
        yield* feedRow(feed)
        const slices = slice === undefined ? yield* sliceNumbers(feed) : [slice]
        yield* Effect.forEach(slices, (s) => ask(feed, s, operation, requestTimeout, (c) => c[call]()), {
          concurrency: "unbounded",
          discard: true
        })
      })

    const removeFeed = (name: string) =>
      Effect.gen(function*() {
        const slices = yield* registry.removeFeed(name)
        yield* Effect.forEach(slices, (slice) => ask(name, slice, "Stop", requestTimeout, (c) => c.Stop()), {
          concurrency: "unbounded",
          discard: true
        })
      })

    const ensureAll = Effect.gen(function*() {
      const slices = yield* registry.slices()
      yield* Effect.forEach(
        slices,
        (s) => Effect.ignore(ask(s.feed, s.slice, "Ensure", requestTimeout, (c) => c.Ensure())),
        { concurrency: 64, discard: true }
      )
      return slices.length
    })

    const frames = (feed: string, frameOptions?: Frames.FramesOptions) =>
      Frames.make({
        feed,
        slices: sliceNumbers(feed),
        open: (slice) => clientFor(FeedSlice.entityId(feed, slice)).Frames()
      }, frameOptions)

    return FeedCluster.of({
      addFeed,
      removeFeed,
      feeds: registry.feeds,
      subscribe,
      unsubscribe,
      resubscribe,
      status,
      restart: (feed, slice) => each(feed, slice, "Restart", "Restart"),
      rotate: (feed, slice) => each(feed, slice, "Rotate", "Rotate"),
      ensureAll,
      frames
    })
  })

/**
 * The public profiles of every venue, by kind: `binance-spot`,
 * `binance-usdm`, `bybit-spot`, `bybit-linear`, `okx`, `coinbase`,
 * `kraken`, `hyperliquid`. The default `definitions` of both layers; pass
 * your own (spread these in) to add options such as `sequence` or
 * `cadence`, or private profiles.
 *
 * @category constructors
 * @since 0.1.0
 */
export const standardDefinitions: Readonly<Record<string, FeedSlice.Definition>> = {
  "binance-spot": { profile: Binance.spot },
  "binance-usdm": { profile: Binance.usdm },
  "bybit-spot": { profile: Bybit.spot },
  "bybit-linear": { profile: Bybit.linear },
  okx: { profile: Okx.publicProfile },
  coinbase: { profile: Coinbase.exchange },
  kraken: { profile: Kraken.spot },
  hyperliquid: { profile: Hyperliquid.mainnet }
}

/**
 * Options of both layers.
 *
 * @category models
 * @since 0.1.0
 */
export interface LayerOptions extends RequestOptions {
  /** The kinds of feed this process knows (the same on every process of a cluster). Default `standardDefinitions`. */
  readonly definitions?: Readonly<Record<string, FeedSlice.Definition>> | undefined
  /** `effect/cluster` sharding settings over this package's defaults (see `layerPg`). */
  readonly sharding?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
  /** How often the reconciler (a cluster singleton) ensures every slice. Default 10 seconds. */
  readonly reconcileInterval?: Duration.Input | undefined
  /** The transport slices dial with. Default `NodeTransport.layer()`. */
  readonly transport?: Layer.Layer<Transport.Transport> | undefined
}

const reconciler = (interval: Duration.Input) =>
  Singleton.make(
    "kharbranth/FeedReconciler",
    Effect.gen(function*() {
      const service = yield* make()
      yield* Effect.forever(Effect.andThen(Effect.sleep(interval), Effect.ignore(service.ensureAll)))
    })
  )

const serviceLayer = (options: RequestOptions) => Layer.effect(FeedCluster)(make(options))

const entitiesLayer = (options: LayerOptions) =>
  Layer.mergeAll(Slice.layer(), reconciler(options.reconcileInterval ?? "10 seconds")).pipe(
    Layer.provide(options.transport ?? NodeTransport.layer())
  )

/**
 * The cluster in this process: entities, registry and dial limits in
 * memory, no database, no network (the composition of `effect/cluster`'s
 * `TestRunner`). The slices of a feed are connections of this process, with
 * the cluster's keep-alive, status, reconciler and merged `frames`: the same
 * code a `layerPg` runner runs. Gone with the process.
 *
 * @example
 * ```ts
 * import { FeedCluster } from "@kharbranth/cluster"
 * import { Effect, Stream } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const cluster = yield* FeedCluster.FeedCluster
 *   yield* cluster.addFeed({ name: "okx-trades", kind: "okx" })
 *   yield* cluster.subscribe("okx-trades", ["trades:BTC-USDT"])
 *   yield* cluster.frames("okx-trades").pipe(Stream.take(5), Stream.runForEach((item) => Effect.log(item._tag)))
 * }).pipe(Effect.provide(FeedCluster.layerLocal()))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerLocal = (options: LayerOptions = {}): Layer.Layer<FeedCluster | Sharding.Sharding> => {
  const cluster = Sharding.layer.pipe(
    Layer.provideMerge(Runners.layerNoop),
    Layer.provide(MessageStorage.layerMemory),
    Layer.provide([RunnerStorage.layerMemory, RunnerHealth.layerNoop]),
    Layer.provide(ShardingConfig.layer(options.sharding))
  )
  const shared = Layer.mergeAll(
    Registry.layerMemory,
    DialLimiter.layerMemory,
    Layer.succeed(FeedSlice.Definitions, options.definitions ?? standardDefinitions)
  )
  return Layer.merge(serviceLayer(options), entitiesLayer(options)).pipe(
    Layer.provideMerge(cluster),
    Layer.provide(shared)
  )
}

/**
 * Where a runner is reached by the others (`host`, `port`), and where it
 * listens when that differs (behind NAT or in a container).
 *
 * @category models
 * @since 0.1.0
 */
export interface RunnerOptions {
  readonly host: string
  readonly port: number
  readonly listenHost?: string | undefined
  readonly listenPort?: number | undefined
}

/**
 * Options of `layerPg`.
 *
 * @category models
 * @since 0.1.0
 */
export interface PgOptions extends LayerOptions {
  /** The PostgreSQL (≥ 14) URL, e.g. `postgres://kharbranth@db:5432/kharbranth`. */
  readonly url: string | Redacted.Redacted<string>
  /** This process as a runner (hosts slices), or `"client"` (talks to them, hosts none). */
  readonly runner: RunnerOptions | "client"
  /** Table prefix: the registry's tables are `<prefix>_feeds`…, the cluster's `<prefix>_cluster_…`. Default `kharbranth`. */
  readonly prefix?: string | undefined
}

/**
 * The sharding timings `layerPg` uses unless `sharding` overrides them.
 * `effect/cluster`'s own defaults (lock expiration 35 s, lock refresh 10 s,
 * assignments every 3 s) move a dead runner's entities after about 30 s;
 * these move them in about 5 s (measured: see RELIABILITY.md). A lock
 * expiration of 5 s means a runner that stops for longer than that (a GC
 * pause, VM steal, SIGSTOP) loses its slices to the others: raise it on
 * hosts that pause.
 *
 * @category constructors
 * @since 0.1.0
 */
export const pgShardingDefaults: Partial<ShardingConfig.ShardingConfig["Service"]> = {
  shardLockExpiration: "5 seconds",
  shardLockRefreshInterval: "1 second",
  refreshAssignmentsInterval: "1 second",
  entityTerminationTimeout: "3 seconds"
}

/**
 * A member of a cluster over PostgreSQL: a runner (hosts slices, listens on
 * `runner.port` for the other members, runs the reconciler when the
 * cluster places it here) or a client-only member. Runners talk over TCP
 * with `noDelay` (see `internal/socket.ts`); dials are limited per venue
 * and host across the whole cluster through the database.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPg = (options: PgOptions): Layer.Layer<FeedCluster | Sharding.Sharding, unknown> => {
  const prefix = options.prefix ?? "kharbranth"
  const url = typeof options.url === "string" ? Redacted.make(options.url) : options.url
  const sql = PgClient.layer({ url, applicationName: "kharbranth-cluster" })
  const runner = options.runner
  const config = ShardingConfig.layer({
    ...pgShardingDefaults,
    ...(runner === "client" ? {} : {
      runnerAddress: Option.some(RunnerAddress.make(runner.host, runner.port)),
      runnerListenAddress: runner.listenHost === undefined && runner.listenPort === undefined
        ? Option.none()
        : Option.some(RunnerAddress.make(runner.listenHost ?? runner.host, runner.listenPort ?? runner.port))
    }),
    ...options.sharding
  })
  const cluster = (runner === "client" ? Socket.layerClient : Socket.layerRunner).pipe(
    Layer.provideMerge(
      SqlMessageStorage.layerWith({ prefix: `${prefix}_cluster` }).pipe(Layer.provide(NodeCrypto.layerDigest))
    ),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layerWith({ prefix: `${prefix}_cluster` }))),
    Layer.provide(config)
  )
  const shared = Layer.mergeAll(
    Registry.layerSql({ prefix }),
    DialLimiter.layerSql({ prefix }),
    Layer.succeed(FeedSlice.Definitions, options.definitions ?? standardDefinitions)
  )
  const members = runner === "client"
    ? serviceLayer(options)
    : Layer.merge(serviceLayer(options), entitiesLayer(options))
  return members.pipe(
    Layer.provideMerge(cluster),
    Layer.provide(shared),
    Layer.provide(sql)
  )
}
