/**
 * What a connection is told: where to dial, how to tell the peer is alive,
 * how to reconnect, and how much to buffer. Every default lives here, and
 * `resolve` validates a config when the connection is made, so a bad URL, a
 * non-positive duration or an oversized ping payload is an `InvalidConfig`
 * naming the field, never a crash in a background fiber.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as ConnectionError from "./ConnectionError.ts"
import * as Heartbeat from "./Heartbeat.ts"
import { redactUrl } from "./internal/redact.ts"
import * as ReconnectPolicy from "./ReconnectPolicy.ts"
import type * as Transport from "./Transport.ts"

/**
 * How the inbound buffer of each `frames` subscriber behaves when full:
 * `suspend` (backpressure reaches the socket, nothing is dropped), `sliding`
 * (the oldest frames go) or `dropping` (new frames go). Drops are counted in
 * `stats`.
 *
 * @category models
 * @since 0.1.0
 */
export type InboundStrategy = "suspend" | "sliding" | "dropping"

/**
 * A connection's configuration. Only `url` is required.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectionConfig {
  /** `ws://` or `wss://` URL, or an effect evaluated before every dial (rotating endpoints, fresh tokens). */
  readonly url: string | Effect.Effect<string>
  /** Subprotocols to offer. */
  readonly protocols?: ReadonlyArray<string> | undefined
  /** Extra upgrade headers; give secrets as `Redacted`. */
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted<string>>> | undefined
  /** Default `Heartbeat.protocol()`: ping every 15 s, pong within 10 s. */
  readonly heartbeat?: Heartbeat.Heartbeat | undefined
  /** End a session after this long without a data frame (heartbeats do not count). Default: off. */
  readonly idleTimeout?: Duration.Input | undefined
  /** Reconnect schedule, stepped with each error. Default `ReconnectPolicy.defaultSchedule`. */
  readonly reconnect?: ReconnectPolicy.ReconnectSchedule | undefined
  /** A session up this long resets the attempt count and the schedule. Default 10 s. */
  readonly minUptime?: Duration.Input | undefined
  /** Which errors are worth another dial. Default `defaultShouldReconnect`. */
  readonly shouldReconnect?: ((error: ConnectionError.ConnectionError) => boolean) | undefined
  /** Bound on dial + TLS + upgrade. Default 10 s. */
  readonly connectTimeout?: Duration.Input | undefined
  /** How long `close()` waits for the peer's close frame before terminating. Default 2 s. */
  readonly closeTimeout?: Duration.Input | undefined
  /**
   * Largest inbound message in bytes; a larger one ends the session with
   * `ProtocolError` 1009. Default 16 MiB (`defaults.maxPayload`, which
   * `Transport.request` uses too).
   */
  readonly maxPayload?: number | undefined
  /** Offer permessage-deflate. Default false: it costs far more CPU than it saves on market data. */
  readonly compression?: boolean | undefined
  /** Frames buffered per `frames` subscriber (default 4096) and what happens when full (default `suspend`). */
  readonly inbound?: {
    readonly capacity?: number | undefined
    readonly strategy?: InboundStrategy | undefined
  } | undefined
  /**
   * Messages kept while not connected and sent after the next `onOpen`.
   * Default 0: `send` while not open fails with `NotConnected`. When the
   * buffer is full, `send` fails with `SendFailed`; nothing is dropped silently.
   */
  readonly sendBuffer?: number | undefined
  /** Outbound bytes buffered in the socket before `send` waits. Default 1 MiB. */
  readonly sendHighWaterMark?: number | undefined
  /**
   * This connection's TLS settings (`wss://` only): its own CA, a client
   * certificate with its `Redacted` key, a server name. Merged over the
   * transport's defaults field by field (see `Transport.TlsOptions`), so a
   * venue's private endpoint with a client certificate can share a manager
   * with public feeds. Default: the transport's settings alone.
   */
  readonly tls?: Transport.TlsOptions | undefined
}

/**
 * A validated config with every default filled in (durations in milliseconds).
 *
 * @category models
 * @since 0.1.0
 */
