/**
 * Feed against the simulator's venues, over real sockets: replay after a
 * drop for every venue, the Binance message budget, rotation through ten
 * forced disconnects with no gap and no duplicate, the OKX 64008 notice,
 * staleness against a muted stream, gaps, and sharding at the cap.
 */
import { assert, describe, it } from "@effect/vitest"
import { Simulator } from "@kharbranth/simulator"
import * as Effect from "effect/Effect"
import * as Binance from "../src/Binance.ts"
import * as Bybit from "../src/Bybit.ts"
import * as Coinbase from "../src/Coinbase.ts"
import * as Feed from "../src/Feed.ts"
import * as Hyperliquid from "../src/Hyperliquid.ts"
import * as Kraken from "../src/Kraken.ts"
import * as Okx from "../src/Okx.ts"
import type * as Venue from "../src/Venue.ts"
import { dataOf, nextEvent, type Probe, start, until } from "./utils/probe.ts"

const venues: ReadonlyArray<
  readonly ["binance" | "okx" | "bybit" | "coinbase" | "kraken" | "hyperliquid", Venue.Profile, ReadonlyArray<string>]
> = [
  ["binance", Binance.spot, [Binance.trade("btcusdt"), Binance.depth("ethusdt")]],
  ["okx", Okx.publicProfile, [Okx.topic("trades", "BTC-USDT"), Okx.topic("books", "ETH-USDT")]],
  ["bybit", Bybit.spot, [Bybit.trade("BTCUSDT"), Bybit.orderbook("ETHUSDT")]],
  ["coinbase", Coinbase.exchange, [Coinbase.topic("matches", "BTC-USD"), Coinbase.topic("level2_batch", "ETH-USD")]],
  ["kraken", Kraken.spot, [Kraken.topic("trade", "BTC/USD"), Kraken.topic("book", "ETH/USD")]],
  ["hyperliquid", Hyperliquid.mainnet, [Hyperliquid.topic("trades", "BTC"), Hyperliquid.topic("l2Book", "ETH")]]
]

/** Trade ids of `topic` among the delivered texts, in delivery order. */
const tradeIds = (probe: Probe, topic: string) =>
  probe.texts.flatMap((t) => {
    const s = Binance.sequence(t)
    return s !== undefined && s.stream === topic ? [s.last] : []
  })

const assertContiguous = (ids: ReadonlyArray<number>) => {
  assert.isAbove(ids.length, 0)
  const missing: Array<number> = []
  const dupes: Array<number> = []
  for (let i = 1; i < ids.length; i++) {
    if (ids[i]! <= ids[i - 1]!) dupes.push(ids[i]!)
    else for (let k = ids[i - 1]! + 1; k < ids[i]!; k++) missing.push(k)
  }
  assert.deepStrictEqual({ missing, dupes }, { missing: [], dupes: [] })
}

