/**
 * The README's `WSManager` example, kept here so `pnpm typecheck` proves it
 * compiles. It dials real exchanges, so nothing runs it in tests.
 */
import { WSManager } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Effect, Layer, Stream } from "effect"

const Live = WSManager.layer().pipe(Layer.provide(NodeTransport.layer()))

const program = Effect.gen(function*() {
  const manager = yield* WSManager.WSManager
  yield* manager.add("binance-btc", { url: "wss://stream.binance.com:9443/ws/btcusdt@trade" })
  yield* manager.add("binance-eth", { url: "wss://stream.binance.com:9443/ws/ethusdt@trade" })
  yield* manager.add("bybit", { url: "wss://stream.bybit.com/v5/public/spot" }, {
    onOpen: ({ send }) => send(JSON.stringify({ op: "subscribe", args: ["publicTrade.BTCUSDT"] }))
  })

  let lastTradeId = 0
  yield* manager.frames.pipe(
    Stream.runForEach(({ connection, frame }) => {
      if (connection !== "binance-btc" || frame._tag !== "Text") return Effect.void
      const { t } = JSON.parse(frame.data) as { t: number }
      const gap = lastTradeId !== 0 && t !== lastTradeId + 1
      lastTradeId = t
      return gap ? manager.restart("binance-btc", `trade id gap before ${t}`) : Effect.void
    })
  )
}).pipe(Effect.provide(Live))
void program
