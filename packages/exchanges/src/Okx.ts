/**
 * OKX v5 public WebSocket: `{"op":"subscribe","args":[{channel,instId}]}`
 * framing, one `{"event":"subscribe"|"unsubscribe","arg":{...}}` answer per
 * arg, `{"event":"error"}` rejections, the text `ping`/`pong` heartbeat, and
 * the `{"event":"notice","code":"64008"}` service-upgrade notice, `Schema`
 * decoders for `trades` and `books` pushes, `topicOf`/`sequence` readers, and
 * a local book that verifies OKX's CRC32 book checksum after every message.
 * Topics are `channel:instId`, e.g. `trades:BTC-USDT`, `books:BTC-USDT`.
 *
 * Source: https://www.okx.com/docs-v5/en/#overview-websocket — "If there's
 * no data return after connecting/subscribing for 30 seconds, the connection
 * will break"; send `ping` on a timer under 30 s and expect `pong`. Limits:
 * 3 connection requests per second per IP; "The total number of
 * 'subscribe'/'unsubscribe'/'login' requests per connection is limited to
 * 480 times per hour"; 64 KB total length of the channels in one request;
 * code 64008 announces a disconnect for a service upgrade. Every subscribe
 * channel documents an optional request `id` ("A combination of
 * case-sensitive alphanumerics, all numbers, or all letters of up to 32
 * characters"), "returned in response message for identifying the
 * corresponding request", on success (`{"id","event":"subscribe","arg",
 * "connId"}`) and failure (`{"id","event":"error","code","msg","connId"}`)
 * alike. https://www.okx.com/docs-v5/en/#error-code-websocket-public lists
 * the error codes (60000 to 64008).
 * https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
 * (`books`: a snapshot, then updates whose `prevSeqId` is the previous
 * `seqId`; the checksum interleaves up to 25 bid and ask levels as
 * `bidPx:bidSz:askPx:askSz...` with the strings as received, CRC32 as a
 * signed 32-bit integer).
 *
 * @since 0.1.0
 */
import { Heartbeat } from "@kharbranth/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as OkxAuth from "./internal/auth/okx.ts"
import { crc32 } from "./internal/crc32.ts"
import { intAfter, isRecord, num, obj, parseObject, str, stringAfter } from "./internal/json.ts"
import * as Venue from "./Venue.ts"

/**
 * A topic for a channel and instrument (`trades:BTC-USDT`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const topic = (channel: string, instId: string): string => `${channel}:${instId}`

/**
 * OKX's request `id` for a numeric one: its decimal digits ("all numbers" is
 * one of the documented forms), or undefined when the number is not a
 * non-negative safe integer (at most 16 digits, inside the 32 allowed).
 */
const requestId = (id: number): string | undefined => Number.isSafeInteger(id) && id >= 0 ? String(id) : undefined

const request =
  (op: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>, id = 1): ReadonlyArray<Venue.Request> => {
    const text = requestId(id)
    const args = topics.map((t) => {
      const [channel, instId] = Venue.splitTopic(t)
      return { channel, instId }
    })
    return [{
      op,
      topics,
      id: text === undefined ? undefined : id,
      text: JSON.stringify(text === undefined ? { op, args } : { id: text, op, args })
    }]
  }

/**
 * Error codes OKX answers when the request cannot succeed on this URL as
 * sent, whatever the timing: 60008 ("The current WebSocket endpoint does not
 * support subscribing to {0} channels"), 60018 ("Wrong URL or {0} doesn't
 * exist. Please use the correct URL, channel and parameters"), 60028 ("The
 * current operation is not supported by this URL"), 64000 (`uly` retired),
 * 64001 ("This channel has been migrated to the '/business' URL"), 64002
 * (not supported by "/business") and 64003 ("Your trading fee tier doesn't
 * meet the requirement to access this channel"). OKX does not call any code
 * final in so many words; these are the ones whose documented text says to
 * change the URL, channel or parameters (docs-v5 "Error Code" > "WebSocket"
 * > "Public"). Every other code is read as transient: 60012 "Invalid
 * request" and 60013 "Invalid args" (about the framing this module writes,
 * naming no topic), 60014 "Requests too frequent", 63999, 64004 (the
 * instrument's `books-l2-tbt` is held: it can succeed once that is
 * dropped), 64007 ("internal error. Please try again later").
 */
