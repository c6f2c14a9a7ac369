/**
 * Hello: the smallest useful Kharbranth program. It starts the bundled
 * exchange simulator on 127.0.0.1, opens one connection to its Binance-like
 * feed, subscribes to BTCUSDT trades in `onOpen` (which runs again after
 * every reconnect), prints the first ten text frames and closes cleanly.
 *
 *   pnpm --filter @kharbranth/example-hello start
 */
import { Connection } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Simulator } from "@kharbranth/simulator"
import { Console, Effect, Stream } from "effect"

const program = Effect.gen(function*() {
  // A local exchange on a free port; it stops when this scope closes.
  const sim = yield* Simulator.make()
  yield* Console.log(`simulator listening on ${sim.endpoints.binance}`)

  const conn = yield* Connection.make("binance-btcusdt", { url: sim.endpoints.binance }, {
    onOpen: ({ send, session }) => send(JSON.stringify({ method: "SUBSCRIBE", params: ["btcusdt@trade"], id: session }))
  })

  // The first text frame is the subscription's ack ({"result":null,"id":1}), then trades.
  yield* conn.frames.pipe(
    Stream.filter((frame) => frame._tag === "Text"),
    Stream.take(10),
    Stream.runForEach((frame) => Console.log(`session ${frame.session}: ${frame.data}`))
  )

  yield* conn.close(1000, "hello done")
  const stats = yield* conn.stats
  yield* Console.log(`closed after ${stats.framesIn} frames`)
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(NodeTransport.layer()))).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
