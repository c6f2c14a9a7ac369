/**
 * Bybit v5 public WebSocket (spot, linear, inverse): `{"op":"subscribe",
 * "args":[topics],"req_id"}` framing in requests of at most 10 topics, answers
 * matched by `req_id`, the `{"op":"ping"}` heartbeat, `Schema` decoders for
 * `publicTrade` and `orderbook` pushes, and `topicOf`/`sequence` readers.
 * Topics are Bybit's own: `publicTrade.BTCUSDT`, `orderbook.50.BTCUSDT`.
 *
 * Source: https://bybit-exchange.github.io/docs/v5/ws/connect — send
 * `{"op":"ping"}` every 20 s to keep the connection alive; the public spot
 * and linear/inverse channels both answer `{"success":true,"ret_msg":"pong",
 * "conn_id",...,"op":"ping"}` (only option/spread and private channels
 * answer `{"op":"pong","args":[...]}`); no more than 500 connections per 5
 * minutes per WebSocket domain; spot takes at most 10 args per subscription
 * request ("No args limit for Futures"); the args array of one request is
 * limited to 21,000 characters.
 * https://bybit-exchange.github.io/docs/v5/rate-limit ("Do not establish
 * more than 1,000 connections per IP for market data. The connection limits
 * are counted separately for Spot, Linear, Inverse, and Options markets").
 * https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook
 * (a snapshot, then deltas; `u` is the "Update ID", and a snapshot with `u`
 * 1 means the service restarted: replace the local book).
 *
 * **Unverified**: the docs' linear/inverse subscribe answer shows
 * `"req_id": ""`; whether linear echoes a non-empty `req_id` is not
 * documented (spot's example does). An answer without one names neither
 * request nor topic, so it settles nothing.
 *
 * @since 0.1.0
 */
import { Heartbeat } from "@kharbranth/core"
import * as Schema from "effect/Schema"
import * as BybitAuth from "./internal/auth/bybit.ts"
import { num, obj, parseObject, str } from "./internal/json.ts"
import * as Venue from "./Venue.ts"

/**
 * The trades topic of a symbol (`publicTrade.BTCUSDT`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const trade = (symbol: string): string => `publicTrade.${symbol.toUpperCase()}`

/**
 * The order-book topic of a symbol (`orderbook.50.BTCUSDT`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const orderbook = (symbol: string, depth: 1 | 50 | 200 | 1000 = 50): string =>
  `orderbook.${depth}.${symbol.toUpperCase()}`

const TOPICS_PER_REQUEST = 10

const request =
  (op: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>, id = 1): ReadonlyArray<Venue.Request> =>
    Venue.chunks(topics, TOPICS_PER_REQUEST).map((chunk, i) => ({
      op,
      topics: chunk,
      id: id + i,
      text: JSON.stringify({ req_id: String(id + i), op, args: chunk })
    }))

/**
 * Whether a message is Bybit's pong: `{"op":"ping","ret_msg":"pong",...}` on
 * the public spot and linear/inverse channels, `{"op":"pong",...}` on the
 * option/spread and private ones.
 *
 * @category combinators
 * @since 0.1.0
 */
export const isPong = (text: string): boolean => {
  if (!text.includes("pong")) return false
  const msg = parseObject(text)
  const op = str(msg, "op")
  return op === "pong" || (op === "ping" && str(msg, "ret_msg") === "pong")
}

/** The topics a `ret_msg` names (`error:already subscribed,topic:orderbook.50.BTCUSDT`). */
const namedTopics = (retMsg: string | undefined): ReadonlyArray<string> =>
  retMsg === undefined ? [] : [...retMsg.matchAll(/topic:([^,\s]+)/g)].map((m) => m[1]!)

