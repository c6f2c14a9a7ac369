/**
 * OKX v5 public WebSocket: `{"op":"subscribe","args":[{channel,instId}]}`
 * framing, one `{"event":"subscribe"|"unsubscribe","arg":{...}}` answer per
 * arg, `{"event":"error"}` rejections, the text `ping`/`pong` heartbeat, and
 * the `{"event":"notice","code":"64008"}` service-upgrade notice. Topics are
 * `channel:instId`, e.g. `trades:BTC-USDT`, `books:BTC-USDT`.
 *
 * Source: https://www.okx.com/docs-v5/en/#overview-websocket — "If there's
 * no data return after connecting/subscribing for 30 seconds, the connection
 * will break"; send `ping` on a timer under 30 s and expect `pong`. Limits:
 * 3 connection requests per second per IP, 480 subscribe/unsubscribe/login
 * requests per hour per connection, 64 KB total length of the channels in
 * one request; code 64008 announces a disconnect for a service upgrade.
 *
 * @since 0.1.0
 */
import { Heartbeat } from "@kharbranth/core"
import { obj, parseObject, str } from "./internal/json.ts"
import * as Venue from "./Venue.ts"

/**
 * A topic for a channel and instrument (`trades:BTC-USDT`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const topic = (channel: string, instId: string): string => `${channel}:${instId}`

const request = (op: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>): ReadonlyArray<Venue.Request> => [{
  op,
  topics,
  id: undefined,
  text: JSON.stringify({
    op,
    args: topics.map((t) => {
      const [channel, instId] = Venue.splitTopic(t)
      return { channel, instId }
    })
  })
}]

/**
 * Reads `{"event":"subscribe"|"unsubscribe","arg":{channel,instId}}` and
 * `{"event":"error","code","msg"}`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const confirmation = (text: string): Venue.Confirmation | undefined => {
  if (!text.startsWith('{"event"') && !text.includes('"event":')) return undefined
  const msg = parseObject(text)
  const event = str(msg, "event")
  const arg = obj(msg, "arg")
  const topics = arg === undefined ? [] : [topic(str(arg, "channel") ?? "", str(arg, "instId") ?? "")]
  switch (event) {
    case "subscribe":
      return Venue.confirmation("subscribed", topics)
    case "unsubscribe":
      return Venue.confirmation("unsubscribed", topics)
    case "error":
      return Venue.confirmation("rejected", topics, undefined, `${str(msg, "code") ?? ""} ${str(msg, "msg") ?? ""}`.trim())
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
  if (!text.includes("64008")) return false
  const msg = parseObject(text)
  return str(msg, "event") === "notice" && str(msg, "code") === "64008"
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
  heartbeat: Heartbeat.message({ interval: "20 seconds", timeout: "5 seconds", message: "ping", isPong: (t) => t === "pong" }),
  idleTimeout: undefined,
  serverIdle: "30 seconds",
  idleRule: "closes (4004) when no subscription is made, or nothing is sent either way, for 30 s; a text ping counts",
  limits: {
    connections: { count: 3, window: "1 second" },
    maxRequestBytes: 64 * 1024
  },
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation,
  isNotice
}

