/**
 * Hyperliquid WebSocket: one `{"method":"subscribe","subscription":{type,coin}}`
 * per topic, `subscriptionResponse` answers, `{"channel":"error"}`
 * rejections, and the `{"method":"ping"}` → `{"channel":"pong"}` heartbeat.
 * Topics are `type:coin`, e.g. `trades:BTC`, `l2Book:ETH`.
 *
 * Sources: https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/timeouts-and-heartbeats
 * (the server closes a connection that sent it nothing for 60 s; send
 * `{"method":"ping"}`, answered `{"channel":"pong"}`) and
 * https://hyperliquid.gitbook.io/Hyperliquid-docs/for-developers/api/rate-limits
 * (per IP: 100 WebSocket connections, 1000 subscriptions, 2000 messages sent
 * per minute across all connections).
 *
 * @since 0.1.0
 */
import { Heartbeat } from "@kharbranth/core"
import { obj, parseObject, str } from "./internal/json.ts"
import * as Venue from "./Venue.ts"

/**
 * A topic for a subscription type and coin (`trades:BTC`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const topic = (type: string, coin: string): string => `${type}:${coin}`

const request = (method: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>): ReadonlyArray<Venue.Request> =>
  topics.map((t) => {
    const [type, coin] = Venue.splitTopic(t)
    return { op: method, topics: [t], id: undefined, text: JSON.stringify({ method, subscription: { type, coin } }) }
  })

/**
 * Reads `{"channel":"subscriptionResponse","data":{"method","subscription"}}`
 * and `{"channel":"error","data":"..."}`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const confirmation = (text: string): Venue.Confirmation | undefined => {
  if (text.startsWith('{"channel":"error"')) {
    return Venue.confirmation("rejected", [], undefined, str(parseObject(text), "data"))
  }
  if (!text.startsWith('{"channel":"subscriptionResponse"')) return undefined
  const data = obj(parseObject(text), "data")
  const sub = obj(data, "subscription")
  const topics = [topic(str(sub, "type") ?? "", str(sub, "coin") ?? "")]
  const method = str(data, "method")
  return method === "subscribe"
    ? Venue.confirmation("subscribed", topics)
    : method === "unsubscribe"
    ? Venue.confirmation("unsubscribed", topics)
    : undefined
}

/**
 * Hyperliquid mainnet.
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
  idleRule: "closes the connection when the client has sent nothing for 60 s (data pushed to it does not count)",
  limits: {
    messagesPerSecond: 2000 / 60,
    messagesScope: "ip",
    streamsPerConnection: 1000
  },
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation,
  isNotice: () => false
}
