/**
 * Bybit v5 public spot websocket at `/bybit/v5/public/spot`. `{"op":"ping"}` is answered
 * `{"success":true,"ret_msg":"pong",...}`; `{"op":"subscribe"|"unsubscribe","args":[topics]}` gets one
 * answer per request. Topics: `publicTrade.<SYMBOL>` (trade id `i` and `seq` +1) and
 * `orderbook.{1,50,200,1000}.<SYMBOL>` (a snapshot of that many levels, then deltas whose update id `u` is
 * the previous one + 1 per stream, level 1 as snapshots only; a level that leaves the depth is sent with size 0 and one that enters with
 * its size; an update that changes nothing within the depth is not sent; a `bookRestart` fault sends a
 * snapshot with `u` = 1 as after a service restart, and deltas go on from 2).
 * The connection closes when neither a ping nor pushed data happened for `idleTimeout`.
 */
import { fixed, type Instrument } from "../internal/Market.ts"
import type { DepthView, LevelChange, OrderBook, Shape } from "../internal/OrderBook.ts"
import type { BookFaultKind, BookMessage, Emission, Feed, Market, Session, Venue } from "./Venue.ts"
import { isStringArray, pairs, parseObject } from "./Venue.ts"

const instrument: Instrument = { priceDecimals: 2, qtyDecimals: 6 }
/** About 240 levels per side: `orderbook.50` and `orderbook.200` both lose and gain levels at their edge. */
const shape: Shape = { levels: 300, maxChanges: 6 }
const bookFaults: ReadonlySet<BookFaultKind> = new Set(["bookGap", "crossed"])

interface Topic {
  readonly feed: Feed
  readonly snapshot?: (now: number) => string
  readonly deliver?: (e: Emission) => BookMessage | undefined
  readonly view?: DepthView
}

const snapshotText = (topic: string, symbol: string, book: OrderBook, view: DepthView, now: number) =>
  `{"topic":"${topic}","type":"snapshot","ts":${now},"data":{"s":"${symbol}","b":${
    pairs(book.top("bids", view.depth), 2, 6, fixed)
  },"a":${pairs(book.top("asks", view.depth), 2, 6, fixed)},"u":${view.seq},"seq":${book.lastUpdateId}},"cts":${now}}`

/** One view's message for the update just applied: a delta (`u` + 1), or the `u` = 1 snapshot of a restart. */
const viewMessage = (symbol: string, book: OrderBook, view: DepthView, now: number): BookMessage | undefined => {
  const topic = `orderbook.${view.depth}.${symbol}`
  if (view.restart) {
    view.restart = false
    view.seq = 1
    const text = snapshotText(topic, symbol, book, view, now)
    return { text, first: 1, last: 1, detectable: true }
  }
  if (!view.changed) return undefined
  view.seq += 1
  const u = view.seq
  if (view.depth === 1) {
    // level 1 is pushed as snapshots only
    const text = snapshotText(topic, symbol, book, view, now)
    const crossed = () =>
      `{"topic":"${topic}","type":"snapshot","ts":${now},"data":{"s":"${symbol}","b":${
        pairs([book.crossingBid()], 2, 6, fixed)
      },"a":${pairs(book.top("asks", 1), 2, 6, fixed)},"u":${u},"seq":${book.lastUpdateId}},"cts":${now}}`
    return { text, first: u, last: u, detectable: true, crossed }
  }
  const render = (bids: ReadonlyArray<LevelChange>) =>
    `{"topic":"${topic}","type":"delta","ts":${now},"data":{"s":"${symbol}","b":${pairs(bids, 2, 6, fixed)},"a":${
      pairs(view.last.asks, 2, 6, fixed)
    },"u":${u},"seq":${book.lastUpdateId}},"cts":${now}}`
  return {
    text: render(view.last.bids),
    first: u,
    last: u,
    detectable: true,
    crossed: () => render([...view.last.bids, book.crossingBid()])
  }
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
  const match = /^orderbook\.(1|50|200|1000)\.([A-Z0-9]+)$/.exec(topic)
  if (match !== null) {
    const depth = Number(match[1])
    const symbol = match[2] ?? ""
    const book = market.book("bybit", symbol, instrument, shape)
    const view = book.view(depth, true)
    const feed = market.feed(`bybit:orderbook:${symbol}`, rate, (now) => {
      const c = book.next(now)
      const views = new Map<number, BookMessage | undefined>()
      for (const v of book.views.values()) views.set(v.depth, viewMessage(symbol, book, v, now))
      return { text: "", first: c.seq, last: c.seq, views }
    }, { bookFaults })
    return {
      feed,
      view,
      snapshot: (now: number) => snapshotText(topic, symbol, book, view, now),
      deliver: (e) => e.views?.get(depth)
    }
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
          const pick = t.deliver
          conn.subscribe(
            topic,
            t.feed,
            pick === undefined ? undefined : (e) => {
              const m = pick(e)
              if (m !== undefined) conn.deliverBook(topic, t.feed.key, m)
            }
          )
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
      },
      bookRestart: (_fault, stream) => {
        let hit = false
        for (const topic of conn.subscriptions.keys()) {
          if (!topic.startsWith("orderbook.") || (stream !== undefined && topic !== stream)) continue
          const view = topicFor(market, topic)?.view
          if (view === undefined) continue
          view.restart = true
          hit = true
        }
        return hit
      }
    }
  }
}
