/**
 * Load: a consumer slower than the feed under each inbound strategy, a
 * thousand connections whose server dies and comes back, and a graceful
 * shutdown of a thousand busy connections. Memory stays bounded, nothing is
 * dropped unless a strategy says so (and then it is counted), the dial
 * governor's limits hold, and no socket or handle is left behind.
 */
import { assert, describe, it } from "@effect/vitest"
import { Connection, Heartbeat, Transport, WSManager } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Clock, Effect, Exit, Fiber, Layer, Logger, Scope, Stream } from "effect"
import { execFile } from "node:child_process"
import { eventually } from "./utils/peers.ts"
import { flood, serve, serveScoped } from "./utils/servers.ts"

/** The library's log lines run and go nowhere: thousands of sessions would fill the test output with them. */
const quiet = Logger.layer([])

const MiB = 1024 * 1024

const collect = (globalThis as { gc?: () => void }).gc ?? (() => {})

/** Samples the heap retained after a full collection every 100 ms while `effect` runs: the peak growth over the start. */
const peakHeap = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    collect()
    const start = process.memoryUsage().heapUsed
    let peak = start
    const sampler = yield* Effect.forkChild(Effect.forever(Effect.andThen(
      Effect.sleep("100 millis"),
      Effect.sync(() => {
        collect()
        peak = Math.max(peak, process.memoryUsage().heapUsed)
      })
    )))
    const result = yield* effect
    yield* Fiber.interrupt(sampler)
    return { result, growth: peak - start }
  })

describe("slow consumer", () => {
  const total = 150_000
  const size = 400 // 60 MB of payload: far more than the pipeline may hold

  it.live("suspend: backpressure reaches the socket, memory stays bounded, every frame arrives in order", () =>
    Effect.gen(function*() {
      const server = yield* serveScoped(0, (ws) => flood(ws, total, size))
      const conn = yield* Connection.make("slow", {
        url: `ws://127.0.0.1:${server.port}`,
        heartbeat: Heartbeat.none,
        inbound: { capacity: 1024 }
      })
      let received = 0
      let ordered = true
      const { growth } = yield* peakHeap(conn.frames.pipe(
        Stream.filter((f) => f._tag === "Text"),
        Stream.tap(() => (received % 200 === 0 ? Effect.sleep("1 millis") : Effect.void)),
        Stream.runForEach((f) =>
          Effect.sync(() => {
            if (f._tag === "Text" && !f.data.startsWith(`{"e":"trade","t":${received},`)) ordered = false
            received++
          })
        ),
        Effect.raceFirst(eventually("all frames", () => received === total, 50_000))
      ))
      assert.strictEqual(received, total)
      assert.isTrue(ordered)
      assert.strictEqual((yield* conn.stats).dropped, 0)
      console.log(
        `suspend: ${(total * size / MiB).toFixed(0)} MiB sent, heap grew at most ${(growth / MiB).toFixed(1)} MiB`
      )
      assert.isBelow(growth, 16 * MiB)
    }).pipe(Effect.provide(NodeTransport.layer())))

  for (const strategy of ["sliding", "dropping"] as const) {
    it.live(`${strategy}: memory stays bounded and delivered + dropped = sent`, () =>
      Effect.gen(function*() {
        const server = yield* serveScoped(0, (ws) => flood(ws, total, size))
        const conn = yield* Connection.make("slow", {
          url: `ws://127.0.0.1:${server.port}`,
          heartbeat: Heartbeat.none,
          inbound: { capacity: 1024, strategy }
        })
        let delivered = 0
        yield* Effect.forkScoped(conn.frames.pipe(
          Stream.filter((f) => f._tag === "Text"),
          Stream.tap(() => (delivered % 50 === 0 ? Effect.sleep("1 millis") : Effect.void)),
          Stream.runForEach(() => Effect.sync(() => void delivered++))
        ))
        const { growth } = yield* peakHeap(
          eventually("every frame delivered or dropped", () => {
            const stats = conn.stats.pipe(Effect.runSync)
            return stats.framesIn >= total && delivered + stats.dropped === total
          }, 50_000)
        )
        const stats = yield* conn.stats
        assert.isAbove(stats.dropped, 0, "the consumer was too slow to keep everything")
        assert.strictEqual(delivered + stats.dropped, total)
        console.log(
          `${strategy}: delivered ${delivered}, dropped ${stats.dropped}, heap grew at most ${
            (growth / MiB).toFixed(1)
          } MiB`
        )
        assert.isBelow(growth, 16 * MiB)
      }).pipe(Effect.provide(NodeTransport.layer())))
  }
})

/** The NodeTransport, recording the time of every real dial (after the governor let it through). */
const recording = (dials: Array<number>) =>
  Layer.effect(
    Transport.Transport,
    Effect.map(Transport.Transport, (inner) =>
      Transport.Transport.of({
        // The governor counts on the Clock: record on the same one.
        open: (request) =>
          Effect.andThen(Effect.map(Clock.currentTimeMillis, (t) => void dials.push(t)), inner.open(request))
      }))
  ).pipe(Layer.provide(NodeTransport.layer()))

