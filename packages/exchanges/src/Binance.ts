/**
 * Binance market streams: the spot profile (`stream.binance.com`) and the
 * USDⓈ-M futures profile (`fstream.binance.com`), with `SUBSCRIBE` /
 * `UNSUBSCRIBE` framing, id-matched acknowledgements, protocol-frame
 * heartbeats, the `serverShutdown` notice, `Schema` decoders for trade
 * and diff-depth events (raw or wrapped in a combined-stream envelope), and
 * `topicOf`/`sequence` readers for staleness and gap tracking. Topics are
 * stream names: `btcusdt@trade`, `btcusdt@depth@100ms`.
 *
 * Sources: https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
 * (spot: ping frame every 20 s, pong within 1 min, 24 h lifetime, 5 incoming
 * messages/s — pings and pongs count —, 1024 streams per connection, 300
 * connections per 5 minutes per IP) and
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
 * (futures: ping every 3 min, pong within 10 min, 10 incoming messages/s,
 * 1024 streams, 24 h).
 *
 * @since 0.1.0
 */
import { Heartbeat } from "@kharbranth/core"
import * as Schema from "effect/Schema"
import { intAfter, num, obj, parseObject, str, stringAfter } from "./internal/json.ts"
import * as Venue from "./Venue.ts"

/**
 * The stream name of a symbol's trades (`btcusdt@trade`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const trade = (symbol: string): string => `${symbol.toLowerCase()}@trade`

/**
 * The stream name of a symbol's diff-depth updates (`btcusdt@depth@100ms`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const depth = (symbol: string, speed: "100ms" | "1000ms" = "100ms"): string =>
  `${symbol.toLowerCase()}@depth${speed === "1000ms" ? "" : "@100ms"}`

const request = (op: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>, id = 1): ReadonlyArray<Venue.Request> =>
  Venue.chunks(topics, 200).map((chunk, i) => ({
    op,
    topics: chunk,
    id: id + i,
    text: JSON.stringify({ method: op === "subscribe" ? "SUBSCRIBE" : "UNSUBSCRIBE", params: chunk, id: id + i })
  }))

/**
 * Market data, told by its first bytes: an event (`{"e":"trade"...`) or a
 * combined-stream envelope. Answers never start so, and the only event that
 * is not data is `serverShutdown`; checked first on every message so data
 * is never scanned twice for answer and notice keys.
 */
const isMarketData = (text: string): boolean =>
  text.startsWith('{"stream":') || (text.startsWith('{"e":"') && !text.startsWith('{"e":"serverShutdown"'))

/**
 * Reads `{"result":null,"id":n}` (acknowledged) and `{"error":{...},"id":n}`
 * (rejected). Binance's answers name only the request id.
 *
 * @category combinators
 * @since 0.1.0
 */
export const confirmation = (text: string): Venue.Confirmation | undefined => {
  if (isMarketData(text) || !text.includes('"id"')) return undefined
  const msg = parseObject(text)
  if (msg === undefined || !("id" in msg)) return undefined
  const id = num(msg, "id")
  const error = obj(msg, "error")
  if (error !== undefined) return Venue.confirmation("rejected", [], id, str(error, "msg"))
  if ("result" in msg && msg["result"] === null) return Venue.confirmation("acknowledged", [], id)
  return undefined
}

/**
 * Whether a message is the `serverShutdown` event sent before Binance closes
 * a connection (maintenance, or the 24-hour lifetime).
 *
 * @category combinators
 * @since 0.1.0
 */
export const isNotice = (text: string): boolean =>
  text.startsWith('{"e":"serverShutdown"') ||
  (!isMarketData(text) && text.includes('"serverShutdown"') && str(parseObject(text), "e") === "serverShutdown")

/** The stream a market event belongs to, with the event itself (unwrapped from a combined-stream envelope). */
const event = (text: string): { readonly stream: string; readonly data: Readonly<Record<string, unknown>> } | undefined => {
  if (text.startsWith('{"stream":')) {
    const msg = parseObject(text)
    const stream = str(msg, "stream")
    const data = obj(msg, "data")
    return stream === undefined || data === undefined ? undefined : { stream, data }
  }
  if (!text.includes('"e":"trade"') && !text.includes('"e":"depthUpdate"')) return undefined
  const data = parseObject(text)
  const symbol = str(data, "s")
  if (data === undefined || symbol === undefined) return undefined
  switch (data["e"]) {
    case "trade":
      return { stream: trade(symbol), data }
    case "depthUpdate":
      return { stream: depth(symbol), data }
    default:
      return undefined
  }
}

