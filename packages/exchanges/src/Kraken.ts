/**
 * Kraken WebSocket v2: `{"method":"subscribe","params":{channel,symbol},
 * "req_id"}` framing (one request per channel), one answer per symbol
 * matched by `req_id`, the `{"method":"ping"}` → `{"method":"pong"}`
 * heartbeat, the `status` maintenance notice, `Schema` decoders for `trade`
 * and `book` messages, `topicOf`/`sequence` readers, and a local book that
 * verifies Kraken's CRC32 book checksum after every message. Topics are
 * `channel:SYMBOL`, e.g.
 * `trade:BTC/USD`, `book:BTC/USD`.
 *
 * Sources: https://docs.kraken.com/api/docs/websocket-v2/ping (ping/pong),
 * https://docs.kraken.com/api/docs/websocket-v2/heartbeat (a heartbeat about
 * once a second when no other message is sent),
 * https://docs.kraken.com/api/docs/guides/spot-ws-book-v2 (the checksum: top
 * 10 asks low to high then top 10 bids high to low, each price and quantity
 * written with the pair's precision, the decimal point removed and leading
 * zeros stripped, CRC32 as an unsigned 32-bit integer, with a worked
 * example whose checksum is 3310070434). Subscribe answers: one per symbol
 * of a request, each with the request's `req_id`; a success names
 * `result.channel` and `result.symbol`, an error only its `symbol`
 * (`{"error":"Currency pair not supported XBT/USD","method":"subscribe",
 * "success":false,"symbol":"XBT/USD","req_id":N,...}`, the docs' example as
 * quoted in rustrade-data `src/exchange/kraken/subscription.rs`).
 *
 * **Unverified**: the connection limit (`limits.connections`, about 150
 * connection attempts per rolling 10 minutes per IP, enforced by Cloudflare
 * with a 10-minute ban) is quoted only by secondary sources citing
 * docs.kraken.com `spot-ws-intro` / `spot-ratelimits`; no primary page with
 * it was found (venue-facts.md, section 2, "Kraken connections").
 *
 * @since 0.1.0
 */
import { Heartbeat } from "@kharbranth/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as KrakenAuth from "./internal/auth/kraken.ts"
import { krakenField } from "./internal/book/checksum.ts"
import { crc32 } from "./internal/crc32.ts"
import { arr, isRecord, num, obj, parseObject, str } from "./internal/json.ts"
import * as Venue from "./Venue.ts"

/**
 * A topic for a channel and symbol (`trade:BTC/USD`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const topic = (channel: string, symbol: string): string => `${channel}:${symbol}`

const request =
  (method: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>, id = 1): ReadonlyArray<Venue.Request> =>
    Venue.byChannel(topics).map(([channel, symbols], i) => ({
      op: method,
      topics: symbols.map((s) => topic(channel, s)),
      id: id + i,
      text: JSON.stringify({ method, params: { channel, symbol: symbols }, req_id: id + i })
    }))

/**
 * Errors read as final for the symbol they name: "Currency pair not
 * supported" (the docs' own example of a failed subscribe: the pair does not
 * exist, so asking again cannot succeed). Kraken publishes no list of
 * WebSocket v2 error strings and calls none final in words; any other error
 * is read as transient.
 */
const permanentErrors: ReadonlyArray<string> = ["Currency pair not supported"]

/**
 * Reads `{"method":"subscribe"|"unsubscribe","result":{channel,symbol},
 * "success":true,"req_id"}` and `{"method",...,"success":false,"error",
 * "symbol","req_id"}`: one answer per symbol, all with the request's
 * `req_id`.
 *
 * **Details**: a success names its topic (`result.channel` and
 * `result.symbol`). An error names only its `symbol`, so the symbol goes in
 * `instruments` (it settles the request's `channel:symbol` topic, the
 * request being one channel). "Currency pair not supported" is `permanent`.
 * "Already subscribed" reads as `subscribed` for its symbol: the venue holds
 * the subscription (a retry after a lost answer gets it), so treating it as
 * a rejection would retry forever while the data flows.
 *
 * @category combinators
 * @since 0.1.0
 */
