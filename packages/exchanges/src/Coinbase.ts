/**
 * Coinbase Exchange WebSocket feed: `{"type":"subscribe","channels":[{name,
 * product_ids}]}` framing, the full `{"type":"subscriptions"}` list as the
 * answer to every (un)subscribe, `{"type":"error"}` rejections, and `Schema`
 * decoders for `match`/`last_match`, `l2update`, `snapshot` and `heartbeat`,
 * and `topicOf`/`sequence` readers.
 * Topics are `channel:product`, e.g. `matches:BTC-USD`, `heartbeat:BTC-USD`.
 * Coinbase has no ping message: its keep-alive is the `heartbeat` channel
 * (one message a second per product), which `subscribe` adds for every
 * product it subscribes, so `idleTimeout` finds a dead feed without
 * restarting a quiet one.
 *
 * Sources: https://docs.cdp.coinbase.com/exchange/websocket-feed/overview
 * (a `subscribe` must arrive within 5 s of connecting or the connection is
 * closed), https://docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits
 * ("Requests per second per IP: 8", "Requests per second per IP in bursts:
 * Up to 20", "Messages sent by the client every second per IP: 100";
 * "limited to 10 WebSocket subscriptions on a per product, per channel
 * basis", beyond which "the new subscription will be rejected"),
 * https://docs.cdp.coinbase.com/exchange/websocket-feed/channels (the
 * `heartbeat` channel) and
 * https://docs.cdp.coinbase.com/exchange/websocket-feed/authentication
 * (`level2` needs authentication; `level2_batch` is its public form).
 *
 * @since 0.1.0
 */
import { Heartbeat } from "@kharbranth/core"
import * as Schema from "effect/Schema"
import * as CoinbaseAuth from "./internal/auth/coinbase.ts"
import { arr, isRecord, num, parseObject, str } from "./internal/json.ts"
import * as Venue from "./Venue.ts"

/**
 * A topic for a channel and product (`matches:BTC-USD`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const topic = (channel: string, product: string): string => `${channel}:${product}`

const request =
  (type: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>): ReadonlyArray<Venue.Request> => {
    const channels = Venue.byChannel(topics).map(([name, product_ids]) => ({ name, product_ids }))
    return [{
      op: type,
      topics,
      id: undefined,
      text: JSON.stringify({ type, channels: type === "subscribe" ? withHeartbeat(channels) : channels })
    }]
  }

/**
 * `channels` with the `heartbeat` channel also listing every product of the
 * other channels (a product already in it is not repeated).
 */
const withHeartbeat = (
  channels: ReadonlyArray<{ readonly name: string; readonly product_ids: ReadonlyArray<string> }>
): ReadonlyArray<{ readonly name: string; readonly product_ids: ReadonlyArray<string> }> => {
  const existing = channels.find((c) => c.name === "heartbeat")
  const products = new Set(existing?.product_ids ?? [])
  const added: Array<string> = []
  for (const channel of channels) {
    for (const product of channel.product_ids) {
      if (product === "" || products.has(product)) continue
      products.add(product)
      added.push(product)
    }
  }
  if (added.length === 0) return channels
  if (existing === undefined) return [...channels, { name: "heartbeat", product_ids: added }]
  return channels.map((c) => (c === existing ? { name: c.name, product_ids: [...c.product_ids, ...added] } : c))
}

/** The product an error's `reason` names as unknown (`XYZ is not a valid product`). */
const unknownProduct = (reason: string | undefined): string | undefined => {
  const m = reason === undefined ? null : /^(\S+) is not a valid product\b/.exec(reason)
  return m === null ? undefined : m[1]
}

/**
 * Reads `{"type":"subscriptions","channels":[{name,product_ids}]}` (every
 * active topic, the `heartbeat` ones `subscribe` adds included) and
 * `{"type":"error","message","reason"}`.
 *
 * **Details**: an error names no request and no channel. When its `reason`
 * is `<product> is not a valid product` (`{"type":"error","message":"Failed
 * to subscribe","reason":"XYZ is not a valid product"}`), the product goes
 * in `instruments` and the rejection is `permanent`: the product does not
 * exist, so no retry can succeed. Coinbase documents no error list; any
 * other error (a bad channel name, too many subscriptions) is transient and
 * names nothing.
 *
 * @category combinators
 * @since 0.1.0
 */
