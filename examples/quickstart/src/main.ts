/**
 * Quick start: a local exchange-like trade feed on 127.0.0.1, and a
 * Kharbranth connection to it that subscribes in `onOpen`, decodes trades
 * with Schema, survives the server dropping it once, and closes cleanly.
 *
 *   pnpm quickstart
 */
import { NodeRuntime } from "@effect/platform-node"
import { Connection, Heartbeat, ReconnectPolicy } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Console, Effect, Option, Schema, Stream } from "effect"
import type { AddressInfo } from "node:net"
import { WebSocketServer } from "ws"

const Trade = Schema.Struct({
  e: Schema.Literal("trade"),
  s: Schema.String,
  t: Schema.Number,
  p: Schema.String,
  q: Schema.String
})
const decodeTrade = Schema.decodeUnknownEffect(Schema.fromJsonString(Trade))

/** A tiny Binance-like feed: SUBSCRIBE gets an ack, then a trade every 20 ms; the first session is dropped after 10 trades. */
const localFeed = Effect.acquireRelease(
  Effect.callback<WebSocketServer>((resume) => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 })
    let sessions = 0
    let tradeId = 1
    wss.on("connection", (ws) => {
      const session = ++sessions
      let sent = 0
      let timer: NodeJS.Timeout | undefined
      ws.on("message", (data) => {
        const request = JSON.parse(String(data)) as { method: string; id: number }
        if (request.method !== "SUBSCRIBE") return
        ws.send(JSON.stringify({ result: null, id: request.id }))
        timer = setInterval(() => {
          const price = (97_000 + Math.random() * 100).toFixed(2)
          ws.send(JSON.stringify({ e: "trade", s: "BTCUSDT", t: tradeId++, p: price, q: "0.010" }))
          if (session === 1 && ++sent === 10) ws.terminate() // the network fails once
        }, 20)
      })
      ws.on("close", () => clearInterval(timer))
    })
    wss.on("listening", () => resume(Effect.succeed(wss)))
  }),
  (wss) => Effect.callback<void>((resume) => wss.close(() => resume(Effect.void)))
)

const program = Effect.gen(function*() {
  const feed = yield* localFeed
  const url = `ws://127.0.0.1:${(feed.address() as AddressInfo).port}/ws`
  yield* Console.log(`local feed listening on ${url}`)

  const conn = yield* Connection.make("btcusdt", {
    url,
    heartbeat: Heartbeat.protocol({ interval: "1 second", timeout: "500 millis" }),
    reconnect: ReconnectPolicy.exponential({ base: "200 millis", max: "5 seconds" })
  }, {
    // Runs after every (re)connect, before frames flow: resubscribe here.
    onOpen: ({ send, session }) =>
      Effect.andThen(
        Console.log(`session ${session} open, subscribing`),
        send(JSON.stringify({ method: "SUBSCRIBE", params: ["btcusdt@trade"], id: session }))
      )
  })

  yield* Effect.forkScoped(conn.events.pipe(Stream.runForEach((event) => {
    switch (event._tag) {
      case "Disconnected":
        return Console.log(`disconnected: ${event.error.message}`)
      case "Reconnecting":
        return Console.log(`reconnecting in ${event.delay} ms (attempt ${event.attempt})`)
      default:
        return Effect.void
    }
  })))

  yield* conn.frames.pipe(
    Stream.filter((frame) => frame._tag === "Text"),
    // Acks and other non-trade messages do not decode as a Trade: skip them.
    Stream.mapEffect((frame) => decodeTrade(frame.data).pipe(Effect.option)),
    Stream.filter(Option.isSome),
    Stream.map((trade) => trade.value),
    Stream.take(25),
    Stream.runForEach((trade) => Console.log(`trade #${trade.t} ${trade.s} ${trade.q} @ ${trade.p}`))
  )

  const stats = yield* conn.stats
  yield* conn.close(1000, "done")
  yield* Console.log(
    `received ${stats.framesIn} frames over ${stats.sessions} sessions (${stats.reconnects} reconnect), closed cleanly`
  )
})

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(NodeTransport.layer())))
