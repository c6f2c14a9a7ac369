/**
 * Feed with the real venue profiles on MemoryTransport and TestClock, the
 * memory server answering exactly as each venue documents: OKX's unknown
 * instrument (60018, no arg), Kraken's per-symbol answers under one
 * `req_id`, Binance's combined-stream `serverShutdown`, and Binance USD-M's
 * routed endpoints. The same behaviours against the simulator over real
 * sockets are in feed-venues.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Heartbeat, MemoryTransport } from "@kharbranth/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Binance from "../src/Binance.ts"
import * as Feed from "../src/Feed.ts"
import * as Kraken from "../src/Kraken.ts"
import * as Okx from "../src/Okx.ts"
import { advance, base as toyBase, collect, settle } from "./utils/toy.ts"

const { MemoryServer } = MemoryTransport

const base = { ...toyBase, heartbeat: Heartbeat.none } as const

const states = (subs: ReadonlyArray<Feed.Subscription>) => subs.map((s) => [s.topic, s.state])

/** Texts a server connection received, parsed. */
const received = (peer: MemoryTransport.ServerConnection) =>
  Effect.map(peer.received, (all) => all.flatMap((m) => (m._tag === "Text" ? [JSON.parse(m.data)] : [])))

/** OKX: one answer per arg, in order; an unknown instrument gets 60018 with no arg, its topic only in `msg`. */
const okx = (known: ReadonlySet<string>) => (message: string) => {
  const req = JSON.parse(message)
  if (req.op !== "subscribe" && req.op !== "unsubscribe") return undefined
  return (req.args as Array<{ channel: string; instId: string }>).map((arg) =>
    known.has(arg.instId) || req.op === "unsubscribe"
      ? JSON.stringify({ id: req.id, event: req.op, arg, connId: "a1" })
      : JSON.stringify({
        id: req.id,
        event: "error",
        code: "60018",
        msg:
          `Wrong URL or channel:${arg.channel},instId:${arg.instId} doesn't exist. Please use the correct URL, channel and parameters referring to API document.`,
        connId: "a1"
      })
  )
}

/** Kraken v2: one answer per symbol under the request's `req_id`. */
const kraken = (known: ReadonlySet<string>) => (message: string) => {
  const req = JSON.parse(message)
  if (req.method !== "subscribe" && req.method !== "unsubscribe") return undefined
  return (req.params.symbol as Array<string>).map((symbol) =>
    known.has(symbol)
      ? JSON.stringify({
        method: req.method,
        result: { channel: req.params.channel, symbol },
        success: true,
        req_id: req.req_id
      })
      : JSON.stringify({
        error: `Currency pair not supported ${symbol}`,
        method: req.method,
        success: false,
        symbol,
        req_id: req.req_id
      })
  )
}

/** Binance: `{"result":null,"id"}` for every request. */
const binance = (message: string) => {
  const req = JSON.parse(message)
  return req.method === undefined ? undefined : JSON.stringify({ result: null, id: req.id })
}