export const confirmation = (text: string): Venue.Confirmation | undefined => {
  // Channel messages (data, heartbeats, status) start with `channel`: never answers.
  if (text.startsWith('{"channel":') || (!text.startsWith('{"method"') && !text.includes('"success"'))) return undefined
  const msg = parseObject(text)
  const method = str(msg, "method")
  if (method !== "subscribe" && method !== "unsubscribe") return undefined
  const id = num(msg, "req_id")
  const result = obj(msg, "result")
  const symbol = str(result, "symbol") ?? str(msg, "symbol")
  const channel = str(result, "channel")
  const topics = symbol !== undefined && channel !== undefined ? [topic(channel, symbol)] : []
  const instruments = topics.length === 0 && symbol !== undefined ? [symbol] : undefined
  const kind = method === "subscribe" ? "subscribed" : "unsubscribed"
  if (msg?.["success"] === true) return Venue.confirmation(kind, topics, id)
  const error = str(msg, "error")
  if (method === "subscribe" && error !== undefined && error.startsWith("Already subscribed")) {
    return Venue.confirmation(kind, topics, id, error, { instruments })
  }
  const permanent = error !== undefined && permanentErrors.some((e) => error.startsWith(e))
  return Venue.confirmation("rejected", topics, id, error, { instruments, permanent: permanent || undefined })
}

/**
 * Whether a message is a `status` update announcing maintenance (the
 * connection will be closed).
 *
 * @category combinators
 * @since 0.1.0
 */
export const isNotice = (text: string): boolean => {
  if (!text.startsWith('{"channel":"status"')) return false
  return arr(parseObject(text), "data").some((d) =>
    isRecord(d) && (d["system"] === "maintenance" || d["system"] === "cancel_only")
  )
}

/** A market message: its topic and its `data` array. */
const market = (text: string): { readonly topic: string; readonly data: ReadonlyArray<unknown> } | undefined => {
  if (text.startsWith('{"channel":"heartbeat"') || text.startsWith('{"channel":"status"')) return undefined
  if (!text.startsWith('{"channel":') && !(text.startsWith("{") && text.includes('"channel"'))) return undefined
  const msg = parseObject(text)
  const channel = str(msg, "channel")
  if (channel === undefined || channel === "heartbeat" || channel === "status") return undefined
  const data = arr(msg, "data")
  const first = data[0]
  const symbol = isRecord(first) ? str(first, "symbol") : undefined
  return symbol === undefined ? undefined : { topic: topic(channel, symbol), data }
}

/**
 * The topic of a market message (`{"channel":"trade","data":[{"symbol":
 * "BTC/USD",...}]}` is `trade:BTC/USD`), snapshots included; undefined for
 * `heartbeat`, `status`, answers, pongs and anything else (an empty trade
 * snapshot names no symbol, so it gives undefined too).
 *
 * @category combinators
 * @since 0.1.0
 */
export const topicOf = (text: string): string | undefined => market(text)?.topic

/**
 * Where a `trade` message sits in its symbol's trades: it covers the
 * `trade_id`s of its trades (`first` the lowest, `last` the highest); v2
 * trade ids go up by one per pair. The snapshot sent on subscribing is the
 * latest trades, read the same way (an empty one gives undefined). `stream`
 * is the message's `topicOf`. Undefined for anything else: `book` messages
 * carry no number (their checksum guards them instead).
 *
 * @category combinators
 * @since 0.1.0
 */
export const sequence = (text: string): Venue.Sequence | undefined => {
  const m = market(text)
  if (m === undefined || !m.topic.startsWith("trade:")) return undefined
  let first = Infinity
  let last = -Infinity
  for (const trade of m.data) {
    const id = isRecord(trade) ? num(trade, "trade_id") : undefined
    if (id === undefined) continue
    first = Math.min(first, id)
    last = Math.max(last, id)
  }
  return last === -Infinity ? undefined : { stream: m.topic, first, last }
}

