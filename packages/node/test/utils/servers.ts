/**
 * Real servers on 127.0.0.1 for the transport tests: a `ws` server (plain or
 * TLS with the fixture certificate) whose connections are handed to the
 * test, and bare TCP/HTTP servers for misbehaving peers. Every server lives
 * in the test's scope; the servers themselves are the shared test
 * utilities'.
 */
import * as Servers from "@kharbranth/test-utils/servers"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import type { ServerOptions, WebSocket } from "ws"

export const fixture = (name: string) => fs.readFileSync(new URL(`../fixtures/${name}`, import.meta.url))

/** A `ws` server on 127.0.0.1 (TLS with the fixture certificate when `tls` is set). */
export const wsServer = (options: Omit<ServerOptions, "server"> & { readonly tls?: boolean } = {}) => {
  const { tls, ...ws } = options
  return Servers.wsServer({ ws, tls: tls ? { cert: fixture("server.pem"), key: fixture("server.key") } : undefined })
}

/** An HTTP server on 127.0.0.1 that answers every request with `status` (and headers). */
export const refusingServer = (status: number, headers: Record<string, string> = {}) =>
  Servers.listen(http.createServer((_req, res) => {
    res.writeHead(status, headers)
    res.end("no")
  }))

/** A TCP server on 127.0.0.1 that accepts connections and never answers; or hands each socket to `onSocket`. */
export const tcpServer = (onSocket: (socket: net.Socket) => void = () => {}) =>
  Servers.listen(net.createServer((socket) => {
    socket.on("error", () => {})
    onSocket(socket)
  }))

/** The server side of a `ws` connection's raw socket (tests only). */
export const rawSocket = (ws: WebSocket): net.Socket => (ws as unknown as { _socket: net.Socket })._socket

/** Waits for a `ws` event once. */
export const once = <A extends Array<unknown>>(emitter: NodeJS.EventEmitter, event: string) =>
  Effect.callback<A>((resume) => {
    emitter.once(event, (...args: Array<unknown>) => resume(Effect.succeed(args as A)))
  })