describe("Feed with venue-shaped answers", () => {
  it.effect("OKX: an unknown instId (60018, no arg) fails only its topic; the good ones stay and are replayed", () =>
    Effect.gen(function*() {
      const feed = yield* Feed.make("okx", Okx.publicProfile, { ...base, url: "ws://okx.test/ws" })
      const server = yield* MemoryServer
      const topics = [Okx.topic("trades", "FOO-BAR"), Okx.topic("trades", "BTC-USDT"), Okx.topic("trades", "ETH-USDT")]
      const error = yield* feed.subscribe(topics).pipe(
        Effect.flip,
        Effect.forkScoped,
        Effect.tap(() => settle),
        Effect.flatMap(Fiber.join)
      )
      assert.strictEqual(error._tag, "SubscriptionError")
      if (error._tag === "SubscriptionError") {
        assert.deepStrictEqual(error.topics, ["trades:FOO-BAR"])
        assert.isTrue(error.permanent)
        assert.include(error.reason, "60018")
      }
      assert.deepStrictEqual(states(yield* feed.subscriptions), [
        ["trades:FOO-BAR", "failed"],
        ["trades:BTC-USDT", "confirmed"],
        ["trades:ETH-USDT", "confirmed"]
      ])
      // The request carried OKX's documented id.
      const first = (yield* server.latest)!
      assert.strictEqual((yield* received(first))[0].id, "1")
      yield* first.drop
      yield* advance(1_000)
      const replayed = yield* received((yield* server.latest)!)
      assert.deepStrictEqual(replayed.map((r) => r.args.map((a: { instId: string }) => a.instId)), [[
        "BTC-USDT",
        "ETH-USDT"
      ]])
    }).pipe(Effect.provide(MemoryTransport.layer({ reply: okx(new Set(["BTC-USDT", "ETH-USDT"])) }))))

  for (const order of [["BTC/USD", "XBT/USD"], ["XBT/USD", "BTC/USD"]]) {
    it.effect(`Kraken: per-symbol answers settle their own pair only (${order[0]} first)`, () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("kraken", Kraken.spot, { ...base, url: "ws://kraken.test/v2" })
        const server = yield* MemoryServer
        const topics = order.map((s) => Kraken.topic("trade", s))
        const error = yield* feed.subscribe(topics).pipe(
          Effect.flip,
          Effect.forkScoped,
          Effect.tap(() => settle),
          Effect.flatMap(Fiber.join)
        )
        assert.strictEqual(error._tag, "SubscriptionError")
        if (error._tag === "SubscriptionError") assert.deepStrictEqual(error.topics, ["trade:XBT/USD"])
        const subs = new Map((yield* feed.subscriptions).map((s) => [s.topic, s.state]))
        assert.strictEqual(subs.get("trade:BTC/USD"), "confirmed")
        assert.strictEqual(subs.get("trade:XBT/USD"), "failed")
        yield* (yield* server.latest)!.drop
        yield* advance(1_000)
        const replayed = yield* received((yield* server.latest)!)
        assert.deepStrictEqual(replayed.map((r) => r.params.symbol), [["BTC/USD"]])
      }).pipe(Effect.provide(MemoryTransport.layer({ reply: kraken(new Set(["BTC/USD"])) }))))
  }

  it.effect("Binance: the combined-stream serverShutdown starts a rotation like the raw one", () =>
    Effect.gen(function*() {
      const feed = yield* Feed.make("binance", Binance.spot, { ...base, url: "ws://binance.test/stream" })
      const events = yield* collect(feed.events)
      const server = yield* MemoryServer
      yield* Effect.forkScoped(feed.subscribe(Binance.trade("btcusdt")))
      yield* settle
      yield* (yield* server.latest)!.send(
        JSON.stringify({ stream: "!serverShutdown", data: { e: "serverShutdown", E: 1 } })
      )
      yield* settle
      assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("RotationStarted")).map((e) => e.reason), ["notice"])
      assert.strictEqual((yield* server.dials).length, 2)
    }).pipe(Effect.provide(MemoryTransport.layer({ reply: binance }))))

  it.effect("Binance USD-M: market-class streams go to /market, public ones to /public, each its own shard", () =>
    Effect.gen(function*() {
      const feed = yield* Feed.make("usdm", Binance.usdm, {
        ...base,
        urls: { public: "ws://fstream.test/public/stream", market: "ws://fstream.test/market/stream" }
      })
      const server = yield* MemoryServer
      yield* Effect.forkScoped(
        feed.subscribe(["btcusdt@aggTrade", "btcusdt@trade", "btcusdt@markPrice", "btcusdt@depth@100ms"])
      )
      yield* settle
      const byUrl = new Map<string, Array<string>>()
      for (const peer of yield* server.connections) {
        byUrl.set(peer.request.url, (yield* received(peer)).flatMap((r) => r.params))
      }
      assert.sameMembers(byUrl.get("ws://fstream.test/market/stream")!, ["btcusdt@aggTrade", "btcusdt@markPrice"])
      assert.sameMembers(byUrl.get("ws://fstream.test/public/stream")!, ["btcusdt@trade", "btcusdt@depth@100ms"])
      assert.strictEqual((yield* feed.shards).length, 2)
      assert.isTrue((yield* feed.subscriptions).every((s) => s.state === "confirmed"))
    }).pipe(Effect.provide(MemoryTransport.layer({ reply: binance }))))
})
