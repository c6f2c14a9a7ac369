/**
 * Venue dial limits are per IP (Binance: 300 connections per 5 minutes; OKX:
 * 3 per second; Coinbase: 8 per second). Each `Feed` paces its own dials,
 * but a cluster runs one `Feed` per slice on several runners that may share
 * one egress IP: together they must stay under the venue's limit, also when
 * a dead runner's slices all re-dial on the survivors at once.
 *
 * `layerSql` is the cluster-wide limiter: a sliding window per venue and
 * host kept in the cluster's PostgreSQL database (`<prefix>_dials`), taken
 * under a transaction-scoped advisory lock and timed by the database's own
 * clock, so runners on different machines agree without synchronised
 * clocks. A dial costs one round trip to the database; dials are rare next
 * to frames. `layerMemory` is the same window in one process (`layerLocal`).
 * A singleton limiter was the alternative: it would add an RPC hop per dial
 * and a window of its own during its moves, while the database is already
 * the cluster's shared state.
 */
import type * as ConnectionError from "@kharbranth/core/ConnectionError"
import * as RateWindow from "@kharbranth/core/RateWindow"
import * as Transport from "@kharbranth/core/Transport"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import type * as FeedSlice from "../FeedSlice.ts"

/** A dial limit: `count` dials in any window of `windowMs`. */
export interface Limit {
  readonly count: number
  readonly windowMs: number
}

export interface Shape {
  /** Waits until a dial for `key` fits under `limit` across the cluster, and counts it. */
  readonly take: (key: string, limit: Limit) => Effect.Effect<void>
}

/**
 * @category services
 * @since 0.1.0
 */
export class DialLimiter extends Context.Service<DialLimiter, Shape>()("@kharbranth/cluster/DialLimiter") {}

/** The window in one process. */
export const layerMemory: Layer.Layer<DialLimiter> = Layer.effect(DialLimiter)(Effect.gen(function*() {
  const clock = yield* Clock.Clock
  const windows = new Map<string, RateWindow.RateWindow>()
  return DialLimiter.of({
    take: (key, limit) =>
      Effect.suspend(() => {
        const id = `${key}|${limit.count}|${limit.windowMs}`
        let window = windows.get(id)
        if (window === undefined) windows.set(id, window = RateWindow.make(limit.count, limit.windowMs, clock))
        return window.take
      })
  })
}))

const migrations = (prefix: string) =>
  Migrator.fromRecord({
    "1_create_dials": Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS ${prefix}_dials (
        key TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
      )`)
      yield* sql.unsafe(`CREATE INDEX IF NOT EXISTS ${prefix}_dials_key_at ON ${prefix}_dials (key, at)`)
    })
  })

/**
 * The window in the cluster's database, shared by every runner. A database
 * failure lets the dial go (counted in the log): the venue's own limit is
 * then the last guard, and a runner is never stopped by a limiter it
 * cannot reach.
 */
export const layerSql = (options: { readonly prefix: string }): Layer.Layer<
  DialLimiter,
  Migrator.MigrationError | SqlError.SqlError,
  SqlClient.SqlClient
> =>
  Layer.effect(DialLimiter)(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const prefix = options.prefix
    yield* Migrator.make({})({ loader: migrations(prefix), table: `${prefix}_dials_migrations` })
    const table = sql(`${prefix}_dials`)
    /** Counts the dial and returns 0 when it fits; otherwise the ms until the oldest dial leaves the window. */
    const attempt = (key: string, limit: Limit) =>
      sql.withTransaction(Effect.gen(function*() {
        yield* sql`SELECT pg_advisory_xact_lock(hashtext(${`${prefix}_dials:${key}`}))`
        const window = `${limit.windowMs} milliseconds`
        yield* sql`DELETE FROM ${table} WHERE key = ${key} AND at < clock_timestamp() - ${window}::interval`
        const rows = yield* sql<{ n: number; wait_ms: number | null }>`
          SELECT count(*)::int AS n,
            ceil(extract(epoch FROM (min(at) + ${window}::interval - clock_timestamp())) * 1000)::int AS wait_ms
          FROM ${table} WHERE key = ${key}`
        const n = Number(rows[0]?.n ?? 0)
        if (n < limit.count) {
          yield* sql`INSERT INTO ${table} (key) VALUES (${key})`
          return 0
        }
        return Math.max(1, Number(rows[0]?.wait_ms ?? 1))
      }))
    const take = (key: string, limit: Limit): Effect.Effect<void> =>
      attempt(key, limit).pipe(
        Effect.catch((error) =>
          Effect.as(Effect.logWarning(`dial limiter unavailable, dialing ${key} unpaced: ${String(error)}`), 0)
        ),
        Effect.flatMap((wait) => wait === 0 ? Effect.void : Effect.andThen(Effect.sleep(wait), take(key, limit)))
      )
    return DialLimiter.of({ take })
  }))

/** The dial limit of a definition: its `connectionLimit` option, else the profile's `limits.connections`. */
export const limitOf = (definition: FeedSlice.Definition): Limit | undefined => {
  const limit = definition.options?.connectionLimit ?? definition.profile.limits.connections
  if (limit === undefined) return undefined
  const windowMs = Duration.toMillis(Duration.fromInputUnsafe(limit.window))
  return { count: limit.count, windowMs }
}

/**
 * The transport a slice's `Feed` dials through: every dial first takes its
 * slot in the limiter under `<venue>@<host>`.
 */
export const governed = (
  transport: Transport.Transport["Service"],
  limiter: Shape,
  definition: FeedSlice.Definition
): Transport.Transport["Service"] => {
  const limit = limitOf(definition)
  if (limit === undefined) return transport
  const keyOf = (url: string) => {
    let host = url
    try {
      host = new URL(url).host
    } catch {
      // An unparsable URL fails in the transport with its own error; pace it under the raw text.
    }
    return `${definition.profile.venue}@${host}`
  }
  return {
    open: (
      request
    ): Effect.Effect<
      Transport.Session,
      ConnectionError.ConnectFailed | ConnectionError.ConnectTimeout,
      import("effect/Scope").Scope
    > => Effect.andThen(limiter.take(keyOf(request.url), limit), transport.open(request))
  }
}
