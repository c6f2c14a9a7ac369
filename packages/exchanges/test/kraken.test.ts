import { assert, describe, it } from "@effect/vitest"
import { Heartbeat } from "@kharbranth/core"
import { Simulator } from "@kharbranth/simulator"
import * as Effect from "effect/Effect"
import * as Kraken from "../src/Kraken.ts"
import * as Venue from "../src/Venue.ts"
import { disconnected, firstDecoded, type Harness, open, sendAll, settle, staysUp, waitFor } from "./utils/harness.ts"

const profile = Kraken.spot
const precision: Kraken.Precision = { price: 1, qty: 8 }

const nextBook = (h: Harness) => firstDecoded(h, (t) => t.startsWith('{"channel":"book"'), Kraken.decodeBook)

describe("Kraken", () => {
  it.live("subscribe is confirmed by req_id per symbol and trades decode", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Kraken.topic("trade", "BTC/USD"), Kraken.topic("trade", "ETH/USD")]
      const h = yield* open(profile, topics, { url: sim.endpoints.kraken })
      const [request] = profile.subscribe(topics)
      assert.strictEqual(request!.topics.length, 2)
      assert.strictEqual(yield* settle(h, profile, request!), "confirmed")
      const msg = yield* firstDecoded(h, (t) => t.startsWith('{"channel":"trade","type":"update"'), Kraken.decodeTrades)
      assert.isTrue(msg.data.length > 0)
      assert.include(["BTC/USD", "ETH/USD"], msg.data[0]!.symbol)
      assert.isTrue(msg.data[0]!.price > 0)
    }))

  it.live("unsubscribe is confirmed; a second subscribe of a held topic reads as confirmed (Already subscribed)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Kraken.topic("trade", "BTC/USD")]
      const h = yield* open(profile, topics, { url: sim.endpoints.kraken })
      yield* settle(h, profile, profile.subscribe(topics)[0]!)
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.subscribe(topics, 4)), ["confirmed"])
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.unsubscribe(topics, 5)), ["confirmed"])
    }))

  it.live("the book checksum verifies on the snapshot and every update", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 50 })
      const h = yield* open(profile, [Kraken.topic("book", "BTC/USD")], { url: sim.endpoints.kraken })
      const book = Kraken.makeBook("BTC/USD")
      const snapshot = yield* nextBook(h)
      assert.strictEqual(snapshot.type, "snapshot")
      for (const data of snapshot.data) yield* Kraken.applyVerified(book, snapshot.type, data, precision)
      assert.strictEqual(book.bids.size, 10)
      for (let i = 0; i < 30; i++) {
        const msg = yield* nextBook(h)
        assert.strictEqual(msg.type, "update")
        for (const data of msg.data) yield* Kraken.applyVerified(book, msg.type, data, precision)
      }
    }))

  it.live("a tampered book fails the checksum", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const h = yield* open(profile, [Kraken.topic("book", "BTC/USD")], { url: sim.endpoints.kraken })
      const snapshot = yield* nextBook(h)
      const data = snapshot.data[0]!
      const [best, ...rest] = data.bids
      const tampered = { ...data, bids: [{ price: best!.price, qty: best!.qty + 0.00000001 }, ...rest] }
      const error = yield* Effect.flip(
        Kraken.applyVerified(Kraken.makeBook("BTC/USD"), "snapshot", tampered, precision)
      )
      assert.strictEqual(error._tag, "ChecksumMismatch")
      assert.strictEqual(error.expected, data.checksum)
      // The untouched snapshot passes, then a level changed locally is caught by the next update.
      const book = Kraken.makeBook("BTC/USD")
      yield* Kraken.applyVerified(book, "snapshot", data, precision)
      const [ask] = [...book.asks.keys()].sort((a, b) => a - b)
      book.asks.set(ask!, 123.45678901)
      const next = yield* nextBook(h)
      const failed = yield* Effect.flip(Kraken.applyVerified(book, next.type, next.data[0]!, precision))
      assert.strictEqual(failed._tag, "ChecksumMismatch")
    }))

  it.live('{"method":"ping"} is answered and keeps the heartbeat satisfied', () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const h = yield* open(profile, [Kraken.topic("trade", "BTC/USD")], {
        url: sim.endpoints.kraken,
        heartbeatInterval: "200 millis",
        heartbeatTimeout: "500 millis"
      })
      const stats = yield* staysUp(h, "1500 millis")
      assert.strictEqual(stats.sessions, 1)
    }))

  it.live("a heartbeat expecting another venue's pong misses and ends the session", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const h = yield* open(profile, [Kraken.topic("trade", "BTC/USD")], {
        url: sim.endpoints.kraken,
        heartbeat: Heartbeat.message({
          interval: "200 millis",
          timeout: "500 millis",
          message: () => JSON.stringify({ method: "ping" }),
          isPong: (t) => t === '{"channel":"pong"}'
        })
      })
      const error = yield* disconnected(h)
      assert.strictEqual(error._tag, "HeartbeatTimeout")
    }))

  it.live("the maintenance status is recognised as a notice", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Kraken.topic("trade", "BTC/USD")]
      const h = yield* open(profile, topics, { url: sim.endpoints.kraken })
      yield* settle(h, profile, profile.subscribe(topics)[0]!)
      yield* sim.fault({ kind: "notice", target: { venue: "kraken" } })
      const notice = yield* waitFor(h.texts, (t) => (profile.isNotice(t) ? t : undefined))
      assert.include(notice, "maintenance")
    }))

  it.live("topicOf names trade and book messages by channel:symbol; status, heartbeat and answers give undefined", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 5, venues: { kraken: { heartbeatInterval: "30 millis" } } })
      const topics = [Kraken.topic("trade", "BTC/USD"), Kraken.topic("book", "ETH/USD")]
      const h = yield* open(profile, topics, { url: sim.endpoints.kraken })
      const seen = new Set<string>()
      const others = new Set<string>()
      yield* waitFor(h.texts, (t) => {
        const topic = profile.topicOf(t)
        const msg = JSON.parse(t) as {
          readonly channel?: string
          readonly method?: string
          readonly data?: ReadonlyArray<unknown>
        }
        const isData = (msg.channel === "trade" || msg.channel === "book") && (msg.data?.length ?? 0) > 0
        if (isData) seen.add(topic!)
        else {
          assert.isUndefined(topic, t)
          others.add(msg.channel ?? msg.method ?? "?")
        }
        return seen.size === topics.length && others.has("heartbeat") ? true : undefined
      })
      assert.deepStrictEqual([...seen].sort(), [...topics].sort())
      assert.includeMembers([...others], ["status", "subscribe", "heartbeat"])
      for (
        const text of [
          '{"method":"pong","time_in":"x","time_out":"y"}',
          "",
          "{",
          '{"channel":"trade","type":"update","data":[{"symbol"',
          '{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[]}}',
          "[1]"
        ]
      ) {
        assert.isUndefined(profile.topicOf(text), text)
        assert.isUndefined(Kraken.sequence(text), text)
      }
    }))

  it.live("trade readings span each message's trade ids from the snapshot on; the gap fault breaks the chain", () =>
    Effect.gen(function*() {
      // Trades must exist before subscribing for the snapshot to hold one.
      const sim = yield* Simulator.make({ rate: 50 })
      const topic = Kraken.topic("trade", "BTC/USD")
      const warm = yield* open(profile, [topic], { url: sim.endpoints.kraken })
      yield* waitFor(warm.texts, (t) => (Kraken.sequence(t) !== undefined ? true : undefined))
      const h = yield* open(profile, [topic, Kraken.topic("book", "BTC/USD")], { url: sim.endpoints.kraken })
      const readings: Array<Venue.Sequence> = []
      let snapshot = false
      const take = (n: number) =>
        waitFor(h.texts, (t) => {
          const reading = Kraken.sequence(t)
          if (t.startsWith('{"channel":"book"')) assert.isUndefined(reading)
          if (reading !== undefined) {
            assert.strictEqual(reading.stream, profile.topicOf(t))
            const ids = (JSON.parse(t) as { readonly data: ReadonlyArray<{ readonly trade_id: number }> }).data.map((
              d
            ) => d.trade_id)
            assert.deepStrictEqual([reading.first, reading.last], [Math.min(...ids), Math.max(...ids)])
            if (readings.length === 0) snapshot = t.startsWith('{"channel":"trade","type":"snapshot"')
            readings.push(reading)
          }
          return readings.length >= n ? true : undefined
        })
      yield* take(5)
      assert.isTrue(snapshot, "the first reading is the snapshot")
      for (let i = 1; i < 5; i++) assert.strictEqual(readings[i]!.first, readings[i - 1]!.last + 1)
      const conn = (yield* sim.connections).find((c) => c.subscriptions.includes("book:BTC/USD"))!
      yield* sim.fault({ kind: "gap", target: { connection: conn.id }, skip: 2 })
      yield* take(12)
      const jumps = readings.slice(5).map((r, i) => r.first - readings[4 + i]!.last - 1).filter((d) => d !== 0)
      assert.deepStrictEqual(jumps, [2])
      const multi =
        '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","trade_id":7},{"symbol":"BTC/USD","trade_id":9}]}'
      assert.deepStrictEqual(Kraken.sequence(multi), { stream: topic, first: 7, last: 9 })
    }))
})

