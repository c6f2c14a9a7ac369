/**
 * Kraken websocket v2 at `/kraken/v2`. A `status` message on connect; `{"method":"ping"}` → `pong`;
 * `{"method":"subscribe"|"unsubscribe","params":{"channel","symbol":[...]},"req_id"}` answered once per
 * symbol, each answer carrying the request's `req_id` and (for a subscribe) its own `symbol`. A symbol that
 * is not a known pair (see `KrakenOptions.pairs`; by default `BASE/QUOTE` over `knownAssets`, so `XBT/USD`
 * is unknown) is answered `{"error":"Currency pair not supported <SYM>","method":"subscribe",
 * "success":false,"symbol":"<SYM>","req_id",...}` while the other symbols of the request are subscribed
 * and answered with success. Channels: `trade` (`trade_id` +1) and `book` (a snapshot of the subscribed
 * `depth`, then updates; both carry the CRC32 `checksum` of the top 10 levels as Kraken documents it). An
 * update carries the levels that changed within the depth and, when a level within it is deleted, the one
 * that enters at its bottom; a level pushed out by a new one above it is not deleted (the client truncates
 * to the depth, as Kraken's guide asks). An update that changes nothing within the depth is not sent. Prices (1 decimal) and quantities (8 decimals)
 * are JSON numbers written with full precision, as Kraken writes them. Once subscribed, a
 * `{"channel":"heartbeat"}` goes out when nothing else was sent for `heartbeatInterval`. The notice is a
 * `status` update with `system: "maintenance"`.
 */
import * as Checksum from "../Checksum.ts"
import { krakenPair } from "../internal/Instruments.ts"
import { fixed, type Instrument, type Trade } from "../internal/Market.ts"
import type { LevelChange, OrderBook, Shape } from "../internal/OrderBook.ts"
import type { BookFaultKind, BookMessage, Emission, Feed, Market, Session, Venue } from "./Venue.ts"
import { isoMicros, isStringArray, parseObject } from "./Venue.ts"

const instrument: Instrument = { priceDecimals: 1, qtyDecimals: 8 }
const depths = [10, 25, 100, 500, 1000]
/** About 130 levels per side: depths 10, 25 and 100 lose and gain levels at their edge; 500 and 1000 see all. */
const shape: Shape = { levels: 160, maxChanges: 5 }
const bookFaults: ReadonlySet<BookFaultKind> = new Set(["bookGap", "crossed", "badChecksum"])
/** A book → the checksum of its last update, to tell whether an update changed the top 10. */
const lastChecksum = new WeakMap<OrderBook, number>()

const levelsText = (levels: ReadonlyArray<readonly [number, number]>): string =>
  "[" + levels.map(([p, q]) => `{"price":${fixed(p, 1)},"qty":${fixed(q, 8)}}`).join(",") + "]"

/**
 * The checksum of a book's top 10 levels, exactly as a client must compute it; with `extraBid`, of the book
 * that bid would leave (`crossed`).
 */
export const checksumOf = (book: OrderBook, extraBid?: LevelChange): number => {
  const text = (levels: ReadonlyArray<readonly [number, number]>) =>
    levels.map(([p, q]) => [fixed(p, 1), fixed(q, 8)] as const)
  const bids = extraBid === undefined ? book.top("bids", 10) : [extraBid, ...book.top("bids", 9)]
  return Checksum.kraken(text(book.top("asks", 10)), text(bids))
}

const tradeText = (symbol: string, t: Trade): string =>
  `{"symbol":"${symbol}","side":"${t.buy ? "buy" : "sell"}","price":${fixed(t.price, 1)},"qty":${
    fixed(t.qty, 8)
  },"ord_type":"market","trade_id":${t.id},"timestamp":"${isoMicros(t.time)}"}`

interface Channel {
  readonly feed: Feed
  readonly snapshot: () => string
  readonly result: Record<string, unknown>
  /** The subscriber's delivery (a book subscription picks its depth's message). */
  readonly deliver?: (topic: string, deliver: (topic: string, m: BookMessage) => void) => (e: Emission) => void
}

/**
 * Whether every level of a message is within the top 10 (a deletion: better than the 10th level now), so
 * that losing the message leaves the client's top 10, which the checksum covers, wrong: a `bookGap` on
 * Kraken drops only such a message, so the loss cannot hide below the checksum's reach.
 */
const withinTop10 = (book: OrderBook, levels: ReadonlyArray<LevelChange>, bids: boolean): boolean => {
  const side = bids ? book.bids : book.asks
  const tenth = side.prices[9]
  return levels.every(([p]) => tenth === undefined || !side.better(tenth, p))
}

/** One depth's update message, or undefined when nothing changed within it. */
const bookMessage = (
  book: OrderBook,
  symbol: string,
  depth: number,
  checksum: number,
  detectable: boolean,
  now: number
): BookMessage | undefined => {
  const view = book.views.get(depth)
  if (view === undefined || !view.changed) return undefined
  const render = (bids: ReadonlyArray<LevelChange>, sum: number) =>
    `{"channel":"book","type":"update","data":[{"symbol":"${symbol}","bids":${levelsText(bids)},"asks":${
      levelsText(view.last.asks)
    },"checksum":${sum},"timestamp":"${isoMicros(now)}"}]}`
  return {
    text: render(view.last.bids, checksum),
    first: book.seq,
    last: book.seq,
    detectable: detectable && withinTop10(book, view.last.bids, true) && withinTop10(book, view.last.asks, false),
    crossed: () => {
      const bid = book.crossingBid()
      return render([...view.last.bids, bid], checksumOf(book, bid))
    },
    badChecksum: () => render(view.last.bids, (checksum ^ 0x5a5a5a5a) >>> 0)
  }
}

