/**
 * The dashboard's data on `TestClock` (rates per sample, bounded history and
 * timeline, faults and recoveries from events, the program's marks) over
 * `MemoryTransport`, and its HTTP routes on a real server on 127.0.0.1
 * (page, JSON snapshot, event stream; closing the layer ends an open stream).
 */
import { assert, describe, it } from "@effect/vitest"
import { Heartbeat, MemoryTransport, WSManager } from "@kharbranth/core"
import { Effect, Exit, Fiber, Layer, Logger, Scope, Stream } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { TestClock } from "effect/testing"
import * as Dashboard from "../src/Dashboard.ts"
import { Ring } from "../src/internal/dashboard/model.ts"

const config = (name: string) => ({ url: `ws://memory/${name}`, heartbeat: Heartbeat.none })

/** The memory transport, with the library's log lines going nowhere. */
const memory = Layer.merge(MemoryTransport.layer(), Logger.layer([]))

const setup = (options?: Dashboard.Options) =>
  Effect.gen(function*() {
    const server = yield* MemoryTransport.MemoryServer
    const manager = yield* WSManager.make()
    const dashboard = yield* Dashboard.make({ interval: "500 millis", history: "5 seconds", timeline: 4, ...options })
      .pipe(Effect.provideService(WSManager.WSManager, manager))
    return { server, manager, dashboard }
  })

const view = (snapshot: Dashboard.Snapshot, name: string) => {
  const found = snapshot.connections.find((c) => c.name === name)
  assert.isDefined(found, name)
  return found!
}

