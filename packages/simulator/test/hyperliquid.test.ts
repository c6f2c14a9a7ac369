/**
 * Hyperliquid-like venue: ping/pong, `subscriptionResponse`, trades with `tid` +1, l2Book snapshots,
 * the idle close, and the per-IP limits counted across connections: subscriptions, messages per minute
 * (both answered with `{"channel":"error"}`), and connections (HTTP 429).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Simulator } from "../src/index.ts"
import { connect, handshakeStatus, msg } from "./utils/client.ts"

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
      for (let i = 1; i < trades.length; i++) {
        assert.strictEqual(trades[i]!.json.data[0].tid, trades[i - 1]!.json.data[0].tid + 1)
      }
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

  it.live("subscriptionsPerIp counts across connections from one address: one beyond is answered with an error and not made", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { hyperliquid: { subscriptionsPerIp: 3 } } })
      const a = yield* connect(sim.endpoints.hyperliquid)
      const b = yield* connect(sim.endpoints.hyperliquid)
      for (const coin of ["BTC", "ETH"]) a.send({ method: "subscribe", subscription: { type: "trades", coin } })
      yield* a.nextN(2, msg((j) => j.channel === "subscriptionResponse"))
      b.send({ method: "subscribe", subscription: { type: "trades", coin: "SOL" } })
      yield* b.next(msg((j) => j.channel === "subscriptionResponse"))
      b.send({ method: "subscribe", subscription: { type: "l2Book", coin: "BTC" } })
      const error = yield* b.next(msg((j) => j.channel === "error"))
      assert.deepStrictEqual(error.json, { channel: "error", data: "Cannot subscribe to more than 3 channels." })
      assert.deepStrictEqual((yield* sim.connections).map((c) => c.subscriptions.length), [2, 1])
      // unsubscribing on one connection frees a slot for the other
      a.send({ method: "unsubscribe", subscription: { type: "trades", coin: "ETH" } })
      yield* a.next(msg((j) => j.channel === "subscriptionResponse" && j.data.method === "unsubscribe"))
      b.send({ method: "subscribe", subscription: { type: "l2Book", coin: "BTC" } })
      yield* b.next(msg((j) => j.channel === "subscriptionResponse" && j.data.subscription.type === "l2Book"))
      // and so does closing a connection
      const events = yield* sim.subscribe
      a.ws.close()
      yield* events.pipe(Stream.filter((e) => e._tag === "Closed"), Stream.take(1), Stream.runDrain)
      const c = yield* connect(sim.endpoints.hyperliquid)
      c.send({ method: "subscribe", subscription: { type: "trades", coin: "BTC" } })
      yield* c.next(msg((j) => j.channel === "subscriptionResponse"))
    }))

  it.live("messagesPerMinute counts every message of one address, pings included: beyond it each is answered with an error", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { hyperliquid: { messagesPerMinute: 4 } } })
      const a = yield* connect(sim.endpoints.hyperliquid)
      const b = yield* connect(sim.endpoints.hyperliquid)
      a.send({ method: "ping" })
      a.send({ method: "ping" })
      b.send({ method: "ping" })
      yield* a.nextN(2, msg((j) => j.channel === "pong"))
      yield* b.next(msg((j) => j.channel === "pong"))
      b.send({ method: "subscribe", subscription: { type: "trades", coin: "BTC" } })
      yield* b.next(msg((j) => j.channel === "subscriptionResponse"))
      a.send({ method: "ping" })
      const error = yield* a.next(msg((j) => j.channel === "error"))
      assert.deepStrictEqual(error.json, { channel: "error", data: "Cannot send more than 4 messages per minute." })
      b.send({ method: "subscribe", subscription: { type: "trades", coin: "ETH" } })
      yield* b.next(msg((j) => j.channel === "error"))
      assert.strictEqual(a.messages((s) => s.json?.channel === "pong").length, 2)
      assert.deepStrictEqual((yield* sim.connections).map((c) => c.subscriptions), [[], ["trades:BTC"]])
      assert.strictEqual(a.ws.readyState, a.ws.OPEN)
    }))

  it.live("connectionsPerIp: a handshake beyond the open connections of one address gets HTTP 429", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { hyperliquid: { connectionsPerIp: 2 } } })
      const first = yield* connect(sim.endpoints.hyperliquid)
      yield* connect(sim.endpoints.hyperliquid)
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.hyperliquid)).status, 429)
      // other venues are not limited by it
      yield* connect(sim.endpoints.okx)
      const events = yield* sim.subscribe
      first.ws.close()
      yield* events.pipe(Stream.filter((e) => e._tag === "Closed"), Stream.take(1), Stream.runDrain)
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.hyperliquid)).status, 101)
      assert.strictEqual((yield* sim.stats).venues.hyperliquid.refused, 1)
    }))
})