const channelFor = (market: Market, channel: string, symbol: string, depth: number): Channel | undefined => {
  const rate = market.config.kraken.rate
  if (channel === "trade") {
    const tape = market.tape("kraken", symbol, instrument)
    return {
      feed: market.feed(`kraken:trade:${symbol}`, rate, (now) => {
        const t = tape.next(now)
        return { text: `{"channel":"trade","type":"update","data":[${tradeText(symbol, t)}]}`, first: t.id, last: t.id }
      }),
      snapshot: () =>
        `{"channel":"trade","type":"snapshot","data":[${tape.last !== undefined ? tradeText(symbol, tape.last) : ""}]}`,
      result: { channel: "trade", snapshot: true, symbol }
    }
  }
  if (channel === "book") {
    const book = market.book("kraken", symbol, instrument, shape)
    book.view(depth, false)
    if (!lastChecksum.has(book)) lastChecksum.set(book, checksumOf(book))
    return {
      feed: market.feed(`kraken:book:${symbol}`, rate, (now) => {
        const c = book.next(now)
        const checksum = checksumOf(book)
        const detectable = checksum !== lastChecksum.get(book)
        lastChecksum.set(book, checksum)
        const views = new Map<number, BookMessage | undefined>()
        for (const d of book.views.keys()) views.set(d, bookMessage(book, symbol, d, checksum, detectable, now))
        return { text: "", first: c.seq, last: c.seq, views }
      }, { bookFaults }),
      snapshot: () =>
        `{"channel":"book","type":"snapshot","data":[{"symbol":"${symbol}","bids":${
          levelsText(book.top("bids", depth))
        },"asks":${levelsText(book.top("asks", depth))},"checksum":${checksumOf(book)}}]}`,
      result: { channel: "book", depth, snapshot: true, symbol },
      deliver: (topic, deliver) => (e) => {
        const m = e.views?.get(depth)
        if (m !== undefined) deliver(topic, m)
      }
    }
  }
  return undefined
}

/** The Kraken venue. */
export const venue: Venue = {
  name: "kraken",
  matches: (path) => path === "/kraken/v2",
  open: (conn, _url, market): Session => {
    const cfg = market.config.kraken
    const send = (value: unknown) => conn.sendText(JSON.stringify(value))
    conn.sendText(
      `{"channel":"status","type":"update","data":[{"version":"2.0.0","system":"online","api_version":"v2","connection_id":${conn.id}}]}`
    )
    return {
      onText: (text, now) => {
        const msg = parseObject(text)
        const method = msg?.["method"]
        const reqId = msg?.["req_id"]
        const times = { time_in: isoMicros(now), time_out: isoMicros(Date.now()) }
        const withReq = reqId !== undefined ? { req_id: reqId } : {}
        if (msg === undefined || typeof method !== "string") {
          return send({ error: "Invalid request: not a JSON object with method", success: false, ...times })
        }
        if (method === "ping") return send({ method: "pong", ...withReq, ...times })
        if (method !== "subscribe" && method !== "unsubscribe") {
          return send({ error: `Method not found: ${method}`, method, success: false, ...withReq, ...times })
        }
        const params = typeof msg["params"] === "object" && msg["params"] !== null
          ? (msg["params"] as Record<string, unknown>)
          : {}
        const channel = params["channel"]
        const symbols = params["symbol"]
        const depth = typeof params["depth"] === "number" ? params["depth"] : 10
        if (typeof channel !== "string" || !isStringArray(symbols) || symbols.length === 0) {
          return send({
            error: "Invalid request: params.channel and params.symbol are required",
            method,
            success: false,
            ...withReq,
            ...times
          })
        }
        if (channel === "book" && !depths.includes(depth)) {
          return send({ error: `Invalid depth: ${depth}`, method, success: false, ...withReq, ...times })
        }
        const changed: Array<string> = []
        for (const symbol of symbols) {
          const topic = `${channel}:${symbol}`
          if (!krakenPair(cfg.pairs, symbol)) {
            send({
              error: `Currency pair not supported ${symbol}`,
              method,
              success: false,
              symbol,
              ...withReq,
              ...times
            })
            continue
          }
          const ch = channelFor(market, channel, symbol, depth)
          if (ch === undefined) {
            send({ error: `Channel ${channel} not found`, method, success: false, symbol, ...withReq, ...times })
            continue
          }
          if (method === "unsubscribe") {
            if (conn.unsubscribe(topic)) changed.push(topic)
            send({ method, result: { channel, symbol }, success: true, ...withReq, ...times })
            continue
          }
          if (conn.subscriptions.has(topic)) {
            send({ error: "Already subscribed", method, success: false, symbol, ...withReq, ...times })
            continue
          }
          send({ method, result: ch.result, success: true, ...withReq, ...times })
          const deliver = ch.deliver?.(topic, (t, m) => conn.deliverBook(t, ch.feed.key, m))
          conn.subscribe(topic, ch.feed, deliver)
          conn.sendData(topic, ch.snapshot())
          changed.push(topic)
        }
        conn.announce(method === "subscribe" ? "Subscribed" : "Unsubscribed", changed)
      },
      onTick: (now) => {
        if (conn.subscriptions.size > 0 && now - conn.lastOut >= cfg.heartbeatIntervalMs) {
          conn.sendText(`{"channel":"heartbeat"}`)
        }
      },
      notice: () => {
        conn.sendText(
          `{"channel":"status","type":"update","data":[{"version":"2.0.0","system":"maintenance","api_version":"v2","connection_id":${conn.id}}]}`
        )
        return true
      }
    }
  }
}