export const confirmation = (text: string): Venue.Confirmation | undefined => {
  if (text.startsWith('{"type":"error"')) {
    const msg = parseObject(text)
    const reason = str(msg, "reason")
    const product = unknownProduct(reason)
    return Venue.confirmation(
      "rejected",
      [],
      undefined,
      `${str(msg, "message") ?? ""}: ${reason ?? ""}`,
      product === undefined ? undefined : { instruments: [product], permanent: true }
    )
  }
  if (!text.startsWith('{"type":"subscriptions"')) return undefined
  const topics: Array<string> = []
  for (const channel of arr(parseObject(text), "channels")) {
    if (!isRecord(channel)) continue
    const name = str(channel, "name") ?? ""
    for (const product of arr(channel, "product_ids")) {
      if (typeof product === "string") topics.push(topic(name, product))
    }
  }
  return Venue.confirmation("active", topics)
}

/** The channel whose subscription delivers a message `type`. */
const channelOf = (type: string | undefined): string | undefined => {
  switch (type) {
    case "match":
    case "last_match":
      return "matches"
    case "heartbeat":
      return "heartbeat"
    case "snapshot":
    case "l2update":
      return "level2_batch"
    case "ticker":
      return "ticker"
    default:
      return undefined
  }
}

/** A market message: its topic and the parsed message. */
const market = (
  text: string
): { readonly topic: string; readonly msg: Readonly<Record<string, unknown>> } | undefined => {
  if (!text.includes('"product_id"')) return undefined
  const msg = parseObject(text)
  const channel = channelOf(str(msg, "type"))
  const product = str(msg, "product_id")
  return msg === undefined || channel === undefined || product === undefined
    ? undefined
    : { topic: topic(channel, product), msg }
}

/**
 * The topic of a market message: `matches:<product>` for `match` and
 * `last_match`, `heartbeat:<product>` for `heartbeat`,
 * `level2_batch:<product>` for `snapshot` and `l2update`, `ticker:<product>`
 * for `ticker`. Undefined for `subscriptions`, `error` and anything else.
 *
 * **Details**: Coinbase has no ping; its keep-alive is the `heartbeat`
 * channel, a subscription like any other. Its messages are the data of the
 * `heartbeat:<product>` topic (so that topic is not reported stale while
 * they flow); they say nothing about the product's other topics, which may
 * go quiet on a quiet market. Since `subscribe` adds the heartbeat of every
 * product it subscribes, these messages also arrive for products whose
 * `heartbeat:<product>` topic was never asked for.
 *
 * **Gotchas**: `level2` (authenticated) and `level2_batch` (public) send the
 * same messages, and so do `ticker` and `ticker_batch`; their messages are
 * named with the public `level2_batch` and with `ticker`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const topicOf = (text: string): string | undefined => market(text)?.topic

/**
 * Where a `match` or `last_match` sits in its product's trades: it covers
 * its `trade_id` (`first` = `last`), and a product's trade ids go up by one.
 * `stream` is the message's `topicOf` (`matches:<product>`). Undefined for
 * anything else: `l2update` and `snapshot` carry no number, and a
 * `heartbeat` only repeats the latest ones.
 *
 * **Details**: the messages' `sequence` is not used: it counts every order
 * event of the product (the `full` channel's numbering), so on the
 * `matches` channel it jumps between matches.
 *
 * @category combinators
 * @since 0.1.0
 */
export const sequence = (text: string): Venue.Sequence | undefined => {
  const m = market(text)
  if (m === undefined || !m.topic.startsWith("matches:")) return undefined
  const id = num(m.msg, "trade_id")
  return id === undefined ? undefined : { stream: m.topic, first: id, last: id }
}

/**
 * The Coinbase Exchange feed.
 *
 * **Details**: `subscribe` also subscribes the `heartbeat` channel for every
 * product of the request (the request's `topics` list only the topics asked
 * for; the `subscriptions` answer lists the heartbeat ones too), so a quiet
 * product still sends a message a second and `idleTimeout` (5 s) only fires
 * on a dead feed. `unsubscribe` leaves those heartbeats alone: a product's
 * heartbeat runs until the connection ends, unless `heartbeat:<product>`
 * itself is unsubscribed (which stops the keep-alive for that product, even
 * while its other topics are held). One heartbeat subscription per product
 * is one of the 10 per product and channel Coinbase allows.
 *
 * Limits: "Requests per second per IP: 8", with bursts "Up to 20" (the burst
 * is not modelled: 8 per second is the budget). The docs do not say whether
 * "requests" are connection attempts or subscribe/unsubscribe messages, so
 * both budgets hold it (`connections` and `requestsPerIp`). 100 messages per
 * second per IP from the client (`messagesPerIp`), and at most 10
 * subscriptions per product and channel (`subscribersPerTopic`; counted per
 * account by the docs, per IP here for unauthenticated connections).
 *
 * @category profiles
 * @since 0.1.0
 */
