/**
 * What the cluster's integration test (`pg.test.ts`) and its measurement
 * program (`scripts/measure.ts`) both need: the topics of their 300-slice
 * feed, the simulator's connection log, runner registration in the
 * database, every slice's status asked one by one, and what a healthy
 * slice is.
 */
import { Binance } from "@kharbranth/exchanges"
import type { SimulatorHandle } from "@kharbranth/simulator"
import { psql } from "@kharbranth/test-utils/postgres"
import type * as Sharding from "effect/cluster/Sharding"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FeedSlice from "../../src/FeedSlice.ts"

/** Binance pairs over `assets` (lower case, as Binance names streams). */
export const binancePairs = (assets: ReadonlyArray<string>): Array<string> =>
  assets.flatMap((a) => assets.filter((q) => q !== a).map((q) => `${a}${q}`.toLowerCase()))

/** The 300-slice feed's topics: trades of pairs over 15 assets, then their depth streams. */
export const topics300: ReadonlyArray<string> = (() => {
  const pairs = binancePairs([
    "btc",
    "eth",
    "sol",
    "xrp",
    "doge",
    "ada",
    "ltc",
    "bnb",
    "dot",
    "avax",
    "link",
    "trx",
    "ton",
    "bch",
    "xlm"
  ])
  return [...pairs.map((p) => Binance.trade(p)), ...pairs.map((p) => Binance.depth(p))].slice(0, 300)
})()

/** One venue connection as the simulator saw it: opened, first subscribed, closed (epoch ms). */
export interface ConnectionLog {
  readonly id: number
  readonly topics: Array<string>
  readonly openedAt: number
  subscribedAt: number | undefined
  closedAt: number | undefined
}

/** Keeps the simulator's Binance connections by id, and counts the upgrades it refused (any venue). */
export const recordConnections = (sim: Pick<SimulatorHandle, "onEvent">) => {
  const log = new Map<number, ConnectionLog>()
  const refused = { count: 0 }
  sim.onEvent((event) => {
    if (event._tag === "Refused") refused.count++
    if (!("venue" in event) || event.venue !== "binance") return
    if (event._tag === "Connected") {
      log.set(event.connection, {
        id: event.connection,
        topics: [],
        openedAt: event.at,
        subscribedAt: undefined,
        closedAt: undefined
      })
    } else if (event._tag === "Subscribed") {
      const entry = log.get(event.connection)
      if (entry !== undefined) {
        entry.topics.push(...event.topics)
        entry.subscribedAt ??= event.at
      }
    } else if (event._tag === "Closed") {
      const entry = log.get(event.connection)
      if (entry !== undefined) entry.closedAt = event.at
    }
  })
  return { log, refused }
}

/** The connections that held `topic`, in the order they opened. */
export const connectionsOfTopic = (log: Map<number, ConnectionLog>, topic: string): Array<ConnectionLog> =>
  [...log.values()].filter((c) => c.topics.includes(topic)).sort((a, b) => a.openedAt - b.openedAt)

/** Runners registered and healthy (0 until the first runner created the cluster's tables). */
export const registeredRunners = async (url: string): Promise<number> => {
  const exists = (await psql(url, `SELECT to_regclass('kharbranth_cluster_runners') IS NOT NULL`)).trim()
  if (exists !== "t") return 0
  return Number((await psql(url, `SELECT count(*) FROM kharbranth_cluster_runners WHERE healthy`)).trim())
}

/** Polls `check` every `every` ms until it holds; throws naming `what` after `timeoutMs`. */
export const waitFor = async (
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  every = 100
): Promise<void> => {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, every))
  }
}

/**
 * Each slice's status, asked one by one with a short timeout: undefined
 * where the slice does not answer. Only reads: a status does not start a
 * slice, so it is no client traffic that would bring a slice back.
 */
export const sliceStatuses = (
  run: <A, E>(effect: Effect.Effect<A, E, Sharding.Sharding>) => Promise<A>,
  feed: string,
  slices: ReadonlyArray<number>,
  timeout: Duration.Input = "1 second"
): Promise<Array<FeedSlice.SliceStatus | undefined>> =>
  run(Effect.gen(function*() {
    const clientFor = yield* FeedSlice.FeedSlice.client
    return yield* Effect.forEach(
      slices,
      (slice) =>
        clientFor(FeedSlice.entityId(feed, slice)).Status().pipe(
          Effect.timeout(timeout),
          Effect.orElseSucceed(() => undefined)
        ),
      { concurrency: "unbounded" }
    )
  }))

/** Live, every topic confirmed, data in this activation after `since`, and (if given) not on runner `notOn`. */
export const healthy = (
  s: FeedSlice.SliceStatus | undefined,
  notOn?: string,
  since = 0
): s is FeedSlice.SliceStatus =>
  s !== undefined && s.state === "live" && (notOn === undefined || s.runner !== notOn) &&
  s.topics.length > 0 && s.topics.every((t) => t.state === "confirmed") && s.frames > 0 &&
  (s.lastFrameAt ?? 0) > since

/** The slices each runner holds, by runner address. */
export const byRunner = (all: ReadonlyArray<FeedSlice.SliceStatus | undefined>): Map<string, Array<number>> => {
  const counts = new Map<string, Array<number>>()
  for (const s of all) {
    if (s === undefined) continue
    const list = counts.get(s.runner) ?? []
    list.push(s.slice)
    counts.set(s.runner, list)
  }
  return counts
}
