/**
 * The cluster's desired state: its feeds, each topic's slice, and each
 * slice's activation counter. Persisted in the cluster's PostgreSQL
 * database (tables `<prefix>_feeds`, `<prefix>_feed_topics`,
 * `<prefix>_slices`, migrated by `effect/sql`'s `Migrator`), or held in
 * memory for `FeedCluster.layerLocal`. The live subscription states are not
 * stored: each slice's `Feed` rebuilds them by its own replay.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import { place, type SliceLoad } from "./planner.ts"

/** A feed of the cluster, as stored. */
export interface FeedRow {
  readonly name: string
  /** The key of its definition (profile and options) in the runners' `definitions`. */
  readonly kind: string
  readonly url: string | undefined
  readonly urls: Readonly<Record<string, string>> | undefined
  /** Topics per slice: one slice is one venue connection. */
  readonly sliceSize: number
}

/** A slice of a feed that holds topics. */
export interface SliceRow {
  readonly feed: string
  readonly slice: number
  readonly topics: number
}

/**
 * A storage failure of the registry (the database unreachable or
 * refusing): the operation did not happen and can be retried.
 *
 * @category errors
 * @since 0.1.0
 */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `feed cluster registry: ${this.operation} failed: ${this.reason}`
  }
}

export interface Shape {
  readonly upsertFeed: (row: FeedRow) => Effect.Effect<void, StorageError>
  /** Deletes the feed and its topics; returns the slices that held topics. */
  readonly removeFeed: (name: string) => Effect.Effect<ReadonlyArray<number>, StorageError>
  readonly feed: (name: string) => Effect.Effect<Option.Option<FeedRow>, StorageError>
  readonly feeds: Effect.Effect<ReadonlyArray<FeedRow>, StorageError>
  /** Places the topics the feed does not hold yet (see `planner.ts`), atomically; returns them by slice. */
  readonly assign: (
    feed: FeedRow,
    topics: ReadonlyArray<string>,
    routeOf: (topic: string) => string | undefined
  ) => Effect.Effect<ReadonlyMap<number, ReadonlyArray<string>>, StorageError>
  /** Removes topics from the feed; returns the slices they left. */
  readonly release: (feed: string, topics: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<number>, StorageError>
  readonly topicsOf: (feed: string, slice: number) => Effect.Effect<ReadonlyArray<string>, StorageError>
  /** Where the feed holds these topics, by slice; topics it does not hold are left out. */
  readonly locate: (
    feed: string,
    topics: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<number, ReadonlyArray<string>>, StorageError>
  /** The slices of one feed that hold topics, or of every feed. */
  readonly slices: (feed?: string) => Effect.Effect<ReadonlyArray<SliceRow>, StorageError>
  /** Bumps and returns the slice's activation number: 1 for its first activation, ever increasing. */
  readonly activate: (feed: string, slice: number) => Effect.Effect<number, StorageError>
}

/**
 * @category services
 * @since 0.1.0
 */
export class Registry extends Context.Service<Registry, Shape>()("@kharbranth/cluster/Registry") {}

const uniq = (topics: ReadonlyArray<string>) => [...new Set(topics)]

/** The registry in memory: one process, gone with it. */
export const layerMemory: Layer.Layer<Registry> = Layer.effect(Registry)(Effect.gen(function*() {
  const feeds = new Map<string, FeedRow>()
  /** feed → topic → slice */
  const topics = new Map<string, Map<string, number>>()
  const activations = new Map<string, number>()
  const lock = yield* Semaphore.make(1)
  const held = (feed: string) => {
    let map = topics.get(feed)
    if (map === undefined) topics.set(feed, map = new Map())
    return map
  }
  const slicesOf = (feed: string): Array<SliceRow> => {
    const counts = new Map<number, number>()
    for (const slice of topics.get(feed)?.values() ?? []) counts.set(slice, (counts.get(slice) ?? 0) + 1)
    return [...counts.entries()].sort(([a], [b]) => a - b).map(([slice, n]) => ({ feed, slice, topics: n }))
  }
  return Registry.of({
    upsertFeed: (row) => Effect.sync(() => void feeds.set(row.name, row)),
    removeFeed: (name) =>
      lock.withPermits(1)(Effect.sync(() => {
        const slices = slicesOf(name).map((s) => s.slice)
        feeds.delete(name)
        topics.delete(name)
        return slices
      })),
    feed: (name) => Effect.sync(() => Option.fromNullishOr(feeds.get(name))),
    feeds: Effect.sync(() => [...feeds.values()]),
    assign: (feed, wanted, routeOf) =>
      lock.withPermits(1)(Effect.sync(() => {
        const map = held(feed.name)
        const loads: Array<SliceLoad> = slicesOf(feed.name).map((s) => ({
          slice: s.slice,
          count: s.topics,
          route: routeOf([...map.entries()].find(([, slice]) => slice === s.slice)![0])
        }))
        const placed = place(loads, uniq(wanted).filter((t) => !map.has(t)), feed.sliceSize, routeOf)
        for (const [slice, list] of placed) for (const topic of list) map.set(topic, slice)
        return placed
      })),
    release: (feed, list) =>
      lock.withPermits(1)(Effect.sync(() => {
        const map = held(feed)
        const left = new Set<number>()
        for (const topic of list) {
          const slice = map.get(topic)
          if (slice === undefined) continue
          map.delete(topic)
          left.add(slice)
        }
        return [...left].sort((a, b) => a - b)
      })),
    topicsOf: (feed, slice) =>
      Effect.sync(() => [...(topics.get(feed)?.entries() ?? [])].filter(([, s]) => s === slice).map(([t]) => t)),
    locate: (feed, list) =>
      Effect.sync(() => {
        const map = topics.get(feed)
        const out = new Map<number, Array<string>>()
        for (const topic of uniq(list)) {
          const slice = map?.get(topic)
          if (slice !== undefined) out.set(slice, [...(out.get(slice) ?? []), topic])
        }
        return out
      }),
    slices: (feed) => Effect.sync(() => (feed === undefined ? [...topics.keys()] : [feed]).flatMap(slicesOf)),
    activate: (feed, slice) =>
      Effect.sync(() => {
        const key = `${feed}/${slice}`
        const next = (activations.get(key) ?? 0) + 1
        activations.set(key, next)
        return next
      })
  })
}))

const migrations = (prefix: string) =>
  Migrator.fromRecord({
    "1_create_registry": Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS ${prefix}_feeds (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        url TEXT,
        urls TEXT,
        slice_size INTEGER NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`)
      yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS ${prefix}_feed_topics (
        feed TEXT NOT NULL REFERENCES ${prefix}_feeds(name) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        slice INTEGER NOT NULL,
        route TEXT,
        added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (feed, topic)
      )`)
      yield* sql.unsafe(`CREATE INDEX IF NOT EXISTS ${prefix}_feed_topics_slice ON ${prefix}_feed_topics (feed, slice)`)
      yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS ${prefix}_slices (
        feed TEXT NOT NULL,
        slice INTEGER NOT NULL,
        activation BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (feed, slice)
      )`)
    })
  })

interface FeedRecord {
  readonly name: string
  readonly kind: string
  readonly url: string | null
  readonly urls: string | null
  readonly slice_size: number
}

const decodeUrls = (text: string | null): Readonly<Record<string, string>> | undefined => {
  if (text === null) return undefined
  const value: unknown = JSON.parse(text)
  if (typeof value !== "object" || value === null) return undefined
  const out: Record<string, string> = {}
  for (const [key, url] of Object.entries(value)) if (typeof url === "string") out[key] = url
  return out
}

const toRow = (r: FeedRecord): FeedRow => ({
  name: r.name,
  kind: r.kind,
  url: r.url ?? undefined,
  urls: decodeUrls(r.urls),
  sliceSize: Number(r.slice_size)
})

/**
 * The registry in the cluster's SQL database (PostgreSQL), tables named
 * `<prefix>_…` (default `kharbranth`), migrated on start.
 */
export const layerSql = (options: { readonly prefix?: string | undefined } = {}): Layer.Layer<
  Registry,
  Migrator.MigrationError | SqlError.SqlError | StorageError,
  SqlClient.SqlClient
> =>
  Layer.effect(Registry)(Effect.gen(function*() {
    const prefix = options.prefix ?? "kharbranth"
    if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) {
      return yield* new StorageError({
        operation: "start",
        reason: `table prefix "${prefix}" must match [a-z_][a-z0-9_]*`
      })
    }
    const sql = yield* SqlClient.SqlClient
    yield* Migrator.make({})({ loader: migrations(prefix), table: `${prefix}_migrations` })
    const feeds = sql(`${prefix}_feeds`)
    const topics = sql(`${prefix}_feed_topics`)
    const slicesTable = sql(`${prefix}_slices`)
    const guard = <A, E, R>(operation: string, effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.mapError((e) => new StorageError({ operation, reason: String(e) })))
    const sliceRows = (feed?: string) =>
      guard(
        "slices",
        (feed === undefined
          ? sql<
            { feed: string; slice: number; n: number }
          >`SELECT feed, slice, count(*)::int AS n FROM ${topics} GROUP BY feed, slice ORDER BY feed, slice`
          : sql<
            { feed: string; slice: number; n: number }
          >`SELECT feed, slice, count(*)::int AS n FROM ${topics} WHERE feed = ${feed} GROUP BY feed, slice ORDER BY slice`)
          .pipe(Effect.map((rows) => rows.map((r) => ({ feed: r.feed, slice: Number(r.slice), topics: Number(r.n) }))))
      )
    return Registry.of({
      upsertFeed: (row) =>
        guard(
          "add feed",
          sql`INSERT INTO ${feeds} (name, kind, url, urls, slice_size)
            VALUES (${row.name}, ${row.kind}, ${row.url ?? null}, ${
            row.urls === undefined ? null : JSON.stringify(row.urls)
          }, ${row.sliceSize})
            ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, url = EXCLUDED.url, urls = EXCLUDED.urls,
              slice_size = EXCLUDED.slice_size`.pipe(Effect.asVoid)
        ),
      removeFeed: (name) =>
        guard(
          "remove feed",
          sql.withTransaction(Effect.gen(function*() {
            const rows = yield* sql<{ slice: number }>`SELECT DISTINCT slice FROM ${topics} WHERE feed = ${name}`
            yield* sql`DELETE FROM ${feeds} WHERE name = ${name}`
            return rows.map((r) => Number(r.slice)).sort((a, b) => a - b)
          }))
        ),
      feed: (name) =>
        guard(
          "read feed",
          sql<FeedRecord>`SELECT name, kind, url, urls, slice_size FROM ${feeds} WHERE name = ${name}`.pipe(
            Effect.map((rows) => rows.length === 0 ? Option.none() : Option.some(toRow(rows[0]!)))
          )
        ),
      feeds: guard(
        "read feeds",
        sql<FeedRecord>`SELECT name, kind, url, urls, slice_size FROM ${feeds} ORDER BY name`.pipe(
          Effect.map((rows) => rows.map(toRow))
        )
      ),
      assign: (feed, wanted, routeOf) =>
        guard(
          "subscribe",
          sql.withTransaction(Effect.gen(function*() {
            // The feed's row lock serialises planners of one feed across every process.
            const locked = yield* sql`SELECT name FROM ${feeds} WHERE name = ${feed.name} FOR UPDATE`
            if (locked.length === 0) return new Map<number, ReadonlyArray<string>>()
            const rows = yield* sql<{ topic: string; slice: number; route: string | null }>`
              SELECT topic, slice, route FROM ${topics} WHERE feed = ${feed.name}`
            const heldTopics = new Set(rows.map((r) => r.topic))
            const loads = new Map<number, { route: string | undefined; count: number }>()
            for (const r of rows) {
              const entry = loads.get(Number(r.slice))
              if (entry === undefined) loads.set(Number(r.slice), { route: r.route ?? undefined, count: 1 })
              else entry.count++
            }
            const placed = place(
              [...loads.entries()].map(([slice, l]) => ({ slice, route: l.route, count: l.count })),
              uniq(wanted).filter((t) => !heldTopics.has(t)),
              feed.sliceSize,
              routeOf
            )
            const inserts = [...placed.entries()].flatMap(([slice, list]) =>
              list.map((topic) => ({ feed: feed.name, topic, slice, route: routeOf(topic) ?? null }))
            )
            const [first, ...rest] = inserts
            if (first !== undefined) yield* sql`INSERT INTO ${topics} ${sql.insert([first, ...rest])}`
            return placed
          }))
        ),
      release: (feed, list) =>
        list.length === 0 ? Effect.succeed([]) : guard(
          "unsubscribe",
          sql<{ slice: number }>`DELETE FROM ${topics} WHERE feed = ${feed} AND ${
            sql.in("topic", list)
          } RETURNING slice`
            .pipe(Effect.map((rows) => [...new Set(rows.map((r) => Number(r.slice)))].sort((a, b) => a - b)))
        ),
      topicsOf: (feed, slice) =>
        guard(
          "read topics",
          sql<
            { topic: string }
          >`SELECT topic FROM ${topics} WHERE feed = ${feed} AND slice = ${slice} ORDER BY added_at, topic`
            .pipe(Effect.map((rows) => rows.map((r) => r.topic)))
        ),
      locate: (feed, list) =>
        list.length === 0 ? Effect.succeed(new Map()) : guard(
          "locate topics",
          sql<{ topic: string; slice: number }>`SELECT topic, slice FROM ${topics} WHERE feed = ${feed} AND ${
            sql.in("topic", uniq(list))
          }`.pipe(Effect.map((rows) => {
            const out = new Map<number, Array<string>>()
            for (const r of rows) out.set(Number(r.slice), [...(out.get(Number(r.slice)) ?? []), r.topic])
            return out
          }))
        ),
      slices: sliceRows,
      activate: (feed, slice) =>
        guard(
          "activate",
          sql<
            { activation: string | number }
          >`INSERT INTO ${slicesTable} (feed, slice, activation) VALUES (${feed}, ${slice}, 1)
            ON CONFLICT (feed, slice) DO UPDATE SET activation = ${slicesTable}.activation + 1
            RETURNING activation`.pipe(Effect.map((rows) => Number(rows[0]!.activation)))
        )
    })
  }))