describe("Dashboard", () => {
  it("Ring keeps the last items in order", () => {
    const ring = new Ring<number>(3)
    for (let i = 1; i <= 5; i++) ring.push(i)
    assert.deepStrictEqual(ring.toArray(), [3, 4, 5])
  })

  it.effect("samples each interval: state, messages per second, reconnects; history bounded", () =>
    Effect.gen(function*() {
      const { dashboard, manager, server } = yield* setup()
      yield* manager.add("btc", config("btc"))
      const conn = yield* server.accepted
      yield* TestClock.adjust("500 millis")
      yield* conn.send(...Array.from({ length: 10 }, (_, i) => `trade ${i}`))
      yield* TestClock.adjust("500 millis")
      const btc = view(yield* dashboard.snapshot, "btc")
      assert.strictEqual(btc.state, "Open")
      assert.strictEqual(btc.rate, 20, "10 frames in 500 ms")
      assert.strictEqual(btc.rtt, null)
      yield* TestClock.adjust("20 seconds")
      const later = yield* dashboard.snapshot
      assert.strictEqual(view(later, "btc").rate, 0)
      assert.strictEqual(view(later, "btc").history.rate.length, 10, "5 s of 500 ms samples")
      assert.strictEqual(later.totals.open, 1)
      assert.strictEqual(later.totals.connections, 1)
    }).pipe(Effect.provide(memory)))

  it.effect("a drop is a fault with the last error; the next session is a recovery", () =>
    Effect.gen(function*() {
      const { dashboard, manager, server } = yield* setup()
      yield* manager.add("btc", config("btc"))
      const conn = yield* server.accepted
      yield* TestClock.adjust("100 millis")
      yield* conn.drop
      yield* TestClock.adjust("5 seconds")
      yield* server.accepted
      yield* TestClock.adjust("500 millis")
      const snapshot = yield* dashboard.snapshot
      const btc = view(snapshot, "btc")
      assert.strictEqual(btc.state, "Open")
      assert.strictEqual(btc.reconnects, 1)
      assert.match(btc.lastError ?? "", /^Closed: .*1006/)
      assert.deepStrictEqual(snapshot.timeline.map((e) => e.kind), ["fault", "recovered"])
      assert.strictEqual(snapshot.totals.reconnects, 1)
    }).pipe(Effect.provide(memory)))

  it.effect("marks from the program and from the marks stream: a gap counts; the timeline keeps the last entries", () =>
    Effect.gen(function*() {
      const { dashboard, manager, server } = yield* setup({
        marks: Stream.make({ connection: "btc", kind: "gap", text: "expected 5, got 9" })
      })
      yield* manager.add("btc", config("btc"))
      yield* server.accepted
      yield* TestClock.adjust("500 millis")
      for (let i = 0; i < 5; i++) yield* dashboard.mark({ connection: "btc", kind: "info", text: `note ${i}` })
      yield* TestClock.adjust("500 millis")
      const snapshot = yield* dashboard.snapshot
      assert.strictEqual(view(snapshot, "btc").gaps, 1)
      assert.strictEqual(view(snapshot, "btc").lastError, "expected 5, got 9")
      assert.strictEqual(snapshot.totals.gaps, 1)
      assert.deepStrictEqual(snapshot.timeline.map((e) => e.text), ["note 1", "note 2", "note 3", "note 4"])
    }).pipe(Effect.provide(memory)))

  it.effect("updates start with the current snapshot and timeline, then follow; they end when the dashboard closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { dashboard, manager, server } = yield* setup().pipe(Scope.provide(scope))
      yield* manager.add("btc", config("btc"))
      yield* server.accepted
      yield* dashboard.mark({ connection: "btc", kind: "info", text: "hello" })
      const fiber = yield* Stream.runCollect(dashboard.updates).pipe(Effect.forkChild)
      yield* TestClock.adjust("1 second")
      yield* Scope.close(scope, Exit.void)
      const updates = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isSuccess(updates))
      const tags = Exit.isSuccess(updates) ? updates.value.map((u) => u._tag) : []
      assert.deepStrictEqual(tags.slice(0, 2), ["Snapshot", "Timeline"])
      assert.isAtLeast(tags.filter((t) => t === "Snapshot").length, 3, "the first, then one per 500 ms")
    }).pipe(Effect.provide(memory)))

  it.live("its routes mount under a prefix beside the program's own routes", () =>
    Effect.gen(function*() {
      const manager = yield* WSManager.make()
      yield* manager.add("btc", config("btc"))
      const { handler, dispose } = HttpRouter.toWebHandler(
        Layer.mergeAll(
          HttpRouter.add("GET", "/health", HttpServerResponse.text("ok")),
          Dashboard.routes({ prefix: "/dashboard", title: "Desk" })
        ).pipe(
          Layer.provide(Dashboard.layerService()),
          Layer.provide(Layer.succeed(WSManager.WSManager, manager))
        ),
        { disableLogger: true }
      )
      const text = (path: string) =>
        Effect.promise(() => handler(new Request(`http://127.0.0.1${path}`)).then((r) => r.text()))
      assert.strictEqual(yield* text("/health"), "ok")
      assert.include(yield* text("/dashboard/"), "<title>Desk</title>")
      assert.include(yield* text("/dashboard"), "<title>Desk</title>", "with or without the trailing slash")
      const snapshot: Dashboard.Snapshot = JSON.parse(yield* text("/dashboard/api/snapshot"))
      assert.deepStrictEqual(snapshot.connections.map((c) => c.name), ["btc"])
      yield* Effect.promise(() => dispose())
    }).pipe(Effect.provide(memory)))

  it.live("serves the page, the JSON snapshot and the event stream on 127.0.0.1; closing ends an open stream", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        Dashboard.layer({ port: 0, title: "Test desk" }).pipe(
          Layer.provideMerge(WSManager.layer()),
          Layer.provide(memory)
        ),
        scope
      )
      const address = (yield* HttpServer.HttpServer.pipe(Effect.provide(context))).address
      const base = `http://127.0.0.1:${"port" in address ? address.port : 0}`
      const manager = yield* WSManager.WSManager.pipe(Effect.provide(context))
      yield* manager.add("btc", config("btc"))

      const html = yield* Effect.promise(() => fetch(`${base}/`).then((r) => r.text()))
      assert.include(html, "<title>Test desk</title>")
      assert.include(html, "new EventSource")
      assert.notInclude(html, "<script src", "self-contained")

      const snapshot = yield* Effect.promise(() =>
        fetch(`${base}/api/snapshot`).then((r) => r.json() as Promise<Dashboard.Snapshot>)
      )
      assert.strictEqual(snapshot.totals.connections, 1)
      assert.strictEqual(snapshot.connections[0]?.name, "btc")

      const events = yield* Effect.promise(() => fetch(`${base}/events`))
      assert.strictEqual(events.headers.get("content-type"), "text/event-stream")
      const reader = events.body!.getReader()
      const first = yield* Effect.promise(() => reader.read())
      assert.match(new TextDecoder().decode(first.value), /^event: snapshot\ndata: \{/)

      const started = performance.now()
      yield* Scope.close(scope, Exit.void)
      assert.isBelow(performance.now() - started, 2000, "an open event stream does not hold the server")
      // The stream ended with the server.
      let done = false
      while (!done) done = (yield* Effect.promise(() => reader.read().catch(() => ({ done: true })))).done
    }).pipe(Effect.provide(Logger.layer([]))))
})
