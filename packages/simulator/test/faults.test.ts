/**
 * Every fault kind, observed from a real client: drop (1006), close (code and reason), stall (data stops,
 * pongs and PING frames go on), halfOpen (nothing at all, socket stays open, then heals), slow (throughput
 * capped), gap (sequence jumps once), refuse (429 with Retry-After, 503), latency (answers delayed), notice;
 * and targeting by venue, by connection, all, sticky; invalid and scheduled faults.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Stream } from "effect"
import { Simulator } from "../src/index.ts"
import { connect, handshakeStatus, msg } from "./utils/client.ts"

const fast = { rate: 100, tickInterval: 10 } as const
const okxTrades = { op: "subscribe", args: [{ channel: "trades", instId: "BTC-USDT" }] }
const isOkxTrade = msg((j) => j.arg?.channel === "trades" && j.data !== undefined)

describe("faults", () => {
  it.live("drop destroys the TCP connection: the client sees 1006, the server reports it", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const events = yield* sim.subscribe
      const c = yield* connect(sim.endpoints.binance)
      const result = yield* sim.fault({ kind: "drop", target: { venue: "binance" } })
      assert.strictEqual(result.connections.length, 1)
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1006)
      const event = yield* events.pipe(Stream.filter((e) => e._tag === "Closed"), Stream.runHead)
      assert.isTrue(event._tag === "Some" && event.value._tag === "Closed" && event.value.by === "server" && event.value.code === 1006)
    }))

  it.live("close sends the given code and reason", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.kraken)
      yield* sim.fault({ kind: "close", target: "all", code: 4000, reason: "scripted" })
      const closed = yield* c.closed
      assert.deepStrictEqual([closed.code, closed.reason], [4000, "scripted"])
    }))

  it.live("stall stops data while pongs continue, and data resumes when it heals", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      c.send(okxTrades)
      yield* c.nextN(5, isOkxTrade)
      yield* sim.fault({ kind: "stall", target: { venue: "okx" }, duration: 300 })
      let from = c.seen.length
      c.send("ping")
      yield* c.next((s) => s.text === "pong", { from })
      const afterPong = c.seen.length
      yield* Effect.sleep("150 millis")
      from = c.seen.length
      c.send("ping")
      yield* c.next((s) => s.text === "pong", { from })
      assert.strictEqual(c.seen.slice(afterPong).filter(isOkxTrade).length, 0)
      yield* c.nextN(5, isOkxTrade, { from: afterPong })
    }))

  it.live("stall keeps Binance PING frames going", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { binance: { pingInterval: 40, messageLimit: 100 } } })
      const c = yield* connect(`${sim.endpoints.binance}/btcusdt@trade`)
      yield* c.nextN(3, msg((j) => j.e === "trade"))
      yield* sim.fault({ kind: "stall", target: { venue: "binance" } })
      const ping = yield* c.next((s) => s.kind === "ping", { from: c.seen.length })
      const from = c.seen.indexOf(ping)
      yield* c.nextN(3, (s) => s.kind === "ping", { from })
      assert.strictEqual(c.seen.slice(from).filter((s) => s.kind === "message").length, 0)
    }))

  it.live("halfOpen: no data, no pongs, no PINGs, no close reply, socket open; then heals", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { binance: { pingInterval: 30, messageLimit: 100 } } })
      const events = yield* sim.subscribe
      const c = yield* connect(`${sim.endpoints.binance}/btcusdt@trade`)
      yield* c.nextN(3, msg((j) => j.e === "trade"))
      yield* sim.fault({ kind: "halfOpen", target: { venue: "binance" }, duration: 300 })
      // frames already on the wire when the fault hit may still land just after it (same process, ~1 ms)
      const quietFrom = Date.now() + 25
      const from = c.seen.length
      c.ws.ping()
      c.send({ method: "LIST_SUBSCRIPTIONS", id: 1 })
      const healed = yield* events.pipe(Stream.filter((e) => e._tag === "FaultHealed"), Stream.runHead)
      const healedAt = healed._tag === "Some" ? healed.value.at : 0
      const silent = c.seen.slice(from).filter((s) => s.at >= quietFrom && s.at < healedAt)
      assert.strictEqual(silent.length, 0, "nothing may arrive while half-open")
      assert.strictEqual(c.ws.readyState, c.ws.OPEN)
      const pong = yield* c.next((s) => s.kind === "pong", { from })
      assert.isAtLeast(pong.at, healedAt)
      yield* c.next(msg((j) => j.id === 1), { from })
      yield* c.nextN(3, msg((j) => j.e === "trade"), { from })
    }))

  it.live("halfOpen leaves a client's close unanswered until it heals", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.hyperliquid)
      yield* sim.fault({ kind: "halfOpen", target: "all", duration: 250 })
      const started = Date.now()
      c.ws.close(1000, "bye")
      const closed = yield* c.closed
      assert.isAtLeast(closed.at - started, 250 - 30)
      assert.strictEqual(closed.code, 1000)
    }))

  it.live("slow caps throughput at about bytesPerSecond", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, rate: 200 })
      const c = yield* connect(`${sim.endpoints.binance}/btcusdt@trade`)
      const normal = yield* c.nextN(20, msg((j) => j.e === "trade"))
      const normalRate = normal.reduce((n, s) => n + s.text.length, 0) / Math.max(1, normal[19]!.at - normal[0]!.at)
      yield* sim.fault({ kind: "slow", target: { venue: "binance" }, bytesPerSecond: 4000 })
      const from = c.seen.length
      yield* Effect.sleep("30 millis")
      const start = Date.now()
      const slowed = yield* c.nextN(15, msg((j) => j.e === "trade"), { from: from + 5 })
      const elapsed = slowed[14]!.at - start
      const bytes = slowed.reduce((n, s) => n + s.text.length, 0)
      assert.isBelow(bytes / elapsed, 4000 * 1.5 / 1000, "bytes per ms under the cap (+50%)")
      assert.isBelow(bytes / elapsed, normalRate)
      assert.isAtLeast(elapsed, 1000 * bytes / 4000 * 0.5)
    }))

  it.live("gap skips at least N sequence numbers once, then the stream is continuous again", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.hyperliquid)
      c.send({ method: "subscribe", subscription: { type: "trades", coin: "BTC" } })
      yield* c.nextN(3, msg((j) => j.channel === "trades"))
      const result = yield* sim.fault({ kind: "gap", target: { venue: "hyperliquid" }, skip: 5 })
      assert.strictEqual(result.connections.length, 1)
      const from = c.seen.length
      const after = yield* c.nextN(6, msg((j) => j.channel === "trades"), { from })
      const before = c.seen.slice(0, from).filter(msg((j) => j.channel === "trades")).at(-1)!
      assert.strictEqual(after[0]!.json.data[0].tid - before.json.data[0].tid, 6)
      for (let i = 1; i < after.length; i++) assert.strictEqual(after[i]!.json.data[0].tid, after[i - 1]!.json.data[0].tid + 1)
    }))

  it.live("refuse answers the next handshakes with 429 + Retry-After, then accepts again", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      yield* sim.fault({ kind: "refuse", target: { venue: "bybit" }, status: 429, retryAfter: 2, count: 2 })
      const first = yield* handshakeStatus(sim.endpoints.bybit)
      assert.deepStrictEqual(first, { status: 429, retryAfter: "2" })
      const other = yield* handshakeStatus(sim.endpoints.okx)
      assert.strictEqual(other.status, 101)
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.bybit)).status, 429)
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.bybit)).status, 101)
      assert.strictEqual((yield* sim.stats).venues.bybit.refused, 2)
    }))

  it.live("refuse with 503 for a duration", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      yield* sim.fault({ kind: "refuse", target: "all", status: 503, duration: 200 })
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.coinbase)).status, 503)
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.coinbase)).status, 503)
      yield* Effect.sleep("220 millis")
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.coinbase)).status, 101)
    }))

  it.live("heal ends a lasting fault by id before its duration", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      c.send(okxTrades)
      yield* c.nextN(3, isOkxTrade)
      const stall = yield* sim.fault({ kind: "stall", target: "all" })
      assert.deepStrictEqual((yield* sim.connections)[0]?.faults, [{ id: stall.id, kind: "stall" }])
      yield* sim.heal(stall.id)
      assert.deepStrictEqual((yield* sim.connections)[0]?.faults, [])
      yield* c.nextN(3, isOkxTrade, { from: c.seen.length })
    }))

  it.live("latency delays every answer by at least the latency", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      let sent = Date.now()
      c.send("ping")
      const quick = yield* c.next((s) => s.text === "pong")
      assert.isBelow(quick.at - sent, 100)
      yield* sim.fault({ kind: "latency", target: { connection: (yield* sim.connections)[0]!.id }, latency: 200 })
      const from = c.seen.length
      sent = Date.now()
      c.send("ping")
      const slow = yield* c.next((s) => s.text === "pong", { from })
      assert.isAtLeast(slow.at - sent, 200)
    }))

  it.live("notice on Binance sends serverShutdown, then closes after closeAfter", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.binance)
      const result = yield* sim.fault({ kind: "notice", target: "all", closeAfter: 100 })
      assert.strictEqual(result.connections.length, 1)
      const notice = yield* c.next(msg((j) => j.e === "serverShutdown"))
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1001)
      assert.isAtLeast(closed.at - notice.at, 100 - 30)
    }))

  it.live("targets: a venue hits only its connections, a connection id only that one, all hits all", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const a = yield* connect(sim.endpoints.okx)
      const b = yield* connect(sim.endpoints.okx)
      const k = yield* connect(sim.endpoints.kraken)
      const conns = yield* sim.connections
      const okxIds = conns.filter((c) => c.venue === "okx").map((c) => c.id)
      const venue = yield* sim.fault({ kind: "stall", target: { venue: "okx" } })
      assert.deepStrictEqual([...venue.connections].sort(), [...okxIds].sort())
      const one = yield* sim.fault({ kind: "close", target: { connection: okxIds[0]! }, code: 4001 })
      assert.deepStrictEqual(one.connections, [okxIds[0]!])
      assert.strictEqual((yield* a.closed).code, 4001)
      assert.strictEqual(b.ws.readyState, b.ws.OPEN)
      const all = yield* sim.fault({ kind: "close", target: "all", code: 4002 })
      assert.strictEqual(all.connections.length, 2)
      assert.strictEqual((yield* b.closed).code, 4002)
      assert.strictEqual((yield* k.closed).code, 4002)
    }))

  it.live("a sticky fault also hits connections opened while it lasts; a plain one does not", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      yield* sim.fault({ kind: "stall", target: { venue: "okx" }, sticky: true, duration: "10 seconds" })
      yield* sim.fault({ kind: "latency", target: { venue: "okx" }, latency: 50 })
      yield* connect(sim.endpoints.okx)
      const [info] = yield* sim.connections
      assert.deepStrictEqual(info?.faults.map((f) => f.kind), ["stall"])
    }))

  it.live("an invalid fault fails with InvalidFault", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const bad = yield* Effect.result(sim.fault({ kind: "close", target: "all", code: 1006 }))
      assert.isTrue(Result.isFailure(bad) && bad.failure._tag === "InvalidFault")
      const refuseConn = yield* Effect.result(sim.fault({ kind: "refuse", target: { connection: 1 } as never }))
      assert.isTrue(Result.isFailure(refuseConn))
    }))

  it.live("a fault with `after` is applied later", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.kraken)
      const started = Date.now()
      const r = yield* sim.fault({ kind: "drop", target: "all", after: 150 })
      assert.isTrue(r.scheduled)
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1006)
      assert.isAtLeast(closed.at - started, 150 - 20)
    }))
})