export interface Resolved {
  readonly url: Effect.Effect<string>
  readonly protocols: ReadonlyArray<string>
  readonly headers: Readonly<Record<string, string | Redacted.Redacted<string>>>
  readonly heartbeat: ResolvedHeartbeat
  readonly idleTimeout: number | undefined
  readonly reconnect: ReconnectPolicy.ReconnectSchedule
  readonly minUptime: number
  readonly shouldReconnect: (error: ConnectionError.ConnectionError) => boolean
  readonly connectTimeout: number
  readonly closeTimeout: number
  readonly maxPayload: number
  readonly compression: boolean
  readonly capacity: number
  readonly strategy: InboundStrategy
  readonly sendBuffer: number
  readonly sendHighWaterMark: number
  /** As given (validated), or `undefined`. */
  readonly tls: Transport.TlsOptions | undefined
}

/**
 * A heartbeat with its durations in milliseconds.
 *
 * @category models
 * @since 0.1.0
 */
export type ResolvedHeartbeat =
  | {
    readonly _tag: "Protocol"
    readonly interval: number
    readonly timeout: number
    readonly payload: Uint8Array | undefined
  }
  | {
    readonly _tag: "Message"
    readonly interval: number
    readonly timeout: number
    readonly message: () => string
    readonly isPong: (text: string) => boolean
    readonly deliverPongs: boolean
  }
  | { readonly _tag: "None" }

/**
 * The defaults, in one place. `Transport.request` fills a bare transport
 * request from these too, so a session behaves the same opened either way.
 *
 * `maxPayload` is 16 MiB: far above any market-data message (a full
 * order-book snapshot is a few hundred KiB), and it bounds what one peer can
 * make a connection buffer, which matters with a thousand connections (an
 * earlier 64 MiB default in `Transport.request` is gone: one default, this one).
 *
 * @category constants
 * @since 0.1.0
 */
export const defaults = {
  heartbeat: Heartbeat.protocol(),
  minUptime: 10_000,
  connectTimeout: 10_000,
  closeTimeout: 2_000,
  maxPayload: 16 * 1024 * 1024,
  compression: false,
  capacity: 4096,
  strategy: "suspend" as InboundStrategy,
  sendBuffer: 0,
  sendHighWaterMark: 1024 * 1024
} as const

/** An HTTP token (RFC 7230): what header names and subprotocols are made of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Shorter heartbeat deadlines than this fire on scheduling noise, not on dead peers. */
const MIN_HEARTBEAT_MILLIS = 10

/** The fields of `Transport.TlsOptions`. */
const TLS_FIELDS: ReadonlySet<string> = new Set(["ca", "cert", "key", "passphrase", "servername", "rejectUnauthorized"])

/** A DNS name (labels of letters, digits, `-` and `_`), as SNI carries it. */
const HOSTNAME = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/
const IPV4 = /^\d+(?:\.\d+){3}$/

/** A PEM block: its label, then its headers and base64 body. */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** PEM given as bytes, read as the ASCII text it is; no platform decoder needed. */
const pemText = (pem: Transport.Pem): string => {
  if (typeof pem === "string") return pem
  let text = ""
  for (let i = 0; i < pem.length; i += 8192) text += String.fromCharCode(...pem.subarray(i, i + 8192))
  return text
}

/**
 * The labels of the PEM blocks in `pem` (`CERTIFICATE`, `PRIVATE KEY`, …),
 * or what is wrong with it. Never quotes the content: it may be a key.
 */
const pemLabels = (pem: unknown): { readonly labels: ReadonlyArray<string>; readonly encrypted: boolean } | string => {
  if (typeof pem !== "string" && !(pem instanceof Uint8Array)) return "must be PEM text, as a string or a Uint8Array"
  const text = pemText(pem)
  const labels: Array<string> = []
  let encrypted = false
  for (const [, begin, content, end] of text.matchAll(PEM_BLOCK)) {
    if (begin !== end) return `a PEM block opens as ${begin} but closes as ${end}`
    // Headers (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: …`) precede the body of a legacy encrypted key.
    const lines = content!.split(/\r?\n/)
    const headers = lines.filter((line) => line.includes(":"))
    const body = lines.filter((line) => !line.includes(":")).join("").replace(/\s+/g, "")
    if (!BASE64.test(body)) return `the ${begin} block is not base64`
    if (begin!.startsWith("ENCRYPTED") || headers.some((line) => /ENCRYPTED/.test(line))) encrypted = true
    labels.push(begin!)
  }
  return labels.length === 0 ? "is not PEM: no -----BEGIN …----- block" : { labels, encrypted }
}

