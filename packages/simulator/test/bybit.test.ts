/**
 * Bybit-like venue: the JSON ping answer, subscription answers, trade and order-book topics with
 * continuous sequence numbers, unknown topics, and the idle close.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Simulator } from "../src/index.ts"
import { connect, msg } from "./utils/client.ts"

const fast = { rate: 100, tickInterval: 10 } as const

describe("Bybit", () => {
  it.live("answers {op:ping} with success/pong and echoes req_id", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.bybit)
      c.send({ op: "ping", req_id: "42" })
      const pong = yield* c.next(msg((j) => j.op === "ping"))
      assert.strictEqual(pong.json.success, true)
      assert.strictEqual(pong.json.ret_msg, "pong")
      assert.strictEqual(pong.json.req_id, "42")
      assert.isString(pong.json.conn_id)
    }))

  it.live("subscribe is acknowledged; publicTrade seq +1; orderbook snapshot then deltas with u +1", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.bybit)
      c.send({ op: "subscribe", args: ["publicTrade.BTCUSDT", "orderbook.50.BTCUSDT"] })
      const ack = yield* c.next(msg((j) => j.op === "subscribe"))
      assert.deepStrictEqual({ success: ack.json.success, ret_msg: ack.json.ret_msg }, { success: true, ret_msg: "" })
      const trades = yield* c.nextN(10, msg((j) => j.topic === "publicTrade.BTCUSDT"))
      for (let i = 1; i < trades.length; i++) {
        assert.strictEqual(trades[i]!.json.data[0].seq, trades[i - 1]!.json.data[0].seq + 1)
      }
      assert.oneOf(trades[0]!.json.data[0].S, ["Buy", "Sell"])
      const books = yield* c.nextN(10, msg((j) => j.topic === "orderbook.50.BTCUSDT"))
      assert.strictEqual(books[0]!.json.type, "snapshot")
      for (let i = 1; i < books.length; i++) {
        assert.strictEqual(books[i]!.json.type, "delta")
        assert.strictEqual(books[i]!.json.data.u, books[i - 1]!.json.data.u + 1)
      }
      assert.strictEqual(c.messages((s) => String(s.json?.topic).includes("ETH")).length, 0)
    }))

  it.live("an unknown topic is answered success:false and subscribes nothing", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.bybit)
      c.send({ op: "subscribe", args: ["tickers.BTCUSDT"], req_id: "a" })
      const ack = yield* c.next(msg((j) => j.op === "subscribe"))
      assert.strictEqual(ack.json.success, false)
      assert.match(ack.json.ret_msg, /tickers\.BTCUSDT/)
      assert.strictEqual((yield* sim.connections)[0]?.subscriptions.length, 0)
    }))

  it.live("closes when neither ping nor data happens for idleTimeout", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, rate: 0, venues: { bybit: { idleTimeout: 150 } } })
      const c = yield* connect(sim.endpoints.bybit)
      const opened = Date.now()
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1000)
      assert.isAtLeast(closed.at - opened, 150 - 30)
    }))
})
