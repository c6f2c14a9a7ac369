/**
 * Coinbase-like venue: the subscribe deadline, the `subscriptions` answer, `match` messages with a
 * per-product sequence increasing by 1, and heartbeats once per interval carrying that sequence.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Simulator } from "../src/index.ts"
import { connect, msg } from "./utils/client.ts"

const fast = { rate: 100, tickInterval: 10 } as const

describe("Coinbase", () => {
  it.live("closes when no subscribe arrives within subscribeDeadline", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { coinbase: { subscribeDeadline: 150 } } })
      const c = yield* connect(sim.endpoints.coinbase)
      const opened = Date.now()
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1008)
      assert.isAtLeast(closed.at - opened, 150 - 30)
    }))

  it.live("answers subscriptions and sends matches whose sequence increases by 1 per product", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { coinbase: { subscribeDeadline: 150 } } })
      const c = yield* connect(sim.endpoints.coinbase)
      c.send({ type: "subscribe", product_ids: ["BTC-USD", "ETH-USD"], channels: ["matches"] })
      const subs = yield* c.next(msg((j) => j.type === "subscriptions"))
      assert.deepStrictEqual(subs.json.channels, [{ name: "matches", product_ids: ["BTC-USD", "ETH-USD"] }])
      const btc = yield* c.nextN(10, msg((j) => j.type === "match" && j.product_id === "BTC-USD"))
      yield* c.nextN(10, msg((j) => j.type === "match" && j.product_id === "ETH-USD"))
      for (let i = 1; i < btc.length; i++) {
        assert.strictEqual(btc[i]!.json.sequence, btc[i - 1]!.json.sequence + 1)
        assert.strictEqual(btc[i]!.json.trade_id, btc[i - 1]!.json.trade_id + 1)
      }
      // the deadline no longer applies once subscribed
      yield* c.nextN(40, msg((j) => j.type === "match"))
      assert.strictEqual(c.ws.readyState, c.ws.OPEN)
    }))

  it.live("heartbeat channel: one per interval with the product's last sequence", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, rate: 0, venues: { coinbase: { heartbeatInterval: 50 } } })
      const c = yield* connect(sim.endpoints.coinbase)
      c.send({ type: "subscribe", product_ids: ["BTC-USD"], channels: ["heartbeat"] })
      const beats = yield* c.nextN(4, msg((j) => j.type === "heartbeat"))
      for (const b of beats) {
        assert.strictEqual(b.json.product_id, "BTC-USD")
        assert.isNumber(b.json.sequence)
        assert.isNumber(b.json.last_trade_id)
      }
      const gap = beats[3]!.at - beats[0]!.at
      assert.isAtLeast(gap, 3 * 50 - 20)
      assert.isBelow(gap, 3 * 50 + 150)
    }))

  it.live("an unknown channel is answered with an error", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.coinbase)
      c.send({ type: "subscribe", product_ids: ["BTC-USD"], channels: ["full"] })
      const error = yield* c.next(msg((j) => j.type === "error"))
      assert.match(error.json.reason, /full/)
    }))
})
