/**
 * Feed against the simulator over real sockets, where the simulator
 * behaves as each venue documents: OKX's seqId reset, unknown instruments
 * (OKX 60018, Kraken per-symbol answers), Binance's combined-stream
 * notice and its PONG counting, per-IP and per-hour limits (Hyperliquid,
 * OKX), a quiet Coinbase product, and Binance USD-M's routed endpoints.
 * The simulator imports nothing from the client, so these check the
 * client against the venues' rules, not against itself.
 */
import { assert, describe, it } from "@effect/vitest"
import { Simulator } from "@kharbranth/simulator"
import * as Effect from "effect/Effect"
import * as Binance from "../src/Binance.ts"
import * as Coinbase from "../src/Coinbase.ts"
import * as Feed from "../src/Feed.ts"
import * as Hyperliquid from "../src/Hyperliquid.ts"
import * as Kraken from "../src/Kraken.ts"
import * as Okx from "../src/Okx.ts"
import type * as Venue from "../src/Venue.ts"
import { dataOf, nextEvent, start, until } from "./utils/probe.ts"

const states = (subs: ReadonlyArray<Feed.Subscription>) => new Map(subs.map((s) => [s.topic, s.state]))

/** A profile with other limits (a simulator scaled down for a test). */
const limited = (profile: Venue.Profile, limits: Venue.Limits): Venue.Profile => ({
  ...profile,
  limits: { ...profile.limits, ...limits }
})

