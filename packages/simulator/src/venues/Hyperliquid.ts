/**
 * Hyperliquid websocket at `/hyperliquid/ws`. `{"method":"ping"}` → `{"channel":"pong"}`;
 * `{"method":"subscribe"|"unsubscribe","subscription":{"type","coin"}}` → `subscriptionResponse`.
 * Subscriptions: `trades` (`tid` +1) and `l2Book` (full 20-level snapshots; `time` increases). The
 * connection closes when the client sent nothing for `idleTimeout`.
 */
import { fixed, type Instrument } from "../internal/Market.ts"
import type { Feed, Market, Session, Venue } from "./Venue.ts"
import { parseObject } from "./Venue.ts"

const instrument: Instrument = { priceDecimals: 1, qtyDecimals: 5 }

const levelsText = (levels: ReadonlyArray<readonly [number, number]>): string =>
  "[" + levels.map(([p, q]) => `{"px":"${fixed(p, 1)}","sz":"${fixed(q, 5)}","n":1}`).join(",") + "]"

const feedFor = (market: Market, type: string, coin: string): Feed | undefined => {
  const rate = market.config.hyperliquid.rate
  if (type === "trades") {
    const tape = market.tape("hyperliquid", coin, instrument)
    return market.feed(`hyperliquid:trades:${coin}`, rate, (now) => {
      const t = tape.next(now)
      return {
        text: `{"channel":"trades","data":[{"coin":"${coin}","side":"${t.buy ? "B" : "A"}","px":"${fixed(t.price, 1)}","sz":"${
          fixed(t.qty, 5)
        }","hash":"0x${t.id.toString(16).padStart(64, "0")}","time":${t.time},"tid":${t.id},"users":["0x0","0x1"]}]}`,
        first: t.id,
        last: t.id
      }
    })
  }
  if (type === "l2Book") {
    const book = market.book("hyperliquid", coin, instrument, 20)
    return market.feed(`hyperliquid:l2Book:${coin}`, rate, (now) => {
      const c = book.next(now)
      return {
        text: `{"channel":"l2Book","data":{"coin":"${coin}","time":${now},"levels":[${levelsText(book.top("bids", 20))},${
          levelsText(book.top("asks", 20))
        }]}}`,
        first: c.seq,
        last: c.seq
      }
    })
  }
  return undefined
}

/** The Hyperliquid venue. */
export const venue: Venue = {
  name: "hyperliquid",
  matches: (path) => path === "/hyperliquid/ws",
  open: (conn, _url, market): Session => {
    const idle = market.config.hyperliquid.idleTimeoutMs
    const error = (data: string) => conn.sendText(JSON.stringify({ channel: "error", data }))
    return {
      onText: (text) => {
        const msg = parseObject(text)
        const method = msg?.["method"]
        if (msg === undefined) return error(`Invalid JSON: ${text.slice(0, 100)}`)
        if (method === "ping") return conn.sendText(`{"channel":"pong"}`)
        const sub = msg["subscription"]
        if ((method !== "subscribe" && method !== "unsubscribe") || typeof sub !== "object" || sub === null) {
          return error(`Invalid request: ${text.slice(0, 100)}`)
        }
        const s = sub as Record<string, unknown>
        const type = s["type"]
        const coin = s["coin"]
        if (typeof type !== "string" || typeof coin !== "string") return error(`Invalid subscription: ${text.slice(0, 100)}`)
        const topic = `${type}:${coin}`
        if (method === "unsubscribe") {
          if (!conn.unsubscribe(topic)) return error(`Already unsubscribed: ${text.slice(0, 100)}`)
          conn.sendText(JSON.stringify({ channel: "subscriptionResponse", data: { method, subscription: s } }))
          return conn.announce("Unsubscribed", [topic])
        }
        const feed = feedFor(market, type, coin)
        if (feed === undefined) return error(`Invalid subscription: ${text.slice(0, 100)}`)
        if (conn.subscriptions.has(topic)) return error(`Already subscribed: ${text.slice(0, 100)}`)
        conn.subscribe(topic, feed)
        conn.sendText(JSON.stringify({ channel: "subscriptionResponse", data: { method, subscription: s } }))
        conn.announce("Subscribed", [topic])
      },
      onTick: (now) => {
        if (now - conn.lastIn >= idle) conn.close(1000, `No message from client for ${Math.round(idle / 1000)}s`)
      }
    }
  }
}
