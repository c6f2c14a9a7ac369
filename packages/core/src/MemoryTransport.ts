/**
 * An in-memory `Transport` with a server handle, for tests: yours as well as
 * ours. The server side accepts or refuses dials (with an HTTP status and
 * `Retry-After`), stalls them, emits frames in batches as a socket read
 * would, answers or ignores pings, closes with a code, drops abruptly (1006),
 * goes half-open, and records every dial and everything the client sent.
 * Time comes from the `Clock`, so heartbeats and backoff run on `TestClock`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { Closed, ConnectFailed, SendFailed } from "./ConnectionError.ts"
import * as Frame from "./Frame.ts"
import * as Inbox from "./Inbox.ts"
import { redactIn, redactUrl } from "./internal/redact.ts"
import * as Transport from "./Transport.ts"

/**
 * What the server does with a dial.
 *
 * @category models
 * @since 0.1.0
 */
export type DialOutcome =
  | { readonly _tag: "Accept"; readonly protocol?: string }
  | { readonly _tag: "Refuse"; readonly status: number; readonly retryAfter?: number }
  | { readonly _tag: "Fail"; readonly detail: string }
  | { readonly _tag: "Stall" }

/**
 * Dial outcomes, to script a server.
 *
 * @category constructors
 * @since 0.1.0
 */
export const DialOutcome = {
  /** Complete the handshake. */
  accept: (protocol?: string): DialOutcome =>
    protocol === undefined ? { _tag: "Accept" } : { _tag: "Accept", protocol },
  /** Refuse the upgrade with an HTTP status; `retryAfter` in milliseconds. */
  refuse: (status: number, retryAfter?: number): DialOutcome =>
    retryAfter === undefined ? { _tag: "Refuse", status } : { _tag: "Refuse", status, retryAfter },
  /** Fail before any HTTP (like a refused TCP connection). */
  fail: (detail = "connection refused"): DialOutcome => ({ _tag: "Fail", detail }),
  /** Never answer: the client's `connectTimeout` decides. */
  stall: { _tag: "Stall" } as DialOutcome
}

/**
 * One dial the server saw, whatever became of it.
 *
 * @category models
 * @since 0.1.0
 */
export interface DialRecord {
  readonly url: string
  readonly session: number
  readonly connection: string
  readonly at: number
  readonly headers: Transport.OpenRequest["headers"]
  readonly protocols: ReadonlyArray<string>
  readonly outcome: DialOutcome["_tag"]
}

/**
 * Something the client sent, as the server received it.
 *
 * @category models
 * @since 0.1.0
 */
export type ClientMessage =
  | { readonly _tag: "Text"; readonly data: string }
  | { readonly _tag: "Binary"; readonly data: Uint8Array }
  | { readonly _tag: "Ping"; readonly data: Uint8Array }
  | { readonly _tag: "Close"; readonly code: number; readonly reason: string }

/**
 * How a server-side connection ended, and who ended it.
 *
 * @category models
 * @since 0.1.0
 */
export interface CloseInfo {
  readonly code: number
  readonly reason: string
  readonly by: "client" | "server" | "terminate" | "drop"
}

/**
 * The server's side of one accepted connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerConnection {
  /** Accept order: 1 for the first connection this server accepted. */
  readonly id: number
  readonly request: Transport.OpenRequest
  /** Emits messages to the client as one socket read; waits while the client has paused reading. */
  readonly send: (...messages: ReadonlyArray<Frame.Outbound>) => Effect.Effect<void>
  /** Sends a protocol ping to the client. */
  readonly ping: (payload?: Uint8Array) => Effect.Effect<void>
  /** Sends an unsolicited protocol pong to the client. */
  readonly pong: (payload?: Uint8Array) => Effect.Effect<void>
  /** Closes from the server side with a close frame. */
  readonly close: (code?: number, reason?: string) => Effect.Effect<void>
  /** Drops the connection without a close frame: the client sees 1006. */
  readonly drop: Effect.Effect<void>
  /** Goes half-open: nothing more reaches the client (no data, no pongs, no close reply), and nothing from it is recorded. */
  readonly stall: Effect.Effect<void>
  /** Whether client pings are answered with pongs (default: yes). */
  readonly setAutoPong: (enabled: boolean) => Effect.Effect<void>
  /** Everything the client sent so far, in order. */
  readonly received: Effect.Effect<ReadonlyArray<ClientMessage>>
  /** The next message the client sends (each is taken once). */
  readonly takeReceived: Effect.Effect<ClientMessage>
  /** Whether the connection is still open. */
  readonly isOpen: Effect.Effect<boolean>
  /** Waits until the connection has ended. */
  readonly closed: Effect.Effect<CloseInfo>
}

