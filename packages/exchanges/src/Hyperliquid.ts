/**
 * Hyperliquid WebSocket: one `{"method":"subscribe","subscription":{type,coin}}`
 * per topic, `subscriptionResponse` answers, `{"channel":"error"}`
 * rejections, the `{"method":"ping"}` → `{"channel":"pong"}` heartbeat,
 * `Schema` decoders for `trades` and `l2Book` messages, and `topicOf`.
 * Topics are `type:coin`, e.g. `trades:BTC`, `l2Book:ETH`.
 *
 * There is no `sequence` reader: `l2Book` messages are whole snapshots of
 * the top levels (nothing to chain), and a trade's `tid` is an exchange-wide
 * id, not consecutive per coin, so a missing message cannot be told from
 * the numbers.
 *
 * Sources: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/timeouts-and-heartbeats
 * ("The server will close any connection if it hasn't sent a message to it
 * in the last 60 seconds"; send `{"method":"ping"}`, answered
 * `{"channel":"pong"}`) and
 * https://hyperliquid.gitbook.io/Hyperliquid-docs/for-developers/api/rate-limits
 * ("The following rate limits apply per IP address": "Maximum of 100
 * websocket connections", "Maximum of 1000 websocket subscriptions",
 * "Maximum of 2000 messages sent to Hyperliquid per minute across all
 * websocket connections"). The docs give no per-connection cap.
 *
 * **Unverified**: the idle rule's reading. "hasn't sent a message to it" is
 * read as the client having sent nothing (data pushed to it does not count);
 * a third-party probe found the clock also counts server-to-client frames.
 * The 30 s ping is safe either way. Some 2026 SDK READMEs
 * (guilder-client-hyperliquid, df-hyperliquid-core) list 10 connections and
 * 30 new connections a minute per IP; the docs say 100 connections and
 * nothing about new ones, and the docs' figures are used.
 *
 * @since 0.1.0
 */
import { Heartbeat } from "@kharbranth/core"
import * as Schema from "effect/Schema"
import { isRecord, obj, parseObject, str } from "./internal/json.ts"
import * as Venue from "./Venue.ts"

/**
 * A topic for a subscription type and coin (`trades:BTC`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const topic = (type: string, coin: string): string => `${type}:${coin}`

/**
 * The user streams: keyed by an address (`user`) instead of a coin, with no
 * signature, since Hyperliquid signs actions, not subscriptions (its
 * subscription messages have no signature field).
 */
const userTypes: ReadonlySet<string> = new Set(["orderUpdates", "userFills", "userEvents", "userFundings"])

/**
 * A user stream's topic: `orderUpdates`, `userFills`, `userEvents` or
 * `userFundings` of an address (`0x` and 40 hex digits), e.g.
 * `orderUpdates:0xabc…`. Subscribed on the public profile like any topic:
 * Hyperliquid needs no login for them.
 *
 * @category constructors
 * @since 0.1.0
 */
export const userStream = (
  type: "orderUpdates" | "userFills" | "userEvents" | "userFundings",
  user: string
): string => topic(type, user.toLowerCase())

const subscription = (type: string, key: string) => (userTypes.has(type) ? { type, user: key } : { type, coin: key })

const request =
  (method: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>): ReadonlyArray<Venue.Request> =>
    topics.map((t) => {
      const [type, key] = Venue.splitTopic(t)
      return {
        op: method,
        topics: [t],
        id: undefined,
        text: JSON.stringify({ method, subscription: subscription(type, key) })
      }
    })

/**
 * The topic an error names after its text: `Invalid subscription
 * {"type":"candle","coin":"NOPE","interval":"1m"}`, `Already subscribed:
 * {"type":"trades","coin":"BTC"}`, or the whole request echoed
 * (`{"method":"subscribe","subscription":{...}}`). Undefined when it names
 * none, or one without a `type` and `coin`.
 */
