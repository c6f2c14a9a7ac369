/**
 * Real servers on 127.0.0.1 for the transport tests: a `ws` server (plain or
 * TLS with the fixture certificate) whose connections are handed to the
 * test, a "venue" `wss` server under a second CA that may demand a client
 * certificate, and bare TCP/HTTP servers for misbehaving peers. Every server
 * lives in the test's scope; the servers themselves are the shared test
 * utilities'.
 */
import * as Servers from "@kharbranth/test-utils/servers"
import { Effect, Queue } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import type * as tls from "node:tls"
import { WebSocketServer } from "ws"
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

/** The passphrase of `fixtures/client.key` (test-only, see the fixtures' README). */
export const CLIENT_KEY_PASSPHRASE = "kharbranth-test-only"

/**
 * A `wss` server on 127.0.0.1 with `venue.pem`, signed by the venue CA
 * (`venue-ca.pem`), not the CA of `wsServer({ tls: true })`. With
 * `clientCert`, it demands a client certificate signed by the venue CA and
 * refuses the TLS handshake without one. Each connection is handed over with
 * the CN of the client's certificate (`""` without one).
 */
export const venueServer = (options: { readonly clientCert: boolean }) =>
  Effect.gen(function*() {
    const server = https.createServer({
      cert: fixture("venue.pem"),
      key: fixture("venue.key"),
      ...(options.clientCert ? { ca: fixture("venue-ca.pem"), requestCert: true, rejectUnauthorized: true } : {})
    })
    const wss = new WebSocketServer({ server })
    const accepted = yield* Queue.unbounded<{ readonly ws: WebSocket; readonly client: string }>()
    wss.on("connection", (ws, request) => {
      ws.on("error", () => {})
      const peer = (request.socket as tls.TLSSocket).getPeerCertificate()
      Queue.offerUnsafe(accepted, { ws, client: typeof peer?.subject?.CN === "string" ? peer.subject.CN : "" })
    })
    const port = yield* Servers.listen(server, () => {
      for (const client of wss.clients) client.terminate()
    })
    return { url: `wss://127.0.0.1:${port}`, accepted: Queue.take(accepted) }
  })
