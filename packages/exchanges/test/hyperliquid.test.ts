import { assert, describe, it } from "@effect/vitest"
import { Heartbeat } from "@kharbranth/core"
import { Simulator } from "@kharbranth/simulator"
import * as Effect from "effect/Effect"
import * as Hyperliquid from "../src/Hyperliquid.ts"
import * as Venue from "../src/Venue.ts"
import { disconnected, firstDecoded, open, sendAll, settle, staysUp, waitFor } from "./utils/harness.ts"

const profile = Hyperliquid.mainnet

describe("Hyperliquid", () => {
  it.live("each subscription gets its subscriptionResponse and trades arrive", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Hyperliquid.topic("trades", "BTC"), Hyperliquid.topic("l2Book", "ETH")]
      const h = yield* open(profile, topics, { url: sim.endpoints.hyperliquid })
      const requests = profile.subscribe(topics)
      assert.strictEqual(requests.length, 2)
      for (const request of requests) assert.strictEqual(yield* settle(h, profile, request), "confirmed")
      const text = yield* waitFor(h.texts, (t) => (t.startsWith('{"channel":"trades"') ? t : undefined))
      assert.include(text, '"coin":"BTC"')
    }))

  it.live("unsubscribe is confirmed; an invalid subscription is rejected", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Hyperliquid.topic("trades", "BTC")]
      const h = yield* open(profile, topics, { url: sim.endpoints.hyperliquid })
      yield* settle(h, profile, profile.subscribe(topics)[0]!)
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.unsubscribe(topics)), ["confirmed"])
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.subscribe(["nosuch:BTC"])), ["rejected"])
    }))

  it.live('{"method":"ping"} keeps the connection alive past the client-silence limit, pongs filtered out', () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20, venues: { hyperliquid: { idleTimeout: "1 second" } } })
      const h = yield* open(profile, [Hyperliquid.topic("trades", "BTC")], {
        url: sim.endpoints.hyperliquid,
        heartbeatInterval: "300 millis",
        heartbeatTimeout: "1 second"
      })
      const stats = yield* staysUp(h, "2500 millis")
      assert.strictEqual(stats.sessions, 1)
      const pong = yield* waitFor(h.texts, (t) => (t === '{"channel":"pong"}' ? t : undefined), "200 millis").pipe(
        Effect.option
      )
      assert.strictEqual(pong._tag, "None")
    }))

  it.live("data flowing in is not enough: a silent client is closed", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20, venues: { hyperliquid: { idleTimeout: "1 second" } } })
      const h = yield* open(profile, [Hyperliquid.topic("trades", "BTC")], {
        url: sim.endpoints.hyperliquid,
        heartbeat: Heartbeat.none
      })
      const error = yield* disconnected(h)
      assert.strictEqual(error._tag, "Closed")
      if (error._tag === "Closed") assert.strictEqual(error.code, 1000)
    }))

  it.live("topicOf names trades and l2Book messages by type:coin; answers and errors give undefined", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Hyperliquid.topic("trades", "BTC"), Hyperliquid.topic("l2Book", "ETH")]
      const h = yield* open(profile, topics, { url: sim.endpoints.hyperliquid })
      const seen = new Set<string>()
      let answers = 0
      yield* waitFor(h.texts, (t) => {
        const topic = profile.topicOf(t)
        if (profile.confirmation(t) !== undefined) {
          assert.isUndefined(topic, t)
          answers += 1
        } else seen.add(topic!)
        return seen.size === topics.length ? true : undefined
      })
      assert.deepStrictEqual([...seen].sort(), [...topics].sort())
      assert.strictEqual(answers, 2)
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.subscribe(["nosuch:BTC"])), ["rejected"])
      for (
        const text of [
          '{"channel":"pong"}',
          '{"channel":"error","data":"Invalid subscription"}',
          "",
          "{",
          "[1]",
          '{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}}',
          '{"channel":"trades","data":[]}',
          '{"channel":"allMids","data":{"mids":{"BTC":"1"}}}'
        ]
      ) {
        assert.isUndefined(profile.topicOf(text), text)
      }
      assert.strictEqual(profile.topicOf('{"channel":"bbo","data":{"coin":"SOL","time":1,"bbo":[]}}'), "bbo:SOL")
    }))

  it.live("trades and l2Book messages decode with the schemas", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const h = yield* open(profile, [Hyperliquid.topic("trades", "BTC"), Hyperliquid.topic("l2Book", "ETH")], {
        url: sim.endpoints.hyperliquid
      })
      const trades = yield* firstDecoded(h, (t) => t.startsWith('{"channel":"trades"'), Hyperliquid.decodeTrades)
      assert.strictEqual(trades.data[0]!.coin, "BTC")
      assert.isTrue(Number(trades.data[0]!.px) > 0)
      assert.include(["B", "A"], trades.data[0]!.side)
      const book = yield* firstDecoded(h, (t) => t.startsWith('{"channel":"l2Book"'), Hyperliquid.decodeBook)
      assert.strictEqual(book.data.coin, "ETH")
      const [bids, asks] = book.data.levels
      assert.strictEqual(bids.length, 20)
      assert.isTrue(Number(bids[0]!.px) > Number(bids[1]!.px) && Number(asks[0]!.px) < Number(asks[1]!.px))
      assert.isTrue(Number(bids[0]!.px) < Number(asks[0]!.px))
      const any = yield* firstDecoded(h, (t) => t.startsWith('{"channel":"trades"'), Hyperliquid.decodeMessage)
      assert.strictEqual(any.channel, "trades")
    }))
})

