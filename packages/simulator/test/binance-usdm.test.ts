/**
 * Binance USD-M futures routed endpoints: `/public` pushes trade, depth and bookTicker; `/market` pushes
 * aggTrade, markPrice, kline and tickers; the legacy unrouted `/ws` and `/stream` are served as `/public`;
 * a stream of the other class is acknowledged and listed but never pushed, with no error. Depth updates
 * chain by `pu`; the USD-M message limit is 10 per second.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Simulator } from "../src/index.ts"
import { connect, handshakeStatus, msg, type Seen } from "./utils/client.ts"

const fast = { rate: 100, tickInterval: 10 } as const
const publicStreams = ["btcusdt@trade", "btcusdt@depth@100ms", "btcusdt@bookTicker"]
const marketStreams = [
  "btcusdt@aggTrade",
  "btcusdt@markPrice@1s",
  "btcusdt@kline_1m",
  "btcusdt@ticker",
  "btcusdt@miniTicker"
]
const all = [...publicStreams, ...marketStreams]

/** The stream names that pushed data on a combined connection. */
const pushed = (seen: ReadonlyArray<Seen>): ReadonlyArray<string> =>
  [
    ...new Set(
      seen.filter((s) => s.kind === "message" && typeof s.json?.stream === "string").map((s) => s.json.stream as string)
    )
  ].sort()

