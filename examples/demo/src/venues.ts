/**
 * The demo's feeds: for each venue, where to connect (the simulator, or the
 * real public endpoint with `--live`), the heartbeat style the venue wants,
 * what to subscribe to in `onOpen`, and how to read trade ids out of a
 * message so that a gap inside a session can be detected.
 */
import { Heartbeat } from "@kharbranth/core"
import type { ConnectionConfig } from "@kharbranth/core"
import type { Simulator } from "@kharbranth/simulator"

export type Venue = "binance" | "okx" | "bybit" | "coinbase" | "kraken" | "hyperliquid"

export interface Feed {
  readonly name: string
  readonly venue: Venue
  readonly url: string
  readonly config: Omit<ConnectionConfig.ConnectionConfig, "url">
  /** Messages to send after every (re)connect. */
  readonly subscribe: ReadonlyArray<string>
  /** Trade ids in a message, in order (consecutive within a session). */
  readonly tradeIds: (text: string) => ReadonlyArray<number>
}

const ids = (pattern: RegExp) => (text: string): ReadonlyArray<number> => {
  const out: Array<number> = []
  for (const match of text.matchAll(pattern)) out.push(Number(match[1]))
  return out
}

const live: Record<Venue, string> = {
  binance: "wss://stream.binance.com:9443/ws",
  okx: "wss://ws.okx.com:8443/ws/v5/public",
  bybit: "wss://stream.bybit.com/v5/public/spot",
  coinbase: "wss://ws-feed.exchange.coinbase.com",
  kraken: "wss://ws.kraken.com/v2",
  hyperliquid: "wss://api.hyperliquid.xyz/ws"
}

/**
 * `--live` goes to the venues' public endpoints. `KHARBRANTH_DEMO_LIVE_ORIGIN` (e.g. `ws://127.0.0.1:9`)
 * replaces their scheme, host and port and keeps each path: the demo's test points it where nothing
 * listens, to see what a machine without internet sees.
 */
const liveUrl = (url: string): string => {
  const origin = process.env["KHARBRANTH_DEMO_LIVE_ORIGIN"]
  if (origin === undefined || origin === "") return url
  const parsed = new URL(url)
  return `${origin.replace(/\/$/, "")}${parsed.pathname}${parsed.search}`
}

/** Local deadlines are short so that every fault is detected within seconds. */
const fast = { interval: "1 second", timeout: "1 second" } as const

export const feeds = (endpoints: Simulator.Endpoints | undefined): ReadonlyArray<Feed> => {
  const at = (venue: Venue, local: string | undefined) => endpoints === undefined ? liveUrl(live[venue]) : local!
  const binance = (name: string, symbol: string): Feed => ({
    name,
    venue: "binance",
    url: at("binance", endpoints?.binance),
    config: { heartbeat: Heartbeat.protocol(fast) },
    subscribe: [JSON.stringify({ method: "SUBSCRIBE", params: [`${symbol}@trade`], id: 1 })],
    tradeIds: ids(/"t":(\d+)/g)
  })
  const okx = (name: string, instId: string): Feed => ({
    name,
    venue: "okx",
    url: at("okx", endpoints?.okx),
    config: { heartbeat: Heartbeat.message({ ...fast, message: "ping", isPong: (t) => t === "pong" }) },
    subscribe: [JSON.stringify({ op: "subscribe", args: [{ channel: "trades", instId }] })],
    tradeIds: ids(/"tradeId":"(\d+)"/g)
  })
  return [
    binance("binance-btc", "btcusdt"),
    binance("binance-eth", "ethusdt"),
    {
      name: "binance-sol-combined",
      venue: "binance",
      url: endpoints === undefined
        ? liveUrl("wss://stream.binance.com:9443/stream?streams=solusdt@trade")
        : `${endpoints.binanceCombined}?streams=solusdt@trade`,
      config: { heartbeat: Heartbeat.protocol(fast) },
      subscribe: [],
      tradeIds: ids(/"t":(\d+)/g)
    },
    okx("okx-btc", "BTC-USDT"),
    okx("okx-eth", "ETH-USDT"),
    {
      name: "bybit-btc",
      venue: "bybit",
      url: at("bybit", endpoints?.bybit),
      config: {
        heartbeat: Heartbeat.message({
          ...fast,
          message: () => JSON.stringify({ op: "ping" }),
          isPong: (t) => t.includes('"op":"ping"') && t.includes('"ret_msg":"pong"')
        })
      },
      subscribe: [JSON.stringify({ op: "subscribe", args: ["publicTrade.BTCUSDT"] })],
      tradeIds: ids(/"i":"(\d+)"/g)
    },
    {
      name: "coinbase-btc",
      venue: "coinbase",
      url: at("coinbase", endpoints?.coinbase),
      // Coinbase sends no pongs of its own kind: its heartbeat channel is the keep-alive, watched by idleTimeout.
      config: { heartbeat: Heartbeat.none, idleTimeout: "2 seconds" },
      subscribe: [JSON.stringify({ type: "subscribe", product_ids: ["BTC-USD"], channels: ["matches", "heartbeat"] })],
      tradeIds: (
        text
      ) => (text.startsWith('{"type":"match"') || text.includes('"type":"match"') ? ids(/"sequence":(\d+)/g)(text) : [])
    },
    {
      name: "kraken-btc",
      venue: "kraken",
      url: at("kraken", endpoints?.kraken),
      config: {
        heartbeat: Heartbeat.message({
          ...fast,
          message: () => JSON.stringify({ method: "ping" }),
          isPong: (t) => t.includes('"method":"pong"')
        })
      },
      subscribe: [JSON.stringify({ method: "subscribe", params: { channel: "trade", symbol: ["BTC/USD"] } })],
      tradeIds: ids(/"trade_id":(\d+)/g)
    },
    {
      name: "hyperliquid-btc",
      venue: "hyperliquid",
      url: at("hyperliquid", endpoints?.hyperliquid),
      config: {
        heartbeat: Heartbeat.message({
          ...fast,
          message: () => JSON.stringify({ method: "ping" }),
          isPong: (t) => t === '{"channel":"pong"}'
        }),
        idleTimeout: "2 seconds"
      },
      subscribe: [JSON.stringify({ method: "subscribe", subscription: { type: "trades", coin: "BTC" } })],
      tradeIds: ids(/"tid":(\d+)/g)
    }
  ]
}
