/**
 * Bybit v5 public WebSocket (spot, linear, inverse): `{"op":"subscribe",
 * "args":[topics],"req_id"}` framing in requests of at most 10 topics, answers
 * matched by `req_id`, the `{"op":"ping"}` heartbeat. Topics are Bybit's own:
 * `publicTrade.BTCUSDT`, `orderbook.50.BTCUSDT`.
 *
 * Source: https://bybit-exchange.github.io/docs/v5/ws/connect — send
 * `{"op":"ping"}` every 20 s to keep the connection alive; spot answers
 * `{"op":"ping","ret_msg":"pong",...}`, linear/inverse answer `{"op":"pong"}`;
 * no more than 500 connections per 5 minutes per IP; spot takes at most 10
 * args per subscription request; the args array of one request is limited
 * to 21,000 characters.
 *
 * @since 0.1.0
 */
import { Heartbeat } from "@kharbranth/core"
import { num, parseObject, str } from "./internal/json.ts"
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

const request = (op: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>, id = 1): ReadonlyArray<Venue.Request> =>
  Venue.chunks(topics, TOPICS_PER_REQUEST).map((chunk, i) => ({
    op,
    topics: chunk,
    id: id + i,
    text: JSON.stringify({ req_id: String(id + i), op, args: chunk })
  }))

/**
 * Whether a message is Bybit's pong (spot's `{"op":"ping","ret_msg":"pong"}`
 * or linear/inverse's `{"op":"pong"}`).
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

/**
 * Reads `{"success":bool,"ret_msg","op":"subscribe"|"unsubscribe","req_id"}`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const confirmation = (text: string): Venue.Confirmation | undefined => {
  if (!text.includes('"success"')) return undefined
  const msg = parseObject(text)
  const op = str(msg, "op")
  if (op !== "subscribe" && op !== "unsubscribe") return undefined
  const id = num(msg, "req_id")
  if (msg?.["success"] !== true) return Venue.confirmation("rejected", [], id, str(msg, "ret_msg"))
  return Venue.confirmation(op === "subscribe" ? "subscribed" : "unsubscribed", [], id)
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
    maxRequestBytes: 21_000
  },
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation,
  isNotice: () => false
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
