/**
 * Binance spot market streams. Raw streams at `/binance/ws` (optionally `/binance/ws/<stream>`), combined
 * streams at `/binance/stream?streams=a/b` with payloads wrapped as `{"stream","data"}`; the protocol
 * (requests, PING frames, lifetime, message limit) is `BinanceSession`'s. `serverShutdown` goes out
 * `shutdownNotice` before `maxLifetime`: raw (`{"e":"serverShutdown","E"}`) on a raw connection, combined
 * (`{"stream":"!serverShutdown","data":{...}}`) on a combined one. Streams: `<symbol>@trade` (trade ids +1)
 * and `<symbol>@depth[@100ms|@1000ms]` (`U` = previous `u` + 1), built from the same true book the REST
 * depth snapshot (`Rest.ts`) serves.
 */
import { fixed, type Instrument } from "../internal/Market.ts"
import type { OrderBook, Shape } from "../internal/OrderBook.ts"
import * as BinanceSession from "./BinanceSession.ts"
import type { BookFaultKind, Feed, Market, Session, Venue } from "./Venue.ts"
import { pairs } from "./Venue.ts"

/** How Binance spot writes BTCUSDT-like numbers: 2 price decimals, 5 quantity decimals. */
export const instrument: Instrument = { priceDecimals: 2, qtyDecimals: 5 }
/** About 320 levels per side, up to 8 level changes per update. */
const shape: Shape = { levels: 400, maxChanges: 8 }
const bookFaults: ReadonlySet<BookFaultKind> = new Set(["bookGap", "crossed"])

/** The true book of a symbol (`BTCUSDT`), shared by the depth streams and the REST snapshot. */
export const bookOf = (market: Market, symbol: string): OrderBook => market.book("binance", symbol, instrument, shape)
const streamPattern = /^([a-z0-9]+)@(trade|depth)(@100ms|@1000ms)?$/

const feedFor = (market: Market, name: string): Feed | string => {
  if (name !== name.toLowerCase()) return `Invalid request: stream names are lowercase ("${name}")`
  const m = streamPattern.exec(name)
  if (m === null) {
    return `Invalid request: unsupported stream "${name}" (simulator: <symbol>@trade, <symbol>@depth[@100ms])`
  }
  const lower = m[1] ?? ""
  const symbol = lower.toUpperCase()
  const rate = market.config.binance.rate
  if (m[2] === "trade") {
    const tape = market.tape("binance", symbol, instrument)
    return market.feed(`binance:${lower}@trade`, rate, (now) => {
      const t = tape.next(now)
      return {
        text: `{"e":"trade","E":${now},"s":"${symbol}","t":${t.id},"p":"${fixed(t.price, 2)}","q":"${
          fixed(t.qty, 5)
        }","T":${t.time},"m":${!t.buy},"M":true}`,
        first: t.id,
        last: t.id
      }
    })
  }
  const book = bookOf(market, symbol)
  return market.feed(`binance:${lower}@depth`, rate, (now) => {
    const c = book.next(now)
    const text = (bids: typeof c.bids) =>
      `{"e":"depthUpdate","E":${now},"s":"${symbol}","U":${c.first},"u":${c.last},"b":${pairs(bids, 2, 5, fixed)},"a":${
        pairs(c.asks, 2, 5, fixed)
      }}`
    const plain = text(c.bids)
    const crossed = () => text([...c.bids, book.crossingBid()])
    return {
      text: plain,
      first: c.first,
      last: c.last,
      book: { text: plain, first: c.first, last: c.last, detectable: true, crossed }
    }
  }, { bookFaults })
}

/** The Binance spot venue. */
export const venue: Venue = {
  name: "binance",
  matches: (path) => path === "/binance/ws" || path.startsWith("/binance/ws/") || path === "/binance/stream",
  open: (conn, url, market): Session => {
    const cfg = market.config.binance
    const combined = url.pathname === "/binance/stream"
    return BinanceSession.open(conn, market, {
      pingIntervalMs: cfg.pingIntervalMs,
      pongTimeoutMs: cfg.pongTimeoutMs,
      maxLifetimeMs: cfg.maxLifetimeMs,
      shutdownNoticeMs: cfg.shutdownNoticeMs,
      messageLimit: cfg.messageLimit,
      combined,
      initial: BinanceSession.initialStreams(url, "/binance/ws", combined),
      feedFor
    })
  }
}
