/**
 * The README's "A connection" example, kept here so `pnpm typecheck` proves
 * it compiles. It dials a real exchange, so nothing runs it in tests; the
 * quick start (`main.ts`) is the runnable one.
 */
import { Connection, Heartbeat, ReconnectPolicy } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Effect, Stream } from "effect"

const program = Effect.gen(function*() {
  const conn = yield* Connection.make("okx-trades", {
    url: "wss://ws.okx.com:8443/ws/v5/public",
    heartbeat: Heartbeat.message({
      interval: "20 seconds",
      timeout: "5 seconds",
      message: "ping",
      isPong: (text) => text === "pong"
    }),
    reconnect: ReconnectPolicy.exponential({ base: "250 millis", max: "10 seconds", maxAttempts: 20 }),
    idleTimeout: "60 seconds"
  }, {
    onOpen: ({ send }) => send(JSON.stringify({ op: "subscribe", args: [{ channel: "trades", instId: "BTC-USDT" }] }))
  })

  yield* conn.frames.pipe(
    Stream.filter((frame) => frame._tag === "Text"),
    Stream.runForEach((frame) => Effect.log(`session ${frame.session}: ${frame.data}`))
  )
}).pipe(Effect.scoped, Effect.provide(NodeTransport.layer()))
void program
