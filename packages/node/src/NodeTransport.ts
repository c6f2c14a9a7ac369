/**
 * The `Transport` over the `ws` package, for Node: protocol ping and pong
 * frames both ways, TLS with certificate checks on by default (and a custom
 * CA when asked), request headers whose values may be `Redacted`,
 * subprotocols, a connect timeout that covers TCP, TLS and the upgrade, the
 * HTTP status and `Retry-After` of a refused upgrade, `maxPayload`,
 * permessage-deflate off unless asked, and backpressure both ways: reading
 * pauses the socket when the consumer falls behind, sending waits while the
 * socket's buffer is over its high-water mark.
 *
 * @since 0.1.0
 */
import { ConnectionError, Frame, Inbox, Transport } from "@kharbranth/core"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as http from "node:http"
import type * as tls from "node:tls"
import WebSocket from "ws"

/**
 * TLS settings for `wss://` URLs. Certificates are verified unless
 * `rejectUnauthorized` is explicitly `false`.
 *
 * @category models
 * @since 0.1.0
 */
export interface TlsOptions {
  /** Trusted CA certificates (PEM), replacing the system store for these connections. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly cert?: string | Buffer | undefined
  readonly key?: string | Buffer | undefined
  /** Server name for SNI and certificate checks, if not the URL's host. */
  readonly servername?: string | undefined
  /** Defaults to `true`. Turning it off accepts any certificate: never do so in production. */
  readonly rejectUnauthorized?: boolean | undefined
}

/**
 * Options of the Node transport.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly tls?: TlsOptions | undefined
  /** An HTTP(S) agent, for example a proxy agent. */
  readonly agent?: http.Agent | undefined
  /** How long scope release waits for the close handshake before terminating (default 1000 ms). */
  readonly closeTimeout?: Duration.Input | undefined
  /**
   * Pongs allowed to wait for the socket before a ping flood ends the
   * session with a `ProtocolError` (code 1008). Default 60, as `ws`.
   */
  readonly maxPendingPongs?: number | undefined
}

const revealHeaders = (headers: Transport.OpenRequest["headers"]): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    out[name] = Redacted.isRedacted(value) ? Redacted.value(value) : value
  }
  return out
}

