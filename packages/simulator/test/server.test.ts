/**
 * The server as a whole: closing its scope closes every client (1001) and leaves no socket or port open,
 * unknown paths are refused, connection and traffic snapshots, the event stream, the Promise API, and
 * many connections sharing one tick.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope, Stream } from "effect"
import * as Net from "node:net"
import { WebSocket } from "ws"
import { Fault, Simulator, startSimulator } from "../src/index.ts"
import { connect, handshakeStatus, msg } from "./utils/client.ts"

const fast = { rate: 100, tickInterval: 10 } as const

const portRefuses = (port: number) =>
  Effect.callback<boolean>((resume) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(false))
    })
    socket.once("error", () => resume(Effect.succeed(true)))
  })

describe("server", () => {
  it.live("closing the scope closes every client with 1001 and leaves nothing open", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const sim = yield* Simulator.make(fast).pipe(Scope.provide(scope))
      const clients = [
        yield* connect(sim.endpoints.binance),
        yield* connect(sim.endpoints.okx),
        yield* connect(sim.endpoints.kraken)
      ]
      clients[0]!.send({ method: "SUBSCRIBE", params: ["btcusdt@trade"], id: 1 })
      yield* clients[0]!.next(msg((j) => j.e === "trade"))
      yield* sim.fault({ kind: "halfOpen", target: { venue: "okx" } })
      assert.strictEqual(yield* sim.openSockets, 3)
      yield* Scope.close(scope, Exit.void)
      const codes = []
      for (const c of clients) codes.push((yield* c.closed).code)
      assert.deepStrictEqual(codes, [1001, 1006, 1001])
      assert.strictEqual(yield* sim.openSockets, 0)
      assert.isTrue(yield* portRefuses(sim.port))
    }))

  it.live("unknown paths are refused with 404", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const result = yield* handshakeStatus(`ws://127.0.0.1:${sim.port}/nope`)
      assert.strictEqual(result.status, 404)
    }))

  it.live("connections lists venue, path, subscriptions and faults; stats count messages", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(`${sim.endpoints.binanceCombined}?streams=btcusdt@trade`)
      yield* c.nextN(5, msg((j) => j.stream === "btcusdt@trade"))
      yield* sim.fault({ kind: "latency", target: { venue: "binance" }, latency: 1 })
      const [info] = yield* sim.connections
      assert.strictEqual(info?.venue, "binance")
      assert.strictEqual(info?.path, "/binance/stream?streams=btcusdt@trade")
      assert.deepStrictEqual(info?.subscriptions, ["btcusdt@trade"])
      assert.deepStrictEqual(info?.faults.map((f) => f.kind), ["latency"])
      const stats = yield* sim.stats
      assert.isAtLeast(stats.venues.binance.messagesSent, 5)
      assert.strictEqual(stats.venues.okx.messagesSent, 0)
      assert.strictEqual(stats.messagesSent, stats.venues.binance.messagesSent)
    }))

  it.live("events report Connected, Subscribed and a client close", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const events = yield* sim.subscribe
      const c = yield* connect(sim.endpoints.bybit)
      c.send({ op: "subscribe", args: ["publicTrade.BTCUSDT"] })
      yield* c.next(msg((j) => j.op === "subscribe"))
      c.ws.close(4100, "done")
      yield* c.closed
      const seen = yield* events.pipe(Stream.take(3), Stream.runCollect)
      assert.deepStrictEqual(seen.map((e) => e._tag), ["Connected", "Subscribed", "Closed"])
      const closed = seen[2]!
      assert.isTrue(
        closed._tag === "Closed" && closed.by === "client" && closed.code === 4100 && closed.venue === "bybit"
      )
    }))

  it.live("serves many connections from one shared tick", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, rate: 20 })
      const clients = yield* Effect.forEach(Array.from({ length: 200 }), () =>
        connect(`${sim.endpoints.binance}/btcusdt@trade`), {
        concurrency: 50
      })
      yield* Effect.forEach(clients, (c) =>
        c.nextN(
          2,
          msg((j) =>
            j.e === "trade"
          )
        ), { concurrency: "unbounded" })
      assert.strictEqual((yield* sim.connections).length, 200)
    }))

  it("startSimulator: Promise API starts, faults and closes", async () => {
    const sim = await startSimulator({ tickInterval: 10 })
    try {
      assert.match(sim.endpoints.hyperliquid, /^ws:\/\/127\.0\.0\.1:\d+\/hyperliquid\/ws$/)
      const result = await sim.fault({ kind: "refuse", target: { venue: "okx" } })
      assert.strictEqual(result.kind, "refuse")
      const rejected = await sim.fault({ kind: "gap", target: "all", skip: 0 }).then(() => undefined, (e: unknown) => e)
      assert.instanceOf(rejected, Fault.InvalidFault)
    } finally {
      await sim.close()
    }
    await sim.close()
  })

  it("startSimulator: the Promise API pauses, advances, reads the true book and the REST counters", async () => {
    const sim = await startSimulator({ paused: true })
    try {
      assert.match(sim.endpoints.binanceDepth, /^http:\/\/127\.0\.0\.1:\d+\/binance\/api\/v3\/depth$/)
      assert.isUndefined(sim.trueBook("binance", "BTCUSDT"))
      const first = await fetch(`${sim.endpoints.binanceDepth}?symbol=BTCUSDT&limit=5`)
      const body = (await first.json()) as { readonly lastUpdateId: number }
      const ws = new WebSocket(`${sim.endpoints.binance}/btcusdt@depth`)
      let received = 0
      ws.on("message", () => (received += 1))
      await new Promise((done) => ws.once("open", done))
      sim.resume()
      sim.pause()
      await sim.advance(10)
      const truth = sim.trueBook("binance", "BTCUSDT", 5)
      assert.strictEqual(truth?.bids.length, 5)
      assert.isAtLeast(truth!.updateId, body.lastUpdateId + 10)
      assert.strictEqual(sim.restStats().binance.ok, 1)
      while (received < 10) await new Promise((done) => ws.once("message", done))
      ws.terminate()
    } finally {
      await sim.close()
    }
  })
})