const namedTopic = (data: string): string | undefined => {
  const at = data.indexOf("{")
  const echoed = at < 0 ? undefined : parseObject(data.slice(at))
  const sub = obj(echoed, "subscription") ?? echoed
  const type = str(sub, "type")
  const coin = str(sub, "coin") ?? str(sub, "user")?.toLowerCase()
  return type === undefined || coin === undefined ? undefined : topic(type, coin)
}

/**
 * Reads `{"channel":"subscriptionResponse","data":{"method","subscription"}}`
 * and `{"channel":"error","data":"..."}`.
 *
 * **Details**: Hyperliquid documents no WebSocket error texts; these are the
 * ones seen live (quoted in third-party clients' tests and issues), after
 * which it writes the subscription it refers to as JSON, read into
 * `topics`:
 *
 * - `Invalid subscription {...}` (an unknown type or coin): `permanent`, as
 *   the same subscription fails again.
 * - `Already subscribed: {...}` (gemwalletcom/wallet#462): `subscribed` for
 *   that topic, since the venue holds it and a retry can never succeed;
 *   `Already unsubscribed: {...}` likewise reads as `unsubscribed`.
 * - Anything else is transient, e.g. `Cannot subscribe to more than 1000
 *   channels.` or `Cannot send more than 2000 messages per minute.`
 *   (nktkas/hyperliquid#78), and names a topic only when its text does.
 *
 * An error carries no request id; one naming no topic applies to any
 * request still waiting.
 *
 * @category combinators
 * @since 0.1.0
 */
export const confirmation = (text: string): Venue.Confirmation | undefined => {
  if (text.startsWith('{"channel":"error"')) {
    const data = str(parseObject(text), "data") ?? ""
    const named = namedTopic(data)
    const topics = named === undefined ? [] : [named]
    if (named !== undefined && data.startsWith("Already subscribed")) {
      return Venue.confirmation("subscribed", topics, undefined, data)
    }
    if (named !== undefined && data.startsWith("Already unsubscribed")) {
      return Venue.confirmation("unsubscribed", topics, undefined, data)
    }
    const permanent = named !== undefined && data.startsWith("Invalid subscription")
    return Venue.confirmation("rejected", topics, undefined, data, permanent ? { permanent } : undefined)
  }
  if (!text.startsWith('{"channel":"subscriptionResponse"')) return undefined
  const data = obj(parseObject(text), "data")
  const sub = obj(data, "subscription")
  const topics = [topic(str(sub, "type") ?? "", str(sub, "coin") ?? str(sub, "user")?.toLowerCase() ?? "")]
  const method = str(data, "method")
  return method === "subscribe"
    ? Venue.confirmation("subscribed", topics)
    : method === "unsubscribe"
    ? Venue.confirmation("unsubscribed", topics)
    : undefined
}

const control = new Set(["pong", "subscriptionResponse", "error", "post"])

/**
 * The topic of a market message: its `channel` and the `coin` of its data
 * (an object, or the first element of an array), e.g. `{"channel":"trades",
 * "data":[{"coin":"BTC",...}]}` is `trades:BTC`. Undefined for `pong`,
 * `subscriptionResponse`, `error` and anything without a coin.
 *
 * @category combinators
 * @since 0.1.0
 */
export const topicOf = (text: string): string | undefined => {
  if (!text.startsWith('{"channel":') && !(text.startsWith("{") && text.includes('"channel"'))) return undefined
  const msg = parseObject(text)
  const channel = str(msg, "channel")
  if (channel === undefined || control.has(channel)) return undefined
  const data = msg?.["data"]
  const item = Array.isArray(data) ? data[0] : data
  // `userFills` names its address; `orderUpdates` and `user` do not, so their topic cannot be told.
  if (channel === "userFills") return isRecord(item) ? userTopic(channel, str(item, "user")) : undefined
  if (userTypes.has(channel) || channel === "user") return undefined
  const coin = isRecord(item) ? str(item, "coin") : undefined
  return coin === undefined ? undefined : topic(channel, coin)
}

