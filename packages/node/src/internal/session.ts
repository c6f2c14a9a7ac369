/**
 * One session of the Node transport (NodeTransport.ts): the `ws` socket,
 * subclassed so that it hands its events straight to the session, and the
 * session, which is its own inbox. NodeTransport.ts makes them in `open`.
 */
import { ConnectionError, Frame, Inbox, Timers, Transport } from "@kharbranth/core"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as http from "node:http"
import WebSocket from "ws"
import type { Options } from "../NodeTransport.ts"
import { type DialPhases, measureDial } from "./dialTimings.ts"
import type { TlsMerge } from "./tls.ts"
import { violationCodeOf } from "./violations.ts"

const revealHeaders = (headers: Transport.OpenRequest["headers"]): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    out[name] = Redacted.isRedacted(value) ? Redacted.value(value) : value
  }
  return out
}

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

/** Settings every session of one transport shares. */
export interface Settings {
  readonly closeTimeout: Duration.Duration
  readonly maxPendingPongs: number
  readonly tls: TlsMerge
}

/**
 * A socket that knows its session and hands its events straight to it.
 * ws tells everything by `emit` on the socket; this subclass answers the
 * session's events itself, with no listener registered: an idle socket so
 * holds no listener table (a dictionary of 184 to 280 B per socket), and a
 * frame reaches the session with one call rather than through the
 * emitter's lookup and its array of arguments. Events it does not know go
 * to the emitter as before. The session is a field of the subclass, laid
 * out in the object itself: a property added after construction would live
 * in a separate properties array, one more cache line per socket read.
 */
class SessionSocket extends WebSocket {
  readonly nodeSession: NodeSession
  constructor(
    session: NodeSession,
    url: string,
    protocols: Array<string>,
    options: WebSocket.ClientOptions | http.ClientRequestArgs
  ) {
    super(url, protocols, options)
    this.nodeSession = session
    // Nothing listens (see `emit`), so the emitter needs no listener
    // table: an `EventEmitter` whose `_events` is undefined makes one on its
    // first listener, as every one of its methods checks (node:events), and
    // the empty one it made in the constructor is a dictionary of 184 B.
    if (this.eventNames().length === 0) (this as unknown as { _events: undefined })._events = undefined
  }

  // ws emits at most two arguments with each of these events
  // (websocket.js); `true` tells it the event was heard (an unheard
  // "error" would throw, an unheard "unexpected-response" would be
  // answered by ws itself).
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const session = this.nodeSession
    switch (event) {
      case "message": {
        const bytes = a as Buffer
        session.push(
          b === true
            ? Frame.binary(bytes, session.session, session.now())
            : Frame.text(bytes.toString(), session.session, session.now())
        )
        return true
      }
      case "ping":
        session.onPing(this, a as Buffer)
        return true
      case "pong":
        session.push(Frame.pong(a as Buffer, session.session, session.now()))
        return true
      case "open":
        session.onOpen()
        return true
      case "close":
        session.onClose(a as number, b as Buffer)
        return true
      case "error":
        session.onError(this, a as Error)
        return true
      case "unexpected-response":
        session.onUnexpectedResponse(a as http.ClientRequest, b as http.IncomingMessage)
        return true
    }
    // Events the session does not read ("upgrade", "redirect", listeners
    // ws adds itself): the emitter's own dispatch.
    return arguments.length === 1
      ? super.emit(event)
      : arguments.length === 2
      ? super.emit(event, a)
      : super.emit(event, a, b)
  }
}

/**
 * What a session sets only when something goes wrong or waits, made by the
 * first of them: an idle healthy session holds none of it (three fields
 * less per open connection).
 */
class Trouble {
  /** Made only while the release waits for the close handshake. */
  closedWaiter: Deferred.Deferred<void> | undefined = undefined
  lastError: Error | undefined = undefined
  /** More pongs waited to be written than `maxPendingPongs`: the peer pings faster than it reads. */
  pingFlood = false
  /** Sends waiting for the socket's buffer to drain; made with the first. */
  drainWaiters: Array<() => void> | undefined = undefined
}

/**
 * One session over one socket: the socket's state lives in fields and its
 * handlers on the prototype, so an open idle session holds no closures. The
 * session is its own inbox (and the inbox's options): a socket read touches
 * one object.
 */
