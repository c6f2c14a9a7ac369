import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Metric, Option, Scope, Stream, Tracer } from "effect"
import * as Connection from "../src/Connection.ts"
import * as Heartbeat from "../src/Heartbeat.ts"
import { DialOutcome, MemoryServer } from "../src/MemoryTransport.ts"
import * as MemoryTransport from "../src/MemoryTransport.ts"
import * as Metrics from "../src/Metrics.ts"
import * as ReconnectPolicy from "../src/ReconnectPolicy.ts"
import * as WSManager from "../src/WSManager.ts"
import { advance, settle } from "./utils/harness.ts"

const url = "ws://venue.test/ws"

/** A registry of the test's own, with the metrics on (or off). */
const registryLayer = (registry: Metric.MetricRegistry, on = true) =>
  Layer.mergeAll(Layer.succeed(Metric.MetricRegistry, registry), Layer.succeed(Metrics.enabled, on))

/** The value of one series: a counter's count, a gauge's value, a histogram's count. */
const valueOf = (
  registry: Metric.MetricRegistry,
  id: string,
  attributes: Record<string, string>
): number | undefined => {
  const found = Metric.snapshotUnsafe(Context.make(Metric.MetricRegistry, registry)).find((s) =>
    s.id === id && Object.entries(attributes).every(([k, v]) => s.attributes?.[k] === v) &&
    Object.keys(s.attributes ?? {}).length === Object.keys(attributes).length
  )
  if (found === undefined) return undefined
  const state = found.state as { readonly count?: number; readonly value?: number }
  return state.count ?? state.value
}

const ids = (registry: Metric.MetricRegistry): ReadonlyArray<string> =>
  Metric.snapshotUnsafe(Context.make(Metric.MetricRegistry, registry)).map((s) => s.id)

/** A tracer that records the spans it makes. */
const recordingTracer = () => {
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, layer: Layer.succeed(Tracer.Tracer, tracer) }
}

