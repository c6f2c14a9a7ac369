/**
 * Real servers on 127.0.0.1 for tests, each closed with the test's scope or
 * on demand: `listen` for any `net`/`http` server (its open sockets are
 * destroyed on close, so a close never waits for a client), `serve` for a
 * `ws` server that can be stopped and started again on the same port, and
 * `wsServer` for one whose connections are handed to the test in order.
 */
import { Effect, Queue } from "effect"
import type { Scope } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import type * as net from "node:net"
import { WebSocketServer } from "ws"
import type { ServerOptions, WebSocket } from "ws"

/** Listens on 127.0.0.1 (port 0 unless given) for the life of the scope; `beforeClose` runs first. */
export const listen = (
  server: net.Server,
  beforeClose: () => void = () => {},
  port = 0
): Effect.Effect<number, never, Scope.Scope> => {
  const sockets = new Set<net.Socket>()
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  return Effect.acquireRelease(
    Effect.callback<number>((resume) => {
      server.listen(port, "127.0.0.1", () => resume(Effect.succeed((server.address() as net.AddressInfo).port)))
    }),
    () =>
      Effect.callback<void>((resume) => {
        beforeClose()
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  )
}

/** A certificate and key for a TLS server. */
export interface Tls {
  readonly cert: string | Buffer
  readonly key: string | Buffer
}

/** How `serve` and `wsServer` set up their server. */
export interface ServeOptions {
  /** Serve `wss://` with this certificate. */
  readonly tls?: Tls | undefined
  /** Options for the `ws` server (the HTTP server is always the one made here). */
  readonly ws?: Omit<ServerOptions, "server" | "port" | "host" | "noServer"> | undefined
}

/** A running `ws` server. */
export interface Running {
  readonly port: number
  readonly url: string
  readonly wss: WebSocketServer
  /** Close codes seen by the server, one per ended connection. */
  readonly closes: Array<number>
  /** Drops every client without a close frame and stops listening. */
  readonly stop: Effect.Effect<void>
}

/** Starts a `ws` server on 127.0.0.1 (`port` 0 for any); `onConnection` scripts each socket. */
export const serve = (
  port: number,
  onConnection: (ws: WebSocket, request: http.IncomingMessage) => void,
  options: ServeOptions = {}
): Effect.Effect<Running> =>
  Effect.callback<Running>((resume) => {
    const server = options.tls === undefined
      ? http.createServer()
      : https.createServer({ cert: options.tls.cert, key: options.tls.key })
    const wss = new WebSocketServer({ ...options.ws, server })
    const closes: Array<number> = []
    wss.on("connection", (ws, request) => {
      ws.on("error", () => {})
      ws.on("close", (code) => closes.push(code))
      onConnection(ws, request)
    })
    server.listen(port, "127.0.0.1", () => {
      const bound = (server.address() as net.AddressInfo).port
      resume(Effect.succeed({
        port: bound,
        url: `${options.tls === undefined ? "ws" : "wss"}://127.0.0.1:${bound}`,
        wss,
        closes,
        stop: Effect.callback<void>((done) => {
          for (const client of wss.clients) client.terminate()
          wss.close()
          server.closeAllConnections()
          server.close(() => done(Effect.void))
        })
      }))
    })
  })

/** Like `serve`, stopped when the scope closes (if still running). */
export const serveScoped = (
  port: number,
  onConnection: (ws: WebSocket, request: http.IncomingMessage) => void,
  options: ServeOptions = {}
): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.acquireRelease(serve(port, onConnection, options), (running) => running.stop)

/** A `ws` server whose connections the test takes one by one. */
export interface TestServer extends Running {
  /** The next accepted connection with its upgrade request. */
  readonly accepted: Effect.Effect<{ readonly ws: WebSocket; readonly request: http.IncomingMessage }>
}

/** A `ws` server on 127.0.0.1 for the life of the scope, handing each connection to `accepted`. */
export const wsServer = (options: ServeOptions = {}): Effect.Effect<TestServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const accepted = yield* Queue.unbounded<{ ws: WebSocket; request: http.IncomingMessage }>()
    const running = yield* serveScoped(0, (ws, request) => Queue.offerUnsafe(accepted, { ws, request }), options)
    return { ...running, accepted: Queue.take(accepted) }
  })
