import { ConnectionConfig } from "@kharbranth/core"
import { Simulator } from "@kharbranth/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Coinbase from "../src/Coinbase.ts"
import type * as Venue from "../src/Venue.ts"
import { disconnected, firstDecoded, open, sendAll, settle, staysUp, waitFor } from "./utils/harness.ts"

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

  it.live("topicOf names matches, heartbeat and level2_batch messages by their subscription; answers give undefined", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20, venues: { coinbase: { heartbeatInterval: "100 millis" } } })
      const topics = [
        Coinbase.topic("matches", "BTC-USD"),
        Coinbase.topic("heartbeat", "BTC-USD"),
        Coinbase.topic("level2_batch", "ETH-USD")
      ]
      const h = yield* open(profile, topics, { url: sim.endpoints.coinbase })
      const byType = new Map<string, string>()
      yield* waitFor(h.texts, (t) => {
        const type = (JSON.parse(t) as { readonly type: string }).type
        const topic = profile.topicOf(t)
        if (type === "subscriptions") assert.isUndefined(topic)
        else byType.set(type, topic!)
        return byType.size === 4 ? true : undefined
      })
      // No last_match: the product has no trade yet when the subscription starts.
      assert.deepStrictEqual(Object.fromEntries(byType), {
        match: "matches:BTC-USD",
        heartbeat: "heartbeat:BTC-USD",
        snapshot: "level2_batch:ETH-USD",
        l2update: "level2_batch:ETH-USD"
      })
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.subscribe(["nosuch:BTC-USD"])), ["rejected"])
      for (const text of ['{"type":"error","message":"Failed to subscribe","reason":"nosuch is not a valid channel"}', "", "{",
        '{"type":"match","product_id":"BTC-USD"', '{"type":"received","product_id":"BTC-USD","sequence":1}', "[1]"]) {
        assert.isUndefined(profile.topicOf(text), text)
        assert.isUndefined(Coinbase.sequence(text), text)
      }
    }))

  it.live("sequence readings chain trade ids from last_match on, heartbeats carry none, and the gap fault breaks the chain", () =>
    Effect.gen(function*() {
      // Trades must exist before subscribing for a last_match to be sent.
      const sim = yield* Simulator.make({ rate: 50, venues: { coinbase: { heartbeatInterval: "50 millis" } } })
      const warm = yield* open(profile, [Coinbase.topic("matches", "BTC-USD")], { url: sim.endpoints.coinbase })
      const firstMatch = yield* waitFor(warm.texts, (t) => (t.startsWith('{"type":"match"') ? t : undefined))
      assert.strictEqual(profile.topicOf(firstMatch), "matches:BTC-USD")
      const topics = [Coinbase.topic("matches", "BTC-USD"), Coinbase.topic("heartbeat", "BTC-USD")]
      const h = yield* open(profile, topics, { url: sim.endpoints.coinbase })
      const readings: Array<Venue.Sequence> = []
      let heartbeats = 0
      let lastMatch = false
      const take = (n: number) =>
        waitFor(h.texts, (t) => {
          const reading = Coinbase.sequence(t)
          if (t.startsWith('{"type":"heartbeat"')) {
            assert.isUndefined(reading)
            heartbeats += 1
          }
          if (reading !== undefined) {
            assert.strictEqual(reading.stream, "matches:BTC-USD")
            assert.strictEqual(reading.first, reading.last)
            assert.strictEqual(reading.first, (JSON.parse(t) as { readonly trade_id: number }).trade_id)
            if (readings.length === 0) lastMatch = t.startsWith('{"type":"last_match"')
            readings.push(reading)
          }
          return readings.length >= n ? true : undefined
        })
      yield* take(5)
      assert.isTrue(lastMatch, "the first reading is the last_match")
      assert.strictEqual(profile.topicOf('{"type":"last_match","trade_id":1,"product_id":"BTC-USD"}'), "matches:BTC-USD")
      for (let i = 1; i < 5; i++) assert.strictEqual(readings[i]!.first, readings[i - 1]!.last + 1)
      const conn = (yield* sim.connections).find((c) => c.subscriptions.includes("heartbeat:BTC-USD"))!
      yield* sim.fault({ kind: "gap", target: { connection: conn.id } })
      yield* take(12)
      const jumps = readings.slice(5).map((r, i) => r.first - readings[4 + i]!.last - 1).filter((d) => d !== 0)
      assert.deepStrictEqual(jumps, [1])
      assert.isTrue(heartbeats > 0)
    }))
})