const userTopic = (
  type: string,
  user: string | undefined
) => (user === undefined ? undefined : topic(type, user.toLowerCase()))

/**
 * Hyperliquid mainnet.
 *
 * **Details**: every limit counts per IP, across all connections:
 * `subscriptionsPerIp` 1000 and `connectionsPerIp` 100 are hard caps, and
 * `messagesPerIp` is 2000 messages a minute (subscribes, unsubscribes and
 * pings alike). There is no per-connection stream cap, so one connection can
 * hold all 1000 subscriptions.
 *
 * @category profiles
 * @since 0.1.0
 */
export const mainnet: Venue.Profile = {
  venue: "hyperliquid",
  url: "wss://api.hyperliquid.xyz/ws",
  urls: { mainnet: "wss://api.hyperliquid.xyz/ws", testnet: "wss://api.hyperliquid-testnet.xyz/ws" },
  heartbeat: Heartbeat.message({
    interval: "30 seconds",
    timeout: "10 seconds",
    message: () => JSON.stringify({ method: "ping" }),
    isPong: (t) => t === '{"channel":"pong"}'
  }),
  idleTimeout: undefined,
  serverIdle: "60 seconds",
  idleRule:
    "closes the connection when it has not been sent a message for 60 s (read as: the client sent nothing; whether data pushed to the client counts is not documented)",
  limits: {
    messagesPerIp: { count: 2000, window: "1 minute" },
    subscriptionsPerIp: 1000,
    connectionsPerIp: 100
  },
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation,
  isNotice: () => false,
  topicOf
}

/**
 * One trade: taker side `B` (buy) or `A` (sell), price and size as decimal
 * strings, exchange-wide trade id `tid`, and the buyer and seller.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Trade = Schema.Struct({
  coin: Schema.String,
  side: Schema.Literals(["B", "A"]),
  px: Schema.String,
  sz: Schema.String,
  hash: Schema.String,
  time: Schema.Number,
  tid: Schema.Number,
  users: Schema.optionalKey(Schema.Tuple([Schema.String, Schema.String]))
})

/**
 * A decoded trade.
 *
 * @category models
 * @since 0.1.0
 */
export type Trade = typeof Trade.Type

/**
 * A `trades` message.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TradesMessage = Schema.Struct({
  channel: Schema.Literal("trades"),
  data: Schema.Array(Trade)
})

/**
 * A decoded `trades` message.
 *
 * @category models
 * @since 0.1.0
 */
export type TradesMessage = typeof TradesMessage.Type

/**
 * A price level: price `px`, size `sz` (decimal strings) and the number of
 * orders `n`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Level = Schema.Struct({ px: Schema.String, sz: Schema.String, n: Schema.Number })

/**
 * A coin's book: `levels` is `[bids, asks]`, bids high to low, asks low to
 * high. Every message is a whole snapshot of the top levels.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Book = Schema.Struct({
  coin: Schema.String,
  time: Schema.Number,
  levels: Schema.Tuple([Schema.Array(Level), Schema.Array(Level)])
})

/**
 * A decoded book.
 *
 * @category models
 * @since 0.1.0
 */
export type Book = typeof Book.Type

/**
 * An `l2Book` message.
 *
 * @category schemas
 * @since 0.1.0
 */
export const BookMessage = Schema.Struct({
  channel: Schema.Literal("l2Book"),
  data: Book
})

/**
 * A decoded `l2Book` message.
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
export const Message = Schema.Union([TradesMessage, BookMessage])

/**
 * A decoded market message.
 *
 * @category models
 * @since 0.1.0
 */
export type Message = typeof Message.Type

/**
 * Decodes a text message into a trades or book message.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeMessage = Schema.decodeUnknownEffect(Schema.fromJsonString(Message))

/**
 * Decodes a `trades` message.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeTrades = Schema.decodeUnknownEffect(Schema.fromJsonString(TradesMessage))

/**
 * Decodes an `l2Book` message.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeBook = Schema.decodeUnknownEffect(Schema.fromJsonString(BookMessage))