describe("Kraken profile", () => {
  const times = '"time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"'

  it("a rejection names only its symbol: instruments, the request's req_id, and permanent for an unsupported pair", () => {
    const c = Kraken.confirmation(
      `{"error":"Currency pair not supported XBT/USD","method":"subscribe","success":false,"symbol":"XBT/USD",${times},"req_id":3}`
    )!
    assert.strictEqual(c.kind, "rejected")
    assert.deepStrictEqual(c.topics, [])
    assert.deepStrictEqual(c.instruments, ["XBT/USD"])
    assert.strictEqual(c.id, 3)
    assert.isTrue(c.permanent)
    assert.strictEqual(c.reason, "Currency pair not supported XBT/USD")
    const [request] = profile.subscribe([Kraken.topic("trade", "BTC/USD"), Kraken.topic("trade", "XBT/USD")], 3)
    assert.strictEqual(Venue.outcome(request!, c), "rejected")
    assert.isTrue(Venue.names(c, "trade:XBT/USD"))
    assert.isFalse(Venue.names(c, "trade:BTC/USD"), "the other symbol of the request is not named")
  })

  it("a success names its channel and symbol", () => {
    const c = Kraken.confirmation(
      `{"method":"subscribe","result":{"channel":"trade","snapshot":true,"symbol":"BTC/USD"},"success":true,${times},"req_id":3}`
    )!
    assert.strictEqual(c.kind, "subscribed")
    assert.deepStrictEqual(c.topics, ["trade:BTC/USD"])
    assert.strictEqual(c.id, 3)
    assert.isFalse(Venue.names(c, "trade:XBT/USD"))
    const u = Kraken.confirmation(
      `{"method":"unsubscribe","result":{"channel":"book","depth":10,"symbol":"ETH/USD"},"success":true,${times},"req_id":9}`
    )!
    assert.strictEqual(u.kind, "unsubscribed")
    assert.deepStrictEqual(u.topics, ["book:ETH/USD"])
  })

  it("Already subscribed reads as subscribed for its symbol; other errors are transient", () => {
    const again = Kraken.confirmation(
      `{"error":"Already subscribed","method":"subscribe","success":false,"symbol":"BTC/USD",${times},"req_id":4}`
    )!
    assert.strictEqual(again.kind, "subscribed")
    assert.deepStrictEqual(again.instruments, ["BTC/USD"])
    assert.strictEqual(again.id, 4)
    assert.strictEqual(Venue.outcome(profile.subscribe([Kraken.topic("trade", "BTC/USD")], 4)[0]!, again), "confirmed")
    const other = Kraken.confirmation(
      `{"error":"Exceeded msg rate","method":"subscribe","success":false,"symbol":"BTC/USD",${times},"req_id":5}`
    )!
    assert.strictEqual(other.kind, "rejected")
    assert.notStrictEqual(other.permanent, true)
    assert.deepStrictEqual(other.instruments, ["BTC/USD"])
    const unnamed = Kraken.confirmation(
      `{"error":"Malformed request","method":"subscribe","success":false,${times},"req_id":6}`
    )!
    assert.strictEqual(unnamed.kind, "rejected")
    assert.isUndefined(unnamed.instruments)
    assert.strictEqual(unnamed.id, 6)
  })

  it("limits: the connection limit is kept, marked unverified in the module's comment", () => {
    assert.deepStrictEqual(profile.limits.connections, { count: 150, window: "10 minutes" })
  })
})