export class NodeSession extends Inbox.Base<Transport.SessionEnd> implements Transport.Session, Inbox.InboxOptions {
  readonly session: number
  readonly highWaterMark: number
  private readonly clockService: Clock.Clock
  protocol = ""
  private readonly connection: string
  /** The URL as dialed, secrets and all: only to scrub them out of error messages. */
  private readonly url: string
  private readonly sendHighWaterMark: number
  private readonly settings: Settings
  private socket: WebSocket | undefined = undefined
  /** Settled by the handshake; dropped once the session is open. */
  private opened: Deferred.Deferred<void, ConnectionError.ConnectFailed | ConnectionError.ConnectTimeout> | undefined
  private closed = false
  // Pongs written to the socket but not yet flushed: a peer that pings
  // faster than it reads is flooding us.
  private pendingPongs = 0
  private pongWritten: (() => void) | undefined = undefined
  private pendingBytes = 0
  /** What goes wrong or waits, made when it first does (see `Trouble`): an idle healthy session holds none. */
  private trouble: Trouble | undefined = undefined

  /** The dial's phases, when the request asked for them (see `measureDial`). */
  timings: DialPhases | undefined = undefined

  constructor(request: Transport.OpenRequest, settings: Settings, clock: Clock.Clock) {
    super()
    this.session = request.session
    this.connection = request.connection
    this.url = request.url
    this.highWaterMark = request.highWaterMark
    this.sendHighWaterMark = request.sendHighWaterMark
    this.settings = settings
    this.clockService = clock
    this.opened = Deferred.makeUnsafe<void, ConnectionError.ConnectFailed | ConnectionError.ConnectTimeout>()
  }

  /** The session's `Trouble`, made on first need. */
  private troubled(): Trouble {
    return this.trouble ??= new Trouble()
  }

  // ---- the inbox's side ------------------------------------------------

  onPause(): void {
    this.socket?.pause()
  }
  onResume(): void {
    this.socket?.resume()
  }
  clock(): number {
    return this.clockService.currentTimeMillisUnsafe()
  }

  // ---- errors ------------------------------------------------------------

  // Socket errors may quote the URL: what leaves here has its secrets removed,
  // and the cause is kept as a scrubbed copy (message and code) only.
  private scrub(text: string): string {
    return Transport.redactIn(this.url, text)
  }

  connectFailed(detail: string, cause?: unknown, status?: number, retryAfter?: number): ConnectionError.ConnectFailed {
    return new ConnectionError.ConnectFailed({
      connection: this.connection,
      url: Transport.redactUrl(this.url),
      detail: this.scrub(detail),
      ...(status === undefined ? {} : { status }),
      ...(retryAfter === undefined ? {} : { retryAfter }),
      ...(cause === undefined ? {} : { cause: scrubbed(cause, (text) => this.scrub(text)) })
    })
  }

  private notOpen(what: string): ConnectionError.SendFailed {
    const ws = this.socket!
    return new ConnectionError.SendFailed({
      connection: this.connection,
      reason: `cannot ${what}: session ${this.session} is ${ws.readyState === WebSocket.CLOSING ? "closing" : "closed"}`
    })
  }

  // ---- the socket's events -----------------------------------------------

  /** Makes the socket; once. What it needs is passed in, not kept: the session holds none of it after the dial. */
  connect(request: Transport.OpenRequest, options: Options): WebSocket {
    const tlsOptions = this.settings.tls.optionsFor(request.tls)
    if (request.timings === true) this.timings = { start: this.clock() }
    const ws = this.attach(
      new SessionSocket(this, request.url, request.protocols.slice(), {
        ...tlsOptions,
        headers: revealHeaders(request.headers),
        perMessageDeflate: request.compression,
        maxPayload: request.maxPayload,
        followRedirects: false,
        // Pongs are answered by the session, so that a ping flood is reported, not a silent terminate.
        autoPong: false,
        ...(options.agent === undefined ? {} : { agent: options.agent })
      })
    )
    if (this.timings !== undefined) measureDial(ws, this.timings, () => this.clock())
    return ws
  }

  /** The socket's events reach the session through `SessionSocket.emit`, from the first. */
  private attach(ws: WebSocket): WebSocket {
    this.socket = ws
    ws.binaryType = "nodebuffer"
    return ws
  }