describe("Feed on the simulator's venue rules", () => {
  it.live("okx: after a seqId reset the book goes on from the new numbers, reported, with no gap", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topic = Okx.topic("books", "BTC-USDT")
      const probe = yield* start("okx", Okx.publicProfile, {
        url: sim.endpoints.okx,
        topics: [topic],
        sequence: Okx.sequence
      })
      yield* until(() => dataOf(probe, topic) > 3)
      yield* sim.fault({ kind: "seqReset", target: { venue: "okx" }, seqId: 5, stream: topic })
      const reset = yield* nextEvent(probe, (e) => (e._tag === "SequenceReset" ? e : undefined))
      assert.strictEqual(reset.stream, topic)
      assert.strictEqual(reset.to, 5)
      const mark = probe.texts.length
      yield* until(() => dataOf(probe, topic, mark) > 5)
      const after = probe.texts.slice(mark).flatMap((t) => {
        const s = Okx.sequence(t)
        return s === undefined ? [] : [s.last]
      })
      assert.isTrue(after.every((n) => n < 1_000), `numbers after the reset: ${after.join(",")}`)
      assert.isFalse(probe.seen.some((e) => e._tag === "GapDetected"))
      assert.strictEqual((yield* probe.feed.stats).resets, 1)
    }))

  it.live("okx: an unknown instrument (60018) fails for good alone; the others are confirmed and flow", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const probe = yield* start("okx", Okx.publicProfile, { url: sim.endpoints.okx })
      const topics = [Okx.topic("trades", "FOO-BAR"), Okx.topic("trades", "BTC-USDT"), Okx.topic("trades", "ETH-USDT")]
      const error = yield* Effect.flip(probe.feed.subscribe(topics))
      assert.strictEqual(error._tag, "SubscriptionError")
      if (error._tag === "SubscriptionError") {
        assert.deepStrictEqual(error.topics, ["trades:FOO-BAR"])
        assert.isTrue(error.permanent)
      }
      const subs = states(yield* probe.feed.subscriptions)
      assert.deepStrictEqual([subs.get(topics[0]!), subs.get(topics[1]!), subs.get(topics[2]!)], [
        "failed",
        "confirmed",
        "confirmed"
      ])
      yield* until(() => dataOf(probe, topics[1]!) > 0 && dataOf(probe, topics[2]!) > 0)
    }))

  it.live("okx: a connection left with only rejected topics is closed, not redialed each time OKX idles it out", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20, venues: { okx: { idleTimeout: "500 millis" } } })
      const probe = yield* start("okx", Okx.publicProfile, { url: sim.endpoints.okx })
      const error = yield* Effect.flip(probe.feed.subscribe(Okx.topic("trades", "NOSUCH-USDT")))
      assert.strictEqual(error._tag, "SubscriptionError")
      yield* until(() => probe.seen.some((e) => e._tag === "ShardRemoved"))
      yield* Effect.sleep("2 seconds")
      const opened = probe.seen.filter((e) => e._tag === "Connection" && e.event._tag === "Opened")
      assert.strictEqual(opened.length, 1)
      assert.deepStrictEqual(yield* probe.feed.shards, [])
      assert.strictEqual((yield* sim.connections).length, 0)
    }))

  it.live("kraken: a pair the venue does not support fails alone; the other pair of the request is confirmed and flows", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const probe = yield* start("kraken", Kraken.spot, { url: sim.endpoints.kraken })
      const good = Kraken.topic("trade", "BTC/USD")
      const bad = Kraken.topic("trade", "XBT/USD")
      const error = yield* Effect.flip(probe.feed.subscribe([good, bad]))
      assert.strictEqual(error._tag, "SubscriptionError")
      if (error._tag === "SubscriptionError") assert.deepStrictEqual(error.topics, [bad])
      const subs = states(yield* probe.feed.subscriptions)
      assert.deepStrictEqual([subs.get(good), subs.get(bad)], ["confirmed", "failed"])
      yield* until(() => dataOf(probe, good) > 0)
    }))

  it.live("binance: the combined-stream serverShutdown rotates make-before-break", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topic = Binance.trade("btcusdt")
      const probe = yield* start("binance", Binance.spot, { url: sim.endpoints.binanceCombined, topics: [topic] })
      yield* until(() => dataOf(probe, topic) > 0)
      yield* sim.fault({ kind: "notice", target: { venue: "binance" }, closeAfter: "2 seconds" })
      const started = yield* nextEvent(probe, (e) => (e._tag === "RotationStarted" ? e : undefined))
      assert.strictEqual(started.reason, "notice")
      const rotated = yield* nextEvent(probe, (e) => (e._tag === "Rotated" ? e : undefined))
      assert.isTrue(rotated.overlapped)
    }))

  it.live("binance: with the venue's pings every second, requests leave room for the pong; nothing is cut", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 5, venues: { binance: { pingInterval: "1 second" } } })
      const topics = Array.from({ length: 12 }, (_, i) => Binance.trade(`s${i}usdt`))
      const probe = yield* start("binance", Binance.spot, { url: sim.endpoints.binance, heartbeatInterval: "1 second" })
      yield* probe.feed.subscribe(Binance.trade("btcusdt"))
      // On the open connection, one request per topic: twelve requests, paced at 3 per 1.1 s.
      const startedAt = Date.now()
      yield* Effect.forEach(topics, (t) => probe.feed.subscribe(t), { concurrency: "unbounded", discard: true })
      assert.isAtLeast(Date.now() - startedAt, 3_000)
      assert.strictEqual((yield* probe.feed.stats).requests, 13)
      yield* Effect.sleep("1500 millis")
      assert.isFalse(
        probe.seen.some((e) => e._tag === "Connection" && e.event._tag === "Disconnected"),
        "the venue cut the connection for flooding"
      )
      assert.strictEqual((yield* probe.feed.subscriptions).filter((s) => s.state === "confirmed").length, 13)
    }))

  it.live("hyperliquid: the venue's 1,000 subscriptions per IP are shared by every feed: one beyond fails typed and is never sent", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 5, venues: { hyperliquid: { subscriptionsPerIp: 3 } } })
      const profile = limited(Hyperliquid.mainnet, { subscriptionsPerIp: 3 })
      const a = yield* start("a", profile, { url: sim.endpoints.hyperliquid })
      const b = yield* start("b", profile, { url: sim.endpoints.hyperliquid })
      yield* a.feed.subscribe([Hyperliquid.topic("trades", "BTC"), Hyperliquid.topic("trades", "ETH")])
      const error = yield* Effect.flip(
        b.feed.subscribe([Hyperliquid.topic("trades", "SOL"), Hyperliquid.topic("trades", "DOGE")])
      )
      assert.strictEqual(error._tag, "SubscriptionError")
      if (error._tag === "SubscriptionError") {
        assert.deepStrictEqual(error.topics, ["trades:DOGE"])
        assert.isTrue(error.permanent)
      }
      const held = (yield* sim.connections).flatMap((c) => [...c.subscriptions])
      assert.sameMembers(held, ["trades:BTC", "trades:ETH", "trades:SOL"])
      assert.isFalse([...a.texts, ...b.texts].some((t) => t.startsWith('{"channel":"error"')))
    }))

  it.live("okx: requests beyond the hourly quota wait instead of being refused by the venue", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 5, venues: { okx: { requestsPerHour: 3 } } })
      const probe = yield* start("okx", limited(Okx.publicProfile, { requestsPerHour: 3 }), { url: sim.endpoints.okx })
      const topics = ["BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "ADA-USDT"].map((i) => Okx.topic("trades", i))
      yield* probe.feed.subscribe(topics[0]!)
      yield* Effect.forEach(topics.slice(1), (t) => Effect.forkScoped(probe.feed.subscribe(t)), { discard: true })
      yield* Effect.sleep("1 second")
      const subs = yield* probe.feed.subscriptions
      assert.strictEqual(subs.filter((s) => s.state === "confirmed").length, 3)
      assert.strictEqual(subs.filter((s) => s.state === "pending").length, 2)
      assert.isFalse(probe.texts.some((t) => t.includes('"60014"')), "the venue refused a request over its quota")
      assert.strictEqual((yield* probe.feed.stats).requests, 3)
    }))

  it.live("coinbase: a product with no trades keeps its connection: the heartbeat channel keeps it from idling out", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, venues: { coinbase: { heartbeatInterval: "200 millis" } } })
      const probe = yield* start("coinbase", Coinbase.exchange, {
        url: sim.endpoints.coinbase,
        topics: [Coinbase.topic("matches", "BTC-USD")],
        idleTimeout: "1 second"
      })
      yield* until(() => probe.seen.some((e) => e._tag === "Subscribed"))
      yield* Effect.sleep("3 seconds")
      const dials = probe.seen.filter((e) => e._tag === "Connection" && e.event._tag === "Opened")
      assert.strictEqual(dials.length, 1)
      assert.isFalse(probe.seen.some((e) => e._tag === "Connection" && e.event._tag === "Disconnected"))
    }))

  it.live("binance usd-m: market-class and public streams each reach their routed endpoint and flow", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = ["btcusdt@aggTrade", "btcusdt@trade"]
      const probe = yield* start("usdm", Binance.usdm, {
        urls: { public: sim.endpoints.binanceUsdmPublicCombined, market: sim.endpoints.binanceUsdmMarketCombined },
        topics
      })
      yield* until(() => topics.every((t) => dataOf(probe, t) > 0))
      assert.strictEqual((yield* probe.feed.shards).length, 2)
    }))
})