describe("Feed on the simulator", () => {
  for (const [venue, profile, topics] of venues) {
    it.live(`${venue}: after a drop the registry is replayed and both topics flow again`, () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make({ rate: 20 })
        const probe = yield* start(venue, profile, { url: sim.endpoints[venue], topics })
        yield* until(() => topics.every((t) => dataOf(probe, t) > 0))
        yield* sim.fault({ kind: "drop", target: { venue } })
        const replayed = yield* nextEvent(probe, (e) => (e._tag === "Replayed" ? e : undefined))
        assert.strictEqual(replayed.confirmed, 2)
        assert.deepStrictEqual(replayed.failed, [])
        assert.strictEqual(replayed.session, 2)
        const mark = probe.texts.length
        yield* until(() => topics.every((t) => dataOf(probe, t, mark) > 0))
        const subs = yield* probe.feed.subscriptions
        assert.deepStrictEqual(subs.map((s) => [s.topic, s.state]), topics.map((t) => [t, "confirmed"]))
        const held = yield* sim.connections
        assert.strictEqual(held.length, 1)
        // Coinbase's profile also holds each product's heartbeat channel (so a quiet product does not idle out).
        assert.sameMembers([...held[0]!.subscriptions].filter((t) => !t.startsWith("heartbeat:")), [...topics])
      }))
  }

  it.live("binance: an unsubscribed topic is not replayed", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Binance.trade("btcusdt"), Binance.trade("ethusdt"), Binance.trade("solusdt")]
      const probe = yield* start("binance", Binance.spot, { url: sim.endpoints.binance, topics })
      yield* until(() => topics.every((t) => dataOf(probe, t) > 0))
      yield* probe.feed.unsubscribe(Binance.trade("ethusdt"))
      yield* sim.fault({ kind: "drop", target: { venue: "binance" } })
      yield* nextEvent(probe, (e) => (e._tag === "Replayed" ? e : undefined))
      const held = yield* sim.connections
      assert.sameMembers([...held[0]!.subscriptions], [Binance.trade("btcusdt"), Binance.trade("solusdt")])
    }))

  it.live(
    "binance: twelve subscribes stay within 5 messages per second with pings every 900 ms counted; nothing is cut",
    () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make({
          rate: 5,
          venues: { binance: { pingInterval: "2 seconds", pongTimeout: "5 seconds" } }
        })
        const probe = yield* start("binance", Binance.spot, {
          url: sim.endpoints.binance,
          heartbeatInterval: "900 millis",
          heartbeatTimeout: "2 seconds"
        })
        // Open first, so each subscribe below is a request of its own.
        yield* probe.feed.subscribe(Binance.trade("trxusdt"))
        const symbols = ["btc", "eth", "sol", "xrp", "ada", "dot", "ltc", "bnb", "avax", "link", "atom", "near"]
        const began = Date.now()
        yield* Effect.forEach(symbols, (s) => probe.feed.subscribe(Binance.trade(`${s}usdt`)), {
          concurrency: "unbounded"
        })
        const took = Date.now() - began
        // 12 requests at 3 per 1.1 s (two of the 5 left for pings every 900 ms): at least three full windows.
        assert.isAtLeast(took, 3_000)
        // Messages, not error objects: a failure then says why the session ended.
        const ended = probe.seen.flatMap((e) =>
          e._tag === "Connection" && e.event._tag === "Disconnected" ? [e.event.error.message] : []
        )
        assert.deepStrictEqual(ended, [])
        const subs = yield* probe.feed.subscriptions
        assert.strictEqual(subs.filter((s) => s.state === "confirmed").length, 13)
        assert.strictEqual((yield* sim.connections)[0]!.subscriptions.length, 13)
      }),
    20_000
  )

  it.live(
    "binance: ten rotations before maxLifetime, with no missing and no duplicate trade id",
    () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make({
          rate: 60,
          venues: { binance: { maxLifetime: "1500 millis", shutdownNotice: "400 millis" } }
        })
        const topics = [Binance.trade("btcusdt"), Binance.trade("ethusdt")]
        const probe = yield* start("binance", Binance.spot, {
          url: sim.endpoints.binance,
          topics,
          sequence: Binance.sequence,
          maxLifetime: "900 millis"
        })
        yield* until(() => probe.seen.filter((e) => e._tag === "Rotated").length >= 10, "25 seconds")
        const rotated = probe.seen.filter(Feed.FeedEvent.$is("Rotated"))
        assert.isTrue(rotated.every((e) => e.overlapped))
        for (const topic of topics) assertContiguous(tradeIds(probe, topic))
        assert.isFalse(probe.seen.some((e) => e._tag === "GapDetected"))
        // Every old session was closed by the feed after its switch: the venue never had to cut one.
        const cut = probe.seen.filter((e) => e._tag === "Connection" && e.event._tag === "Disconnected")
        assert.deepStrictEqual(cut, [])
      }),
    30_000
  )

  it.live("okx: the 64008 notice rotates the connection before the venue closes it", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topic = Okx.topic("trades", "BTC-USDT")
      const probe = yield* start("okx", Okx.publicProfile, { url: sim.endpoints.okx, topics: [topic] })
      yield* until(() => dataOf(probe, topic) > 0)
      yield* sim.fault({ kind: "notice", target: { venue: "okx" }, closeAfter: "2 seconds" })
      const started = yield* nextEvent(probe, (e) => (e._tag === "RotationStarted" ? e : undefined))
      assert.strictEqual(started.reason, "notice")
      yield* nextEvent(probe, (e) => (e._tag === "Rotated" ? e : undefined))
      const mark = probe.texts.length
      yield* until(() => dataOf(probe, topic, mark) > 0)
      assert.strictEqual((yield* probe.feed.shards)[0]!.generation, 1)
    }))

  it.live("binance: a muted stream gets a targeted resubscribe that brings it back", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const muted = Binance.trade("btcusdt")
      const topics = [muted, Binance.trade("ethusdt")]
      const probe = yield* start("binance", Binance.spot, {
        url: sim.endpoints.binance,
        topics,
        cadence: () => "600 millis"
      })
      yield* until(() => topics.every((t) => dataOf(probe, t) > 0))
      yield* sim.fault({ kind: "mute", target: { venue: "binance" }, stream: muted })
      const stale = yield* nextEvent(probe, (e) => (e._tag === "Stale" ? e : undefined))
      assert.deepStrictEqual([stale.topic, stale.action], [muted, "resubscribe"])
      const mark = probe.texts.length
      yield* until(() => dataOf(probe, muted, mark) > 0)
      assert.isFalse(probe.seen.some((e) => e._tag === "Stale" && e.action === "restart"))
      assert.strictEqual((yield* sim.stats).venues.binance.connections, 1)
    }))

  it.live("binance: a stream a resubscribe cannot bring back gets its connection restarted", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const muted = Binance.trade("btcusdt")
      const probe = yield* start("binance", Binance.spot, {
        url: sim.endpoints.binance,
        topics: [muted, Binance.trade("ethusdt")],
        cadence: (t) => (t === muted ? "600 millis" : undefined)
      })
      yield* until(() => dataOf(probe, muted) > 0)
      yield* sim.fault({ kind: "mute", target: { venue: "binance" }, stream: muted, until: "reconnect" })
      const actions = yield* Effect.all([
        nextEvent(probe, (e) => (e._tag === "Stale" ? e.action : undefined)),
        nextEvent(probe, (e) => (e._tag === "Stale" ? e.action : undefined))
      ])
      assert.deepStrictEqual(actions, ["resubscribe", "restart"])
      yield* nextEvent(probe, (e) => (e._tag === "Replayed" ? e : undefined))
      const mark = probe.texts.length
      yield* until(() => dataOf(probe, muted, mark) > 0)
    }))

  it.live("binance: a sequence gap restarts the connection, then trades continue", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topic = Binance.trade("btcusdt")
      const probe = yield* start("binance", Binance.spot, {
        url: sim.endpoints.binance,
        topics: [topic],
        sequence: Binance.sequence
      })
      yield* until(() => dataOf(probe, topic) > 2)
      yield* sim.fault({ kind: "gap", target: { venue: "binance" }, skip: 3 })
      const gap = yield* nextEvent(probe, (e) => (e._tag === "GapDetected" ? e : undefined))
      assert.strictEqual(gap.action, "restart")
      assert.strictEqual(gap.got - gap.expected, 3)
      assert.isFalse(gap.sessionStart)
      yield* nextEvent(probe, (e) => (e._tag === "Replayed" ? e : undefined))
      const mark = probe.texts.length
      yield* until(() => dataOf(probe, topic, mark) > 0)
    }))

  it.live("binance: with a resync callback a gap is handed to it and the session stays up", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topic = Binance.depth("btcusdt")
      const gaps: Array<Feed.Gap> = []
      const probe = yield* start("binance", Binance.spot, {
        url: sim.endpoints.binance,
        topics: [topic],
        sequence: Binance.sequence,
        onGap: (gap) => Effect.sync(() => void gaps.push(gap))
      })
      yield* until(() => dataOf(probe, topic) > 2)
      yield* sim.fault({ kind: "gap", target: { venue: "binance" }, skip: 5 })
      yield* until(() => gaps.length === 1)
      assert.strictEqual(gaps[0]!.stream, topic)
      assert.isAtLeast(gaps[0]!.got - gaps[0]!.expected, 5)
      assert.strictEqual((yield* sim.stats).venues.binance.connections, 1)
    }))

  it.live("binance: topics over streamsPerConnection are sharded across connections at the cap", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 10 })
      const topics = ["btc", "eth", "sol", "xrp", "ada"].map((s) => Binance.trade(`${s}usdt`))
      const probe = yield* start("binance", Binance.spot, { url: sim.endpoints.binance, streamsPerConnection: 2 })
      yield* probe.feed.subscribe(topics)
      const held = (yield* sim.connections).map((c) => c.subscriptions.length).sort()
      assert.deepStrictEqual(held, [1, 2, 2])
      yield* until(() => topics.every((t) => dataOf(probe, t) > 0))
      assert.strictEqual((yield* probe.feed.shards).length, 3)
    }))
})
