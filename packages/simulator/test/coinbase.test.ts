/**
 * Coinbase-like venue: the subscribe deadline, the `subscriptions` answer, `match` messages with a
 * per-product sequence increasing by 1, heartbeats once per interval per product carrying that sequence,
 * and the per-IP limits: connection requests (8/s, bursts of 20), messages (100/s, `ErrSlowRead`), and 10
 * subscriptions per product per channel.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Simulator } from "../src/index.ts"
import { connect, handshakeStatus, msg } from "./utils/client.ts"

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

  it.live("heartbeat channel per product: each subscribed product gets one per interval with sequence, last_trade_id, product_id, time", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, rate: 20, venues: { coinbase: { heartbeatInterval: 100 } } })
      const c = yield* connect(sim.endpoints.coinbase)
      c.send({ type: "subscribe", product_ids: ["BTC-USD", "ETH-USD"], channels: ["heartbeat", "matches"] })
      const btc = yield* c.nextN(4, msg((j) => j.type === "heartbeat" && j.product_id === "BTC-USD"))
      const eth = yield* c.nextN(4, msg((j) => j.type === "heartbeat" && j.product_id === "ETH-USD"))
      for (const b of [...btc, ...eth]) {
        assert.deepStrictEqual(Object.keys(b.json).sort(), ["last_trade_id", "product_id", "sequence", "time", "type"])
        assert.match(b.json.time, /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/)
      }
      const gap = btc[3]!.at - btc[0]!.at
      assert.isAtLeast(gap, 3 * 100 - 20)
      assert.isBelow(gap, 3 * 100 + 150)
      // the heartbeat carries the product's sequence and trade id as of the last match
      const last = btc[3]!
      // oxlint-disable-next-line unicorn/prefer-array-find -- `.at(-1)` is the last match, not the first
      const before = c.seen.slice(0, c.seen.indexOf(last)).filter((s) =>
        s.json?.type === "match" && s.json.product_id === "BTC-USD"
      ).at(-1)
      assert.isDefined(before)
      assert.strictEqual(last.json.last_trade_id, before!.json.trade_id)
      assert.strictEqual(last.json.sequence, before!.json.sequence)
    }))

  it.live("subscriptionsPerProductChannel counts across connections of one IP: one beyond is rejected, the request's others subscribe", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { coinbase: { subscriptionsPerProductChannel: 2 } } })
      const a = yield* connect(sim.endpoints.coinbase)
      const b = yield* connect(sim.endpoints.coinbase)
      const c = yield* connect(sim.endpoints.coinbase)
      a.send({ type: "subscribe", product_ids: ["BTC-USD"], channels: ["matches"] })
      yield* a.next(msg((j) => j.type === "subscriptions"))
      // a duplicate on the same connection is not a second subscription
      a.send({ type: "subscribe", product_ids: ["BTC-USD"], channels: ["matches"] })
      yield* a.nextN(2, msg((j) => j.type === "subscriptions"))
      b.send({ type: "subscribe", product_ids: ["BTC-USD"], channels: ["matches"] })
      yield* b.next(msg((j) => j.type === "subscriptions"))
      c.send({ type: "subscribe", product_ids: ["BTC-USD", "ETH-USD"], channels: ["matches"] })
      const error = yield* c.next(msg((j) => j.type === "error"))
      assert.strictEqual(error.json.message, "Failed to subscribe")
      assert.match(error.json.reason, /at most 2 subscriptions to matches for BTC-USD/)
      const subs = yield* c.next(msg((j) => j.type === "subscriptions"))
      assert.deepStrictEqual(subs.json.channels, [{ name: "matches", product_ids: ["ETH-USD"] }])
      // another channel of the same product is a separate count
      c.send({ type: "subscribe", product_ids: ["BTC-USD"], channels: ["heartbeat"] })
      yield* c.nextN(2, msg((j) => j.type === "subscriptions"))
      assert.strictEqual(c.messages((s) => s.json?.type === "error").length, 1)
      // closing a connection frees its subscriptions
      const events = yield* sim.subscribe
      b.ws.close()
      yield* events.pipe(Stream.filter((e) => e._tag === "Closed"), Stream.take(1), Stream.runDrain)
      c.send({ type: "subscribe", product_ids: ["BTC-USD"], channels: ["matches"] })
      const after = yield* c.nextN(3, msg((j) => j.type === "subscriptions"))
      assert.deepStrictEqual(after[2]!.json.channels.find((ch: any) => ch.name === "matches")?.product_ids.sort(), [
        "BTC-USD",
        "ETH-USD"
      ])
    }))

  it.live("connection requests: a burst of requestBurst handshakes is accepted, the next gets 429, and requestsPerSecond refills", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { coinbase: { requestsPerSecond: 5, requestBurst: 3 } } })
      const events = yield* sim.subscribe
      const statuses: Array<number> = []
      for (let i = 0; i < 4; i++) statuses.push((yield* handshakeStatus(sim.endpoints.coinbase)).status)
      assert.deepStrictEqual(statuses, [101, 101, 101, 429])
      const refused = yield* events.pipe(Stream.filter((e) => e._tag === "Refused"), Stream.runHead)
      assert.isTrue(
        refused._tag === "Some" && refused.value._tag === "Refused" && refused.value.status === 429 &&
          refused.value.venue === "coinbase"
      )
      yield* Effect.sleep("250 millis")
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.coinbase)).status, 101)
    }))

  it.live("messagesPerSecond counts the messages of one IP across connections: beyond it ErrSlowRead, then a close", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { coinbase: { messagesPerSecond: 3 } } })
      const a = yield* connect(sim.endpoints.coinbase)
      const b = yield* connect(sim.endpoints.coinbase)
      const subscribe = { type: "subscribe", product_ids: ["BTC-USD"], channels: ["heartbeat"] }
      a.send(subscribe)
      a.send(subscribe)
      b.send(subscribe)
      yield* a.nextN(2, msg((j) => j.type === "subscriptions"))
      yield* b.next(msg((j) => j.type === "subscriptions"))
      b.send(subscribe)
      const error = yield* b.next(msg((j) => j.type === "error"))
      assert.strictEqual(error.json.message, "ErrSlowRead")
      const closed = yield* b.closed
      assert.deepStrictEqual([closed.code, closed.reason], [1008, "ErrSlowRead"])
      assert.strictEqual(a.ws.readyState, a.ws.OPEN)
    }))
})