/**
 * Reads `{"success":bool,"ret_msg","op":"subscribe"|"unsubscribe",
 * "req_id"}`. A success names no topic: it settles its request by `req_id`.
 *
 * **Details**: a failure's `ret_msg` may name the topic
 * (`error:already subscribed,topic:orderbook.50.BTCUSDT`, live frame in
 * sieblyio/bybit-api#477), read into `topics`. Two failures are read
 * specially:
 *
 * - `error:handler not found` (an unknown topic, bybit-exchange/pybit#373)
 *   is `permanent`: the same topic fails again. It often names no topic, so
 *   it then applies to its whole request by `req_id`.
 * - `already subscribed` reads as `subscribed` for the topic it names: the
 *   venue holds it, so a retry of it can never succeed. Bybit refuses the
 *   whole batch when one topic is already held (reproduced in ccxt/ccxt#30284:
 *   the other topics of that request get no data), so this answer confirms
 *   only the named topic; the others of its request stay unanswered until
 *   the confirmation deadline and are then sent again.
 *
 * Any other failure is a transient rejection.
 *
 * @category combinators
 * @since 0.1.0
 */
export const confirmation = (text: string): Venue.Confirmation | undefined => {
  // Pushes start with their `topic`: answer keys are never scanned for in data.
  if (text.startsWith('{"topic":') || !text.includes('"success"')) return undefined
  const msg = parseObject(text)
  const op = str(msg, "op")
  if (op !== "subscribe" && op !== "unsubscribe") return undefined
  const id = num(msg, "req_id")
  const kind = op === "subscribe" ? "subscribed" : "unsubscribed"
  if (msg?.["success"] === true) return Venue.confirmation(kind, [], id)
  const retMsg = str(msg, "ret_msg")
  const topics = namedTopics(retMsg)
  const lower = retMsg?.toLowerCase() ?? ""
  if (op === "subscribe" && topics.length > 0 && lower.includes("already subscribed")) {
    return Venue.confirmation(kind, topics, id, retMsg)
  }
  return Venue.confirmation(
    "rejected",
    topics,
    id,
    retMsg,
    lower.includes("handler not found") ? { permanent: true } : undefined
  )
}

/** A data push: its topic, its `type`, and the parsed message. */
const push = (
  text: string
):
  | { readonly topic: string; readonly type: string | undefined; readonly msg: Readonly<Record<string, unknown>> }
  | undefined =>
{
  if (!text.startsWith('{"topic":') && !(text.startsWith("{") && text.includes('"topic"'))) return undefined
  const msg = parseObject(text)
  const topic = str(msg, "topic")
  if (msg === undefined || topic === undefined || !("data" in msg) || "op" in msg) return undefined
  return { topic, type: str(msg, "type"), msg }
}

/**
 * The topic of a data push (`{"topic":"publicTrade.BTCUSDT",...,"data":...}`),
 * exactly as subscribed; undefined for answers, pongs and anything else.
 *
 * @category combinators
 * @since 0.1.0
 */
export const topicOf = (text: string): string | undefined => push(text)?.topic

/**
 * Where an `orderbook` push sits in its stream: a delta covers its update
 * id `u` (`first` = `last` = `u`), read as going up by one per message. A
 * snapshot replaces the book: it reads as `first` = `last` = `u` with
 * `snapshot: true` (never a gap), and the next delta follows it. `stream` is
 * the message's `topicOf`. Undefined for anything else, trades included:
 * Bybit trade ids are not consecutive (UUIDs on linear) and a trade's `seq`
 * is the cross sequence shared with other streams.
 *
 * **Gotchas**: that `u` goes up by exactly one per message is **not
 * documented**: the orderbook page calls `u` the "Update ID" and says only
 * that a snapshot with `u` 1 follows a service restart and that level-1
 * snapshots may repeat with the same `u`. Gap detection on these readings
 * rests on that "+1 per message" reading (observed, and what the simulator
 * sends); if Bybit ever skips numbers between deltas, every skip reads as a
 * gap. A snapshot with `u` 1 means Bybit restarted the stream; it reads as
 * `last` 1, below the numbers seen before it.
 *
 * @category combinators
 * @since 0.1.0
 */
export const sequence = (text: string): Venue.Sequence | undefined => {
  const p = push(text)
  if (p === undefined || !p.topic.startsWith("orderbook.")) return undefined
  const u = num(obj(p.msg, "data"), "u")
  if (u === undefined) return undefined
  return p.type === "snapshot"
    ? { stream: p.topic, first: u, last: u, snapshot: true }
    : { stream: p.topic, first: u, last: u }
}

