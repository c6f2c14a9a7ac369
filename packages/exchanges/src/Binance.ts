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
 * (spot: ping frame every 20 s, pong within 1 min, 24 h lifetime, "5
 * incoming messages per second. A message is considered: A PING frame, A
 * PONG frame, A JSON controlled message (e.g. subscribe, unsubscribe)",
 * 1024 streams per connection, 300 connections per 5 minutes per IP; the
 * `serverShutdown` event, raw and in the combined envelope; the "Error
 * Messages" table, codes 0 to 3, all about the request's framing) and
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
 * (futures: ping every 3 min, pong within 10 min, 10 incoming messages/s,
 * 1024 streams, 24 h; since the 2026-03-06 "Base URL Split" the routed
 * endpoints `/public`, `/market` and `/private`, see `usdm`).
 * "How to manage a local order book correctly" (spot and futures): a diff
 * depth stream starts from a REST snapshot; nothing on the socket repairs
 * a book after a gap.
 *
 * @since 0.1.0
 */
import { Heartbeat } from "@kharbranth/core"
import * as Schema from "effect/Schema"
import * as BinanceAuth from "./internal/auth/binance.ts"
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

/**
 * Streams per `SUBSCRIBE`. Binance documents no per-request limit (only 1024
 * streams per connection); 200 is this module's own bound, to keep one
 * request and its answer small (unverifiable as a venue fact).
 */
const TOPICS_PER_REQUEST = 200

const request =
  (op: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>, id = 1): ReadonlyArray<Venue.Request> =>
    Venue.chunks(topics, TOPICS_PER_REQUEST).map((chunk, i) => ({
      op,
      topics: chunk,
      id: id + i,
      text: JSON.stringify({ method: op === "subscribe" ? "SUBSCRIBE" : "UNSUBSCRIBE", params: chunk, id: id + i })
    }))

/**
 * Market data, told by its first bytes: an event (`{"e":"trade"...`) or a
 * combined-stream envelope. Answers never start so, and the only event that
 * is not data is `serverShutdown`, raw (`{"e":"serverShutdown",...}`) or
 * wrapped (`{"stream":"!serverShutdown","data":{"e":"serverShutdown",...}}`);
 * checked first on every message so data is never scanned twice for answer
 * and notice keys.
 */
const isMarketData = (text: string): boolean =>
  (text.startsWith('{"stream":') && !text.startsWith('{"stream":"!serverShutdown"')) ||
  (text.startsWith('{"e":"') && !text.startsWith('{"e":"serverShutdown"'))

/** The one error Binance answers about a stream name itself (see `confirmation`). */
const invalidStream = /invalid stream/i

/**
 * Reads `{"result":null,"id":n}` (acknowledged) and `{"error":{"code",
 * "msg"},"id":n}` (rejected). Binance's answers name only the request id.
 *
 * **Details**: Binance accepts any well-formed stream name, even one of a
 * symbol it does not list, and then sends nothing for it (no error: see
 * binance/binance-connector-java#24, JKorf/Binance.Net#620). The errors its
 * docs list (codes 0 to 3) are about the request's framing, which this
 * module writes, and are read as transient. The one answer about a stream
 * name itself, `{"code":2,"msg":"Invalid request: invalid stream"}`, is not
 * in the docs' table but seen live (ctubio/Krypto-trading-bot#1121): the
 * same name fails again, so it is `permanent`. It names no stream, so it
 * applies to its whole request by id.
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
  if (error !== undefined) {
    const reason = str(error, "msg")
    const permanent = num(error, "code") === 2 && reason !== undefined && invalidStream.test(reason)
    return Venue.confirmation("rejected", [], id, reason, permanent ? { permanent } : undefined)
  }
  if ("result" in msg && msg["result"] === null) return Venue.confirmation("acknowledged", [], id)
  return undefined
}

/**
 * Whether a message is the `serverShutdown` event sent before Binance closes
 * a connection (maintenance, or the 24-hour lifetime): raw,
 * `{"e":"serverShutdown","E":...}`, or on a combined-stream connection
 * `{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":...}}`
 * (spot docs, "Server Shutdown"; the lead time it used to promise was
 * removed from the docs on 2026-06-09).
 *
 * @category combinators
 * @since 0.1.0
 */
export const isNotice = (text: string): boolean => {
  if (text.startsWith('{"e":"serverShutdown"') || text.startsWith('{"stream":"!serverShutdown"')) return true
  if (isMarketData(text) || !text.includes('"serverShutdown"')) return false
  const msg = parseObject(text)
  return str(msg, "e") === "serverShutdown" || str(obj(msg, "data"), "e") === "serverShutdown"
}

/** The stream a market event belongs to, with the event itself (unwrapped from a combined-stream envelope). */
const event = (
  text: string
): { readonly stream: string; readonly data: Readonly<Record<string, unknown>> } | undefined => {
  if (text.startsWith('{"stream":')) {
    const msg = parseObject(text)
    const stream = str(msg, "stream")
    const data = obj(msg, "data")
    if (stream === undefined || data === undefined || data["e"] === "serverShutdown") return undefined
    return { stream, data }
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
 * answers, `serverShutdown` (raw or wrapped) and anything else.
 *
 * **Gotchas**: a raw-stream `depthUpdate` does not say at which speed it was
 * subscribed, so it is named with `depth`'s default (`btcusdt@depth@100ms`).
 * Subscribe to other speeds (`btcusdt@depth`) on a combined endpoint
 * (`spot.urls.combined`; `usdm`'s routed endpoints are combined ones
 * already), whose envelope names the stream exactly. Raw events of other
 * streams (`aggTrade`, `kline`, ...) give undefined.
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
 * **Details**: diff-depth readings carry `needsResync: true`: Binance sends
 * no snapshot on the socket ("How to manage a local order book correctly"
 * starts the book from a REST snapshot), so after a gap nothing a restart
 * brings repairs the book. A futures partial-depth stream
 * (`<symbol>@depth<levels>`) also sends `depthUpdate` events, but each is a
 * whole top-of-book: on a combined connection, whose envelope names the
 * stream, they read as `snapshot: true` (never a gap).
 *
 * **Gotchas**: that trade ids go up by exactly one per symbol is not
 * written in the docs (observed; gap detection on trades rests on it). On a
 * raw connection a partial-depth event cannot be told from a diff-depth one
 * and reads as a diff (its `pu` does not chain from the previous partial
 * event, so it reports gaps): use a combined endpoint for partial depth.
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
    if (isPartialDepth(stream)) return { stream, first: last, last, snapshot: true }
    if (!text.includes('"pu":', from)) return { stream, first, last, needsResync: true }
    const prev = intAfter(text, '"pu":', from)
    return prev === undefined ? undefined : { stream, first, last, prev, needsResync: true }
  }
  return undefined
}

/** A partial book depth stream (`btcusdt@depth5`, `btcusdt@depth20@100ms`): whole top-of-book events. */
const isPartialDepth = (stream: string): boolean => /@depth\d/.test(stream)

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
      if (isPartialDepth(stream)) return { stream, first: last, last, snapshot: true }
      const prev = num(data, "pu")
      return prev === undefined
        ? { stream, first, last, needsResync: true }
        : { stream, first, last, prev, needsResync: true }
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
 * half-open TCP connection sooner. Every client PING frame, and every PONG
 * frame answering the server's pings, counts towards the 5 messages per
 * second (`countsHeartbeat`, `countsPongs`).
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
    countsPongs: true,
    streamsPerConnection: 1024,
    topicsPerRequest: TOPICS_PER_REQUEST,
    maxLifetime: "24 hours"
  }
}

