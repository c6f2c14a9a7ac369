import { Heartbeat } from "@kharbranth/core"
import { Simulator } from "@kharbranth/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Kraken from "../src/Kraken.ts"
import type * as Venue from "../src/Venue.ts"
import { disconnected, firstDecoded, open, sendAll, settle, staysUp, waitFor, type Harness } from "./utils/harness.ts"

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

  it.live("unsubscribe is confirmed; a second subscribe of a held topic is rejected", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Kraken.topic("trade", "BTC/USD")]
      const h = yield* open(profile, topics, { url: sim.endpoints.kraken })
      yield* settle(h, profile, profile.subscribe(topics)[0]!)
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.subscribe(topics, 4)), ["rejected"])
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
      const error = yield* Effect.flip(Kraken.applyVerified(Kraken.makeBook("BTC/USD"), "snapshot", tampered, precision))
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

  it.live("{\"method\":\"ping\"} is answered and keeps the heartbeat satisfied", () =>
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
        const msg = JSON.parse(t) as { readonly channel?: string; readonly method?: string; readonly data?: ReadonlyArray<unknown> }
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
      for (const text of ['{"method":"pong","time_in":"x","time_out":"y"}', "", "{", '{"channel":"trade","type":"update","data":[{"symbol"',
        '{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[]}}', "[1]"]) {
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
            const ids = (JSON.parse(t) as { readonly data: ReadonlyArray<{ readonly trade_id: number }> }).data.map((d) => d.trade_id)
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
      const multi = '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","trade_id":7},{"symbol":"BTC/USD","trade_id":9}]}'
      assert.deepStrictEqual(Kraken.sequence(multi), { stream: topic, first: 7, last: 9 })
    }))
})