/**
 * Kraken spot WebSocket v2 (public).
 *
 * @category profiles
 * @since 0.1.0
 */
export const spot: Venue.Profile = {
  venue: "kraken",
  url: "wss://ws.kraken.com/v2",
  urls: { public: "wss://ws.kraken.com/v2", authenticated: "wss://ws-auth.kraken.com/v2" },
  heartbeat: Heartbeat.message({
    interval: "30 seconds",
    timeout: "10 seconds",
    message: () => JSON.stringify({ method: "ping" }),
    isPong: (t) => t.startsWith('{"method":"pong"')
  }),
  idleTimeout: "10 seconds",
  serverIdle: undefined,
  idleRule: 'once subscribed, the server sends {"channel":"heartbeat"} about once a second when nothing else is sent',
  limits: { connections: { count: 150, window: "10 minutes" } },
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation,
  isNotice,
  topicOf
}

/**
 * One trade.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Trade = Schema.Struct({
  symbol: Schema.String,
  side: Schema.Literals(["buy", "sell"]),
  price: Schema.Number,
  qty: Schema.Number,
  ord_type: Schema.String,
  trade_id: Schema.Number,
  timestamp: Schema.String
})

/**
 * A decoded trade.
 *
 * @category models
 * @since 0.1.0
 */
export type Trade = typeof Trade.Type

/**
 * A `trade` channel message.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TradeMessage = Schema.Struct({
  channel: Schema.Literal("trade"),
  type: Schema.Literals(["snapshot", "update"]),
  data: Schema.Array(Trade)
})

/**
 * A price level; `qty` 0 removes it.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Level = Schema.Struct({ price: Schema.Number, qty: Schema.Number })

/**
 * One symbol's book snapshot or update, with the checksum of the book after it.
 *
 * @category schemas
 * @since 0.1.0
 */
export const BookData = Schema.Struct({
  symbol: Schema.String,
  bids: Schema.Array(Level),
  asks: Schema.Array(Level),
  checksum: Schema.Number,
  timestamp: Schema.optionalKey(Schema.String)
})

/**
 * Decoded book data.
 *
 * @category models
 * @since 0.1.0
 */
export type BookData = typeof BookData.Type

/**
 * A `book` channel message.
 *
 * @category schemas
 * @since 0.1.0
 */
export const BookMessage = Schema.Struct({
  channel: Schema.Literal("book"),
  type: Schema.Literals(["snapshot", "update"]),
  data: Schema.Array(BookData)
})

/**
 * A decoded book message.
 *
 * @category models
 * @since 0.1.0
 */
export type BookMessage = typeof BookMessage.Type

/**
 * Any market message this module decodes.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Message = Schema.Union([TradeMessage, BookMessage])

/**
 * Decodes a text message into a trade or book message.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeMessage = Schema.decodeUnknownEffect(Schema.fromJsonString(Message))

/**
 * Decodes a `book` text message.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeBook = Schema.decodeUnknownEffect(Schema.fromJsonString(BookMessage))

/**
 * Decodes a `trade` text message.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeTrades = Schema.decodeUnknownEffect(Schema.fromJsonString(TradeMessage))

/**
 * A pair's precision (decimal places of price and quantity), from Kraken's
 * `instrument` channel; the checksum is computed over numbers written with it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Precision {
  readonly price: number
  readonly qty: number
}

/**
 * A local order book for one symbol, kept to `depth` levels per side.
 * Mutable: `apply` changes it in place (one book per symbol and session).
 *
 * @category models
 * @since 0.1.0
 */
export interface Book {
  readonly symbol: string
  readonly depth: number
  readonly bids: Map<number, number>
  readonly asks: Map<number, number>
}

