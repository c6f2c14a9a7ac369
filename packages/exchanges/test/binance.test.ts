import { assert, describe, it } from "@effect/vitest"
import { Simulator } from "@kharbranth/simulator"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Binance from "../src/Binance.ts"
import * as Venue from "../src/Venue.ts"
import {
  breaks,
  count,
  disconnected,
  firstDecoded,
  type Harness,
  open,
  readings,
  sendAll,
  settle,
  staysUp,
  waitFor
} from "./utils/harness.ts"

const simulator = () =>
  Simulator.make({ rate: 20, venues: { binance: { pingInterval: "300 millis", pongTimeout: "1 second" } } })

const collect = (h: Harness, done: (readings: ReadonlyArray<Venue.Sequence>) => boolean) =>
  readings(h, Binance.spot, Binance.sequence, done)

describe("Binance", () => {
  it.live("subscribe is acknowledged by id and trades decode with the schema", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const topics = [Binance.trade("BTCUSDT")]
      const h = yield* open(Binance.spot, topics, { url: sim.endpoints.binance })
      const [request] = Binance.spot.subscribe(topics)
      assert.strictEqual(yield* settle(h, Binance.spot, request!), "confirmed")
      const trade = yield* firstDecoded(h, (t) => t.includes('"e":"trade"'), Binance.decodeTrade)
      assert.strictEqual(trade.s, "BTCUSDT")
      assert.isTrue(Number(trade.p) > 0)
      assert.isNumber(trade.t)
    }))

  it.live("depth updates decode with U..u ranges", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const h = yield* open(Binance.spot, [Binance.depth("ethusdt")], { url: sim.endpoints.binance })
      const event = yield* firstDecoded(h, (t) => t.includes("depthUpdate"), Binance.decodeEvent)
      assert.strictEqual(event.e, "depthUpdate")
      if (event.e === "depthUpdate") {
        assert.isTrue(event.u >= event.U)
        assert.isTrue(event.b.length + event.a.length > 0)
      }
    }))

  it.live("unsubscribe is acknowledged and the server drops the stream", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const events = yield* sim.subscribe
      const topics = [Binance.trade("btcusdt")]
      const h = yield* open(Binance.spot, topics, { url: sim.endpoints.binance })
      yield* settle(h, Binance.spot, Binance.spot.subscribe(topics)[0]!)
      const outcomes = yield* sendAll(h, Binance.spot, Binance.spot.unsubscribe(topics, 2))
      assert.deepStrictEqual(outcomes, ["confirmed"])
      const gone = yield* events.pipe(
        Stream.filter((e) => e._tag === "Unsubscribed"),
        Stream.runHead,
        Effect.timeout("5 seconds")
      )
      assert.isTrue(
        Option.isSome(gone) && gone.value._tag === "Unsubscribed" && gone.value.topics.includes("btcusdt@trade")
      )
    }))

  it.live("an invalid stream name is rejected, matched by request id", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const topics = ["BTCUSDT@trade"]
      const h = yield* open(Binance.spot, topics, { url: sim.endpoints.binance })
      assert.strictEqual(yield* settle(h, Binance.spot, Binance.spot.subscribe(topics)[0]!), "rejected")
    }))

  it.live("combined streams decode through the envelope", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const h = yield* open(Binance.spot, [], { url: `${sim.endpoints.binanceCombined}?streams=solusdt@trade` })
      const msg = yield* firstDecoded(h, (t) => t.startsWith('{"stream"'), Binance.decodeCombined)
      assert.strictEqual(msg.stream, "solusdt@trade")
      assert.strictEqual(msg.data.e, "trade")
    }))

  it.live("the profile's protocol heartbeat keeps a connection alive past the pong deadline", () =>
    Effect.gen(function*() {
      // Pongs count in the 5 messages per second (limits.countsPongs): server pings every 500 ms (2 pongs/s)
      // and client pings every 400 ms (2.5/s) stay under it.
      const sim = yield* Simulator.make({
        rate: 20,
        venues: { binance: { pingInterval: "500 millis", pongTimeout: "1 second" } }
      })
      const h = yield* open(Binance.spot, [Binance.trade("btcusdt")], {
        url: sim.endpoints.binance,
        heartbeatInterval: "400 millis",
        heartbeatTimeout: "1 second"
      })
      const stats = yield* staysUp(h, "2500 millis")
      assert.strictEqual(stats.sessions, 1)
      assert.isDefined(stats.lastRtt)
    }))

  it.live("pings faster than limits.messagesPerSecond get the connection cut with 1008", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      assert.strictEqual(Binance.spot.limits.messagesPerSecond, 5)
      const h = yield* open(Binance.spot, [], {
        url: sim.endpoints.binance,
        heartbeatInterval: "50 millis",
        heartbeatTimeout: "1 second"
      })
      const error = yield* disconnected(h)
      assert.strictEqual(error._tag, "Closed")
      if (error._tag === "Closed") assert.strictEqual(error.code, 1008)
    }))

  it.live("serverShutdown is recognised as a notice", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const h = yield* open(Binance.spot, [Binance.trade("btcusdt")], { url: sim.endpoints.binance })
      yield* settle(h, Binance.spot, Binance.spot.subscribe([Binance.trade("btcusdt")])[0]!)
      yield* sim.fault({ kind: "notice", target: { venue: "binance" } })
      const notice = yield* waitFor(h.texts, (t) => (Binance.spot.isNotice(t) ? t : undefined))
      assert.include(notice, "serverShutdown")
      assert.isFalse(Binance.spot.isNotice('{"e":"trade","s":"serverShutdown"}'))
    }))

  it.live("topicOf names every data message by its stream, raw or combined, and nothing else", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const topics = [Binance.trade("BTCUSDT"), Binance.depth("ethusdt")]
      const h = yield* open(Binance.spot, topics, { url: sim.endpoints.binance })
      const ack = yield* waitFor(h.texts, (t) => (Binance.confirmation(t) !== undefined ? t : undefined))
      assert.isUndefined(Binance.spot.topicOf(ack))
      const seen = new Set<string>()
      yield* waitFor(h.texts, (t) => {
        const topic = Binance.spot.topicOf(t)
        assert.include(topics, topic)
        seen.add(topic!)
        return seen.size === topics.length ? true : undefined
      })
      // The combined envelope names a 1000ms depth stream exactly.
      const c = yield* open(Binance.spot, [], { url: `${sim.endpoints.binanceCombined}?streams=solusdt@depth` })
      assert.strictEqual(yield* waitFor(c.texts, Binance.spot.topicOf), "solusdt@depth")
      yield* sim.fault({ kind: "notice", target: { venue: "binance" } })
      const notice = yield* waitFor(h.texts, (t) => (Binance.spot.isNotice(t) ? t : undefined))
      assert.isUndefined(Binance.spot.topicOf(notice))
    }))

  it.live("sequence readings chain trade ids and U..u ranges, and the gap fault breaks each stream once", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 50, venues: { binance: { pingInterval: "10 seconds" } } })
      const topics = [Binance.trade("btcusdt"), Binance.depth("btcusdt")]
      const h = yield* open(Binance.spot, topics, { url: sim.endpoints.binance })
      const before = yield* collect(h, (rs) => topics.every((t) => count(rs, t) >= 4))
      assert.deepStrictEqual(breaks(before), [])
      assert.isTrue(
        before.some((r) => r.stream === topics[1] && r.last > r.first),
        "some depth event covers several ids"
      )
      yield* sim.fault({ kind: "gap", target: { venue: "binance" } })
      const after = yield* collect(h, (rs) => {
        const found = breaks([...before, ...rs])
        return topics.every((t) => found.some(([, r]) => r.stream === t) && count(rs, t) >= found.length + 2)
      })
      const found = breaks([...before, ...after])
      assert.deepStrictEqual(found.map(([, r]) => r.stream).sort(), [...topics].sort())
      for (const [prev, next] of found) assert.isTrue(next.first > prev.last + 1)
      const trade = found.find(([, r]) => r.stream === topics[0])!
      assert.strictEqual(trade[1].first, trade[0].last + 2, "one trade id skipped")
    }))

  it("sequence reads futures depth's pu as prev, envelopes by their stream, and rejects the rest", () => {
    const futures =
      '{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["7403.89","0.002"]],"a":[]}'
    assert.deepStrictEqual(Binance.sequence(futures), {
      stream: "btcusdt@depth@100ms",
      first: 157,
      last: 160,
      prev: 149,
      needsResync: true
    })
    const wrapped = `{"stream":"btcusdt@depth@500ms","data":${futures}}`
    assert.deepStrictEqual(Binance.sequence(wrapped), {
      stream: "btcusdt@depth@500ms",
      first: 157,
      last: 160,
      prev: 149,
      needsResync: true
    })
    assert.strictEqual(Binance.usdm.topicOf(wrapped), "btcusdt@depth@500ms")
    const trade = '{"e":"trade","E":1,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1,"m":true,"M":true}'
    assert.deepStrictEqual(Binance.sequence(trade), { stream: "bnbbtc@trade", first: 12345, last: 12345 })
    for (
      const text of [
        "",
        "pong",
        "{",
        '{"e":"trade"',
        '{"stream":"x@trade"',
        '{"result":null,"id":1}',
        '{"e":"serverShutdown","E":1}',
        '{"e":"aggTrade","s":"BTCUSDT","a":1}',
        "[1,2]",
        "null",
        '{"stream":"x@trade","data":[]}'
      ]
    ) {
      assert.isUndefined(Binance.spot.topicOf(text), text)
      assert.isUndefined(Binance.sequence(text), text)
    }
  })

  it("frames one SUBSCRIBE per 200 streams with consecutive ids", () => {
    const topics = Array.from({ length: 450 }, (_, i) => `s${i}usdt@trade`)
    const requests = Binance.usdm.subscribe(topics, 10)
    assert.deepStrictEqual(requests.map((r) => [r.id, r.topics.length]), [[10, 200], [11, 200], [12, 50]])
    assert.deepStrictEqual(JSON.parse(requests[2]!.text), { method: "SUBSCRIBE", params: topics.slice(400), id: 12 })
    assert.strictEqual(Venue.outcome(requests[1]!, Binance.confirmation('{"result":null,"id":11}')!), "confirmed")
    assert.isUndefined(Venue.outcome(requests[1]!, Binance.confirmation('{"result":null,"id":12}')!))
  })
  it("sequence reads the written shapes by scanning, and anything else by parsing, with the same results", () => {
    const trade = '{"e":"trade","E":1,"s":"BTCUSDT","t":12345,"p":"1.0","q":"2.0","T":1,"m":true,"M":true}'
    assert.deepStrictEqual(Binance.sequence(trade), { stream: "btcusdt@trade", first: 12345, last: 12345 })
    const depth = '{"e":"depthUpdate","E":1,"s":"ETHUSDT","U":100,"u":105,"b":[["1.0","2.0"]],"a":[]}'
    assert.deepStrictEqual(Binance.sequence(depth), {
      stream: "ethusdt@depth@100ms",
      first: 100,
      last: 105,
      needsResync: true
    })
    const futures = '{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":200,"u":210,"pu":199,"b":[],"a":[]}'
    assert.deepStrictEqual(Binance.sequence(futures), {
      stream: "btcusdt@depth@100ms",
      first: 200,
      last: 210,
      prev: 199,
      needsResync: true
    })
    const combined = `{"stream":"btcusdt@depth@1000ms","data":${depth}}`
    assert.deepStrictEqual(Binance.sequence(combined), {
      stream: "btcusdt@depth@1000ms",
      first: 100,
      last: 105,
      needsResync: true
    })
    // Another key order, spaces, and a number written as a string take the parsing path.
    assert.deepStrictEqual(Binance.sequence('{"s":"BTCUSDT","e":"trade","t":7}'), {
      stream: "btcusdt@trade",
      first: 7,
      last: 7
    })
    assert.deepStrictEqual(Binance.sequence('{"e":"trade", "s":"BTCUSDT", "t": 8}'), {
      stream: "btcusdt@trade",
      first: 8,
      last: 8
    })
    assert.deepStrictEqual(Binance.sequence('{"e":"trade","s":"BTCUSDT","t":"9"}'), {
      stream: "btcusdt@trade",
      first: 9,
      last: 9
    })
    assert.isUndefined(Binance.sequence('{"e":"trade","s":"BTCUSDT"}'))
    assert.isUndefined(Binance.sequence('{"result":null,"id":1}'))
    assert.isUndefined(Binance.sequence('{"e":"serverShutdown","E":1}'))
    assert.isUndefined(Binance.sequence("not json"))
  })
})