/** Checks one connection's TLS settings; throws `InvalidConfig` naming the field. */
const checkTls = (
  invalid: (field: string, reason: string) => ConnectionError.InvalidConfig,
  tls: Transport.TlsOptions
): void => {
  if (typeof tls !== "object" || tls === null || Array.isArray(tls)) {
    throw invalid("tls", "must be an object of TLS options")
  }
  for (const field of Object.keys(tls)) {
    if (!TLS_FIELDS.has(field)) {
      throw invalid(`tls.${field}`, "not a TLS option (ca, cert, key, passphrase, servername, rejectUnauthorized)")
    }
  }
  const certificates = (field: string, pem: unknown): void => {
    const read = pemLabels(pem)
    if (typeof read === "string") throw invalid(field, read)
    const other = read.labels.find((label) => label !== "CERTIFICATE" && label !== "TRUSTED CERTIFICATE")
    if (other !== undefined) throw invalid(field, `must hold certificates only, found a ${other} block`)
  }
  if (tls.ca !== undefined) {
    if (Array.isArray(tls.ca)) {
      const list: ReadonlyArray<unknown> = tls.ca
      if (list.length === 0) throw invalid("tls.ca", "must not be an empty list (it would trust no one)")
      list.forEach((pem, i) => certificates(`tls.ca[${i}]`, pem))
    } else certificates("tls.ca", tls.ca)
  }
  if (tls.cert !== undefined) certificates("tls.cert", tls.cert)
  let encryptedKey = false
  if (tls.key !== undefined) {
    if (!Redacted.isRedacted(tls.key)) {
      throw invalid("tls.key", "must be Redacted: a private key is a secret (Redacted.make(pem))")
    }
    const read = pemLabels(Redacted.value(tls.key))
    if (typeof read === "string") throw invalid("tls.key", read)
    if (read.labels.length !== 1 || !read.labels[0]!.endsWith("PRIVATE KEY")) {
      throw invalid("tls.key", `must hold one PRIVATE KEY block, found ${read.labels.join(", ")}`)
    }
    encryptedKey = read.encrypted
  }
  if (tls.cert !== undefined && tls.key === undefined) throw invalid("tls.key", "required with tls.cert")
  if (tls.key !== undefined && tls.cert === undefined) throw invalid("tls.cert", "required with tls.key")
  if (tls.passphrase !== undefined) {
    if (!Redacted.isRedacted(tls.passphrase) || typeof Redacted.value(tls.passphrase) !== "string") {
      throw invalid("tls.passphrase", "must be a Redacted string")
    }
    if (tls.key === undefined) throw invalid("tls.passphrase", "given without tls.key")
  } else if (encryptedKey) throw invalid("tls.passphrase", "required: tls.key is encrypted")
  if (tls.servername !== undefined) {
    const name = tls.servername
    if (typeof name !== "string" || name.length === 0 || name.length > 253 || !HOSTNAME.test(name)) {
      throw invalid("tls.servername", "must be a DNS name")
    }
    if (IPV4.test(name)) throw invalid("tls.servername", "must be a DNS name, not an IP address (RFC 6066)")
  }
  if (tls.rejectUnauthorized !== undefined && typeof tls.rejectUnauthorized !== "boolean") {
    throw invalid("tls.rejectUnauthorized", "must be true or false")
  }
}

/**
 * The default `shouldReconnect`: retry everything except an explicit
 * `close()` (`ConnectionStopped`), an invalid config, and an upgrade refused
 * with 401 or 403, which no retry can fix. A server close, even with 1000,
 * is a disconnect to recover from.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultShouldReconnect = (error: ConnectionError.ConnectionError): boolean => {
  switch (error._tag) {
    case "ConnectionStopped":
    case "InvalidConfig":
      return false
    case "ConnectFailed":
      return error.status !== 401 && error.status !== 403
    default:
      return true
  }
}

/**
 * Checks that a URL is a `ws://` or `wss://` URL.
 *
 * @category validation
 * @since 0.1.0
 */