describe("Binance USD-M", () => {
  it.live("endpoints mirror fstream.binance.com's routed and legacy paths", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const base = `ws://127.0.0.1:${sim.port}`
      assert.strictEqual(sim.endpoints.binanceUsdmPublic, `${base}/binance-usdm/public/ws`)
      assert.strictEqual(sim.endpoints.binanceUsdmPublicCombined, `${base}/binance-usdm/public/stream`)
      assert.strictEqual(sim.endpoints.binanceUsdmMarket, `${base}/binance-usdm/market/ws`)
      assert.strictEqual(sim.endpoints.binanceUsdmMarketCombined, `${base}/binance-usdm/market/stream`)
      assert.strictEqual(sim.endpoints.binanceUsdmLegacy, `${base}/binance-usdm/ws`)
      assert.strictEqual(sim.endpoints.binanceUsdmLegacyCombined, `${base}/binance-usdm/stream`)
    }))

  for (
    const [name, endpoint, expected] of [
      ["/public pushes trade, depth and bookTicker only", "binanceUsdmPublicCombined", publicStreams],
      ["/market pushes aggTrade, markPrice, kline and tickers only", "binanceUsdmMarketCombined", marketStreams],
      [
        "the legacy unrouted /stream is served as /public: market streams stay silent",
        "binanceUsdmLegacyCombined",
        publicStreams
      ]
    ] as const
  ) {
    it.live(`${name}; every SUBSCRIBE is acknowledged and listed, with no error`, () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make(fast)
        const c = yield* connect(sim.endpoints[endpoint])
        c.send({ method: "SUBSCRIBE", params: all, id: 1 })
        const ack = yield* c.next(msg((j) => j.id === 1))
        assert.deepStrictEqual(ack.json, { result: null, id: 1 })
        c.send({ method: "LIST_SUBSCRIPTIONS", id: 2 })
        const list = yield* c.next(msg((j) => j.id === 2))
        assert.deepStrictEqual([...list.json.result].sort(), [...all].sort())
        // every pushing stream sends many messages in this time at 100 per second
        for (const stream of expected) yield* c.nextN(10, msg((j) => j.stream === stream))
        assert.deepStrictEqual(pushed(c.seen), [...expected].sort())
        assert.strictEqual(c.messages((s) => s.json?.error !== undefined).length, 0)
        assert.strictEqual(c.ws.readyState, c.ws.OPEN)
      }))
  }

  it.live("raw legacy /ws/<stream>: a public stream pushes, a market stream in the URL is accepted and silent", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const trade = yield* connect(`${sim.endpoints.binanceUsdmLegacy}/btcusdt@trade`)
      const trades = yield* trade.nextN(10, msg((j) => j.e === "trade"))
      for (let i = 1; i < trades.length; i++) assert.strictEqual(trades[i]!.json.t, trades[i - 1]!.json.t + 1)
      assert.strictEqual(trades[0]!.json.X, "MARKET")
      const mark = yield* connect(`${sim.endpoints.binanceUsdmLegacy}/btcusdt@markPrice`)
      const markOnMarket = yield* connect(`${sim.endpoints.binanceUsdmMarket}/btcusdt@markPrice`)
      const update = yield* markOnMarket.next(msg((j) => j.e === "markPriceUpdate"))
      assert.strictEqual(update.json.s, "BTCUSDT")
      yield* markOnMarket.nextN(10, msg((j) => j.e === "markPriceUpdate"))
      assert.strictEqual(mark.messages().length, 0)
      const infos = yield* sim.connections
      assert.deepStrictEqual(infos.find((i) => i.path === "/binance-usdm/ws/btcusdt@markPrice")?.subscriptions, [
        "btcusdt@markPrice"
      ])
    }))

  it.live("/public depth updates chain by pu = previous u, and U = pu (ranges touch, so a snapshot's id is always inside the next event)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(`${sim.endpoints.binanceUsdmPublic}/ethusdt@depth@100ms`)
      const depth = yield* c.nextN(10, msg((j) => j.e === "depthUpdate"))
      for (let i = 1; i < depth.length; i++) {
        assert.strictEqual(depth[i]!.json.pu, depth[i - 1]!.json.u)
        assert.strictEqual(depth[i]!.json.U, depth[i]!.json.pu)
        assert.isAbove(depth[i]!.json.u, depth[i]!.json.U)
      }
      assert.strictEqual(depth[0]!.json.s, "ETHUSDT")
    }))

  it.live("a public stream on /market is acknowledged and silent", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.binanceUsdmMarket)
      c.send({ method: "SUBSCRIBE", params: ["btcusdt@bookTicker", "btcusdt@aggTrade"], id: 7 })
      yield* c.next(msg((j) => j.id === 7 && j.result === null))
      yield* c.nextN(10, msg((j) => j.e === "aggTrade"))
      assert.strictEqual(c.messages((s) => s.json?.e === "bookTicker").length, 0)
    }))

  it.live("a stream symbol must be lowercase (error code 2); unknown paths such as /private are refused", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.binanceUsdmPublic)
      c.send({ method: "SUBSCRIBE", params: ["BTCUSDT@trade"], id: 3 })
      const reply = yield* c.next(msg((j) => j.id === 3))
      assert.strictEqual(reply.json.error.code, 2)
      assert.strictEqual((yield* handshakeStatus(`ws://127.0.0.1:${sim.port}/binance-usdm/private/ws`)).status, 404)
    }))

  it.live("more than messageLimit (10) incoming messages in a second close with 1008", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.binanceUsdmPublic)
      for (let i = 1; i <= 10; i++) c.send({ method: "LIST_SUBSCRIPTIONS", id: i })
      yield* c.nextN(10, msg((j) => Array.isArray(j.result)))
      assert.strictEqual(c.ws.readyState, c.ws.OPEN)
      c.send({ method: "LIST_SUBSCRIPTIONS", id: 11 })
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1008)
      assert.match(closed.reason, /10 incoming messages/)
    }))

  it.live("PING frames every pingInterval, closed when unanswered; no serverShutdown notice", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { binanceUsdm: { pingInterval: 50, pongTimeout: 150 } } })
      const c = yield* connect(sim.endpoints.binanceUsdmPublic, { autoPong: false })
      yield* c.next((s) => s.kind === "ping")
      const result = yield* sim.fault({ kind: "notice", target: { venue: "binanceUsdm" } })
      assert.deepStrictEqual(result.connections, [])
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1008)
      assert.match(closed.reason, /pong/i)
    }))
})