const permanentCodes: ReadonlySet<string> = new Set(["60008", "60018", "60028", "64000", "64001", "64002", "64003"])

/**
 * The topic a 60018 message names: OKX writes its `{0}` as the request's
 * arg, `channel:trades,instId:FOO-BAR` ("Wrong URL or channel:trades,
 * instId:FOO-BAR doesn't exist. Please use the correct URL, ..."), with no
 * `arg` field in the answer (okxapi/python-okx#21).
 */
const namedTopic = (msg: string | undefined): string | undefined => {
  const m = msg === undefined ? null : /channel:([^,\s]+)((?:,[A-Za-z]+:[^,\s]+)*) doesn't exist/.exec(msg)
  if (m === null) return undefined
  const instId = /,instId:([^,\s]+)/.exec(m[2] ?? "")
  return instId === null ? undefined : topic(m[1]!, instId[1]!)
}

/**
 * Reads `{"id","event":"subscribe"|"unsubscribe","arg":{channel,instId}}`
 * (one answer per arg) and `{"id","event":"error","code","msg"}`, with the
 * request `id` read back as a number (undefined when the answer has none, or
 * one this module did not write).
 *
 * **Details**: an error names no `arg`. For 60018 (an unknown channel or
 * instrument) the topic is read from `msg`, and the rejection is
 * `permanent`, as are the other codes whose documented text says to change
 * the URL, channel or parameters (60008, 60028, 64000 to 64003); any other
 * error is transient and names no topic, so it applies to its request by
 * `id`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const confirmation = (text: string): Venue.Confirmation | undefined => {
  // Pushes start with their `arg`: answer keys are never scanned for in data.
  if (text.startsWith('{"arg":') || (!text.startsWith('{"event"') && !text.includes('"event":'))) return undefined
  const msg = parseObject(text)
  const event = str(msg, "event")
  const id = num(msg, "id")
  const arg = obj(msg, "arg")
  const topics = arg === undefined ? [] : [topic(str(arg, "channel") ?? "", str(arg, "instId") ?? "")]
  switch (event) {
    case "subscribe":
      return Venue.confirmation("subscribed", topics, id)
    case "unsubscribe":
      return Venue.confirmation("unsubscribed", topics, id)
    case "error": {
      const code = str(msg, "code") ?? ""
      const message = str(msg, "msg")
      const parsed = topics.length > 0 ? undefined : namedTopic(message)
      const named = parsed === undefined ? topics : [parsed]
      const reason = `${code} ${message ?? ""}`.trim()
      return Venue.confirmation(
        "rejected",
        named,
        id,
        reason,
        permanentCodes.has(code) ? { permanent: true } : undefined
      )
    }
    default:
      return undefined
  }
}

/**
 * Whether a message is OKX's notice `64008` (the connection will be closed
 * soon for a service upgrade).
 *
 * @category combinators
 * @since 0.1.0
 */
export const isNotice = (text: string): boolean => {
  if (text.startsWith('{"arg":') || !text.includes("64008")) return false
  const msg = parseObject(text)
  return str(msg, "event") === "notice" && str(msg, "code") === "64008"
}

/** A data push: its topic (from `arg`), its `action` if any, and its `data` array. */
const push = (
  text: string
):
  | { readonly topic: string; readonly action: string | undefined; readonly data: ReadonlyArray<unknown> }
  | undefined =>
{
  if (!text.startsWith('{"arg":') && !(text.startsWith("{") && text.includes('"arg"') && !text.includes('"event"'))) {
    return undefined
  }
  const msg = parseObject(text)
  if (msg === undefined || "event" in msg) return undefined
  const arg = obj(msg, "arg")
  const channel = str(arg, "channel")
  const instId = str(arg, "instId")
  const data = msg["data"]
  if (channel === undefined || instId === undefined || !Array.isArray(data)) return undefined
  return { topic: topic(channel, instId), action: str(msg, "action"), data }
}