/**
 * Options of a memory server.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Answer to client text messages: return a reply (or several) to send back, or nothing. */
  readonly reply?: ((message: string) => Frame.Outbound | ReadonlyArray<Frame.Outbound> | undefined) | undefined
  /** What happens to dials with no scripted outcome (default: accept). */
  readonly defaultOutcome?: DialOutcome | undefined
  /** How long every dial takes before its outcome, on the `Clock` (default: none). */
  readonly dialLatency?: Duration.Input | undefined
}

/**
 * The server handle of `MemoryTransport.layer`.
 *
 * @category services
 * @since 0.1.0
 */
export class MemoryServer extends Context.Service<MemoryServer, {
  /** Queues outcomes for the next dials, in order; later dials use the default. */
  readonly script: (...outcomes: ReadonlyArray<DialOutcome>) => Effect.Effect<void>
  /** Sets the outcome of dials with nothing scripted. */
  readonly setDefault: (outcome: DialOutcome) => Effect.Effect<void>
  /** Every dial so far, in order. */
  readonly dials: Effect.Effect<ReadonlyArray<DialRecord>>
  /** Waits for the next accepted connection (each is handed out once, in accept order). */
  readonly accepted: Effect.Effect<ServerConnection>
  /** The connections that are open now. */
  readonly connections: Effect.Effect<ReadonlyArray<ServerConnection>>
  /** The most recently accepted connection, if any. */
  readonly latest: Effect.Effect<ServerConnection | undefined>
}>()("@kharbranth/core/MemoryServer") {}

const EMPTY = new Uint8Array(0)

