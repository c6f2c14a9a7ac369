/**
 * In-process `ws` servers for load tests (the shared test utilities'
 * `serve`, which can be stopped, every client dropped, and started again on
 * the same port) and what they send: messages of a given size carrying a
 * sequence number, flooded as fast as the socket drains.
 */
import type * as net from "node:net"
import type { WebSocket } from "ws"

export { type Running, serve, serveScoped } from "@kharbranth/test-utils/servers"

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