/**
 * The stream a market-data message belongs to: the `stream` of a
 * combined-stream envelope, or for a raw-stream `trade` / `depthUpdate`
 * event the name `trade` / `depth` build from its symbol. Undefined for
 * answers, `serverShutdown` and anything else.
 *
 * **Gotchas**: a raw-stream `depthUpdate` does not say at which speed it was
 * subscribed, so it is named with `depth`'s default (`btcusdt@depth@100ms`).
 * Subscribe to other speeds (`btcusdt@depth`) on the combined endpoint
 * (`urls.combined`), whose envelope names the stream exactly. Raw events of
 * other streams (`aggTrade`, `kline`, ...) give undefined.
 *
 * @category combinators
 * @since 0.1.0
 */
export const topicOf = (text: string): string | undefined => event(text)?.stream

/**
 * Where a market-data message sits in its stream: a trade covers its trade
 * id `t` (`first` = `last` = `t`; ids go up by one per symbol); a diff-depth
 * event covers update ids `U`..`u`. Spot chains depth events by `U` =
 * previous `u` + 1; USDⓈ-M futures chain them by `pu` (the previous event's
 * `u`), read as `prev`. `stream` is the message's `topicOf`. Undefined for
 * anything else.
 *
 * @category combinators
 * @since 0.1.0
 */
export const sequence = (text: string): Venue.Sequence | undefined => fastSequence(text) ?? parsedSequence(text)

/**
 * The fast path of `sequence` for the shapes Binance writes (`{"e":"trade"…`,
 * `{"e":"depthUpdate"…`, and both inside `{"stream":…,"data":…}`): the
 * numbers are read by scanning, with no `JSON.parse`. Anything else, or any
 * field not where expected, falls back to the parsing path.
 */
const fastSequence = (text: string): Venue.Sequence | undefined => {
  let stream: string | undefined
  let from = 0
  if (text.startsWith('{"stream":"')) {
    stream = stringAfter(text, '{"stream":"')
    from = text.indexOf('"data":{')
    if (stream === undefined || from < 0) return undefined
    from += 8
  }
  if (text.startsWith('"e":"trade"', from + (from === 0 ? 1 : 0))) {
    const t = intAfter(text, '"t":', from)
    if (t === undefined) return undefined
    if (stream === undefined) {
      const symbol = stringAfter(text, '"s":"', from)
      if (symbol === undefined) return undefined
      stream = trade(symbol)
    }
    return { stream, first: t, last: t }
  }
  if (text.startsWith('"e":"depthUpdate"', from + (from === 0 ? 1 : 0))) {
    const first = intAfter(text, '"U":', from)
    const last = intAfter(text, '"u":', from)
    if (first === undefined || last === undefined) return undefined
    if (stream === undefined) {
      const symbol = stringAfter(text, '"s":"', from)
      if (symbol === undefined) return undefined
      stream = depth(symbol)
    }
    if (!text.includes('"pu":', from)) return { stream, first, last }
    const prev = intAfter(text, '"pu":', from)
    return prev === undefined ? undefined : { stream, first, last, prev }
  }
  return undefined
}

const parsedSequence = (text: string): Venue.Sequence | undefined => {
  const e = event(text)
  if (e === undefined) return undefined
  const { data, stream } = e
  switch (data["e"]) {
    case "trade": {
      const t = num(data, "t")
      return t === undefined ? undefined : { stream, first: t, last: t }
    }
    case "depthUpdate": {
      const first = num(data, "U")
      const last = num(data, "u")
      if (first === undefined || last === undefined) return undefined
      const prev = num(data, "pu")
      return prev === undefined ? { stream, first, last } : { stream, first, last, prev }
    }
    default:
      return undefined
  }
}

