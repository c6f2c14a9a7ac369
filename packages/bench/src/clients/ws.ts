/**
 * Raw `ws`: the baseline. What a careful user writes by hand: a `message`
 * listener that decodes the buffer to a string, an `error` listener, a
 * reconnect by `setTimeout` after `close` (fixed delay, 1 s by default, as
 * most hand-written loops do), and, when asked, the usual protocol
 * heartbeat: ping every interval, terminate when the pong is late.
 */
import WebSocket from "ws"
import { type Adapter, openGated } from "./Adapter.ts"

/** The raw `ws` adapter. */
export const adapter: Adapter = {
  start: (config, url, handlers) => {
    let stopped = false
    const sockets: Array<WebSocket | undefined> = []
    const delay = config.reconnect.kind === "fixed" ? config.reconnect.delayMs : 1000
    const hb = config.heartbeat

    const connect = (index: number, opened?: () => void) => {
      const ws = new WebSocket(url(index), { perMessageDeflate: false })
      sockets[index] = ws
      let pingTimer: NodeJS.Timeout | undefined
      let pongTimer: NodeJS.Timeout | undefined
      const schedulePing = hb === undefined ? undefined : () => {
        pingTimer = setTimeout(() => {
          ws.ping()
          pongTimer = setTimeout(() => ws.terminate(), hb.timeoutMs)
        }, hb.intervalMs)
      }
      ws.on("open", () => {
        opened?.()
        handlers.onOpen(index)
        schedulePing?.()
      })
      ws.on("message", (data: Buffer, isBinary) => {
        if (!isBinary) handlers.onMessage(index, data.toString())
      })
      if (schedulePing !== undefined) {
        ws.on("pong", () => {
          clearTimeout(pongTimer)
          schedulePing()
        })
      }
      ws.on("error", () => {})
      ws.on("close", () => {
        clearTimeout(pingTimer)
        clearTimeout(pongTimer)
        opened?.()
        handlers.onClose(index)
        if (!stopped) setTimeout(() => connect(index), delay)
      })
    }

    openGated(config.connections, config.dialConcurrency, connect)
    return Promise.resolve({
      stop: async () => {
        stopped = true
        for (const ws of sockets) ws?.terminate()
      }
    })
  }
}