/**
 * The topic of a data push (`{"arg":{channel,instId},"data":[...]}`), as
 * `topic` builds it; undefined for answers, errors, notices, `pong` and
 * anything else.
 *
 * @category combinators
 * @since 0.1.0
 */
export const topicOf = (text: string): string | undefined => push(text)?.topic

/**
 * Where a data push sits in its stream. Book updates chain by `prevSeqId`:
 * `first` = `last` = `seqId`, `prev` = `prevSeqId`. A book snapshot
 * (`action: "snapshot"`, `prevSeqId` -1) replaces the book: it reads as
 * `first` = `last` = `seqId` with `snapshot: true` and no `prev` (never a
 * gap), and the next update chains from it. A `trades`
 * push covers trade ids `tradeId - count + 1` .. `tradeId` (OKX aggregates
 * `count` fills of one taker order under the last `tradeId`); trade ids go
 * up by one per instrument. `stream` is the message's `topicOf`.
 *
 * **Gotchas**: OKX sends an empty update with `seqId` = `prevSeqId` when a
 * book has been quiet (about 60 s without changes), which reads as a repeat
 * of the last number (a duplicate, harmless to drop). After maintenance OKX
 * may reset `seqId`: "users will receive an incremental message with seqId
 * smaller than prevSeqId. However, subsequent messages will follow the
 * regular sequencing rule" (docs-v5 books channel, "Sequence ID", with the
 * example `prevSeqId` 15, `seqId` 3, then `prevSeqId` 3, `seqId` 5). Such an
 * update reads as `first` = `last` below `prev`; a feed recognises it by
 * chaining on `prev` first: when `prev` equals the last `seqId` seen, the
 * update continues the book even though its `seqId` is lower, and the
 * numbering carries on from it. A `prev` that is not the last `seqId` is a
 * gap, whatever the numbers.
 *
 * @category combinators
 * @since 0.1.0
 */
export const sequence = (text: string): Venue.Sequence | undefined => fastBookSequence(text) ?? parsedSequence(text)

/**
 * The fast path of `sequence` for book updates as OKX writes them
 * (`{"arg":{"channel":"books…","instId":…},"action":"update","data":[{…,
 * "prevSeqId":n,"seqId":m}]}`): read by scanning, with no `JSON.parse` of
 * a message that can be kilobytes of levels. Snapshots, trades and any
 * other shape fall back to the parsing path.
 */
const fastBookSequence = (text: string): Venue.Sequence | undefined => {
  if (!text.startsWith('{"arg":{"channel":"books')) return undefined
  const channel = stringAfter(text, '{"arg":{"channel":"')
  const instId = stringAfter(text, '"instId":"')
  const seqAt = text.lastIndexOf('"seqId":')
  if (channel === undefined || instId === undefined || seqAt < 0 || text.indexOf('"seqId":') !== seqAt) return undefined
  if (stringAfter(text, '"action":"') !== "update") return undefined
  const seqId = intAfter(text, '"seqId":', seqAt)
  const prev = intAfter(text, '"prevSeqId":')
  if (seqId === undefined || prev === undefined) return undefined
  return { stream: topic(channel, instId), first: seqId, last: seqId, prev }
}

const parsedSequence = (text: string): Venue.Sequence | undefined => {
  const p = push(text)
  if (p === undefined) return undefined
  const { data, topic: stream } = p
  const first = data[0]
  if (!isRecord(first)) return undefined
  const seqId = num(first, "seqId")
  if (seqId !== undefined) {
    const prev = num(first, "prevSeqId")
    if (p.action === "snapshot" || prev === undefined || prev < 0) {
      return { stream, first: seqId, last: seqId, snapshot: true }
    }
    return { stream, first: seqId, last: seqId, prev }
  }
  let low = Infinity
  let high = -Infinity
  for (const item of data) {
    if (!isRecord(item)) continue
    const id = num(item, "tradeId")
    if (id === undefined) continue
    const count = num(item, "count") ?? 1
    low = Math.min(low, id - count + 1)
    high = Math.max(high, id)
  }
  return high === -Infinity ? undefined : { stream, first: low, last: high }
}

