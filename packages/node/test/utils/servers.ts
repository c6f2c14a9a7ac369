/**
 * Real servers on 127.0.0.1 for the transport tests: a `ws` server (plain or
 * TLS) whose connections are handed to the test, and bare TCP/HTTP servers
 * for misbehaving peers. Every server lives in the test's scope.
 */
import { Effect, Queue } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import { WebSocket, WebSocketServer } from "ws"
import type { ServerOptions } from "ws"

export const fixture = (name: string) => fs.readFileSync(new URL(`../fixtures/${name}`, import.meta.url))

export interface TestServer {
  readonly url: string
  readonly port: number
  readonly wss: WebSocketServer
  /** The next accepted connection with its upgrade request. */
  readonly accepted: Effect.Effect<{ readonly ws: WebSocket; readonly request: http.IncomingMessage }>
}

/** A `ws` server on 127.0.0.1 (TLS with the fixture certificate when `tls` is set). */
export const wsServer = (options: ServerOptions & { readonly tls?: boolean } = {}) =>
  Effect.gen(function*() {
    const accepted = yield* Queue.unbounded<{ ws: WebSocket; request: http.IncomingMessage }>()
    const { tls, ...wsOptions } = options
    const httpServer = tls
      ? https.createServer({ cert: fixture("server.pem"), key: fixture("server.key") })
      : http.createServer()
    const wss = new WebSocketServer({ ...wsOptions, server: httpServer })
    wss.on("connection", (ws, request) => {
      ws.on("error", () => {})
      Queue.offerUnsafe(accepted, { ws, request })
    })
    yield* Effect.acquireRelease(
      Effect.callback<void>((resume) => {
        httpServer.listen(0, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.callback<void>((resume) => {
          for (const client of wss.clients) client.terminate()
          wss.close()
          httpServer.closeAllConnections()
          httpServer.close(() => resume(Effect.void))
        })
    )
    const port = (httpServer.address() as net.AddressInfo).port
    return {
      url: `${tls ? "wss" : "ws"}://127.0.0.1:${port}`,
      port,
      wss,
      accepted: Queue.take(accepted)
    } satisfies TestServer
  })

/** An HTTP server on 127.0.0.1 that answers every request with `status` (and headers). */
export const refusingServer = (status: number, headers: Record<string, string> = {}) =>
  listen(http.createServer((_req, res) => {
    res.writeHead(status, headers)
    res.end("no")
  }))

/** A TCP server on 127.0.0.1 that accepts connections and never answers; or hands each socket to `onSocket`. */
export const tcpServer = (onSocket: (socket: net.Socket) => void = () => {}) => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on("error", () => {})
    socket.on("close", () => sockets.delete(socket))
    onSocket(socket)
  })
  return listen(server, () => {
    for (const socket of sockets) socket.destroy()
  })
}

const listen = (server: net.Server | http.Server, beforeClose: () => void = () => {}) =>
  Effect.acquireRelease(
    Effect.callback<number>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as net.AddressInfo).port)))
    }),
    () =>
      Effect.callback<void>((resume) => {
        beforeClose()
        if ("closeAllConnections" in server) server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

/** The server side of a `ws` connection's raw socket (tests only). */
export const rawSocket = (ws: WebSocket): net.Socket => (ws as unknown as { _socket: net.Socket })._socket

/** Waits for a `ws` event once. */
export const once = <A extends Array<unknown>>(emitter: NodeJS.EventEmitter, event: string) =>
  Effect.callback<A>((resume) => {
    emitter.once(event, (...args: Array<unknown>) => resume(Effect.succeed(args as A)))
  })