describe("Hyperliquid profile", () => {
  const error = (data: string) => Hyperliquid.confirmation(JSON.stringify({ channel: "error", data }))!

  it("an invalid subscription names its topic and is permanent; one naming nothing is transient", () => {
    const c = error('Invalid subscription {"type":"l2Book","coin":"NOPE"}')
    assert.strictEqual(c.kind, "rejected")
    assert.deepStrictEqual(c.topics, ["l2Book:NOPE"])
    assert.isTrue(c.permanent)
    assert.isUndefined(c.id)
    assert.strictEqual(Venue.outcome(profile.subscribe(["l2Book:NOPE"])[0]!, c), "rejected")
    assert.isUndefined(
      Venue.outcome(profile.subscribe(["l2Book:BTC"])[0]!, c),
      "another subscription's request is not answered"
    )
    const candle = error('Invalid subscription {"type":"candle","coin":"NOPE","interval":"1m"}')
    assert.deepStrictEqual(candle.topics, ["candle:NOPE"])
    const bare = error("Invalid subscription")
    assert.strictEqual(bare.kind, "rejected")
    assert.deepStrictEqual(bare.topics, [])
    assert.notStrictEqual(bare.permanent, true)
  })

  it("already subscribed reads as subscribed for its topic; already unsubscribed as unsubscribed", () => {
    const again = error('Already subscribed: {"type":"trades","coin":"BTC"}')
    assert.strictEqual(again.kind, "subscribed")
    assert.deepStrictEqual(again.topics, ["trades:BTC"])
    assert.strictEqual(Venue.outcome(profile.subscribe(["trades:BTC"])[0]!, again), "confirmed")
    const gone = error('Already unsubscribed: {"type":"trades","coin":"BTC"}')
    assert.strictEqual(gone.kind, "unsubscribed")
    assert.strictEqual(Venue.outcome(profile.unsubscribe(["trades:BTC"])[0]!, gone), "confirmed")
    // The whole request echoed names its subscription too.
    const echoed = error('Already subscribed: {"method":"subscribe","subscription":{"type":"l2Book","coin":"ETH"}}')
    assert.strictEqual(echoed.kind, "subscribed")
    assert.deepStrictEqual(echoed.topics, ["l2Book:ETH"])
  })

  it("the per-IP caps are transient rejections naming nothing", () => {
    for (
      const data of ["Cannot subscribe to more than 1000 channels.", "Cannot send more than 2000 messages per minute."]
    ) {
      const c = error(data)
      assert.strictEqual(c.kind, "rejected", data)
      assert.deepStrictEqual(c.topics, [], data)
      assert.notStrictEqual(c.permanent, true, data)
      assert.strictEqual(c.reason, data)
    }
  })

  it("limits count per IP: 1000 subscriptions, 100 connections, 2000 messages a minute; no per-connection cap", () => {
    assert.strictEqual(profile.limits.subscriptionsPerIp, 1000)
    assert.strictEqual(profile.limits.connectionsPerIp, 100)
    assert.deepStrictEqual(profile.limits.messagesPerIp, { count: 2000, window: "1 minute" })
    assert.isUndefined(profile.limits.streamsPerConnection)
    assert.isUndefined(profile.limits.messagesPerSecond)
  })
})