/**
 * OKX public channels.
 *
 * @category profiles
 * @since 0.1.0
 */
export const publicProfile: Venue.Profile = {
  venue: "okx",
  url: "wss://ws.okx.com:8443/ws/v5/public",
  urls: {
    public: "wss://ws.okx.com:8443/ws/v5/public",
    business: "wss://ws.okx.com:8443/ws/v5/business",
    demoPublic: "wss://wspap.okx.com:8443/ws/v5/public"
  },
  heartbeat: Heartbeat.message({
    interval: "20 seconds",
    timeout: "5 seconds",
    message: "ping",
    isPong: (t) => t === "pong"
  }),
  idleTimeout: undefined,
  serverIdle: "30 seconds",
  idleRule: "closes (4004) when no subscription is made, or nothing is sent either way, for 30 s; a text ping counts",
  limits: {
    connections: { count: 3, window: "1 second" },
    maxRequestBytes: 64 * 1024,
    requestsPerHour: 480
  },
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation,
  isNotice,
  topicOf
}

/**
 * The `arg` of a push: channel and instrument.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Arg = Schema.Struct({ channel: Schema.String, instId: Schema.String })

/**
 * One trade of a `trades` push; `count` fills of one taker order are
 * aggregated under the last `tradeId`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Trade = Schema.Struct({
  instId: Schema.String,
  tradeId: Schema.String,
  px: Schema.String,
  sz: Schema.String,
  side: Schema.Literals(["buy", "sell"]),
  ts: Schema.String,
  count: Schema.optionalKey(Schema.String)
})

/**
 * A decoded trade.
 *
 * @category models
 * @since 0.1.0
 */
export type Trade = typeof Trade.Type

/**
 * A `trades` push.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TradesMessage = Schema.Struct({
  arg: Schema.Struct({ channel: Schema.Literal("trades"), instId: Schema.String }),
  data: Schema.Array(Trade)
})

/**
 * A decoded `trades` push.
 *
 * @category models
 * @since 0.1.0
 */
export type TradesMessage = typeof TradesMessage.Type

/**
 * A price level as OKX writes it: `[price, size, "0", orderCount]`, decimal
 * strings (the third field is deprecated and always `"0"`). Size `"0"`
 * removes the level.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Level = Schema.Tuple([Schema.String, Schema.String, Schema.String, Schema.String])

/**
 * A decoded price level.
 *
 * @category models
 * @since 0.1.0
 */
export type Level = typeof Level.Type

/**
 * The data of a book snapshot or update, with the checksum of the book after
 * it and its place in the stream (`prevSeqId` is -1 on a snapshot).
 *
 * @category schemas
 * @since 0.1.0
 */
export const BookData = Schema.Struct({
  asks: Schema.Array(Level),
  bids: Schema.Array(Level),
  ts: Schema.String,
  checksum: Schema.Number,
  prevSeqId: Schema.Number,
  seqId: Schema.Number
})

/**
 * Decoded book data.
 *
 * @category models
 * @since 0.1.0
 */
export type BookData = typeof BookData.Type

/**
 * A push of an incremental book channel (`books`, `books-l2-tbt`,
 * `books50-l2-tbt`): a snapshot, then updates.
 *
 * @category schemas
 * @since 0.1.0
 */
export const BookMessage = Schema.Struct({
  arg: Arg,
  action: Schema.Literals(["snapshot", "update"]),
  data: Schema.Array(BookData)
})

/**
 * A decoded book push.
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
export const Message = Schema.Union([TradesMessage, BookMessage])

/**
 * A decoded push.
 *
 * @category models
 * @since 0.1.0
 */
export type Message = typeof Message.Type

