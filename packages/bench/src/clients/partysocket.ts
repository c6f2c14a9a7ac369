/**
 * partysocket's reconnecting WebSocket (`partysocket/ws`) over the `ws`
 * constructor. Reconnection is the library's own (defaults: 3 s minimum
 * delay growing ×1.3) unless the scenario fixes a delay for every client.
 * It has no heartbeat (the browser API it mirrors cannot send pings).
 */
import ReconnectingWebSocket from "partysocket/ws"
import WebSocket from "ws"
import { type Adapter, openGated } from "./Adapter.ts"

/** The partysocket adapter. */
export const adapter: Adapter = {
  start: (config, url, handlers) => {
    const sockets: Array<ReconnectingWebSocket> = []
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
      socket.addEventListener("message", (event: MessageEvent) => {
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
