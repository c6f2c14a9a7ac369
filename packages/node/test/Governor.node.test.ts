import { assert, describe, it } from "@effect/vitest"
import { Transport, WSManager } from "@kharbranth/core"
import { busiestWindow } from "@kharbranth/test-utils/clock"
import * as Servers from "@kharbranth/test-utils/servers"
import { Duration, Effect, Layer } from "effect"
import * as http from "node:http"
import { WebSocketServer } from "ws"
import * as NodeTransport from "../src/NodeTransport.ts"

/**
 * A `ws` server on 127.0.0.1 that records when each upgrade request arrives
 * (`performance.now()`, before `ws` handles it) and keeps every connection open.
 */
const arrivalsServer = Effect.gen(function*() {
  const arrivals: Array<number> = []
  const server = http.createServer()
  server.prependListener("upgrade", () => void arrivals.push(performance.now()))
  const wss = new WebSocketServer({ server })
  wss.on("connection", (ws) => ws.on("error", () => {}))
  const port = yield* Servers.listen(server, () => {
    for (const client of wss.clients) client.terminate()
    wss.close()
  })
  return { port, arrivals }
})

/** NodeTransport, with `latency` of transit added before each of the first `count` dials leaves. */
const slowFirstDials = (count: number, latency: Duration.Input) =>
  Layer.effect(
    Transport.Transport,
    Effect.gen(function*() {
      const inner = yield* Transport.Transport
      let dials = 0
      return Transport.Transport.of({
        open: (request) =>
          Effect.suspend(() =>
            dials++ < count ? Effect.andThen(Effect.sleep(latency), inner.open(request)) : inner.open(request)
          )
      })
    })
  ).pipe(Layer.provide(NodeTransport.layer()))

describe("dial governor, measured at a real server", () => {
  it.live(
    "9 connections at 3 dials/s, the first 3 slowed 50 ms in transit: no second at the server holds more than 3 upgrades",
    () =>
      Effect.gen(function*() {
        const server = yield* arrivalsServer
        const manager = yield* WSManager.make({ maxConcurrentDials: 9, dialsPerSecond: 3 })
        for (let i = 0; i < 9; i++) yield* manager.add(`c${i}`, { url: `ws://127.0.0.1:${server.port}/c${i}` })
        // Three bursts, 1.1 s apart: all nine arrive in about 2.3 s; a hang is a clear failure.
        const deadline = performance.now() + 10_000
        while (server.arrivals.length < 9) {
          if (performance.now() > deadline) {
            return yield* Effect.die(new Error(`only ${server.arrivals.length} of 9 upgrades arrived`))
          }
          yield* Effect.sleep("20 millis")
        }
        const first = server.arrivals[0]!
        const busiest = busiestWindow(server.arrivals, 1000)
        console.log(
          `upgrade arrivals at the server (ms after the first): ${
            server.arrivals.map((t) => Math.round(t - first)).join(", ")
          }; ` +
            `most in any one-second window: ${busiest}`
        )
        assert.strictEqual(server.arrivals.length, 9)
        assert.isAtMost(busiest, 3)
      }).pipe(Effect.provide(slowFirstDials(3, "50 millis"))),
    20_000
  )
})