/**
 * Decodes a text message into a trades or book push.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeMessage = Schema.decodeUnknownEffect(Schema.fromJsonString(Message))

/**
 * Decodes a `trades` push.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeTrades = Schema.decodeUnknownEffect(Schema.fromJsonString(TradesMessage))

/**
 * Decodes a book push.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeBook = Schema.decodeUnknownEffect(Schema.fromJsonString(BookMessage))

/**
 * A local order book for one instrument. Each side maps a level's numeric
 * price to its price and size strings as last received, which the checksum
 * is computed over. Mutable: `apply` changes it in place (one book per
 * instrument and session).
 *
 * @category models
 * @since 0.1.0
 */
export interface Book {
  readonly instId: string
  readonly bids: Map<number, readonly [price: string, size: string]>
  readonly asks: Map<number, readonly [price: string, size: string]>
}

/**
 * An empty book.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeBook = (instId: string): Book => ({ instId, bids: new Map(), asks: new Map() })

const update = (side: Book["bids"], levels: ReadonlyArray<Level>): void => {
  for (const [price, size] of levels) {
    const key = Number(price)
    if (Number(size) === 0) side.delete(key)
    else side.set(key, [price, size])
  }
}

/**
 * Applies a snapshot (`action: "snapshot"`, which replaces the book) or an
 * update; a level of size `"0"` is removed.
 *
 * @category combinators
 * @since 0.1.0
 */
export const apply = (book: Book, action: "snapshot" | "update", data: BookData): void => {
  if (action === "snapshot") {
    book.bids.clear()
    book.asks.clear()
  }
  update(book.bids, data.bids)
  update(book.asks, data.asks)
}

const top = (side: Book["bids"], descending: boolean): Array<readonly [string, string]> =>
  [...side.entries()].sort((a, b) => (descending ? b[0] - a[0] : a[0] - b[0])).slice(0, 25).map(([, level]) => level)

/**
 * The text OKX's checksum is computed over: the best 25 bids (high to low)
 * and asks (low to high) interleaved as `bidPx:bidSz:askPx:askSz:...`; when
 * one side has fewer levels, the other side's remaining levels follow.
 *
 * @category combinators
 * @since 0.1.0
 */
export const checksumInput = (book: Book): string => {
  const bids = top(book.bids, true)
  const asks = top(book.asks, false)
  const parts: Array<string> = []
  for (let i = 0; i < 25; i++) {
    const bid = bids[i]
    const ask = asks[i]
    if (bid !== undefined) parts.push(bid[0], bid[1])
    if (ask !== undefined) parts.push(ask[0], ask[1])
  }
  return parts.join(":")
}

/**
 * The checksum of a local book (CRC32 as a signed 32-bit integer, as OKX
 * sends it).
 *
 * @category combinators
 * @since 0.1.0
 */
export const checksum = (book: Book): number => crc32(checksumInput(book)) | 0

/**
 * The local book no longer matches the venue's: resubscribe (or restart the
 * connection) to get a fresh snapshot. Same tag and fields as Kraken's.
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
    return `OKX book ${this.symbol}: checksum ${this.actual} does not match the venue's ${this.expected}; resubscribe for a fresh snapshot`
  }
}

/**
 * Applies one book push's data to the book and checks the result against
 * the push's checksum.
 *
 * @category combinators
 * @since 0.1.0
 */
export const applyVerified = (
  book: Book,
  action: "snapshot" | "update",
  data: BookData
): Effect.Effect<void, ChecksumMismatch> =>
  Effect.suspend(() => {
    apply(book, action, data)
    const actual = checksum(book)
    return actual === data.checksum
      ? Effect.void
      : Effect.fail(new ChecksumMismatch({ symbol: book.instId, expected: data.checksum, actual }))
  })

/**
 * OKX's private WebSocket (`/ws/v5/private`): a feed of it logs each session
 * in (`login`, signed with the feed's `credentials`: key, secret,
 * passphrase) before it subscribes `orders`, `positions` or `account`.
 *
 * @category profiles
 * @since 0.1.0
 */
export const authenticated: Venue.Profile = OkxAuth.authenticated(publicProfile)

/**
 * Private topics: `orders(instType)` and `positions(instType)` (`SPOT`,
 * `MARGIN`, `SWAP`, `FUTURES`, `OPTION`, `ANY`), and `account`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const { account, orders, positions } = OkxAuth