export const validateUrl = (connection: string, url: string): Effect.Effect<string, ConnectionError.InvalidConfig> => {
  const problem = urlProblem(url)
  return problem === undefined
    ? Effect.succeed(url)
    : Effect.fail(new ConnectionError.InvalidConfig({ connection, field: "url", reason: problem }))
}

/** What is wrong with a URL, if anything. */
const urlProblem = (url: string): string | undefined => {
  if (typeof url !== "string" || !URL.canParse(url)) {
    const shown = redactUrl(String(url))
    return `not a URL: "${shown.length > 100 ? shown.slice(0, 100) + "…" : shown}"`
  }
  const parsed = new URL(url)
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    return `scheme must be ws: or wss:, got ${parsed.protocol}`
  }
  return undefined
}

/** One empty list for every connection that asks for no subprotocol. */
const NO_PROTOCOLS: ReadonlyArray<string> = []
/** Shared by every connection that gives no headers: an empty object each would be ~56 B per connection. */
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

/**
 * Validates a config and fills in the defaults.
 *
 * @category validation
 * @since 0.1.0
 */
export const resolve = (
  connection: string,
  config: ConnectionConfig
): Effect.Effect<Resolved, ConnectionError.InvalidConfig> =>
  // Checked synchronously, with no generator or effect per field: a manager
  // resolves a config per connection.
  Effect.suspend(() => {
    try {
      return Effect.succeed(resolveNow(connection, config))
    } catch (error) {
      if (error instanceof ConnectionError.InvalidConfig) return Effect.fail(error)
      throw error
    }
  })

/**
 * The function sending the last string ping resolved: configs with the same
 * string get the same function, so that a manager's connections can share
 * their settings (internal/settings.ts compares functions by identity).
 */
let lastPing: { readonly text: string; readonly make: () => string } | undefined

const pingFor = (text: string): () => string => {
  if (lastPing === undefined || lastPing.text !== text) lastPing = { text, make: () => text }
  return lastPing.make
}