export const exchange: Venue.Profile = {
  venue: "coinbase",
  url: "wss://ws-feed.exchange.coinbase.com",
  urls: {
    feed: "wss://ws-feed.exchange.coinbase.com",
    direct: "wss://ws-direct.exchange.coinbase.com",
    sandbox: "wss://ws-feed-public.sandbox.exchange.coinbase.com"
  },
  heartbeat: Heartbeat.none,
  idleTimeout: "5 seconds",
  serverIdle: "5 seconds",
  idleRule:
    "closes the connection when no subscribe arrives within 5 s of connecting; the heartbeat channel then sends a message every second",
  limits: {
    connections: { count: 8, window: "1 second" },
    requestsPerIp: { count: 8, window: "1 second" },
    messagesPerIp: { count: 100, window: "1 second" },
    subscribersPerTopic: 10
  },
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation,
  isNotice: () => false,
  topicOf
}

/**
 * A `match` (or the `last_match` sent on subscribing) on the `matches` channel.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Match = Schema.Struct({
  type: Schema.Literals(["match", "last_match"]),
  trade_id: Schema.Number,
  sequence: Schema.Number,
  maker_order_id: Schema.String,
  taker_order_id: Schema.String,
  time: Schema.String,
  product_id: Schema.String,
  size: Schema.String,
  price: Schema.String,
  side: Schema.Literals(["buy", "sell"])
})

/**
 * A decoded match.
 *
 * @category models
 * @since 0.1.0
 */
export type Match = typeof Match.Type

/**
 * An `l2update`: `[side, price, size]` changes; size `"0"` removes the level.
 *
 * @category schemas
 * @since 0.1.0
 */
export const L2Update = Schema.Struct({
  type: Schema.Literal("l2update"),
  product_id: Schema.String,
  time: Schema.String,
  changes: Schema.Array(Schema.Tuple([Schema.Literals(["buy", "sell"]), Schema.String, Schema.String]))
})

/**
 * A decoded level-2 update.
 *
 * @category models
 * @since 0.1.0
 */
export type L2Update = typeof L2Update.Type

/**
 * The level-2 `snapshot` sent on subscribing.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Snapshot = Schema.Struct({
  type: Schema.Literal("snapshot"),
  product_id: Schema.String,
  bids: Schema.Array(Schema.Tuple([Schema.String, Schema.String])),
  asks: Schema.Array(Schema.Tuple([Schema.String, Schema.String]))
})

/**
 * A `heartbeat` channel message: the product's latest `sequence` and trade id.
 *
 * @category schemas
 * @since 0.1.0
 */
export const HeartbeatMessage = Schema.Struct({
  type: Schema.Literal("heartbeat"),
  product_id: Schema.String,
  sequence: Schema.Number,
  last_trade_id: Schema.Number,
  time: Schema.String
})

/**
 * Any market message this module decodes.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Message = Schema.Union([Match, L2Update, Snapshot, HeartbeatMessage])

/**
 * A decoded market message.
 *
 * @category models
 * @since 0.1.0
 */
export type Message = typeof Message.Type

/**
 * Decodes a text message into a `Message`.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeMessage = Schema.decodeUnknownEffect(Schema.fromJsonString(Message))

/**
 * Decodes a `match`/`last_match` message.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeMatch = Schema.decodeUnknownEffect(Schema.fromJsonString(Match))

/**
 * Coinbase Exchange's authenticated channels on the feed URL: a feed of it
 * signs each `subscribe` with the feed's `credentials` (key, base64 secret,
 * passphrase). Topics: `topic("user", product)` (the account's own orders),
 * beside any public one.
 *
 * @category profiles
 * @since 0.1.0
 */
export const authenticated: Venue.Profile = CoinbaseAuth.authenticated(exchange)
