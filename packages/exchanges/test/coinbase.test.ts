import { ConnectionConfig } from "@kharbranth/core"
import { Simulator } from "@kharbranth/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Coinbase from "../src/Coinbase.ts"
import { disconnected, firstDecoded, open, sendAll, settle, staysUp } from "./utils/harness.ts"

const profile = Coinbase.exchange

describe("Coinbase", () => {
  it.live("subscribe is confirmed by the subscriptions list and matches decode", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Coinbase.topic("matches", "BTC-USD"), Coinbase.topic("heartbeat", "BTC-USD")]
      const h = yield* open(profile, topics, { url: sim.endpoints.coinbase })
      assert.strictEqual(yield* settle(h, profile, profile.subscribe(topics)[0]!), "confirmed")
      const match = yield* firstDecoded(h, (t) => t.startsWith('{"type":"match"'), Coinbase.decodeMatch)
      assert.strictEqual(match.product_id, "BTC-USD")
      assert.isTrue(Number(match.price) > 0)
      const beat = yield* firstDecoded(h, (t) => t.startsWith('{"type":"heartbeat"'), Coinbase.decodeMessage)
      assert.strictEqual(beat.type, "heartbeat")
    }))

  it.live("level2 snapshot and l2update decode", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const h = yield* open(profile, [Coinbase.topic("level2_batch", "ETH-USD")], { url: sim.endpoints.coinbase })
      const snapshot = yield* firstDecoded(h, (t) => t.startsWith('{"type":"snapshot"'), Coinbase.decodeMessage)
      assert.strictEqual(snapshot.type, "snapshot")
      if (snapshot.type === "snapshot") assert.isTrue(snapshot.bids.length > 0 && snapshot.asks.length > 0)
      const update = yield* firstDecoded(h, (t) => t.startsWith('{"type":"l2update"'), Coinbase.decodeMessage)
      assert.strictEqual(update.type, "l2update")
      if (update.type === "l2update") assert.isTrue(update.changes.length > 0)
    }))

  it.live("unsubscribe is confirmed when the topic leaves the subscriptions list; a bad channel is rejected", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Coinbase.topic("matches", "BTC-USD"), Coinbase.topic("heartbeat", "BTC-USD")]
      const h = yield* open(profile, topics, { url: sim.endpoints.coinbase })
      yield* settle(h, profile, profile.subscribe(topics)[0]!)
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.unsubscribe([topics[0]!])), ["confirmed"])
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.subscribe(["full:BTC-USD"])), ["rejected"])
    }))

  it.live("the heartbeat channel keeps idleTimeout satisfied on a quiet product", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, venues: { coinbase: { heartbeatInterval: "200 millis" } } })
      const h = yield* open(profile, [Coinbase.topic("matches", "BTC-USD"), Coinbase.topic("heartbeat", "BTC-USD")], {
        url: sim.endpoints.coinbase,
        idleTimeout: "1 second"
      })
      const stats = yield* staysUp(h, "2500 millis")
      assert.strictEqual(stats.sessions, 1)
    }))

  it.live("without the heartbeat channel a quiet feed ends with IdleTimeout", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, venues: { coinbase: { heartbeatInterval: "200 millis" } } })
      const h = yield* open(profile, [Coinbase.topic("matches", "BTC-USD")], {
        url: sim.endpoints.coinbase,
        idleTimeout: "1 second"
      })
      const error = yield* disconnected(h)
      assert.strictEqual(error._tag, "IdleTimeout")
    }))

  it.live("a connection that never subscribes is closed with 1008", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20, venues: { coinbase: { subscribeDeadline: "500 millis" } } })
      const h = yield* open(profile, [], { url: sim.endpoints.coinbase })
      const error = yield* disconnected(h)
      assert.strictEqual(error._tag, "Closed")
      if (error._tag === "Closed") assert.strictEqual(error.code, 1008)
      assert.isTrue(yield* ConnectionConfig.resolve("x", { url: profile.url, heartbeat: profile.heartbeat }).pipe(Effect.as(true)))
    }))
})