describe("Binance profile", () => {
  const shutdownRaw = '{"e":"serverShutdown","E":1771839482000}'
  const shutdownCombined = '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1771839482000}}'

  it("serverShutdown is a notice raw and in the combined envelope, and never data, an answer or a reading", () => {
    for (
      const text of [shutdownRaw, shutdownCombined, '{"data":{"e":"serverShutdown","E":1},"stream":"!serverShutdown"}']
    ) {
      assert.isTrue(Binance.isNotice(text), text)
      for (const p of [Binance.spot, Binance.usdm]) {
        assert.isTrue(p.isNotice(text), text)
        assert.isUndefined(p.topicOf(text), text)
        assert.isUndefined(p.confirmation(text), text)
      }
      assert.isUndefined(Binance.sequence(text), text)
    }
    assert.isFalse(Binance.isNotice('{"stream":"btcusdt@trade","data":{"e":"trade","s":"serverShutdown","t":1}}'))
    assert.isFalse(Binance.isNotice('{"e":"trade","s":"serverShutdown"}'))
  })

  it("spot counts the client's pings and the pongs that answer the server's pings in its 5 messages per second", () => {
    assert.strictEqual(Binance.spot.limits.messagesPerSecond, 5)
    assert.isTrue(Binance.spot.limits.countsHeartbeat)
    assert.isTrue(Binance.spot.limits.countsPongs)
    assert.isUndefined(Binance.usdm.limits.countsPongs, "futures documents no such rule")
  })

  it("diff-depth readings need a resync; trades and partial-depth snapshots do not", () => {
    const spotDepth =
      '{"e":"depthUpdate","E":1,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}'
    assert.isTrue(Binance.sequence(spotDepth)!.needsResync)
    const futuresDepth =
      '{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":390497796,"u":390497878,"pu":390497794,"b":[],"a":[]}'
    assert.isTrue(Binance.sequence(futuresDepth)!.needsResync)
    assert.isTrue(Binance.sequence(`{"stream":"btcusdt@depth","data":${futuresDepth}}`)!.needsResync)
    const trade = '{"e":"trade","E":1,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1,"m":true,"M":true}'
    assert.isUndefined(Binance.sequence(trade)!.needsResync)
    // A futures partial-depth event on a combined connection is a whole top-of-book.
    const partial = `{"stream":"btcusdt@depth5@100ms","data":${futuresDepth}}`
    assert.deepStrictEqual(Binance.sequence(partial), {
      stream: "btcusdt@depth5@100ms",
      first: 390497878,
      last: 390497878,
      snapshot: true
    })
    const reordered =
      '{"stream":"btcusdt@depth20","data":{"u":9,"U":5,"e":"depthUpdate","s":"BTCUSDT","pu":4,"b":[],"a":[]}}'
    assert.deepStrictEqual(Binance.sequence(reordered), {
      stream: "btcusdt@depth20",
      first: 9,
      last: 9,
      snapshot: true
    })
  })

  it("an invalid stream is a permanent rejection; the documented framing errors and too many subscriptions are transient", () => {
    const invalid = Binance.confirmation('{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":3}')!
    assert.strictEqual(invalid.kind, "rejected")
    assert.strictEqual(invalid.id, 3)
    assert.deepStrictEqual(invalid.topics, [])
    assert.isTrue(invalid.permanent)
    assert.strictEqual(Venue.outcome(Binance.spot.subscribe(["btcusdt@nope"], 3)[0]!, invalid), "rejected")
    for (
      const text of [
        '{"error":{"code":2,"msg":"Invalid request: too many parameters"},"id":4}',
        '{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},"id":4}',
        '{"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"},"id":4}',
        '{"error":{"code":4,"msg":"Too many subscriptions"},"id":4}'
      ]
    ) {
      const c = Binance.confirmation(text)!
      assert.strictEqual(c.kind, "rejected", text)
      assert.notStrictEqual(c.permanent, true, text)
    }
  })

  it("USD-M routes each stream to its endpoint: /market for regular market data, /public for the rest", () => {
    const route = Binance.usdm.route!
    const expected: ReadonlyArray<readonly [string, string]> = [
      ["btcusdt@bookTicker", "public"],
      ["!bookTicker", "public"],
      ["btcusdt@depth", "public"],
      ["btcusdt@depth@100ms", "public"],
      ["btcusdt@depth5", "public"],
      ["btcusdt@depth20@500ms", "public"],
      ["btcusdt@trade", "public"],
      ["btcusdt@somethingNew", "public"],
      ["btcusdt@aggTrade", "market"],
      ["btcusdt@markPrice", "market"],
      ["btcusdt@markPrice@1s", "market"],
      ["!markPrice@arr", "market"],
      ["!markPrice@arr@1s", "market"],
      ["btcusdt@kline_1m", "market"],
      ["btcusdt_perpetual@continuousKline_1m", "market"],
      ["btcusdt@miniTicker", "market"],
      ["!miniTicker@arr", "market"],
      ["btcusdt@ticker", "market"],
      ["!ticker@arr", "market"],
      ["btcusdt@forceOrder", "market"],
      ["!forceOrder@arr", "market"],
      ["btcusdt@compositeIndex", "market"],
      ["!contractInfo", "market"],
      ["!assetIndex@arr", "market"],
      ["btcusdt@assetIndex", "market"]
    ]
    for (const [stream, key] of expected) {
      assert.strictEqual(route(stream), key, stream)
      assert.isDefined(Binance.usdm.urls[key], key)
    }
    assert.isUndefined(Binance.spot.route, "spot is not routed")
  })

  it("USD-M lists the routed endpoints and defaults to the public one", () => {
    assert.deepStrictEqual(Binance.usdm.urls, {
      public: "wss://fstream.binance.com/public/stream",
      market: "wss://fstream.binance.com/market/stream",
      publicRaw: "wss://fstream.binance.com/public/ws",
      marketRaw: "wss://fstream.binance.com/market/ws",
      raw: "wss://fstream.binance.com/ws",
      combined: "wss://fstream.binance.com/stream"
    })
    assert.strictEqual(Binance.usdm.url, Binance.usdm.urls["public"])
    assert.strictEqual(Binance.usdm.route!(Binance.trade("BTCUSDT")), "public")
    assert.strictEqual(Binance.usdm.route!(Binance.depth("BTCUSDT")), "public")
    // On the routed stream-mode endpoints every stream is named exactly, market ones included.
    const aggTrade =
      '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100","f":100,"l":105,"T":1,"m":true}}'
    assert.strictEqual(Binance.usdm.topicOf(aggTrade), "btcusdt@aggTrade")
  })
})