/**
 * An empty book (`depth` as subscribed: 10 by default).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeBook = (symbol: string, depth = 10): Book => ({ symbol, depth, bids: new Map(), asks: new Map() })

const sorted = (side: Map<number, number>, descending: boolean): Array<readonly [number, number]> =>
  [...side.entries()].sort((a, b) => (descending ? b[0] - a[0] : a[0] - b[0]))

const truncate = (side: Map<number, number>, descending: boolean, depth: number): void => {
  if (side.size <= depth) return
  for (const [price] of sorted(side, descending).slice(depth)) side.delete(price)
}

/**
 * Applies a snapshot (`type: "snapshot"`, which replaces the book) or an
 * update, then drops the levels beyond `depth`, as Kraken's guide asks.
 *
 * @category combinators
 * @since 0.1.0
 */
export const apply = (book: Book, type: "snapshot" | "update", data: BookData): void => {
  if (type === "snapshot") {
    book.bids.clear()
    book.asks.clear()
  }
  for (const { price, qty } of data.bids) {
    if (qty === 0) book.bids.delete(price)
    else book.bids.set(price, qty)
  }
  for (const { price, qty } of data.asks) {
    if (qty === 0) book.asks.delete(price)
    else book.asks.set(price, qty)
  }
  truncate(book.bids, true, book.depth)
  truncate(book.asks, false, book.depth)
}

const field = krakenField

/**
 * The text Kraken's checksum is computed over: the top 10 asks (low to high)
 * then the top 10 bids (high to low), each price then quantity.
 *
 * @category combinators
 * @since 0.1.0
 */
export const checksumInput = (book: Book, precision: Precision): string => {
  let text = ""
  for (const [p, q] of sorted(book.asks, false).slice(0, 10)) {
    text += field(p, precision.price) + field(q, precision.qty)
  }
  for (const [p, q] of sorted(book.bids, true).slice(0, 10)) text += field(p, precision.price) + field(q, precision.qty)
  return text
}

/**
 * The checksum of a local book (unsigned 32-bit CRC32).
 *
 * @category combinators
 * @since 0.1.0
 */
export const checksum = (book: Book, precision: Precision): number => crc32(checksumInput(book, precision))

/**
 * The local book no longer matches the venue's: resubscribe (or restart the
 * connection) to get a fresh snapshot.
 *
 * @category errors
 * @since 0.1.0
 */
export class ChecksumMismatch extends Schema.TaggedError<ChecksumMismatch>()("ChecksumMismatch", {
  symbol: Schema.String,
  expected: Schema.Number,
  actual: Schema.Number
}) {
  /** A message a person can act on. */
  override get message(): string {
    return `Kraken book ${this.symbol}: checksum ${this.actual} does not match the venue's ${this.expected}; resubscribe for a fresh snapshot`
  }
}

/**
 * Applies one book message's data to the book and checks the result against
 * the message's checksum.
 *
 * @category combinators
 * @since 0.1.0
 */
export const applyVerified = (
  book: Book,
  type: "snapshot" | "update",
  data: BookData,
  precision: Precision
): Effect.Effect<void, ChecksumMismatch> =>
  Effect.suspend(() => {
    apply(book, type, data)
    const actual = checksum(book, precision)
    return actual === data.checksum
      ? Effect.void
      : Effect.fail(new ChecksumMismatch({ symbol: book.symbol, expected: data.checksum, actual }))
  })

/**
 * Kraken's authenticated WebSocket v2 (`ws-auth.kraken.com/v2`): a feed of
 * it fetches a WebSocket token over REST for each session (signed with the
 * feed's `credentials`: key and base64 secret; needs an `HttpClient` in the
 * context) and puts it in every request. Topics: `executions`, `balances`.
 *
 * @category profiles
 * @since 0.1.0
 */
export const authenticated: Venue.Profile = KrakenAuth.authenticated(spot)
