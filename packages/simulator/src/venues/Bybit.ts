/**
 * Bybit v5 public spot websocket at `/bybit/v5/public/spot`. `{"op":"ping"}` is answered
 * `{"success":true,"ret_msg":"pong",...}`; `{"op":"subscribe"|"unsubscribe","args":[topics]}` gets one
 * answer per request. Topics: `publicTrade.<SYMBOL>` (trade id `i` and `seq` +1) and
 * `orderbook.{50,200}.<SYMBOL>` (a snapshot, then deltas whose update id `u` is the previous one + 1).
 * The connection closes when neither a ping nor pushed data happened for `idleTimeout`.
 */
import { fixed, type Instrument } from "../internal/Market.ts"
import type { Feed, Market, Session, Venue } from "./Venue.ts"
import { isStringArray, pairs, parseObject } from "./Venue.ts"

const instrument: Instrument = { priceDecimals: 2, qtyDecimals: 6 }

interface Topic {
  readonly feed: Feed
  readonly snapshot?: (now: number) => string
}

const topicFor = (market: Market, topic: string): Topic | undefined => {
  const rate = market.config.bybit.rate
  const trade = /^publicTrade\.([A-Z0-9]+)$/.exec(topic)
  if (trade !== null) {
    const symbol = trade[1] ?? ""
    const tape = market.tape("bybit", symbol, instrument)
    const feed = market.feed(`bybit:${topic}`, rate, (now) => {
      const t = tape.next(now)
      return {
        text: `{"topic":"${topic}","type":"snapshot","ts":${now},"data":[{"T":${t.time},"s":"${symbol}","S":"${
          t.buy ? "Buy" : "Sell"
        }","v":"${fixed(t.qty, 6)}","p":"${
          fixed(t.price, 2)
        }","L":"ZeroPlusTick","i":"${t.id}","BT":false,"seq":${t.id}}]}`,
        first: t.id,
        last: t.id
      }
    })
    return { feed }
  }
  const book = /^orderbook\.(50|200)\.([A-Z0-9]+)$/.exec(topic)
  if (book !== null) {
    const symbol = book[2] ?? ""
    const state = market.book("bybit", symbol, instrument, 50)
    const feed = market.feed(`bybit:orderbook:${symbol}`, rate, (now) => {
      const c = state.next(now)
      return {
        text: `{"topic":"${topic}","type":"delta","ts":${now},"data":{"s":"${symbol}","b":${
          pairs(c.bids, 2, 6, fixed)
        },"a":${pairs(c.asks, 2, 6, fixed)},"u":${c.seq},"seq":${c.last}},"cts":${now}}`,
        first: c.seq,
        last: c.seq
      }
    })
    const snapshot = (now: number) =>
      `{"topic":"${topic}","type":"snapshot","ts":${now},"data":{"s":"${symbol}","b":${
        pairs(state.top("bids", 200), 2, 6, fixed)
      },"a":${pairs(state.top("asks", 200), 2, 6, fixed)},"u":${state.seq},"seq":${state.lastUpdateId}},"cts":${now}}`
    return { feed, snapshot }
  }
  return undefined
}

/** The Bybit venue. */
export const venue: Venue = {
  name: "bybit",
  matches: (path) => /^\/bybit\/v5\/public\/(spot|linear|inverse)$/.test(path),
  open: (conn, _url, market): Session => {
    const idle = market.config.bybit.idleTimeoutMs
    const connId = `sim-${conn.id}`
    let lastPing = conn.openedAt
    const reply = (op: string, success: boolean, retMsg: string, reqId: unknown) =>
      conn.sendText(
        `{"success":${success},"ret_msg":${JSON.stringify(retMsg)},"conn_id":"${connId}",${
          reqId !== undefined ? `"req_id":${JSON.stringify(reqId)},` : ""
        }"op":"${op}"}`
      )
    return {
      onText: (text, now) => {
        const msg = parseObject(text)
        const op = msg?.["op"]
        const reqId = msg?.["req_id"]
        if (msg === undefined || typeof op !== "string") {
          return reply("", false, "Invalid request: not a JSON object with op", reqId)
        }
        if (op === "ping") {
          lastPing = now
          return reply("ping", true, "pong", reqId)
        }
        const args = msg["args"]
        if ((op !== "subscribe" && op !== "unsubscribe") || !isStringArray(args)) {
          return reply(op, false, `Invalid request: unsupported op or args`, reqId)
        }
        if (op === "unsubscribe") {
          conn.announce("Unsubscribed", args.filter((t) => conn.unsubscribe(t)))
          return reply(op, true, "", reqId)
        }
        const resolved: Array<readonly [string, Topic]> = []
        for (const topic of args) {
          const t = topicFor(market, topic)
          if (t === undefined) return reply(op, false, `error:handler not found,topic:${topic}`, reqId)
          if (conn.subscriptions.has(topic)) return reply(op, false, `error:already subscribed,topic:${topic}`, reqId)
          resolved.push([topic, t])
        }
        reply(op, true, "", reqId)
        for (const [topic, t] of resolved) {
          conn.subscribe(topic, t.feed)
          if (t.snapshot !== undefined) conn.sendData(topic, t.snapshot(now))
        }
        conn.announce("Subscribed", args)
      },
      onTick: (now) => {
        if (now - Math.max(lastPing, conn.lastData) >= idle) {
          conn.close(1000, `No ping or data for ${Math.round(idle / 1000)}s`)
        }
      },
      onResume: (now) => {
        lastPing = now
      }
    }
  }
}