  onError(ws: WebSocket, error: Error): void {
    this.troubled().lastError = error
    if (this.opened !== undefined) {
      Deferred.doneUnsafe(this.opened, Effect.fail(this.connectFailed(errorDetail(error), error)))
    }
    // A protocol violation: ws has sent its close frame; a broken peer is
    // not waited for (ws would wait 30 s for its close reply).
    if (violationCodeOf(error) !== undefined) ws.terminate()
  }

  onUnexpectedResponse(req: http.ClientRequest, res: http.IncomingMessage): void {
    const status = res.statusCode ?? 0
    const retryAfter = parseRetryAfter(res.headers["retry-after"], this.clock())
    if (this.opened !== undefined) {
      Deferred.doneUnsafe(
        this.opened,
        Effect.fail(this.connectFailed(`upgrade refused with HTTP ${status}`, undefined, status, retryAfter))
      )
    }
    res.resume()
    req.destroy()
  }

  onOpen(): void {
    if (this.timings !== undefined) this.timings.upgrade = this.clock()
    if (this.opened !== undefined) Deferred.doneUnsafe(this.opened, Effect.void)
  }

  onPing(ws: WebSocket, data: Buffer): void {
    this.push(Frame.ping(data, this.session, this.now()))
    if (ws.readyState !== WebSocket.OPEN) return
    if (this.pendingPongs >= this.settings.maxPendingPongs) {
      this.troubled().pingFlood = true
      ws.terminate()
      return
    }
    this.pendingPongs++
    ws.pong(
      data,
      true,
      this.pongWritten ??= () => {
        this.pendingPongs--
      }
    )
  }

  onClose(code: number, reasonBytes: Buffer): void {
    const reason = reasonBytes.toString()
    const session = this.session
    const trouble = this.trouble
    const lastError = trouble?.lastError
    this.push(Frame.close(code, reason, session, this.now()))
    const status = lastError === undefined ? undefined : violationCodeOf(lastError)
    const pingFlood = trouble?.pingFlood === true
    // Made only if the connection reads it: not for a session it closed itself.
    this.endWith(() =>
      pingFlood
        ? new ConnectionError.ProtocolError({
          connection: this.connection,
          session,
          code: 1008,
          violation: `ping flood: more than ${this.settings.maxPendingPongs} pongs waiting to be written`
        })
        : lastError !== undefined && status !== undefined
        ? new ConnectionError.ProtocolError({
          connection: this.connection,
          session,
          code: status,
          violation: this.scrub(
            `${lastError.message} (${(lastError as NodeJS.ErrnoException).code ?? "protocol error"})`
          )
        })
        : new ConnectionError.Closed({ connection: this.connection, session, code, reason })
    )
    if (this.opened !== undefined) {
      Deferred.doneUnsafe(
        this.opened,
        Effect.fail(this.connectFailed(lastError ? errorDetail(lastError) : `closed with ${code}`))
      )
    }
    this.closed = true
    const closedWaiter = this.trouble?.closedWaiter
    if (closedWaiter !== undefined) Deferred.doneUnsafe(closedWaiter, Effect.void)
    this.wakeDrainWaiters()
  }

  // ---- the handshake and the release -------------------------------------

  /**
   * Waits for the handshake, at most `timeout` ms on the Effect clock, then
   * forgets it: an idle session keeps nothing of it. The deadline is a timer
   * in the clock's shared `Timers` (one sleeping fiber for every dial), which
   * fails the handshake when it comes, rather than a race of the dial
   * against a sleep (two more fibers per dial, and an interruption).
   */
  awaitOpen(timeout: number): Effect.Effect<void, ConnectionError.ConnectFailed | ConnectionError.ConnectTimeout> {
    const timers = Timers.forClock(this.clockService)
    return Effect.flatMap(timers.add(timeout, () => this.timedOut(timeout)), (deadline) =>
      Effect.ensuring(
        Effect.map(Deferred.await(this.opened!), () => {
          this.opened = undefined
          this.protocol = this.socket!.protocol
        }),
        Effect.sync(() => timers.cancel(deadline))
      ))
  }

  /** The connect deadline came first: the handshake fails with `ConnectTimeout`. */
  timedOut(timeout: number): void {
    if (this.opened === undefined) return
    Deferred.doneUnsafe(
      this.opened,
      Effect.fail(
        new ConnectionError.ConnectTimeout({ connection: this.connection, url: Transport.redactUrl(this.url), timeout })
      )
    )
  }

