/**
 * Raw `ws`: the baseline. What a careful user writes by hand: a `message`
 * listener that decodes the buffer to a string, an `error` listener, a
 * reconnect by `setTimeout` after `close` (fixed delay, 1 s by default, as
 * most hand-written loops do), and, when asked, the usual protocol
 * heartbeat: ping every interval, terminate when the pong is late.
 */
import WebSocket from "ws"
import { type Adapter, openGated } from "./Adapter.ts"

/** How `makeWs` hands each text message over. */
export interface WsOptions {
  /**
   * `false`: the handler is called per frame in its own `message` event
   * (the baseline); `true`, a control: each socket read's frames are
   * buffered and handed to the handler in one microtask after the read
   * (what batching per read costs in latency, with no library).
   */
  readonly batched: boolean
  /** Where each text message goes instead of `handlers.onMessage`: a control's own consumer. */
  readonly deliver?: (index: number, data: string) => void
}

/** Raw `ws`, each text message handed over as `options` say. */
export const makeWs = ({ batched, deliver }: WsOptions): Adapter => ({
  start: (config, url, handlers) => {
    let stopped = false
    const sockets: Array<WebSocket | undefined> = []
    const delay = config.reconnect.kind === "fixed" ? config.reconnect.delayMs : 1000
    const hb = config.heartbeat
    const onMessage = deliver ?? handlers.onMessage

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
      if (batched) {
        let read: Array<string> | undefined
        const flush = () => {
          const frames = read!
          read = undefined
          for (let i = 0; i < frames.length; i++) onMessage(index, frames[i]!)
        }
        ws.on("message", (data: Buffer, isBinary) => {
          if (isBinary) return
          if (read === undefined) {
            read = [data.toString()]
            queueMicrotask(flush)
          } else read.push(data.toString())
        })
      } else {
        ws.on("message", (data: Buffer, isBinary) => {
          if (!isBinary) onMessage(index, data.toString())
        })
      }
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
})

/** The raw `ws` adapter: the baseline. */
export const adapter: Adapter = makeWs({ batched: false })

/** Raw `ws` with each read's frames handed over in one microtask: the control for batching. */
export const batchedAdapter: Adapter = makeWs({ batched: true })