describe("Kraken checksum: the venue's published example", () => {
  // docs.kraken.com "Spot Websockets (v2) Book Checksum": BTC/USD, precision {price 1, qty 8}, checksum 3310070434.
  const example = {
    channel: "book",
    type: "snapshot",
    data: [{
      symbol: "BTC/USD",
      bids: [
        [45283.5, 0.1],
        [45283.4, 1.54582015],
        [45282.1, 0.1],
        [45281.0, 0.1],
        [45280.3, 1.54592586],
        [45279.0, 0.0799],
        [45277.6, 0.03310103],
        [45277.5, 0.3],
        [45277.3, 1.54602737],
        [45276.6, 0.15445238]
      ].map(([price, qty]) => ({ price, qty })),
      asks: [
        [45285.2, 0.001],
        [45286.4, 1.54571953],
        [45286.6, 1.54571109],
        [45289.6, 1.54560911],
        [45290.2, 0.1589066],
        [45291.8, 1.54553491],
        [45294.7, 0.04454749],
        [45296.1, 0.3538],
        [45297.5, 0.09945542],
        [45299.5, 0.18772827]
      ].map(([price, qty]) => ({ price, qty })),
      checksum: 3310070434
    }]
  }
  const asks =
    "45285210000045286415457195345286615457110945289615456091145290215890660452918154553491452947445474945296135380000452975994554245299518772827"
  const bids =
    "452835100000004528341545820154528211000000045281010000000452803154592586452790799000045277633101034527753000000045277315460273745276615445238"

  it.effect("the example book decodes, and checksums to 3310070434 with precision {1, 8}", () =>
    Effect.gen(function*() {
      const message = yield* Kraken.decodeBook(JSON.stringify(example))
      const book = Kraken.makeBook("BTC/USD")
      yield* Kraken.applyVerified(book, message.type, message.data[0]!, precision)
      assert.strictEqual(Kraken.checksumInput(book, precision), asks + bids)
      assert.strictEqual(Kraken.checksum(book, precision), 3310070434)
    }))
})
