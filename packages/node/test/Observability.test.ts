import { assert, describe, it } from "@effect/vitest"
import { Connection, Heartbeat, MemoryTransport } from "@kharbranth/core"
import { Effect, Layer, Metric } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as Observability from "../src/Observability.ts"

const url = "ws://venue.test/ws"

/** A port free on 127.0.0.1 right now. */
const freePort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = http.createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
)

/** A small OTLP/HTTP JSON receiver on 127.0.0.1: the bodies it got, by path. */
const receiver = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<{ readonly url: string; readonly bodies: Map<string, Array<unknown>>; readonly server: http.Server }>(
      (resolve) => {
        const bodies = new Map<string, Array<unknown>>()
        const server = http.createServer((request, response) => {
          let body = ""
          request.setEncoding("utf8")
          request.on("data", (chunk: string) => body += chunk)
          request.on("end", () => {
            const list = bodies.get(request.url ?? "") ?? []
            list.push(JSON.parse(body))
            bodies.set(request.url ?? "", list)
            response.writeHead(200, { "content-type": "application/json" })
            response.end("{}")
          })
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resolve({ url: `http://127.0.0.1:${port}`, bodies, server })
        })
      }
    )
  ),
  ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
)

/** Opens a connection on the memory transport, reads two frames, restarts it once. */
const traffic = Effect.gen(function*() {
  const server = yield* MemoryTransport.MemoryServer
  const conn = yield* Connection.make("btc", { url, heartbeat: Heartbeat.none })
  const peer = yield* server.accepted
  yield* peer.send("abc", "de")
  yield* Effect.sleep("20 millis")
  yield* conn.restart("test")
  yield* server.accepted
  yield* Effect.sleep("20 millis")
  return conn
})

describe("Observability", () => {
  it.live("layerPrometheus serves every series on /metrics at 127.0.0.1, in the text format", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const body = yield* Effect.gen(function*() {
        yield* traffic
        return yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()))
      }).pipe(
        Effect.scoped,
        Effect.provide(Layer.mergeAll(MemoryTransport.layer(), Observability.layerPrometheus({ port })))
      )
      assert.include(body, "# TYPE kharbranth_connections gauge")
      assert.include(body, 'kharbranth_connections{state="Open"} 1')
      assert.include(body, 'kharbranth_bytes_in_total{connection="btc"} 5')
      assert.include(body, 'kharbranth_reconnects_total{connection="btc"} 1')
      assert.include(body, 'kharbranth_dials_total{connection="btc",outcome="opened",error="none"} 2')
      assert.include(body, 'kharbranth_restarts_total{connection="btc"} 1')
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it.live("layerPrometheusRoutes mounts the route on the program's own router", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const NodeHttpServer = yield* Effect.promise(() => import("@effect/platform-node/NodeHttpServer"))
      const HttpRouter = yield* Effect.promise(() => import("effect/http/HttpRouter"))
      const served = HttpRouter.serve(Observability.layerPrometheusRoutes({ path: "/m" }), {
        disableLogger: true,
        disableListenLog: true
      }).pipe(Layer.provide(NodeHttpServer.layer(() => http.createServer(), { port, host: "127.0.0.1" })))
      const body = yield* Effect.gen(function*() {
        yield* traffic
        return yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/m`).then((r) => r.text()))
      }).pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryTransport.layer(), served)))
      assert.include(body, 'kharbranth_sessions_total{connection="btc"} 2')
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it.live("layerOtlp exports the dial and session spans and the metrics to an OTLP/HTTP receiver", () =>
    Effect.gen(function*() {
      const { bodies, url: collector } = yield* receiver
      yield* Effect.gen(function*() {
        const conn = yield* traffic
        // Past a metrics export: a closed connection's series are gone from the next one.
        yield* Effect.sleep("150 millis")
        yield* conn.close()
      }).pipe(
        Effect.scoped,
        Effect.provide(Layer.mergeAll(
          MemoryTransport.layer(),
          Observability.layerOtlp({
            url: collector,
            serviceName: "kharbranth-test",
            metricsExportInterval: "50 millis",
            tracesExportInterval: "50 millis"
          })
        ))
      )
      const traces = JSON.stringify(bodies.get("/v1/traces") ?? [])
      const metrics = JSON.stringify(bodies.get("/v1/metrics") ?? [])
      assert.include(traces, '"name":"kharbranth.dial"')
      assert.include(traces, '"name":"kharbranth.session"')
      assert.include(traces, "restart: test")
      assert.include(traces, "kharbranth-test")
      assert.include(metrics, "kharbranth_frames_in_total")
      assert.include(metrics, "kharbranth_dials_total")
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))
})