/** The close code `ws` used for a protocol error (kept on the error under a private symbol). */
const statusOf = (error: Error): number | undefined => {
  for (const symbol of Object.getOwnPropertySymbols(error)) {
    if (symbol.description === "status-code") {
      const value = (error as unknown as Record<symbol, unknown>)[symbol]
      if (typeof value === "number") return value
    }
  }
  return undefined
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (value.trim() !== "" && Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** A copy of an error with only its name, scrubbed message and code. */
const scrubbed = (error: unknown, scrub: (text: string) => string): Error => {
  const copy = new Error(scrub(error instanceof Error ? error.message : String(error)))
  if (error instanceof Error) {
    copy.name = error.name
    const code = (error as NodeJS.ErrnoException).code
    if (code !== undefined) Object.assign(copy, { code })
  }
  return copy
}

const errorDetail = (error: unknown): string => {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === undefined || error.message.includes(code) ? error.message : `${error.message} (${code})`
  }
  return String(error)
}

/**
 * Makes the transport service.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options = {}): Transport.Transport["Service"] => {
  const closeTimeout = Duration.fromInputUnsafe(options.closeTimeout ?? 1000)
  const maxPendingPongs = options.maxPendingPongs ?? 60
  return Transport.Transport.of({
    open: (request) =>
      Transport.withConnectTimeout(request, Effect.gen(function*() {
        const clock = yield* Clock.Clock
        const url = Transport.redactUrl(request.url)
        // Socket errors may quote the URL: what leaves here has its secrets removed,
        // and the cause is kept as a scrubbed copy (message and code) only.
        const scrub = (text: string) => Transport.redactIn(request.url, text)
        const connectFailed = (detail: string, cause?: unknown, status?: number, retryAfter?: number) =>
          new ConnectionError.ConnectFailed({
            connection: request.connection,
            url,
            detail: scrub(detail),
            ...(status === undefined ? {} : { status }),
            ...(retryAfter === undefined ? {} : { retryAfter }),
            ...(cause === undefined ? {} : { cause: scrubbed(cause, scrub) })
          })
        const tlsOptions: tls.ConnectionOptions = {
          rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
          ...(options.tls?.ca === undefined ? {} : { ca: options.tls.ca as tls.ConnectionOptions["ca"] }),
          ...(options.tls?.cert === undefined ? {} : { cert: options.tls.cert }),
          ...(options.tls?.key === undefined ? {} : { key: options.tls.key }),
          ...(options.tls?.servername === undefined ? {} : { servername: options.tls.servername })
        }
        const opened = yield* Deferred.make<void, ConnectionError.ConnectFailed>()
        const closedSignal = yield* Deferred.make<void>()
        let lastError: Error | undefined
        // Pongs written to the socket but not yet flushed: a peer that pings
        // faster than it reads is flooding us.
        let pendingPongs = 0
        let pingFlood = false
        const pongWritten = () => {
          pendingPongs--
        }
        let pendingBytes = 0
        let drainWaiters: Array<() => void> = []

        const session = request.session
        let socket: WebSocket | undefined
        const inbox = new Inbox.Inbox<Transport.SessionEnd>({
          highWaterMark: request.highWaterMark,
          onPause: () => socket?.pause(),
          onResume: () => socket?.resume(),
          clock: () => clock.currentTimeMillisUnsafe()
        })
        /** Every listener goes on in the same tick the socket is made: an event can never find none (ws throws on an unheard "error"). */
        const attach = (ws: WebSocket): WebSocket => {
          socket = ws
          ws.binaryType = "nodebuffer"
          ws.on("error", (error) => {
            lastError = error
            Deferred.doneUnsafe(opened, Effect.fail(connectFailed(errorDetail(error), error)))
            // A protocol violation: ws has sent its close frame; a broken peer is
            // not waited for (ws would wait 30 s for its close reply).
            if (statusOf(error) !== undefined) ws.terminate()
          })
          ws.on("unexpected-response", (req, res) => {
            const status = res.statusCode ?? 0
            const retryAfter = parseRetryAfter(res.headers["retry-after"], clock.currentTimeMillisUnsafe())
            Deferred.doneUnsafe(
              opened,
              Effect.fail(connectFailed(`upgrade refused with HTTP ${status}`, undefined, status, retryAfter))
            )
            res.resume()
            req.destroy()
          })
          ws.on("open", () => Deferred.doneUnsafe(opened, Effect.void))
          ws.on("message", (data, isBinary) => {
            const bytes = data as Buffer
            inbox.push(
              isBinary
                ? Frame.binary(bytes, session, inbox.now())
                : Frame.text(bytes.toString(), session, inbox.now())
            )
          })
          ws.on("ping", (data) => {
            inbox.push(Frame.ping(data, session, inbox.now()))
            if (ws.readyState !== WebSocket.OPEN) return
            if (pendingPongs >= maxPendingPongs) {
              pingFlood = true
              ws.terminate()
              return
            }
            pendingPongs++
            ws.pong(data, true, pongWritten)
          })
          ws.on("pong", (data) => inbox.push(Frame.pong(data, session, inbox.now())))
          ws.on("close", (code, reasonBytes) => {
            const reason = reasonBytes.toString()
            inbox.push(Frame.close(code, reason, session, inbox.now()))
            const status = lastError === undefined ? undefined : statusOf(lastError)
            inbox.end(
              pingFlood
                ? new ConnectionError.ProtocolError({
                  connection: request.connection,
                  session,
                  code: 1008,
                  violation: `ping flood: more than ${maxPendingPongs} pongs waiting to be written`
                })
                : lastError !== undefined && status !== undefined
                ? new ConnectionError.ProtocolError({
                  connection: request.connection,
                  session,
                  code: status,
                  violation: scrub(`${lastError.message} (${(lastError as NodeJS.ErrnoException).code ?? "protocol error"})`)
                })
                : new ConnectionError.Closed({ connection: request.connection, session, code, reason })
            )
            Deferred.doneUnsafe(opened, Effect.fail(connectFailed(lastError ? errorDetail(lastError) : `closed with ${code}`)))
            Deferred.doneUnsafe(closedSignal, Effect.void)
            const waiters = drainWaiters
            drainWaiters = []
            for (const wake of waiters) wake()
          })
          return ws
        }

        const ws = yield* Effect.acquireRelease(
          Effect.try({
            try: () =>
              attach(new WebSocket(request.url, request.protocols.slice(), {
                ...tlsOptions,
                headers: revealHeaders(request.headers),
                perMessageDeflate: request.compression,
                maxPayload: request.maxPayload,
                followRedirects: false,
                // Pongs are answered below, so that a ping flood is reported, not a silent terminate.
                autoPong: false,
                ...(options.agent === undefined ? {} : { agent: options.agent })
              })),
            catch: (cause) => connectFailed(`invalid request: ${errorDetail(cause)}`, cause)
          }),
          (ws) =>
            Effect.suspend(() => {
              if (ws.readyState === WebSocket.CLOSED) return Effect.void
              if (ws.readyState === WebSocket.CONNECTING) return Effect.sync(() => ws.terminate())
              if (ws.readyState === WebSocket.OPEN) ws.close(1000)
              return Deferred.await(closedSignal).pipe(
                Effect.timeoutOrElse({ duration: closeTimeout, orElse: () => Effect.sync(() => ws.terminate()) })
              )
            })
        )
        yield* Deferred.await(opened)
        // Handshake listeners are done: an idle connection should not keep them.
        ws.removeAllListeners("open")
        ws.removeAllListeners("unexpected-response")

        const notOpen = (what: string) =>
          new ConnectionError.SendFailed({
            connection: request.connection,
            reason: `cannot ${what}: session ${session} is ${ws.readyState === WebSocket.CLOSING ? "closing" : "closed"}`
          })
        // A failed write needs no handling here: the socket's "close" follows and ends the session.
        const written = (bytes: number) => () => {
          pendingBytes -= bytes
          if (pendingBytes <= request.sendHighWaterMark && drainWaiters.length > 0) {
            const waiters = drainWaiters
            drainWaiters = []
            for (const wake of waiters) wake()
          }
        }
        const awaitDrain = Effect.callback<void>((resume) => {
          if (pendingBytes <= request.sendHighWaterMark || ws.readyState !== WebSocket.OPEN) return resume(Effect.void)
          const wake = () => resume(Effect.void)
          drainWaiters.push(wake)
          return Effect.sync(() => {
            drainWaiters = drainWaiters.filter((w) => w !== wake)
          })
        })
        const write = (data: string | Uint8Array) =>
          Effect.suspend(() => {
            if (ws.readyState !== WebSocket.OPEN) return Effect.fail(notOpen("send"))
            const bytes = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength
            pendingBytes += bytes
            ws.send(data, { binary: typeof data !== "string" }, written(bytes))
            return Effect.void
          })

        return {
          session,
          protocol: ws.protocol,
          take: inbox.take,
          send: (data) =>
            Effect.suspend(() =>
              pendingBytes > request.sendHighWaterMark ? Effect.andThen(awaitDrain, write(data)) : write(data)
            ),
          ping: (payload) =>
            Effect.suspend(() => {
              if (ws.readyState !== WebSocket.OPEN) return Effect.fail(notOpen("ping"))
              if (payload !== undefined && payload.byteLength > 125) {
                return Effect.fail(
                  new ConnectionError.SendFailed({
                    connection: request.connection,
                    reason: `ping payload is ${payload.byteLength} bytes; at most 125 are allowed`
                  })
                )
              }
              ws.ping(payload)
              return Effect.void
            }),
          close: (code = 1000, reason = "") =>
            Effect.sync(() => {
              if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
                const valid = (code === 1000 || (code >= 3000 && code <= 4999)) && Buffer.byteLength(reason) <= 123
                if (valid) ws.close(code, reason)
                else ws.terminate()
              }
            }),
          terminate: Effect.sync(() => ws.terminate()),
          bufferedAmount: () => pendingBytes
        } satisfies Transport.Session
      }))
  })
}

/**
 * The `Transport` over `ws`.
 *
 * @example
 * ```ts
 * import { Connection } from "@kharbranth/core"
 * import { NodeTransport } from "@kharbranth/node"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const conn = yield* Connection.make("binance", { url: "wss://stream.binance.com:9443/ws/btcusdt@trade" })
 *   // ...
 * }).pipe(Effect.scoped, Effect.provide(NodeTransport.layer()))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Transport.Transport> =>
  Layer.succeed(Transport.Transport, make(options))