/** Per-symbol streams of the `/market` endpoint (regular market data), by name. */
const marketSymbolStream =
  /^[^@!]+@(?:aggTrade|markPrice(?:@1s)?|kline_\w+|continuousKline_\w+|miniTicker|ticker|forceOrder|compositeIndex|assetIndex)$/

/** All-market streams of the `/market` endpoint, by name. */
const marketAllStream =
  /^!(?:markPrice@arr(?:@1s)?|miniTicker@arr|ticker@arr|forceOrder@arr|contractInfo|assetIndex@arr)$/

/**
 * The `usdm.urls` key of the endpoint that serves a USDⓈ-M stream:
 * `"market"` for the regular market data Binance maps to `/market`
 * (`@aggTrade`, `@markPrice[@1s]`, `!markPrice@arr[@1s]`, `@kline_*`,
 * `@continuousKline_*`, `@miniTicker`, `!miniTicker@arr`, `@ticker`,
 * `!ticker@arr`, `@forceOrder`, `!forceOrder@arr`, `@compositeIndex`,
 * `!contractInfo`, `@assetIndex`, `!assetIndex@arr`), `"public"` for every
 * other name: the high-frequency streams Binance maps to `/public`
 * (`@bookTicker`, `!bookTicker`, `@depth<levels>`, `@depth`), `@trade`
 * (not in Binance's mapping excerpt; a third-party probe on 2026-09-11 saw
 * it flowing on an unrouted connection, which serves only public-class
 * streams) and any name not listed, since "Connections that do not include a
 * routed path ... will only receive data from the Public endpoint".
 *
 * @category combinators
 * @since 0.1.0
 */
