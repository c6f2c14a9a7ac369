/**
 * Binance-like venue: subscription requests and answers, raw and combined streams, continuous trade ids
 * and depth update ids, PING frames and the pong timeout, the connection lifetime with `serverShutdown`
 * first (raw on `/ws`, combined on `/stream`), and the 5-messages-per-second limit, which counts every PONG,
 * the answers to the server's own PINGs included.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Simulator } from "../src/index.ts"
import { connect, msg } from "./utils/client.ts"

const fast = { rate: 100, tickInterval: 10 } as const

describe("Binance", () => {
  it.live("SUBSCRIBE is answered {result:null,id} and only subscribed streams carry data, trade ids +1", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.binance)
      c.send({ method: "SUBSCRIBE", params: ["btcusdt@trade"], id: 1 })
      const ack = yield* c.next(msg((j) => j.id === 1))
      assert.deepStrictEqual(ack.json, { result: null, id: 1 })
      const trades = yield* c.nextN(10, msg((j) => j.e === "trade"))
      for (const t of trades) assert.strictEqual(t.json.s, "BTCUSDT")
      for (let i = 1; i < trades.length; i++) assert.strictEqual(trades[i]!.json.t, trades[i - 1]!.json.t + 1)
      const t0 = trades[0]!.json
      assert.match(t0.p, /^\d+\.\d{2}$/)
      assert.isBoolean(t0.m)
      assert.strictEqual(c.messages((s) => s.json?.e === "depthUpdate").length, 0)
    }))

  it.live("LIST_SUBSCRIPTIONS lists streams; UNSUBSCRIBE stops them", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.binance)
      c.send({ method: "SUBSCRIBE", params: ["btcusdt@trade", "ethusdt@trade"], id: 1 })
      yield* c.next(msg((j) => j.id === 1))
      c.send({ method: "LIST_SUBSCRIPTIONS", id: 2 })
      const list = yield* c.next(msg((j) => j.id === 2))
      assert.deepStrictEqual([...list.json.result].sort(), ["btcusdt@trade", "ethusdt@trade"])
      c.send({ method: "UNSUBSCRIBE", params: ["btcusdt@trade"], id: 3 })
      yield* c.next(msg((j) => j.id === 3))
      const from = c.seen.length
      yield* c.nextN(10, msg((j) => j.s === "ETHUSDT"), { from })
      assert.strictEqual(c.seen.slice(from).filter((s) => s.json?.s === "BTCUSDT").length, 0)
    }))

  it.live("combined streams wrap payloads in {stream,data}; depth U is the previous u + 1", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(`${sim.endpoints.binanceCombined}?streams=btcusdt@trade/ethusdt@depth@100ms`)
      const depth = yield* c.nextN(10, msg((j) => j.stream === "ethusdt@depth@100ms"))
      yield* c.next(msg((j) => j.stream === "btcusdt@trade" && j.data.e === "trade"))
      for (const d of depth) assert.strictEqual(d.json.data.e, "depthUpdate")
      for (let i = 1; i < depth.length; i++) assert.strictEqual(depth[i]!.json.data.U, depth[i - 1]!.json.data.u + 1)
      const first = depth[0]!.json.data
      assert.isAtLeast(first.u, first.U)
      assert.isArray(first.b)
    }))

  it.live("rejects an uppercase stream name with error code 2", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.binance)
      c.send({ method: "SUBSCRIBE", params: ["BTCUSDT@trade"], id: 7 })
      const reply = yield* c.next(msg((j) => j.id === 7))
      assert.strictEqual(reply.json.error.code, 2)
      assert.strictEqual((yield* sim.connections)[0]?.subscriptions.length, 0)
    }))

  it.live("sends PING frames every pingInterval and keeps a connection that answers them", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({
        ...fast,
        venues: { binance: { pingInterval: 40, pongTimeout: 120, messageLimit: 100 } }
      })
      const c = yield* connect(sim.endpoints.binance)
      const pings = yield* c.nextN(6, (s) => s.kind === "ping")
      assert.isAtLeast(pings[5]!.at - pings[0]!.at, 5 * 40 - 20)
      assert.strictEqual(c.ws.readyState, c.ws.OPEN)
    }))

  it.live("closes with 1008 when a PING stays unanswered for pongTimeout", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { binance: { pingInterval: 50, pongTimeout: 150 } } })
      const c = yield* connect(sim.endpoints.binance, { autoPong: false })
      const ping = yield* c.next((s) => s.kind === "ping")
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1008)
      assert.match(closed.reason, /pong/i)
      assert.isAtLeast(closed.at - ping.at, 150 - 30)
    }))

  it.live("sends serverShutdown before maxLifetime, then closes", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { binance: { maxLifetime: 300, shutdownNotice: 100 } } })
      const c = yield* connect(sim.endpoints.binance)
      const notice = yield* c.next(msg((j) => j.e === "serverShutdown"))
      assert.isNumber(notice.json.E)
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1000)
      assert.isAtLeast(closed.at - notice.at, 100 - 30)
    }))

  it.live("closes with 1008 naming the limit after more than 5 incoming messages in a second", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.binance)
      for (let i = 1; i <= 5; i++) c.send({ method: "LIST_SUBSCRIPTIONS", id: i })
      yield* c.nextN(5, msg((j) => Array.isArray(j.result)))
      assert.strictEqual(c.ws.readyState, c.ws.OPEN)
      c.send({ method: "LIST_SUBSCRIPTIONS", id: 6 })
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1008)
      assert.match(closed.reason, /5/)
    }))

  it.live("on a combined connection serverShutdown is sent in combined form; a raw connection keeps the raw form", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { binance: { maxLifetime: 300, shutdownNotice: 100 } } })
      const combined = yield* connect(`${sim.endpoints.binanceCombined}?streams=btcusdt@trade`)
      const raw = yield* connect(sim.endpoints.binance)
      const notice = yield* combined.next(msg((j) => j.stream === "!serverShutdown"))
      assert.deepStrictEqual(Object.keys(notice.json), ["stream", "data"])
      assert.strictEqual(notice.json.data.e, "serverShutdown")
      assert.isNumber(notice.json.data.E)
      const rawNotice = yield* raw.next(msg((j) => j.e === "serverShutdown"))
      assert.deepStrictEqual(Object.keys(rawNotice.json), ["e", "E"])
      assert.strictEqual((yield* combined.closed).code, 1000)
    }))

  it.live("the notice fault follows the connection's form too (combined on /stream, raw on /ws)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const combined = yield* connect(sim.endpoints.binanceCombined)
      const raw = yield* connect(sim.endpoints.binance)
      yield* sim.fault({ kind: "notice", target: { venue: "binance" } })
      const wrapped = yield* combined.next(msg((j) => j.stream !== undefined || j.e !== undefined))
      assert.strictEqual(wrapped.json.stream, "!serverShutdown")
      assert.strictEqual(wrapped.json.data.e, "serverShutdown")
      const plain = yield* raw.next(msg((j) => j.stream !== undefined || j.e !== undefined))
      assert.strictEqual(plain.json.e, "serverShutdown")
    }))

  it.live("PONGs answering the server's own PINGs count towards the message limit: too many PINGs get the client closed with 1008", () =>
    Effect.gen(function*() {
      // 100 ms pings: the ws client answers about 10 a second, each a PONG frame Binance counts
      const sim = yield* Simulator.make({ ...fast, venues: { binance: { pingInterval: 100 } } })
      const c = yield* connect(sim.endpoints.binance)
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1008)
      assert.match(closed.reason, /5 incoming messages per second/)
      assert.isAtLeast(c.seen.filter((s) => s.kind === "ping").length, 5)
    }))

  it.live("answered PINGs within the limit keep the connection open (4 PONGs a second, nothing else)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { binance: { pingInterval: 250 } } })
      const c = yield* connect(sim.endpoints.binance)
      yield* c.nextN(8, (s) => s.kind === "ping", { timeout: 5000 })
      assert.strictEqual(c.ws.readyState, c.ws.OPEN)
    }))

  it.live("the PONG answering a server PING counts with text messages: after it, 5 requests in the same second close with 1008", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { binance: { pingInterval: 400 } } })
      const c = yield* connect(sim.endpoints.binance)
      yield* c.next((s) => s.kind === "ping")
      // the ws client has answered the PING with a PONG: 1 message; 5 more make 6 in one second
      for (let i = 1; i <= 5; i++) c.send({ method: "LIST_SUBSCRIPTIONS", id: i })
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1008)
      assert.strictEqual(c.messages((s) => Array.isArray(s.json?.result)).length, 4)
    }))
})
