/**
 * Kraken-like venue: status on connect, ping/pong, subscription answers (one per symbol, an unknown pair
 * rejected while the others of the request subscribe), trade ids +1, idle heartbeats, and the book
 * checksum — checked against a hand-computed vector and an independent CRC32 over a book the test
 * maintains itself.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Checksum, Simulator } from "../src/index.ts"
import { connect, msg } from "./utils/client.ts"
import { crc32 } from "./utils/crc32.ts"

const fast = { rate: 100, tickInterval: 10 } as const

describe("Kraken checksum", () => {
  it("CRC32 matches the standard check value and the documented field formatting", () => {
    assert.strictEqual(crc32("123456789"), 0xcbf43926)
    // Kraken's guide: "45285.2" → "452852", "0.00100000" → "100000"
    assert.strictEqual(Checksum.krakenField("45285.2"), "452852")
    assert.strictEqual(Checksum.krakenField("0.00100000"), "100000")
    // one ask 45285.2 x 0.001 and one bid 45283.5 x 0.5 → "452852100000" + "45283550000000"
    // oxlint-disable-next-line no-useless-concat -- the two halves are the ask's and the bid's fields
    const expected = crc32("452852100000" + "45283550000000")
    assert.strictEqual(Checksum.kraken([["45285.2", "0.00100000"]], [["45283.5", "0.50000000"]]), expected)
    // the unsigned 32-bit form of zlib's "123456789" vector, through the same function
    assert.strictEqual(Checksum.kraken([["1234.5", "6789"]], []), 0xcbf43926)
  })
})

describe("Kraken", () => {
  it.live("sends status on connect, answers ping with pong and req_id", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.kraken)
      const status = yield* c.next(msg((j) => j.channel === "status"))
      assert.strictEqual(status.json.data[0].system, "online")
      c.send({ method: "ping", req_id: 9 })
      const pong = yield* c.next(msg((j) => j.method === "pong"))
      assert.strictEqual(pong.json.req_id, 9)
    }))

  it.live("subscribe is answered with result/success/req_id; trade ids increase by 1", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.kraken)
      c.send({ method: "subscribe", params: { channel: "trade", symbol: ["BTC/USD"] }, req_id: 5 })
      const ack = yield* c.next(msg((j) => j.method === "subscribe"))
      assert.strictEqual(ack.json.success, true)
      assert.strictEqual(ack.json.req_id, 5)
      assert.deepStrictEqual(ack.json.result, { channel: "trade", snapshot: true, symbol: "BTC/USD" })
      const trades = yield* c.nextN(10, msg((j) => j.channel === "trade" && j.type === "update"))
      for (let i = 1; i < trades.length; i++) {
        assert.strictEqual(trades[i]!.json.data[0].trade_id, trades[i - 1]!.json.data[0].trade_id + 1)
      }
    }))

  it.live("book checksums match an independent computation over the client's own book", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.kraken)
      c.send({ method: "subscribe", params: { channel: "book", symbol: ["BTC/USD"], depth: 10 }, req_id: 1 })
      const all = yield* c.nextN(31, msg((j) => j.channel === "book"))
      assert.strictEqual(all[0]!.json.type, "snapshot")
      // full precision on the wire: quantities carry 8 decimals
      assert.match(all[0]!.text, /"qty":\d+\.\d{8}[,}]/)
      const bids = new Map<number, number>()
      const asks = new Map<number, number>()
      const field = (n: number, decimals: number) => n.toFixed(decimals).replace(".", "").replace(/^0+/, "")
      for (const m of all) {
        const d = m.json.data[0]
        for (const [levels, book] of [[d.bids, bids], [d.asks, asks]] as const) {
          for (const { price, qty } of levels) {
            if (qty === 0) book.delete(price)
            else book.set(price, qty)
          }
        }
        const a = [...asks].sort((x, y) => x[0] - y[0]).slice(0, 10)
        const b = [...bids].sort((x, y) => y[0] - x[0]).slice(0, 10)
        const text = [...a, ...b].map(([p, q]) => field(p, 1) + field(q, 8)).join("")
        assert.strictEqual(d.checksum, crc32(text), `message ${m.text.slice(0, 80)}`)
      }
    }))

  it.live("sends {channel:heartbeat} about once per interval when nothing else is sent", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, rate: 0, venues: { kraken: { heartbeatInterval: 50 } } })
      const c = yield* connect(sim.endpoints.kraken)
      c.send({ method: "subscribe", params: { channel: "trade", symbol: ["BTC/USD"] } })
      const beats = yield* c.nextN(4, msg((j) => j.channel === "heartbeat"))
      assert.isAtLeast(beats[3]!.at - beats[0]!.at, 3 * 50 - 20)
    }))

  it.live("a subscribe with several symbols is answered per symbol with the same req_id; an unknown pair is rejected, the others subscribe", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.kraken)
      c.send({
        method: "subscribe",
        params: { channel: "trade", symbol: ["BTC/USD", "XBT/USD", "ETH/USD"] },
        req_id: 42
      })
      const answers = yield* c.nextN(3, msg((j) => j.method === "subscribe"))
      assert.deepStrictEqual(answers.map((a) => a.json.req_id), [42, 42, 42])
      assert.deepStrictEqual(answers.map((a) => a.json.success), [true, false, true])
      assert.deepStrictEqual(answers.map((a) => a.json.result?.symbol ?? a.json.symbol), [
        "BTC/USD",
        "XBT/USD",
        "ETH/USD"
      ])
      const { time_in, time_out, ...rejected } = answers[1]!.json
      assert.deepStrictEqual(rejected, {
        error: "Currency pair not supported XBT/USD",
        method: "subscribe",
        success: false,
        symbol: "XBT/USD",
        req_id: 42
      })
      assert.match(time_in, /^\d{4}-\d{2}-\d{2}T/)
      assert.match(time_out, /^\d{4}-\d{2}-\d{2}T/)
      assert.deepStrictEqual(Object.keys(answers[1]!.json), [
        "error",
        "method",
        "success",
        "symbol",
        "req_id",
        "time_in",
        "time_out"
      ])
      yield* c.next(msg((j) => j.channel === "trade" && j.type === "update" && j.data[0].symbol === "BTC/USD"))
      yield* c.next(msg((j) => j.channel === "trade" && j.type === "update" && j.data[0].symbol === "ETH/USD"))
      assert.deepStrictEqual([...(yield* sim.connections)[0]!.subscriptions].sort(), ["trade:BTC/USD", "trade:ETH/USD"])
    }))

  it.live("the pairs option lists the pairs that exist", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { kraken: { pairs: ["XBT/USD"] } } })
      const c = yield* connect(sim.endpoints.kraken)
      c.send({ method: "subscribe", params: { channel: "trade", symbol: ["XBT/USD", "BTC/USD"] }, req_id: 1 })
      const answers = yield* c.nextN(2, msg((j) => j.method === "subscribe"))
      assert.deepStrictEqual(answers.map((a) => [a.json.success, a.json.error]), [[true, undefined], [
        false,
        "Currency pair not supported BTC/USD"
      ]])
    }))
})