  /**
   * The scope's release: close handshake within `closeTimeout`, then
   * terminate. Its timer runs on the clock the session was opened with,
   * whichever fiber closes the scope; that clock is all of the opening
   * fiber's context it needs, so the session keeps no more of it.
   */
  release(): Effect.Effect<void> {
    const release = Effect.suspend(() => {
      const ws = this.socket!
      if (ws.readyState === WebSocket.CLOSED) return Effect.void
      if (ws.readyState === WebSocket.CONNECTING) return Effect.sync(() => ws.terminate())
      if (ws.readyState === WebSocket.OPEN) ws.close(1000)
      return Effect.suspend(() =>
        this.closed
          ? Effect.void
          : Deferred.await(this.troubled().closedWaiter ??= Deferred.makeUnsafe<void>())
      ).pipe(
        Effect.timeoutOrElse({ duration: this.settings.closeTimeout, orElse: () => Effect.sync(() => ws.terminate()) })
      )
    })
    return Effect.provideService(release, Clock.Clock, this.clockService)
  }

  // ---- sending -------------------------------------------------------------

  private wakeDrainWaiters(): void {
    const trouble = this.trouble
    const waiters = trouble?.drainWaiters
    if (waiters === undefined || waiters.length === 0) return
    trouble!.drainWaiters = undefined
    for (const wake of waiters) wake()
  }

  private awaitDrain(): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      if (this.pendingBytes <= this.sendHighWaterMark || this.socket!.readyState !== WebSocket.OPEN) {
        return resume(Effect.void)
      }
      const wake = () => resume(Effect.void)
      const trouble = this.troubled()
      ;(trouble.drainWaiters ??= []).push(wake)
      return Effect.sync(() => {
        trouble.drainWaiters = trouble.drainWaiters?.filter((w) => w !== wake)
      })
    })
  }

  private write(data: string | Uint8Array): Effect.Effect<void, ConnectionError.SendFailed> {
    return Effect.suspend(() => {
      const ws = this.socket!
      if (ws.readyState !== WebSocket.OPEN) return Effect.fail(this.notOpen("send"))
      const bytes = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength
      this.pendingBytes += bytes
      // A failed write needs no handling here: the socket's "close" follows and ends the session.
      ws.send(data, { binary: typeof data !== "string" }, () => {
        this.pendingBytes -= bytes
        if (this.pendingBytes <= this.sendHighWaterMark) this.wakeDrainWaiters()
      })
      return Effect.void
    })
  }

  send(data: Frame.Outbound): Effect.Effect<void, ConnectionError.SendFailed> {
    return Effect.suspend(() =>
      this.pendingBytes > this.sendHighWaterMark
        ? Effect.andThen(this.awaitDrain(), this.write(data))
        : this.write(data)
    )
  }

  ping(payload?: Uint8Array): Effect.Effect<void, ConnectionError.SendFailed> {
    return Effect.suspend(() => {
      const ws = this.socket!
      if (ws.readyState !== WebSocket.OPEN) return Effect.fail(this.notOpen("ping"))
      if (payload !== undefined && payload.byteLength > 125) {
        return Effect.fail(
          new ConnectionError.SendFailed({
            connection: this.connection,
            reason: `ping payload is ${payload.byteLength} bytes; at most 125 are allowed`
          })
        )
      }
      ws.ping(payload)
      return Effect.void
    })
  }

  close(code = 1000, reason = ""): Effect.Effect<void> {
    return Effect.sync(() => {
      const ws = this.socket!
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        const valid = (code === 1000 || (code >= 3000 && code <= 4999)) && Buffer.byteLength(reason) <= 123
        if (valid) ws.close(code, reason)
        else ws.terminate()
      }
    })
  }

  get terminate(): Effect.Effect<void> {
    return Effect.sync(() => this.socket!.terminate())
  }

  bufferedAmount(): number {
    return this.pendingBytes
  }
}

// Closures that hold the session alone, not the dial's request and options.
export const connectOf = (
  session: NodeSession,
  request: Transport.OpenRequest,
  options: Options
): Effect.Effect<WebSocket, ConnectionError.ConnectFailed> =>
  Effect.try({
    try: () => session.connect(request, options),
    catch: (cause) => session.connectFailed(`invalid request: ${errorDetail(cause)}`, cause)
  })
// A bound method (48 B) rather than an arrow over the session (a closure
// and its context, 96 B): the scope holds it for the session's life.
export const releaseOf = (session: NodeSession): () => Effect.Effect<void> => session.release.bind(session)
