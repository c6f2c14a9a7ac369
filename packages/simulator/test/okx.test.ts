/**
 * OKX-like venue: text ping/pong, subscription answers with `connId` (and the request's `id`), trades with
 * continuous `tradeId`, books with `prevSeqId`/`seqId` chaining and a checksum matching an independent
 * computation, an unknown `instId` rejected with 60018 while the request's other args subscribe, the
 * hourly request quota, the `seqReset` fault, the idle close, and the 64008 notice.
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
          for (const [px, sz] of side) {
            if (Number(sz) === 0) book.delete(px)
            else book.set(px, sz)
          }
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

  it.live("echoes the request id first in every answer, errors included", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      const arg = { channel: "trades", instId: "BTC-USDT" }
      c.send({ id: "req1", op: "subscribe", args: [arg] })
      const ack = yield* c.next(msg((j) => j.event === "subscribe"))
      assert.deepStrictEqual(Object.keys(ack.json), ["id", "event", "arg", "connId"])
      assert.deepStrictEqual(ack.json.id, "req1")
      assert.deepStrictEqual(ack.json.arg, arg)
      c.send({ id: "Req2", op: "unsubscribe", args: [arg] })
      const unsub = yield* c.next(msg((j) => j.event === "unsubscribe"))
      assert.strictEqual(unsub.json.id, "Req2")
      c.send({ id: "e3", op: "subscribe", args: [{ channel: "nosuch", instId: "BTC-USDT" }] })
      const error = yield* c.next(msg((j) => j.event === "error"))
      assert.deepStrictEqual(Object.keys(error.json), ["id", "event", "code", "msg", "connId"])
      assert.deepStrictEqual([error.json.id, error.json.code], ["e3", "60018"])
      c.send({ op: "subscribe", args: [arg] })
      const plain = yield* c.next(msg((j) => j.event === "subscribe"), { from: c.seen.indexOf(error) + 1 })
      assert.isFalse("id" in plain.json)
    }))

  it.live("an invalid id (over 32 characters or not alphanumeric) is answered 60012 and nothing is subscribed", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      c.send({ id: "a".repeat(33), op: "subscribe", args: [{ channel: "trades", instId: "BTC-USDT" }] })
      const error = yield* c.next(msg((j) => j.event === "error"))
      assert.strictEqual(error.json.code, "60012")
      c.send({ id: "a-b", op: "subscribe", args: [{ channel: "trades", instId: "BTC-USDT" }] })
      yield* c.nextN(2, msg((j) => j.event === "error"))
      assert.strictEqual((yield* sim.connections)[0]?.subscriptions.length, 0)
    }))

  it.live("an unknown instId gets 60018 naming no arg, while the other args of the request subscribe", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      c.send({
        id: "mixed1",
        op: "subscribe",
        args: [{ channel: "trades", instId: "FOO-BAR" }, { channel: "trades", instId: "BTC-USDT" }, {
          channel: "trades",
          instId: "ETH-USDT"
        }]
      })
      const answers = yield* c.nextN(3, msg((j) => j.event === "subscribe" || j.event === "error"))
      const { connId, ...error } = answers[0]!.json
      assert.deepStrictEqual(error, {
        id: "mixed1",
        event: "error",
        code: "60018",
        msg:
          "Wrong URL or channel:trades,instId:FOO-BAR doesn't exist. Please use the correct URL, channel and parameters referring to API document."
      })
      assert.isString(connId)
      assert.deepStrictEqual(answers.slice(1).map((a) => [a.json.event, a.json.arg.instId, a.json.id]), [
        ["subscribe", "BTC-USDT", "mixed1"],
        ["subscribe", "ETH-USDT", "mixed1"]
      ])
      yield* c.next(msg((j) => j.data?.[0]?.instId === "BTC-USDT"))
      yield* c.next(msg((j) => j.data?.[0]?.instId === "ETH-USDT"))
      assert.deepStrictEqual([...(yield* sim.connections)[0]!.subscriptions].sort(), [
        "trades:BTC-USDT",
        "trades:ETH-USDT"
      ])
    }))

  it.live("instruments lists the instIds that exist; by default SWAP and dated futures of known assets exist", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { okx: { instruments: ["FOO-BAR"] } } })
      const c = yield* connect(sim.endpoints.okx)
      c.send({
        op: "subscribe",
        args: [{ channel: "trades", instId: "FOO-BAR" }, { channel: "trades", instId: "BTC-USDT" }]
      })
      const answers = yield* c.nextN(2, msg((j) => j.event !== undefined))
      assert.deepStrictEqual(answers.map((a) => a.json.event), ["subscribe", "error"])
      const defaults = yield* Simulator.make(fast)
      const d = yield* connect(defaults.endpoints.okx)
      d.send({
        op: "subscribe",
        args: [{ channel: "trades", instId: "BTC-USDT-SWAP" }, { channel: "books", instId: "ETH-USD-260925" }]
      })
      const ok = yield* d.nextN(2, msg((j) => j.event !== undefined))
      assert.deepStrictEqual(ok.map((a) => a.json.event), ["subscribe", "subscribe"])
    }))

  it.live("beyond requestsPerHour in the window a request is refused with 60014 and not carried out; the connection stays open", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { okx: { requestsPerHour: 3, requestWindow: 400 } } })
      const c = yield* connect(sim.endpoints.okx)
      const arg = (instId: string) => ({ channel: "trades", instId })
      c.send({ op: "subscribe", args: [arg("BTC-USDT")] })
      c.send({ op: "unsubscribe", args: [arg("BTC-USDT")] })
      c.send({ op: "subscribe", args: [arg("ETH-USDT")] })
      c.send({ id: "over4", op: "subscribe", args: [arg("SOL-USDT")] })
      const error = yield* c.next(msg((j) => j.event === "error"))
      assert.deepStrictEqual([error.json.id, error.json.code], ["over4", "60014"])
      assert.match(error.json.msg, /3 subscribe\/unsubscribe\/login requests/)
      assert.deepStrictEqual((yield* sim.connections)[0]?.subscriptions, ["trades:ETH-USDT"])
      c.send("ping")
      yield* c.next((s) => s.text === "pong")
      // the window slides: once the first requests are older than requestWindow, requests are accepted again
      yield* Effect.sleep("450 millis")
      c.send({ op: "subscribe", args: [arg("SOL-USDT")] })
      yield* c.next(msg((j) => j.event === "subscribe" && j.arg.instId === "SOL-USDT"))
      assert.strictEqual(c.ws.readyState, c.ws.OPEN)
    }))

  it.live("seqReset: the next book update has a seqId below its prevSeqId, later ones chain from the new numbers", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      c.send({ op: "subscribe", args: [{ channel: "books", instId: "BTC-USDT" }] })
      const isBook = msg((j) => j.arg?.channel === "books" && j.data !== undefined)
      yield* c.nextN(5, isBook)
      const result = yield* sim.fault({ kind: "seqReset", target: { venue: "okx" }, seqId: 5 })
      assert.strictEqual(result.connections.length, 1)
      const from = c.seen.length
      yield* c.nextN(6, isBook, { from })
      const seqs = c.seen.filter(isBook).slice(1).map((m) => [m.json.data[0].prevSeqId, m.json.data[0].seqId] as const)
      const resets = seqs.flatMap(([prev, seq], i) => (seq < prev ? [i] : []))
      assert.strictEqual(resets.length, 1, JSON.stringify(seqs))
      const reset = resets[0]!
      assert.strictEqual(seqs[reset]![1], 5)
      assert.strictEqual(
        seqs[reset]![0],
        seqs[reset - 1]![1],
        "the reset update names the last seqId sent as prevSeqId"
      )
      for (let i = 1; i < seqs.length; i++) {
        if (i === reset) continue
        assert.strictEqual(seqs[i]![0], seqs[i - 1]![1])
        assert.strictEqual(seqs[i]![1], seqs[i - 1]![1] + 1)
      }
      assert.isAbove(seqs.length - reset, 3, "updates continue after the reset")
    }))

  it.live("seqReset hits only connections holding a book, and a book once however many holders are targeted", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const trades = yield* connect(sim.endpoints.okx)
      trades.send({ op: "subscribe", args: [{ channel: "trades", instId: "BTC-USDT" }] })
      yield* trades.next(msg((j) => j.event === "subscribe"))
      const a = yield* connect(sim.endpoints.okx)
      const b = yield* connect(sim.endpoints.okx)
      const isBook = msg((j) => j.arg?.channel === "books" && j.action === "update")
      for (const c of [a, b]) {
        c.send({ op: "subscribe", args: [{ channel: "books", instId: "BTC-USDT" }] })
        yield* c.nextN(2, isBook)
      }
      const from = [a.seen.length, b.seen.length]
      const result = yield* sim.fault({ kind: "seqReset", target: "all", stream: "books:BTC-USDT" })
      assert.strictEqual(result.connections.length, 2)
      for (const [i, c] of [a, b].entries()) {
        const updates = yield* c.nextN(4, isBook, { from: from[i]! })
        const ids = updates.map((m) => m.json.data[0].seqId)
        assert.include(ids, 1, JSON.stringify(ids))
        assert.strictEqual(updates.filter((m) => m.json.data[0].seqId < m.json.data[0].prevSeqId).length, 1)
      }
      const none = yield* sim.fault({ kind: "seqReset", target: { connection: 1 } })
      assert.deepStrictEqual(none.connections, [])
    }))
})
