/**
 * OKX-like venue: text ping/pong, subscription answers with `connId`, trades with continuous `tradeId`,
 * books with `prevSeqId`/`seqId` chaining and a checksum matching an independent computation, the idle
 * close, and the 64008 notice.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Simulator } from "../src/index.ts"
import { connect, msg } from "./utils/client.ts"
import { crc32 } from "./utils/crc32.ts"

const fast = { rate: 100, tickInterval: 10 } as const

describe("OKX", () => {
  it.live("answers text ping with text pong", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      c.send("ping")
      const pong = yield* c.next((s) => s.kind === "message")
      assert.strictEqual(pong.text, "pong")
    }))

  it.live("acknowledges subscribe with event/arg/connId and sends only the subscribed trades, tradeId +1", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      const arg = { channel: "trades", instId: "BTC-USDT" }
      c.send({ op: "subscribe", args: [arg] })
      const ack = yield* c.next(msg((j) => j.event === "subscribe"))
      assert.deepStrictEqual(ack.json.arg, arg)
      assert.isString(ack.json.connId)
      const trades = yield* c.nextN(10, msg((j) => j.arg?.channel === "trades" && j.data !== undefined))
      for (const t of trades) {
        assert.deepStrictEqual(t.json.arg, arg)
        const d = t.json.data[0]
        assert.strictEqual(d.instId, "BTC-USDT")
        assert.oneOf(d.side, ["buy", "sell"])
        assert.isString(d.px)
      }
      for (let i = 1; i < trades.length; i++) {
        assert.strictEqual(Number(trades[i]!.json.data[0].tradeId), Number(trades[i - 1]!.json.data[0].tradeId) + 1)
      }
    }))

  it.live("books: snapshot then updates chained by prevSeqId, checksum matches an independent CRC32", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      c.send({ op: "subscribe", args: [{ channel: "books", instId: "BTC-USDT" }] })
      const all = yield* c.nextN(21, msg((j) => j.arg?.channel === "books" && j.data !== undefined))
      assert.strictEqual(all[0]!.json.action, "snapshot")
      assert.strictEqual(all[0]!.json.data[0].prevSeqId, -1)
      const bids = new Map<string, string>()
      const asks = new Map<string, string>()
      let prevSeq = -1
      for (const m of all) {
        const d = m.json.data[0]
        if (m.json.action === "update") assert.strictEqual(d.prevSeqId, prevSeq)
        prevSeq = d.seqId
        for (const [side, book] of [[d.bids, bids], [d.asks, asks]] as const) {
          for (const [px, sz] of side) Number(sz) === 0 ? book.delete(px) : book.set(px, sz)
        }
        const topBids = [...bids].sort((a, b) => Number(b[0]) - Number(a[0])).slice(0, 25)
        const topAsks = [...asks].sort((a, b) => Number(a[0]) - Number(b[0])).slice(0, 25)
        const parts: Array<string> = []
        for (let i = 0; i < 25; i++) {
          if (topBids[i]) parts.push(`${topBids[i]![0]}:${topBids[i]![1]}`)
          if (topAsks[i]) parts.push(`${topAsks[i]![0]}:${topAsks[i]![1]}`)
        }
        assert.strictEqual(d.checksum, crc32(parts.join(":")) | 0)
      }
    }))

  it.live("closes with 4004 when no subscription is made within idleTimeout", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { okx: { idleTimeout: 150 } } })
      const c = yield* connect(sim.endpoints.okx)
      const opened = Date.now()
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 4004)
      assert.isAtLeast(closed.at - opened, 150 - 30)
    }))

  it.live("stays open while pinged, closes 4004 once the pings stop (subscribed, no data)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, rate: 0, venues: { okx: { idleTimeout: 150 } } })
      const c = yield* connect(sim.endpoints.okx)
      c.send({ op: "subscribe", args: [{ channel: "trades", instId: "BTC-USDT" }] })
      yield* c.next(msg((j) => j.event === "subscribe"))
      for (let i = 0; i < 5; i++) {
        const from = c.seen.length
        c.send("ping")
        yield* c.next((s) => s.text === "pong", { from })
        yield* Effect.sleep("60 millis")
      }
      assert.strictEqual(c.ws.readyState, c.ws.OPEN)
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 4004)
    }))

  it.live("notice fault sends event 64008", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      yield* sim.fault({ kind: "notice", target: { venue: "okx" } })
      const notice = yield* c.next(msg((j) => j.event === "notice"))
      assert.strictEqual(notice.json.code, "64008")
      assert.match(notice.json.msg, /service upgrade/)
    }))
})