describe("reconnect storm", () => {
  it.live(
    "1,000 connections, server killed and back after 1 s: all reopen within 10 s, governor limits hold, peak ≤ 200 dials per 100 ms",
    () =>
      Effect.gen(function*() {
        const total = 1000
        const limits = { maxConcurrentDials: 64, dialsPerSecond: 400 }
        const dials: Array<number> = []
        let server = yield* serve(0, (ws) => ws.send("hello"))
        const port = server.port
        const scope = yield* Scope.make()
        const manager = yield* WSManager.make(limits).pipe(Scope.provide(scope), Effect.provide(recording(dials)))
        const hellos: Array<number> = []
        yield* Effect.forkScoped(Stream.runForEach(manager.frames, ({ frame }) =>
          Effect.sync(() => {
            if (frame._tag === "Text") hellos[frame.session] = (hellos[frame.session] ?? 0) + 1
          })))
        for (let i = 0; i < total; i++) {
          yield* manager.add(`c${i}`, { url: `ws://127.0.0.1:${port}/c${i}`, heartbeat: Heartbeat.none })
        }
        yield* eventually("all open", () => hellos[1] === total, 30_000)

        const firstWave = dials.length
        yield* server.stop
        yield* Effect.sleep("1 second")
        server = yield* serve(port, (ws) => ws.send("hello"))
        const backAt = performance.now()
        yield* eventually("all reopened", () => hellos[2] === total, 10_000)
        const reopenedIn = performance.now() - backAt
        const storm = dials.slice(firstWave)
        const buckets = new Map<number, number>()
        for (const t of storm) buckets.set(Math.floor(t / 100), (buckets.get(Math.floor(t / 100)) ?? 0) + 1)
        const peak = Math.max(...buckets.values())
        console.log(
          `storm: ${storm.length} dials, peak ${peak} per 100 ms, all reopened ${
            Math.round(reopenedIn)
          } ms after the server came back`
        )
        assert.isAtMost(peak, 200)
        assert.isBelow(reopenedIn, 10_000)
        for (let i = limits.dialsPerSecond; i < storm.length; i++) {
          // The governor admits on its own Clock read; this one is taken after it on the same
          // fiber, and the runtime may yield in between (8 ms seen on a busy 2-core machine). The
          // exact window, to the millisecond, is proven on TestClock in core's WSManager test;
          // here a sustained rate more than about 5% over the limit fails.
          assert.isAtLeast(storm[i]! - storm[i - limits.dialsPerSecond]!, 950, "dials per second per host")
        }
        yield* Scope.close(scope, Exit.void)
        yield* server.stop
      }).pipe(Effect.provide(NodeTransport.layer()), Effect.provide(quiet)),
    90_000
  )
})

describe("graceful shutdown under load", () => {
  it.live(
    "closing the manager with 1,000 busy connections closes every socket with 1000 within closeTimeout, leaving no handle",
    () =>
      Effect.gen(function*() {
        const total = 1000
        const handlesBefore = process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length
        const server = yield* serve(0, (ws) => {
          const timer = setInterval(() => ws.readyState === ws.OPEN && ws.send(`{"e":"trade","t":${Date.now()}}`), 20)
          ws.on("close", () => clearInterval(timer))
        })
        const scope = yield* Scope.make()
        const manager = yield* WSManager.make({ maxConcurrentDials: 64, dialsPerSecond: 5000 }).pipe(
          Scope.provide(scope)
        )
        let frames = 0
        yield* Effect.forkScoped(Stream.runForEach(manager.frames, () => Effect.sync(() => void frames++)))
        for (let i = 0; i < total; i++) {
          yield* manager.add(`c${i}`, {
            url: `ws://127.0.0.1:${server.port}/c${i}`,
            heartbeat: Heartbeat.none,
            closeTimeout: "2 seconds"
          })
        }
        yield* eventually("all open and busy", () => server.wss.clients.size === total && frames > total * 3, 30_000)
        // Some clients may still be reading the handshake reply: close() lets those finish and close them with 1000 too.
        const reconnects = (yield* manager.stats).totals.reconnects
        // Only the closes of this shutdown count (a dial that failed while 1,000 opened at once may have left one).
        server.closes.length = 0
        const started = performance.now()
        yield* Scope.close(scope, Exit.void)
        const took = performance.now() - started
        yield* eventually("server saw every close", () => server.closes.length === total, 5000)
        console.log(`closed 1,000 busy connections in ${Math.round(took)} ms (${reconnects} reconnects while opening)`)
        assert.isBelow(took, 2000, "within closeTimeout")
        const codes = new Map<number, number>()
        for (const c of server.closes) codes.set(c, (codes.get(c) ?? 0) + 1)
        assert.deepStrictEqual(Array.from(codes), [[1000, total]])
        yield* server.stop
        yield* eventually(
          "no socket handle left",
          () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length <= handlesBefore,
          5000
        )
      }).pipe(Effect.provide(NodeTransport.layer()), Effect.provide(quiet)),
    90_000
  )
})

describe("graceful shutdown in a process of its own", () => {
  it.live(
    "after closing the manager of 1,000 busy connections the process exits by itself: no handle left",
    () =>
      Effect.gen(function*() {
        const started = performance.now()
        const { code, stdout } = yield* Effect.promise(() =>
          new Promise<{ readonly code: number | null; readonly stdout: string }>((resolve) => {
            execFile(
              process.execPath,
              [new URL("./fixtures/busy-shutdown.ts", import.meta.url).pathname],
              { timeout: 45_000 },
              (error, stdout) => resolve({ code: error === null ? 0 : (error.code as number | null) ?? null, stdout })
            )
          })
        )
        console.log(`${stdout.trim()}; process exited ${Math.round(performance.now() - started)} ms after start`)
        assert.strictEqual(code, 0, "exited by itself, before the 45 s kill")
        assert.match(stdout, /^closed 1000 with 1000 in \d+ ms$/m)
        const took = Number(/in (\d+) ms/.exec(stdout)?.[1])
        assert.isBelow(took, 2000, "within closeTimeout")
      }),
    60_000
  )
})