const profile = (category: "spot" | "linear" | "inverse"): Venue.Profile => ({
  venue: `bybit-${category}`,
  url: `wss://stream.bybit.com/v5/public/${category}`,
  urls: {
    mainnet: `wss://stream.bybit.com/v5/public/${category}`,
    testnet: `wss://stream-testnet.bybit.com/v5/public/${category}`
  },
  heartbeat: Heartbeat.message({
    interval: "20 seconds",
    timeout: "10 seconds",
    message: () => JSON.stringify({ op: "ping" }),
    isPong
  }),
  idleTimeout: undefined,
  serverIdle: "10 minutes",
  idleRule: "closes the connection when neither a ping arrives nor data is pushed for 10 minutes",
  limits: {
    connections: { count: 500, window: "5 minutes" },
    topicsPerRequest: TOPICS_PER_REQUEST,
    maxRequestBytes: 21_000,
    connectionsPerIp: 1000
  },
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation,
  isNotice: () => false,
  topicOf
})

/**
 * Bybit spot public streams.
 *
 * @category profiles
 * @since 0.1.0
 */
export const spot: Venue.Profile = profile("spot")

/**
 * Bybit USDT/USDC perpetual public streams.
 *
 * @category profiles
 * @since 0.1.0
 */
export const linear: Venue.Profile = profile("linear")

/**
 * One trade of a `publicTrade` push: time `T`, symbol `s`, taker side `S`,
 * size `v`, price `p`, trade id `i`, block trade `BT`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Trade = Schema.Struct({
  T: Schema.Number,
  s: Schema.String,
  S: Schema.Literals(["Buy", "Sell"]),
  v: Schema.String,
  p: Schema.String,
  L: Schema.optionalKey(Schema.String),
  i: Schema.String,
  BT: Schema.Boolean,
  seq: Schema.optionalKey(Schema.Number)
})

/**
 * A decoded trade.
 *
 * @category models
 * @since 0.1.0
 */
export type Trade = typeof Trade.Type

/**
 * A `publicTrade.<symbol>` push.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TradeMessage = Schema.Struct({
  topic: Schema.String,
  type: Schema.Literal("snapshot"),
  ts: Schema.Number,
  data: Schema.Array(Trade)
})

/**
 * A decoded trade push.
 *
 * @category models
 * @since 0.1.0
 */
export type TradeMessage = typeof TradeMessage.Type

/**
 * A price level as Bybit writes it: `["price", "size"]`, decimal strings;
 * size `"0"` removes the level.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Level = Schema.Tuple([Schema.String, Schema.String])

/**
 * The data of an order-book snapshot or delta: symbol `s`, bids `b`, asks
 * `a`, update id `u` and cross sequence `seq`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const BookData = Schema.Struct({
  s: Schema.String,
  b: Schema.Array(Level),
  a: Schema.Array(Level),
  u: Schema.Number,
  seq: Schema.Number
})

/**
 * An `orderbook.<depth>.<symbol>` push.
 *
 * @category schemas
 * @since 0.1.0
 */
export const BookMessage = Schema.Struct({
  topic: Schema.String,
  type: Schema.Literals(["snapshot", "delta"]),
  ts: Schema.Number,
  data: BookData,
  cts: Schema.optionalKey(Schema.Number)
})

/**
 * A decoded order-book push.
 *
 * @category models
 * @since 0.1.0
 */
export type BookMessage = typeof BookMessage.Type

/**
 * Any push this module decodes.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Message = Schema.Union([TradeMessage, BookMessage])

/**
 * A decoded push.
 *
 * @category models
 * @since 0.1.0
 */
export type Message = typeof Message.Type

/**
 * Decodes a text message into a trade or order-book push.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeMessage = Schema.decodeUnknownEffect(Schema.fromJsonString(Message))

/**
 * Decodes a `publicTrade` push.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeTrades = Schema.decodeUnknownEffect(Schema.fromJsonString(TradeMessage))

/**
 * Decodes an `orderbook` push.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeBook = Schema.decodeUnknownEffect(Schema.fromJsonString(BookMessage))

/**
 * Bybit's private WebSocket (`/v5/private`): a feed of it authenticates each
 * session (`auth`, signed with the feed's `credentials`: key and secret)
 * before it subscribes `order`, `execution`, `position` or `wallet` (the
 * topics are those names as they are).
 *
 * @category profiles
 * @since 0.1.0
 */
export const authenticated: Venue.Profile = BybitAuth.authenticated(spot)
