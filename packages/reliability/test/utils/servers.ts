/**
 * In-process `ws` servers for load tests: a flood server that sends a fixed
 * number of messages as fast as the socket drains, and a "busy" server that
 * greets every connection and keeps a trickle of data flowing. Both can be
 * stopped (every client dropped) and started again on the same port.
 */
import { Effect } from "effect"
import * as http from "node:http"
import type * as net from "node:net"
import type { AddressInfo } from "node:net"
import { WebSocketServer } from "ws"
import type { WebSocket } from "ws"

export interface Running {
  readonly port: number
  readonly wss: WebSocketServer
  /** Close codes seen by the server, one per ended connection. */
  readonly closes: Array<number>
  /** Drops every client without a close frame and stops listening. */
  readonly stop: Effect.Effect<void>
}

/** Starts a ws server on 127.0.0.1 (`port` 0 for any); `onConnection` scripts each socket. */
export const serve = (port: number, onConnection: (ws: WebSocket) => void) =>
  Effect.callback<Running>((resume) => {
    const server = http.createServer()
    const wss = new WebSocketServer({ server })
    const closes: Array<number> = []
    wss.on("connection", (ws) => {
      ws.on("error", () => {})
      ws.on("close", (code) => closes.push(code))
      onConnection(ws)
    })
    server.listen(port, "127.0.0.1", () =>
      resume(Effect.succeed({
        port: (server.address() as AddressInfo).port,
        wss,
        closes,
        stop: Effect.callback<void>((done) => {
          for (const client of wss.clients) client.terminate()
          wss.close()
          server.closeAllConnections()
          server.close(() => done(Effect.void))
        })
      })))
  })

/** Like `serve`, stopped when the scope closes (if still running). */
export const serveScoped = (port: number, onConnection: (ws: WebSocket) => void) =>
  Effect.acquireRelease(serve(port, onConnection), (running) => running.stop)

/** A message of about `size` bytes carrying a sequence number. */
export const payload = (n: number, size: number) => {
  const head = `{"e":"trade","t":${n},"pad":"`
  return head + "x".repeat(Math.max(0, size - head.length - 2)) + `"}`
}

/** Sends `count` messages to the socket as fast as it drains (backpressure respected). */
export const flood = (ws: WebSocket, count: number, size: number) => {
  const socket = (ws as unknown as { _socket: net.Socket })._socket
  let n = 0
  const pump = () => {
    while (n < count && ws.readyState === ws.OPEN) {
      ws.send(payload(n++, size))
      if (ws.bufferedAmount > 1024 * 1024) {
        socket.once("drain", pump)
        return
      }
    }
  }
  pump()
}