const make = Effect.fnUntraced(function*(options: Options = {}) {
  const clock = yield* Clock.Clock
  const acceptedQueue = yield* Queue.unbounded<ServerConnection>()
  const dialLog: Array<DialRecord> = []
  const scripted: Array<DialOutcome> = []
  let defaultOutcome: DialOutcome = options.defaultOutcome ?? DialOutcome.accept()
  const open = new Set<ServerConnection>()
  let latest: ServerConnection | undefined
  let accepts = 0
  const latency = options.dialLatency === undefined ? undefined : Duration.fromInputUnsafe(options.dialLatency)

  const accept = (request: Transport.OpenRequest, protocol: string) =>
    Effect.gen(function*() {
      const id = ++accepts
      const flowing = yield* Latch.make(true)
      const receivedQueue = yield* Queue.unbounded<ClientMessage>()
      const closedDeferred = yield* Deferred.make<CloseInfo>()
      const received: Array<ClientMessage> = []
      let state: "open" | "closed" = "open"
      let stalled = false
      let autoPong = true
      const inbox = Inbox.make<Transport.SessionEnd>({
        highWaterMark: request.highWaterMark,
        onPause: () => Latch.closeUnsafe(flowing),
        onResume: () => Latch.openUnsafe(flowing),
        clock: () => clock.currentTimeMillisUnsafe()
      })
      const now = () => inbox.now()
      const finish = (code: number, reason: string, by: CloseInfo["by"]) => {
        if (state === "closed") return
        state = "closed"
        open.delete(conn)
        inbox.push(Frame.close(code, reason, request.session, now()))
        inbox.end(new Closed({ connection: request.connection, session: request.session, code, reason }))
        Latch.openUnsafe(flowing)
        Deferred.doneUnsafe(closedDeferred, Effect.succeed({ code, reason, by }))
      }
      const record = (message: ClientMessage) => {
        received.push(message)
        Queue.offerUnsafe(receivedQueue, message)
      }
      const deliver = (data: Frame.Outbound, at: number) =>
        inbox.push(
          typeof data === "string" ? Frame.text(data, request.session, at) : Frame.binary(data, request.session, at)
        )
      const live = () => state === "open" && !stalled

      const conn: ServerConnection = {
        id,
        request,
        send: (...messages) =>
          Effect.andThen(
            Latch.await(flowing),
            Effect.sync(() => {
              if (!live()) return
              const at = now()
              for (const message of messages) deliver(message, at)
            })
          ),
        ping: (payload) =>
          Effect.sync(() => {
            if (live()) inbox.push(Frame.ping(payload, request.session, now()))
          }),
        pong: (payload) =>
          Effect.sync(() => {
            if (live()) inbox.push(Frame.pong(payload, request.session, now()))
          }),
        close: (code = 1000, reason = "") =>
          Effect.sync(() => {
            if (live()) finish(code, reason, "server")
          }),
        drop: Effect.sync(() => finish(1006, "", "drop")),
        stall: Effect.sync(() => {
          stalled = true
        }),
        setAutoPong: (enabled) =>
          Effect.sync(() => {
            autoPong = enabled
          }),
        received: Effect.sync(() => received.slice()),
        takeReceived: Queue.take(receivedQueue),
        isOpen: Effect.sync(() => state === "open"),
        closed: Deferred.await(closedDeferred)
      }

      const notOpen = (what: string) =>
        new SendFailed({
          connection: request.connection,
          reason: `cannot ${what}: session ${request.session} is closed`
        })

      const session: Transport.Session = {
        session: request.session,
        protocol,
        take: inbox.take,
        send: (data) =>
          Effect.suspend(() => {
            if (state !== "open") return Effect.fail(notOpen("send"))
            if (stalled) return Effect.void
            record(typeof data === "string" ? { _tag: "Text", data } : { _tag: "Binary", data })
            if (typeof data === "string" && options.reply !== undefined) {
              const answer = options.reply(data)
              if (answer !== undefined) {
                const at = now()
                if (typeof answer === "string" || answer instanceof Uint8Array) deliver(answer, at)
                else for (const message of answer) deliver(message, at)
              }
            }
            return Effect.void
          }),
        ping: (payload = EMPTY) =>
          Effect.suspend(() => {
            if (state !== "open") return Effect.fail(notOpen("ping"))
            if (stalled) return Effect.void
            record({ _tag: "Ping", data: payload })
            if (autoPong) inbox.push(Frame.pong(payload, request.session, now()))
            return Effect.void
          }),
        close: (code = 1000, reason = "") =>
          Effect.sync(() => {
            if (state !== "open" || stalled) return
            record({ _tag: "Close", code, reason })
            // The server echoes the close frame, completing the handshake.
            finish(code, reason, "client")
          }),
        terminate: Effect.sync(() => finish(1006, "", "terminate")),
        bufferedAmount: () => 0
      }
      open.add(conn)
      latest = conn
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (state === "open" && !stalled) {
            record({ _tag: "Close", code: 1000, reason: "" })
            finish(1000, "", "client")
          } else {
            finish(1006, "", "terminate")
          }
        })
      )
      yield* Queue.offer(acceptedQueue, conn)
      return session
    })

  const transport = Transport.Transport.of({
    open: (request) =>
      Transport.withConnectTimeout(
        request,
        Effect.suspend(() => {
          const outcome = scripted.shift() ?? defaultOutcome
          dialLog.push({
            url: request.url,
            session: request.session,
            connection: request.connection,
            at: clock.currentTimeMillisUnsafe(),
            headers: request.headers,
            protocols: request.protocols,
            outcome: outcome._tag
          })
          const url = redactUrl(request.url)
          const settle = (effect: Effect.Effect<Transport.Session, ConnectFailed, Scope.Scope>) =>
            latency === undefined ? effect : Effect.andThen(Effect.sleep(latency), effect)
          switch (outcome._tag) {
            case "Accept":
              return settle(accept(request, outcome.protocol ?? ""))
            case "Refuse":
              return settle(Effect.fail(
                new ConnectFailed({
                  connection: request.connection,
                  url,
                  status: outcome.status,
                  ...(outcome.retryAfter === undefined ? {} : { retryAfter: outcome.retryAfter }),
                  detail: `upgrade refused with HTTP ${outcome.status}`
                })
              ))
            case "Fail":
              return settle(
                // Scrubbed as a real transport scrubs its socket library's message.
                Effect.fail(
                  new ConnectFailed({
                    connection: request.connection,
                    url,
                    detail: redactIn(request.url, outcome.detail)
                  })
                )
              )
            case "Stall":
              return Effect.never
          }
        })
      )
  })

  const server = MemoryServer.of({
    script: (...outcomes) => Effect.sync(() => void scripted.push(...outcomes)),
    setDefault: (outcome) =>
      Effect.sync(() => {
        defaultOutcome = outcome
      }),
    dials: Effect.sync(() => dialLog.slice()),
    accepted: Queue.take(acceptedQueue),
    connections: Effect.sync(() => Array.from(open)),
    latest: Effect.sync(() => latest)
  })
  return Context.make(Transport.Transport, transport).pipe(Context.add(MemoryServer, server))
})

/**
 * A `Transport` backed by memory plus the `MemoryServer` that drives it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { MemoryTransport, Transport } from "@kharbranth/core"
 *
 * const program = Effect.gen(function*() {
 *   const server = yield* MemoryTransport.MemoryServer
 *   const transport = yield* Transport.Transport
 *   const session = yield* transport.open(Transport.request({ url: "ws://venue.test/ws" }))
 *   const peer = yield* server.accepted
 *   yield* peer.send('{"e":"trade"}')
 *   const frames = yield* session.take // [{ _tag: "Text", data: '{"e":"trade"}', session: 1, ... }]
 * }).pipe(Effect.scoped, Effect.provide(MemoryTransport.layer()))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Transport.Transport | MemoryServer> =>
  Layer.effectContext(make(options))
