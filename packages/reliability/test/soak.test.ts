/**
 * Soak: thousands of reconnects on one connection, and a hundred cycles of
 * adding and removing a hundred connections. Afterwards the heap (measured
 * after a full collection), the process's open handles and the live fibers
 * are back at their starting level: nothing accumulates per session or per
 * connection.
 */
import { assert, describe, it } from "@effect/vitest"
import { Heartbeat, WSManager } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Effect, Logger, Metric, Schedule, Stream } from "effect"
import { eventually } from "./utils/peers.ts"
import { serveScoped } from "./utils/servers.ts"

/** The library's log lines run and go nowhere: thousands of sessions would fill the test output with them. */
const quiet = Logger.layer([])

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

/** Counts live fibers through the runtime's fiber metrics hook. */
const fiberCounter = () => {
  let live = 0
  const service: Metric.FiberRuntimeMetricsService = {
    recordFiberStart: () => {
      live++
    },
    recordFiberEnd: () => {
      live--
    }
  }
  return { service, live: () => live }
}

const snapshot = (fibers: () => number) => {
  gc()
  gc()
  return {
    heap: process.memoryUsage().heapUsed,
    handles: process.getActiveResourcesInfo().filter((r) => r !== "Timeout" && r !== "Immediate").length,
    fibers: fibers()
  }
}

const report = (what: string, before: ReturnType<typeof snapshot>, after: ReturnType<typeof snapshot>) =>
  console.log(
    `${what}: heap ${(before.heap / 1048576).toFixed(1)} → ${(after.heap / 1048576).toFixed(1)} MiB, ` +
      `handles ${before.handles} → ${after.handles}, fibers ${before.fibers} → ${after.fibers}`
  )

describe("soak", () => {
  it.live("10,000 reconnect cycles on one connection: heap, handles and fibers return to their level", () => {
    const counter = fiberCounter()
    return Effect.gen(function*() {
      const server = yield* serveScoped(0, (ws) => {
        ws.send("hi")
        ws.close(1000, "next")
      })
      const manager = yield* WSManager.make({ maxConcurrentDials: 1, dialsPerSecond: 100_000 })
      const conn = yield* manager.add("cycling", {
        url: `ws://127.0.0.1:${server.port}`,
        heartbeat: Heartbeat.protocol({ interval: "10 seconds", timeout: "5 seconds" }),
        reconnect: Schedule.forever
      })
      let frames = 0
      yield* Effect.forkScoped(Stream.runForEach(conn.frames, () => Effect.sync(() => void frames++)))
      const sessions = () => Effect.runSync(conn.stats).sessions
      yield* eventually("warm-up", () => sessions() >= 200, 20_000)
      const before = snapshot(counter.live)
      const start = sessions()
      yield* eventually("10,000 more sessions", () => sessions() >= start + 10_000, 50_000)
      const after = snapshot(counter.live)
      report("10,000 reconnects", before, after)
      assert.isAbove(frames, 10_000)
      assert.isAtMost(after.heap, before.heap * 1.1)
      assert.isAtMost(after.handles, before.handles + 2, "a socket of the session in flight at most")
      assert.isAtMost(after.fibers, Math.ceil(before.fibers * 1.1) + 2)
    }).pipe(
      Effect.provide(NodeTransport.layer()),
      Effect.provide(quiet),
      Effect.provideService(Metric.FiberRuntimeMetrics, counter.service)
    )
  }, 90_000)

  it.live("100 add/remove cycles of 100 connections: heap, handles and fibers return to their level", () => {
    const counter = fiberCounter()
    return Effect.gen(function*() {
      const server = yield* serveScoped(0, (ws) => ws.send("hi"))
      const manager = yield* WSManager.make({ maxConcurrentDials: 32, dialsPerSecond: 100_000 })
      const cycle = (k: number) =>
        Effect.gen(function*() {
          const names = Array.from({ length: 100 }, (_, i) => `k${k}-${i}`)
          const conns = yield* Effect.forEach(names, (name) =>
            manager.add(name, {
              url: `ws://127.0.0.1:${server.port}/${name}`,
              heartbeat: Heartbeat.protocol({ interval: "10 seconds", timeout: "5 seconds" })
            }))
          yield* eventually(`cycle ${k} open`, () => conns.every((c) => c.state.value._tag === "Open"), 20_000)
          yield* Effect.forEach(names, (name) => manager.remove(name), { concurrency: 100, discard: true })
        })
      yield* cycle(0)
      yield* eventually("server drained", () => server.wss.clients.size === 0, 5000)
      const before = snapshot(counter.live)
      for (let k = 1; k <= 100; k++) yield* cycle(k)
      yield* eventually("server drained", () => server.wss.clients.size === 0, 5000)
      const after = snapshot(counter.live)
      report("100 × 100 add/remove", before, after)
      assert.deepStrictEqual(yield* manager.names, [])
      assert.isAtMost(after.heap, before.heap * 1.1)
      assert.isAtMost(after.handles, before.handles)
      assert.isAtMost(after.fibers, before.fibers)
    }).pipe(
      Effect.provide(NodeTransport.layer()),
      Effect.provide(quiet),
      Effect.provideService(Metric.FiberRuntimeMetrics, counter.service)
    )
  }, 120_000)
})