const common = {
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation,
  isNotice,
  topicOf,
  idleTimeout: undefined,
  serverIdle: undefined
} as const

/**
 * Binance spot. The server pings every 20 s and wants a pong within a
 * minute (the transport answers); the client also pings every 30 s to find a
 * half-open TCP connection sooner. Every client PING frame counts towards
 * the 5 messages per second.
 *
 * @category profiles
 * @since 0.1.0
 */
export const spot: Venue.Profile = {
  ...common,
  venue: "binance-spot",
  url: "wss://stream.binance.com:9443/ws",
  urls: {
    raw: "wss://stream.binance.com:9443/ws",
    raw443: "wss://stream.binance.com:443/ws",
    combined: "wss://stream.binance.com:9443/stream",
    marketDataOnly: "wss://data-stream.binance.vision/ws"
  },
  heartbeat: Heartbeat.protocol({ interval: "30 seconds", timeout: "10 seconds" }),
  idleRule: "the server sends a ping frame every 20 s and closes the connection when no pong comes within 1 minute",
  limits: {
    connections: { count: 300, window: "5 minutes" },
    messagesPerSecond: 5,
    messagesScope: "connection",
    countsHeartbeat: true,
    streamsPerConnection: 1024,
    topicsPerRequest: 200,
    maxLifetime: "24 hours"
  }
}

/**
 * Binance USDⓈ-M futures market streams.
 *
 * @category profiles
 * @since 0.1.0
 */
export const usdm: Venue.Profile = {
  ...common,
  venue: "binance-usdm",
  url: "wss://fstream.binance.com/ws",
  urls: {
    raw: "wss://fstream.binance.com/ws",
    combined: "wss://fstream.binance.com/stream"
  },
  heartbeat: Heartbeat.protocol({ interval: "30 seconds", timeout: "10 seconds" }),
  idleRule: "the server sends a ping frame every 3 minutes and closes the connection when no pong comes within 10 minutes",
  limits: {
    messagesPerSecond: 10,
    messagesScope: "connection",
    streamsPerConnection: 1024,
    topicsPerRequest: 200,
    maxLifetime: "24 hours"
  }
}

/**
 * A price level as Binance writes it: `["price", "quantity"]`, decimal strings.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Level = Schema.Tuple([Schema.String, Schema.String])

/**
 * A `<symbol>@trade` event.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Trade = Schema.Struct({
  e: Schema.Literal("trade"),
  E: Schema.Number,
  s: Schema.String,
  t: Schema.Number,
  p: Schema.String,
  q: Schema.String,
  T: Schema.Number,
  m: Schema.Boolean
})

/**
 * A decoded trade event.
 *
 * @category models
 * @since 0.1.0
 */
export type Trade = typeof Trade.Type

/**
 * A `<symbol>@depth` diff-depth event: `U`..`u` are the update ids it covers.
 *
 * @category schemas
 * @since 0.1.0
 */
export const DepthUpdate = Schema.Struct({
  e: Schema.Literal("depthUpdate"),
  E: Schema.Number,
  s: Schema.String,
  U: Schema.Number,
  u: Schema.Number,
  b: Schema.Array(Level),
  a: Schema.Array(Level)
})

/**
 * A decoded diff-depth event.
 *
 * @category models
 * @since 0.1.0
 */
export type DepthUpdate = typeof DepthUpdate.Type

/**
 * Any market event this module decodes.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Event = Schema.Union([Trade, DepthUpdate])

/**
 * A decoded market event.
 *
 * @category models
 * @since 0.1.0
 */
export type Event = typeof Event.Type

/**
 * The combined-stream envelope `{"stream":"<name>","data":<event>}`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Combined = Schema.Struct({ stream: Schema.String, data: Event })

/**
 * Decodes a raw-stream text message into an `Event` (fails with a `SchemaError`).
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeEvent = Schema.decodeUnknownEffect(Schema.fromJsonString(Event))

/**
 * Decodes a raw-stream trade message.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeTrade = Schema.decodeUnknownEffect(Schema.fromJsonString(Trade))

/**
 * Decodes a combined-stream text message.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeCombined = Schema.decodeUnknownEffect(Schema.fromJsonString(Combined))
