/**
 * The dial's phases over a real `ws` server on 127.0.0.1: with the metrics
 * on, the `kharbranth.dial` span carries when the name resolved, TCP
 * connected, TLS finished and the upgrade was answered (events and ms
 * attributes); with them off, the transport measures nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import { Connection, Heartbeat, Metrics, Transport } from "@kharbranth/core"
import { Effect, Layer, Metric, Tracer } from "effect"
import * as NodeTransport from "../src/NodeTransport.ts"
import { fixture, wsServer } from "./utils/servers.ts"

const CA = fixture("ca.pem")

/** A tracer that records the spans it makes. */
const recording = () => {
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

describe("dial timings", () => {
  it.live("over wss://localhost: dns, tcp, tls and upgrade on the dial span, in order", () => {
    const { layer, spans } = recording()
    return Effect.gen(function*() {
      const server = yield* wsServer({ tls: true })
      const conn = yield* Connection.make("tls", {
        url: `wss://localhost:${server.port}`,
        heartbeat: Heartbeat.none
      })
      yield* server.accepted
      yield* Effect.sleep("20 millis")
      yield* conn.close()
      const dial = spans.find((s) => s.name === "kharbranth.dial")!
      assert.isDefined(dial)
      const events = (dial as Tracer.NativeSpan).events.map(([name]) => name)
      assert.deepStrictEqual(events, ["dns", "tcp", "tls", "upgrade"])
      for (const phase of ["dns", "tcp", "tls", "upgrade"]) {
        const ms = dial.attributes.get(`kharbranth.dial.${phase}_ms`)
        assert.isTrue(typeof ms === "number" && ms >= 0, `${phase}: ${String(ms)}`)
      }
    }).pipe(
      Effect.provide(NodeTransport.layer({ tls: { ca: CA } })),
      Effect.provide(Layer.mergeAll(Metrics.layer, layer, Layer.succeed(Metric.MetricRegistry, new Map())))
    )
  })

  it.live("with the metrics off, the session has no timings", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const transport = yield* Transport.Transport
      const session = yield* transport.open(Transport.request({ url: server.url, connection: "plain" }))
      assert.isUndefined(session.timings)
      const timed = yield* transport.open(Transport.request({ url: server.url, connection: "timed", timings: true }))
      assert.isDefined(timed.timings?.connect)
      assert.isDefined(timed.timings?.upgrade)
    }).pipe(Effect.scoped, Effect.provide(NodeTransport.layer())))
})
