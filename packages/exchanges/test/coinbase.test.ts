import { assert, describe, it } from "@effect/vitest"
import { ConnectionConfig } from "@kharbranth/core"
import { Simulator } from "@kharbranth/simulator"
import * as Effect from "effect/Effect"
import * as Coinbase from "../src/Coinbase.ts"
import * as Venue from "../src/Venue.ts"
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

  it.live("subscribe adds the heartbeat channel itself: a quiet product with only matches stays up", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, venues: { coinbase: { heartbeatInterval: "200 millis" } } })
      const h = yield* open(profile, [Coinbase.topic("matches", "BTC-USD")], {
        url: sim.endpoints.coinbase,
        idleTimeout: "1 second"
      })
      const stats = yield* staysUp(h, "2500 millis")
      assert.strictEqual(stats.sessions, 1)
    }))

  it.live("without any heartbeat subscription a quiet feed ends with IdleTimeout", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, venues: { coinbase: { heartbeatInterval: "200 millis" } } })
      const bare: Venue.Profile = {
        ...profile,
        subscribe: (topics) => [{
          op: "subscribe",
          topics,
          id: undefined,
          text: JSON.stringify({ type: "subscribe", channels: [{ name: "matches", product_ids: ["BTC-USD"] }] })
        }]
      }
      const h = yield* open(bare, [Coinbase.topic("matches", "BTC-USD")], {
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
      assert.isTrue(
        yield* ConnectionConfig.resolve("x", { url: profile.url, heartbeat: profile.heartbeat }).pipe(Effect.as(true))
      )
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
      for (
        const text of [
          '{"type":"error","message":"Failed to subscribe","reason":"nosuch is not a valid channel"}',
          "",
          "{",
          '{"type":"match","product_id":"BTC-USD"',
          '{"type":"received","product_id":"BTC-USD","sequence":1}',
          "[1]"
        ]
      ) {
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
      assert.strictEqual(
        profile.topicOf('{"type":"last_match","trade_id":1,"product_id":"BTC-USD"}'),
        "matches:BTC-USD"
      )
      for (let i = 1; i < 5; i++) assert.strictEqual(readings[i]!.first, readings[i - 1]!.last + 1)
      // Both connections hold heartbeat:BTC-USD (subscribe adds it): the second, h's, is the newer one.
      const conn = (yield* sim.connections).filter((c) => c.subscriptions.includes("heartbeat:BTC-USD")).sort((a, b) =>
        b.id - a.id
      )[0]!
      yield* sim.fault({ kind: "gap", target: { connection: conn.id } })
      yield* take(12)
      const jumps = readings.slice(5).map((r, i) => r.first - readings[4 + i]!.last - 1).filter((d) => d !== 0)
      assert.deepStrictEqual(jumps, [1])
      assert.isTrue(heartbeats > 0)
    }))
})

describe("Coinbase profile", () => {
  type Channels = ReadonlyArray<{ readonly name: string; readonly product_ids: ReadonlyArray<string> }>
  const channels = (request: Venue.Request): Channels =>
    (JSON.parse(request.text) as { readonly channels: Channels }).channels

  it("subscribe also subscribes the heartbeat of every product; the request still lists only the topics asked for", () => {
    const topics = [
      Coinbase.topic("matches", "BTC-USD"),
      Coinbase.topic("level2_batch", "ETH-USD"),
      Coinbase.topic("ticker", "BTC-USD")
    ]
    const [request] = profile.subscribe(topics)
    assert.deepStrictEqual(request!.topics, topics)
    assert.deepStrictEqual(channels(request!), [
      { name: "matches", product_ids: ["BTC-USD"] },
      { name: "level2_batch", product_ids: ["ETH-USD"] },
      { name: "ticker", product_ids: ["BTC-USD"] },
      { name: "heartbeat", product_ids: ["BTC-USD", "ETH-USD"] }
    ])
    const active = Coinbase.confirmation(JSON.stringify({ type: "subscriptions", channels: channels(request!) }))!
    assert.strictEqual(active.kind, "active")
    assert.includeMembers([...active.topics], ["heartbeat:BTC-USD", "heartbeat:ETH-USD"])
    assert.strictEqual(Venue.outcome(request!, active), "confirmed")
  })

  it("a heartbeat topic asked for is not repeated, and is extended to the request's other products", () => {
    const [request] = profile.subscribe([Coinbase.topic("heartbeat", "BTC-USD"), Coinbase.topic("matches", "ETH-USD")])
    assert.deepStrictEqual(channels(request!), [
      { name: "heartbeat", product_ids: ["BTC-USD", "ETH-USD"] },
      { name: "matches", product_ids: ["ETH-USD"] }
    ])
    const [only] = profile.subscribe([Coinbase.topic("heartbeat", "BTC-USD")])
    assert.deepStrictEqual(channels(only!), [{ name: "heartbeat", product_ids: ["BTC-USD"] }])
  })

  it("unsubscribe leaves the heartbeats alone unless heartbeat:<product> itself is unsubscribed", () => {
    const [request] = profile.unsubscribe([Coinbase.topic("matches", "BTC-USD")])
    assert.deepStrictEqual(channels(request!), [{ name: "matches", product_ids: ["BTC-USD"] }])
    const [heartbeat] = profile.unsubscribe([Coinbase.topic("heartbeat", "BTC-USD")])
    assert.deepStrictEqual(channels(heartbeat!), [{ name: "heartbeat", product_ids: ["BTC-USD"] }])
    // The heartbeat the profile added stays active: the unsubscribe is confirmed once matches has left.
    const active = Coinbase.confirmation(
      JSON.stringify({ type: "subscriptions", channels: [{ name: "heartbeat", product_ids: ["BTC-USD"] }] })
    )!
    assert.strictEqual(Venue.outcome(request!, active), "confirmed")
  })

  it("an unknown product names the product in instruments and is permanent; other errors are transient", () => {
    const c = Coinbase.confirmation(
      '{"type":"error","message":"Failed to subscribe","reason":"XYZ-USD is not a valid product"}'
    )!
    assert.strictEqual(c.kind, "rejected")
    assert.deepStrictEqual(c.topics, [])
    assert.deepStrictEqual(c.instruments, ["XYZ-USD"])
    assert.isTrue(c.permanent)
    assert.isUndefined(c.id)
    assert.strictEqual(c.reason, "Failed to subscribe: XYZ-USD is not a valid product")
    assert.isTrue(Venue.names(c, "matches:XYZ-USD"))
    assert.isFalse(Venue.names(c, "matches:BTC-USD"))
    const channel = Coinbase.confirmation(
      '{"type":"error","message":"Failed to subscribe","reason":"nosuch is not a valid channel"}'
    )!
    assert.strictEqual(channel.kind, "rejected")
    assert.isUndefined(channel.instruments)
    assert.notStrictEqual(channel.permanent, true)
  })

  it("limits: 8 requests per second per IP, 100 client messages per second per IP, 10 subscribers per product and channel", () => {
    assert.deepStrictEqual(profile.limits.requestsPerIp, { count: 8, window: "1 second" })
    assert.deepStrictEqual(profile.limits.connections, { count: 8, window: "1 second" })
    assert.deepStrictEqual(profile.limits.messagesPerIp, { count: 100, window: "1 second" })
    assert.strictEqual(profile.limits.subscribersPerTopic, 10)
    assert.isUndefined(profile.limits.messagesPerSecond, "no per-connection pacing: the budget is per IP")
    assert.strictEqual(profile.idleTimeout, "5 seconds")
  })
})
