/**
 * reconnecting-websocket (4.4) over the `ws` constructor. Reconnection is
 * the library's own (defaults: a minimum delay of 1–5 s, drawn once when
 * the module loads, growing ×1.3) unless the scenario fixes a delay for
 * every client. It has no heartbeat.
 */
import * as RwsModule from "reconnecting-websocket"
import WebSocket from "ws"
import { type Adapter, openGated } from "./Adapter.ts"

// The package's types declare an ES default export, but its CommonJS build
// sets `module.exports` to the class itself: take whichever is the class.
type RwsClass = typeof RwsModule.default.default
const loaded: unknown = RwsModule.default
const ReconnectingWebSocket = ((loaded as { readonly default?: RwsClass }).default ?? loaded) as RwsClass

/** The reconnecting-websocket adapter. */
export const adapter: Adapter = {
  start: (config, url, handlers) => {
    const sockets: Array<InstanceType<RwsClass>> = []
    const options = config.reconnect.kind === "fixed"
      ? {
        WebSocket,
        minReconnectionDelay: config.reconnect.delayMs,
        maxReconnectionDelay: config.reconnect.delayMs,
        reconnectionDelayGrowFactor: 1,
        connectionTimeout: 10_000
      }
      : { WebSocket }
    openGated(config.connections, config.dialConcurrency, (index, opened) => {
      const socket = new ReconnectingWebSocket(url(index), undefined, options)
      sockets[index] = socket
      socket.addEventListener("open", () => {
        opened()
        handlers.onOpen(index)
      })
      socket.addEventListener("message", (event: { readonly data: unknown }) => {
        if (typeof event.data === "string") handlers.onMessage(index, event.data)
      })
      socket.addEventListener("close", () => handlers.onClose(index))
      socket.addEventListener("error", () => {})
    })
    return Promise.resolve({
      stop: async () => {
        for (const socket of sockets) socket.close()
      }
    })
  }
}
