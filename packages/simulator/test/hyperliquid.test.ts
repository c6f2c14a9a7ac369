/**
 * Hyperliquid-like venue: ping/pong, `subscriptionResponse`, trades with `tid` +1, l2Book snapshots,
 * and the idle close.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Simulator } from "../src/index.ts"
import { connect, msg } from "./utils/client.ts"

const fast = { rate: 100, tickInterval: 10 } as const

describe("Hyperliquid", () => {
  it.live("answers {method:ping} with {channel:pong}", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.hyperliquid)
      c.send({ method: "ping" })
      const pong = yield* c.next(msg((j) => j.channel === "pong"))
      assert.deepStrictEqual(pong.json, { channel: "pong" })
    }))

  it.live("subscriptionResponse echoes the subscription; trades tid +1; l2Book has two sides", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.hyperliquid)
      const subscription = { type: "trades", coin: "BTC" }
      c.send({ method: "subscribe", subscription })
      const ack = yield* c.next(msg((j) => j.channel === "subscriptionResponse"))
      assert.deepStrictEqual(ack.json.data, { method: "subscribe", subscription })
      const trades = yield* c.nextN(10, msg((j) => j.channel === "trades"))
      for (let i = 1; i < trades.length; i++) assert.strictEqual(trades[i]!.json.data[0].tid, trades[i - 1]!.json.data[0].tid + 1)
      assert.oneOf(trades[0]!.json.data[0].side, ["A", "B"])
      assert.strictEqual(c.messages((s) => s.json?.channel === "l2Book").length, 0)
      c.send({ method: "subscribe", subscription: { type: "l2Book", coin: "ETH" } })
      const book = yield* c.next(msg((j) => j.channel === "l2Book"))
      assert.strictEqual(book.json.data.coin, "ETH")
      assert.strictEqual(book.json.data.levels.length, 2)
    }))

  it.live("closes when the client sends nothing for idleTimeout", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { hyperliquid: { idleTimeout: 150 } } })
      const c = yield* connect(sim.endpoints.hyperliquid)
      const opened = Date.now()
      const closed = yield* c.closed
      assert.isAtLeast(closed.at - opened, 150 - 30)
      assert.match(closed.reason, /No message/)
    }))
})