/** `resolve`, throwing `InvalidConfig`. */
const resolveNow = (connection: string, config: ConnectionConfig): Resolved => {
  const invalid = (field: string, reason: string) => new ConnectionError.InvalidConfig({ connection, field, reason })
  if (connection.length === 0) throw invalid("name", "must not be empty")
  if (typeof config.url === "string") {
    const problem = urlProblem(config.url)
    if (problem !== undefined) throw invalid("url", problem)
  } else if (!Effect.isEffect(config.url)) throw invalid("url", "must be a string or an Effect<string>")
  const url = typeof config.url === "string" ? Effect.succeed(config.url) : config.url

  const millis = (field: string, input: Duration.Input | undefined, fallback: number, min = 1): number => {
    if (input === undefined) return fallback
    const duration = Duration.fromInput(input)
    if (duration._tag === "None") throw invalid(field, `not a duration: ${String(input)}`)
    const ms = Duration.toMillis(duration.value)
    if (!Number.isFinite(ms)) throw invalid(field, "must be finite")
    if (ms < min) throw invalid(field, min === 0 ? "must not be negative" : `must be at least ${min} ms, got ${ms} ms`)
    return ms
  }
  const integer = (field: string, value: number | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback
    if (!Number.isInteger(value) || value < min) throw invalid(field, `must be an integer ≥ ${min}, got ${value}`)
    return value
  }

  const hb = config.heartbeat ?? defaults.heartbeat
  let heartbeat: ResolvedHeartbeat
  switch (hb._tag) {
    case "None":
      heartbeat = hb
      break
    case "Protocol": {
      const interval = millis("heartbeat.interval", hb.interval, 0, MIN_HEARTBEAT_MILLIS)
      const timeout = millis("heartbeat.timeout", hb.timeout, 0, MIN_HEARTBEAT_MILLIS)
      if (hb.payload !== undefined && !(hb.payload instanceof Uint8Array)) {
        throw invalid("heartbeat.payload", "must be a Uint8Array")
      }
      if (hb.payload !== undefined && hb.payload.byteLength > 125) {
        throw invalid("heartbeat.payload", `a ping payload is at most 125 bytes, got ${hb.payload.byteLength}`)
      }
      heartbeat = { _tag: "Protocol", interval, timeout, payload: hb.payload }
      break
    }
    case "Message": {
      const interval = millis("heartbeat.interval", hb.interval, 0, MIN_HEARTBEAT_MILLIS)
      const timeout = millis("heartbeat.timeout", hb.timeout, 0, MIN_HEARTBEAT_MILLIS)
      if (typeof hb.isPong !== "function") throw invalid("heartbeat.isPong", "must be a function")
      const message = hb.message
      if (typeof message === "string" && message.length === 0) {
        throw invalid("heartbeat.message", "must not be empty")
      }
      heartbeat = {
        _tag: "Message",
        interval,
        timeout,
        message: typeof message === "string" ? pingFor(message) : message,
        isPong: hb.isPong,
        deliverPongs: hb.deliverPongs ?? false
      }
      break
    }
    default:
      throw invalid("heartbeat", "must be Heartbeat.protocol(), Heartbeat.message() or Heartbeat.none")
  }

  const protocols = config.protocols ?? NO_PROTOCOLS
  if (!Array.isArray(protocols)) throw invalid("protocols", "must be an array of strings")
  for (const protocol of protocols) {
    if (typeof protocol !== "string" || !TOKEN.test(protocol)) {
      throw invalid("protocols", `not a valid subprotocol token: ${JSON.stringify(protocol)}`)
    }
  }
  const headers = config.headers ?? NO_HEADERS
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw invalid("headers", "must be an object of header name to value")
  }
  for (const [header, value] of Object.entries(headers)) {
    if (!TOKEN.test(header)) throw invalid("headers", `not a valid header name: ${JSON.stringify(header)}`)
    const text = Redacted.isRedacted(value) ? Redacted.value(value) : value
    // The value itself is never shown: it may be a secret.
    if (typeof text !== "string") throw invalid(`headers.${header}`, "must be a string or a Redacted string")
    if (/[\r\n\0]/.test(text)) throw invalid(`headers.${header}`, "must not contain CR, LF or NUL")
  }
  if (config.reconnect !== undefined && !Schedule.isSchedule(config.reconnect)) {
    throw invalid("reconnect", "must be a Schedule")
  }
  if (config.shouldReconnect !== undefined && typeof config.shouldReconnect !== "function") {
    throw invalid("shouldReconnect", "must be a function of the error")
  }
  if (config.compression !== undefined && typeof config.compression !== "boolean") {
    throw invalid("compression", "must be true or false")
  }
  if (config.tls !== undefined) checkTls(invalid, config.tls)

  const strategy = config.inbound?.strategy ?? defaults.strategy
  if (strategy !== "suspend" && strategy !== "sliding" && strategy !== "dropping") {
    throw invalid("inbound.strategy", `must be "suspend", "sliding" or "dropping", got ${String(strategy)}`)
  }
  return {
    url,
    protocols,
    headers,
    heartbeat,
    idleTimeout: config.idleTimeout === undefined ? undefined : millis("idleTimeout", config.idleTimeout, 0),
    reconnect: config.reconnect ?? ReconnectPolicy.defaultSchedule,
    minUptime: millis("minUptime", config.minUptime, defaults.minUptime, 0),
    shouldReconnect: config.shouldReconnect ?? defaultShouldReconnect,
    connectTimeout: millis("connectTimeout", config.connectTimeout, defaults.connectTimeout),
    closeTimeout: millis("closeTimeout", config.closeTimeout, defaults.closeTimeout),
    maxPayload: integer("maxPayload", config.maxPayload, defaults.maxPayload, 1),
    compression: config.compression ?? defaults.compression,
    capacity: integer("inbound.capacity", config.inbound?.capacity, defaults.capacity, 1),
    strategy,
    sendBuffer: integer("sendBuffer", config.sendBuffer, defaults.sendBuffer, 0),
    sendHighWaterMark: integer("sendHighWaterMark", config.sendHighWaterMark, defaults.sendHighWaterMark, 1),
    tls: config.tls
  } satisfies Resolved
}