export const usdmRoute = (topic: string): "public" | "market" =>
  marketSymbolStream.test(topic) || marketAllStream.test(topic) ? "market" : "public"

/**
 * Binance USDⓈ-M futures market streams, on the routed endpoints Binance
 * introduced on 2026-03-06 ("Important WebSocket Change Notice — Base URL
 * Split & Migration"): `wss://fstream.binance.com/public` (high-frequency
 * public data), `/market` (regular market data) and `/private` (user data,
 * not used here), each in `ws` mode (`/public/ws`) or `stream` mode
 * (`/public/stream`). A stream subscribed on the wrong endpoint is
 * acknowledged and then silent: "Streams belonging to /market or /private
 * will not push data on unrouted connections", and the same was measured on
 * the routed ones. `route` (`usdmRoute`) names the endpoint of each stream;
 * a feed keeps separate shards per endpoint.
 *
 * **Details**: `urls.public` and `urls.market` (the routed keys) are the
 * `stream`-mode endpoints: their `{"stream","data"}` envelope names every
 * stream exactly, where a raw `aggTrade`, `markPrice` or `kline` event gives
 * no `topicOf` at all (Binance's own advice: "For combined subscriptions,
 * prefer stream mode"). `url` is `urls.public`, the endpoint of the
 * module's `trade` and `depth` streams. `publicRaw`/`marketRaw` are the
 * `ws`-mode forms; `raw`/`combined` the legacy unrouted URLs, which serve
 * public-class streams only (the change notice retires them on 2026-04-23;
 * the current "Websocket Market Streams" page still describes them as
 * serving the public endpoint's data).
 *
 * **Gotchas**: the routed endpoints are documented with the streams in the
 * URL or via JSON `SUBSCRIBE` ("JSON SUBSCRIBE is also supported"); opening
 * `/public/stream` with no `?streams=` and subscribing afterwards is how
 * spot's combined endpoint is used, not spelled out for futures
 * (unverified). Whether futures counts PING/PONG frames in its 10 messages
 * per second is not documented (spot's page says so; futures' does not), so
 * `countsHeartbeat`/`countsPongs` are left unset.
 *
 * @category profiles
 * @since 0.1.0
 */
export const usdm: Venue.Profile = {
  ...common,
  venue: "binance-usdm",
  url: "wss://fstream.binance.com/public/stream",
  urls: {
    public: "wss://fstream.binance.com/public/stream",
    market: "wss://fstream.binance.com/market/stream",
    publicRaw: "wss://fstream.binance.com/public/ws",
    marketRaw: "wss://fstream.binance.com/market/ws",
    raw: "wss://fstream.binance.com/ws",
    combined: "wss://fstream.binance.com/stream"
  },
  heartbeat: Heartbeat.protocol({ interval: "30 seconds", timeout: "10 seconds" }),
  idleRule:
    "the server sends a ping frame every 3 minutes and closes the connection when no pong comes within 10 minutes",
  limits: {
    messagesPerSecond: 10,
    messagesScope: "connection",
    streamsPerConnection: 1024,
    topicsPerRequest: TOPICS_PER_REQUEST,
    maxLifetime: "24 hours"
  },
  route: usdmRoute
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

/**
 * Binance spot's user data stream over the WebSocket API
 * (`userDataStream.subscribe.signature`: the listen-key flow was retired on
 * 2026-02-20). A feed of it signs each subscribe with the feed's
 * `credentials` (key with an HMAC `secret`, or an Ed25519 `privateKey`) and
 * subscribes again, signed anew, when Binance ends the subscription
 * (`eventStreamTerminated`). Its one topic is `userDataTopic`.
 *
 * @category profiles
 * @since 0.1.0
 */
export const userData: Venue.Profile = BinanceAuth.userData(spot)

/**
 * The topic of a user data feed: the account's events (`executionReport`,
 * `outboundAccountPosition`, `balanceUpdate`…), as
 * `{"subscriptionId","event":{...}}`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const userDataTopic: string = BinanceAuth.userDataTopic