describe("Metrics", () => {
  it.effect("off by default: a connection registers and updates nothing", () => {
    const registry: Metric.MetricRegistry = new Map()
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      const conn = yield* Connection.make("btc", { url, heartbeat: Heartbeat.none })
      const peer = yield* server.accepted
      yield* peer.send("a", "b")
      yield* conn.send("x")
      yield* settle
      yield* peer.drop
      yield* advance(1000)
      assert.deepStrictEqual(ids(registry), [])
    }).pipe(Effect.provide(MemoryTransport.layer()), Effect.provideService(Metric.MetricRegistry, registry))
  })

  it.effect("the connection's counters are series read at export, labelled by connection, gone after its scope closes", () => {
    const registry: Metric.MetricRegistry = new Map()
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      const scope = yield* Scope.make()
      const conn = yield* Connection.make("btc", { url, heartbeat: Heartbeat.none }).pipe(Scope.provide(scope))
      const peer = yield* server.accepted
      yield* settle
      yield* peer.send("abc", "de")
      yield* conn.send("hello")
      yield* settle
      yield* advance(2500)
      const btc = { connection: "btc" }
      assert.strictEqual(valueOf(registry, "kharbranth_frames_in_total", btc), 2)
      assert.strictEqual(valueOf(registry, "kharbranth_bytes_in_total", btc), 5)
      assert.strictEqual(valueOf(registry, "kharbranth_frames_out_total", btc), 1)
      assert.strictEqual(valueOf(registry, "kharbranth_bytes_out_total", btc), 5)
      assert.strictEqual(valueOf(registry, "kharbranth_sessions_total", btc), 1)
      assert.strictEqual(valueOf(registry, "kharbranth_reconnects_total", btc), 0)
      assert.strictEqual(valueOf(registry, "kharbranth_session_uptime_seconds", btc), 2.5)
      assert.strictEqual(valueOf(registry, "kharbranth_connections", { state: "Open" }), 1)
      assert.strictEqual(valueOf(registry, "kharbranth_connections", { state: "Reconnecting" }), 0)
      // A `suspend` buffer never drops: no series for it.
      assert.strictEqual(valueOf(registry, "kharbranth_frames_dropped_total", btc), undefined)
      // A later read sees the counters as they are then: nothing was copied per frame.
      yield* peer.send("f")
      yield* settle
      assert.strictEqual(valueOf(registry, "kharbranth_frames_in_total", btc), 3)
      yield* peer.drop
      yield* settle
      assert.strictEqual(valueOf(registry, "kharbranth_connections", { state: "Open" }), 0)
      assert.strictEqual(valueOf(registry, "kharbranth_connections", { state: "Reconnecting" }), 1)
      assert.strictEqual(valueOf(registry, "kharbranth_session_uptime_seconds", btc), 0)
      assert.strictEqual(valueOf(registry, "kharbranth_disconnects_total", { ...btc, error: "Closed" }), 1)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(ids(registry), [])
    }).pipe(Effect.provide(MemoryTransport.layer()), Effect.provide(registryLayer(registry)))
  })

  it.effect("frames dropped by a sliding buffer, read at export", () => {
    const registry: Metric.MetricRegistry = new Map()
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      const conn = yield* Connection.make("doge", {
        url,
        heartbeat: Heartbeat.none,
        inbound: { capacity: 8, strategy: "sliding" }
      })
      // A slow subscriber: a frame each 5 ms, while 30 arrive at once.
      yield* Effect.forkScoped(Stream.runDrain(conn.frames.pipe(Stream.tap(() => Effect.sleep("5 millis")))))
      yield* settle
      const peer = yield* server.accepted
      yield* peer.send(...Array.from({ length: 30 }, (_, i) => String(i)))
      yield* settle
      yield* advance(200, 50)
      const dropped = (yield* conn.stats).dropped
      assert.isAbove(dropped, 0)
      assert.strictEqual(valueOf(registry, "kharbranth_frames_dropped_total", { connection: "doge" }), dropped)
    }).pipe(Effect.provide(MemoryTransport.layer()), Effect.provide(registryLayer(registry)))
  })

  it.effect("dials by outcome and error tag, and reconnects", () => {
    const registry: Metric.MetricRegistry = new Map()
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* server.script(DialOutcome.fail("ECONNREFUSED"), DialOutcome.refuse(503))
      yield* Connection.make("eth", {
        url,
        heartbeat: Heartbeat.none,
        reconnect: ReconnectPolicy.exponential({ base: "100 millis", jitter: false })
      })
      yield* advance(1000, 50)
      const peer = yield* server.accepted
      yield* peer.drop
      yield* advance(1000, 50)
      yield* server.accepted
      const eth = { connection: "eth" }
      assert.strictEqual(
        valueOf(registry, "kharbranth_dials_total", { ...eth, outcome: "failed", error: "ConnectFailed" }),
        2
      )
      assert.strictEqual(valueOf(registry, "kharbranth_dials_total", { ...eth, outcome: "opened", error: "none" }), 2)
      assert.strictEqual(valueOf(registry, "kharbranth_reconnects_total", eth), 1)
      assert.strictEqual(valueOf(registry, "kharbranth_sessions_total", eth), 2)
    }).pipe(Effect.provide(MemoryTransport.layer()), Effect.provide(registryLayer(registry)))
  })

  it.effect("a round trip per pong in the RTT histogram, the last RTT as a gauge, and missed heartbeats", () => {
    const registry: Metric.MetricRegistry = new Map()
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* Connection.make("sol", {
        url,
        heartbeat: Heartbeat.protocol({ interval: "1 second", timeout: "500 millis" })
      })
      const peer = yield* server.accepted
      yield* advance(3000, 100)
      const sol = { connection: "sol" }
      assert.strictEqual(valueOf(registry, "kharbranth_heartbeat_rtt_seconds", sol), 3)
      assert.strictEqual(valueOf(registry, "kharbranth_heartbeat_rtt_last_seconds", sol), 0)
      yield* peer.setAutoPong(false)
      yield* advance(1600, 100)
      assert.strictEqual(valueOf(registry, "kharbranth_heartbeat_misses_total", sol), 1)
      assert.strictEqual(valueOf(registry, "kharbranth_disconnects_total", { ...sol, error: "HeartbeatTimeout" }), 1)
    }).pipe(Effect.provide(MemoryTransport.layer()), Effect.provide(registryLayer(registry)))
  })

  it.effect("failed sends, failed hooks and restarts", () => {
    const registry: Metric.MetricRegistry = new Map()
    const sends: Array<Connection.OpenContext["send"]> = []
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      const conn = yield* Connection.make("xrp", { url, heartbeat: Heartbeat.none }, {
        onOpen: (ctx) => Effect.sync(() => sends.push(ctx.send)),
        onText: () => {
          throw new Error("bad frame")
        }
      })
      const peer = yield* server.accepted
      yield* settle
      yield* peer.send("a")
      yield* settle
      yield* conn.restart("test")
      yield* server.accepted
      yield* settle
      const xrp = { connection: "xrp" }
      assert.strictEqual(valueOf(registry, "kharbranth_hook_failures_total", xrp), 1)
      assert.strictEqual(valueOf(registry, "kharbranth_restarts_total", xrp), 1)
      // The first session's send, after that session ended.
      yield* Effect.flip(sends[0]!("late"))
      assert.strictEqual(valueOf(registry, "kharbranth_send_failures_total", xrp), 1)
    }).pipe(Effect.provide(MemoryTransport.layer()), Effect.provide(registryLayer(registry)))
  })

  it.effect("a manager's governor: the dials waiting for a slot, and how long they waited", () => {
    const registry: Metric.MetricRegistry = new Map()
    return Effect.gen(function*() {
      const manager = yield* WSManager.make({ maxConcurrentDials: 1 })
      yield* manager.add("a", { url, heartbeat: Heartbeat.none })
      yield* manager.add("b", { url, heartbeat: Heartbeat.none })
      yield* manager.add("c", { url, heartbeat: Heartbeat.none })
      yield* settle
      assert.strictEqual(valueOf(registry, "kharbranth_governor_queue_length", {}), 2)
      assert.strictEqual(valueOf(registry, "kharbranth_connections", { state: "Queued" }), 2)
      yield* advance(1000, 100)
      assert.strictEqual(valueOf(registry, "kharbranth_governor_queue_length", {}), 0)
      assert.strictEqual(valueOf(registry, "kharbranth_connections", { state: "Open" }), 3)
      assert.strictEqual(valueOf(registry, "kharbranth_governor_wait_seconds", {}), 2)
      yield* manager.remove("a")
      assert.strictEqual(valueOf(registry, "kharbranth_frames_in_total", { connection: "a" }), undefined)
      assert.strictEqual(valueOf(registry, "kharbranth_frames_in_total", { connection: "b" }), 0)
      assert.strictEqual(valueOf(registry, "kharbranth_connections", { state: "Open" }), 2)
    }).pipe(
      Effect.provide(MemoryTransport.layer({ dialLatency: "200 millis" })),
      Effect.provide(registryLayer(registry))
    )
  })

  it.effect("spans: one root per dial and one per session, with the session's end reason, linked to its dial", () => {
    const registry: Metric.MetricRegistry = new Map()
    const { layer, spans } = recordingTracer()
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* server.script(DialOutcome.fail("ECONNREFUSED"))
      const conn = yield* Effect.withSpan(
        Connection.make("ada", {
          url,
          heartbeat: Heartbeat.none,
          reconnect: ReconnectPolicy.exponential({ base: "100 millis", jitter: false })
        }),
        "user.span"
      )
      yield* advance(500, 50)
      yield* server.accepted
      yield* settle
      yield* conn.restart("stale")
      yield* server.accepted
      yield* settle
      yield* conn.close()
      const mine = spans.filter((s) => s.name.startsWith("kharbranth."))
      assert.deepStrictEqual(
        mine.map((s) => [s.name, s.attributes.get("kharbranth.outcome") ?? s.attributes.get("kharbranth.end_reason")]),
        [
          ["kharbranth.dial", "failed"],
          ["kharbranth.dial", "opened"],
          ["kharbranth.session", "restart: stale"],
          ["kharbranth.dial", "opened"],
          ["kharbranth.session", "closed: closed by the caller"]
        ]
      )
      for (const span of mine) {
        assert.isTrue(Option.isNone(span.parent))
        assert.strictEqual(span.status._tag, "Ended")
      }
      assert.strictEqual(mine[2]!.links[0]!.span, mine[1])
      assert.strictEqual(mine[0]!.attributes.get("url.full"), url)
    }).pipe(Effect.provide(MemoryTransport.layer()), Effect.provide(registryLayer(registry)), Effect.provide(layer))
  })
})
