/**
 * The one interface every compared client is driven through, so the client
 * process does the same work, with the same handler, whatever library sits
 * underneath: open `connections` sockets to the feed server, call
 * `onMessage` with each text message's string, `onOpen` after every
 * (re)connect and `onClose` when the library reports a connection gone.
 * Adapters contain no measurement code.
 */
import type { ClientConfig } from "../protocol.ts"

/** What the client process wants to hear about. */
export interface Handlers {
  /** A text message on connection `index`, as the string the library hands over. */
  readonly onMessage: (index: number, data: string) => void
  /** Connection `index` opened (first time or again). */
  readonly onOpen: (index: number) => void
  /** The library reported connection `index` gone. */
  readonly onClose: (index: number) => void
}

/** A started client. */
export interface Running {
  readonly stop: () => Promise<void>
}

/** A client library, adapted. */
export interface Adapter {
  readonly start: (config: ClientConfig, url: (index: number) => string, handlers: Handlers) => Promise<Running>
}

/**
 * Opens `count` things with at most `concurrency` in flight: `open(i, done)`
 * must call `done` once connection `i` has opened (or given up).
 */
export const openGated = (
  count: number,
  concurrency: number,
  open: (index: number, done: () => void) => void
): void => {
  let next = 0
  const launch = () => {
    if (next >= count) return
    const index = next++
    let released = false
    open(index, () => {
      if (released) return
      released = true
      launch()
    })
  }
  for (let i = 0; i < Math.min(concurrency, count); i++) launch()
}

/** What partysocket and reconnecting-websocket have in common (the first is a fork of the second). */
export interface ReconnectingSocket {
  addEventListener(type: "open" | "close" | "error", listener: () => void): void
  addEventListener(type: "message", listener: (event: { readonly data: unknown }) => void): void
  close(): void
}

/** The options both libraries take: the `ws` constructor, and a fixed delay when the scenario asks for one. */
export const reconnectingOptions = (config: Parameters<Adapter["start"]>[0], WebSocket: unknown) =>
  config.reconnect.kind === "fixed"
    ? {
      WebSocket,
      minReconnectionDelay: config.reconnect.delayMs,
      maxReconnectionDelay: config.reconnect.delayMs,
      reconnectionDelayGrowFactor: 1,
      connectionTimeout: 10_000
    }
    : { WebSocket }

/** An adapter for a reconnecting wrapper, given how to make one socket for a URL. */
export const reconnectingAdapter = (
  make: (url: string, config: Parameters<Adapter["start"]>[0]) => ReconnectingSocket
): Adapter => ({
  start: (config, url, handlers) => {
    const sockets: Array<ReconnectingSocket> = []
    openGated(config.connections, config.dialConcurrency, (index, opened) => {
      const socket = make(url(index), config)
      sockets[index] = socket
      socket.addEventListener("open", () => {
        opened()
        handlers.onOpen(index)
      })
      socket.addEventListener("message", (event) => {
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
})
