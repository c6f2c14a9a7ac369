/**
 * Binance USD-M futures market streams, on the routed paths Binance introduced in 2026-03 (announced
 * 2026-03-06; "Websocket Market Streams" and "Important WebSocket Change Notice" in the USD-M docs), under
 * `/binance-usdm`:
 *
 * - `/binance-usdm/public/ws[/<stream>...]` and `/binance-usdm/public/stream?streams=a/b` mirror
 *   `wss://fstream.binance.com/public/...` and push the public (high-frequency) streams: `<s>@trade`,
 *   `<s>@depth[@100ms|@250ms|@500ms]`, `<s>@depth<5|10|20>[@...]`, `<s>@bookTicker`;
 * - `/binance-usdm/market/ws[/<stream>...]` and `/binance-usdm/market/stream?streams=a/b` mirror
 *   `wss://fstream.binance.com/market/...` and push the market streams: `<s>@aggTrade`,
 *   `<s>@markPrice[@1s]`, `<s>@kline_<interval>`, `<s>@ticker`, `<s>@miniTicker`;
 * - `/binance-usdm/ws[/<stream>...]` and `/binance-usdm/stream?streams=a/b` mirror the legacy unrouted
 *   `wss://fstream.binance.com/ws` and `/stream`, and push public streams only.
 *
 * Binance documents that a connection with no routed path "will only receive data from the Public
 * endpoint": a market stream subscribed there "will not push data" and no error is raised. A third-party
 * measurement (2026-07) found the same on the routed paths: a stream of the other class, or one Binance
 * does not publish, is acknowledged `{"result":null,"id"}` and then silent. The simulator does exactly
 * that: such a subscription is accepted, listed by `LIST_SUBSCRIPTIONS`, and never pushes. A stream name
 * whose symbol is not lowercase is still rejected (error code 2), as on spot.
 *
 * The protocol is `BinanceSession`'s with USD-M limits: a PING frame every `pingInterval` (3 minutes),
 * closed when unanswered for `pongTimeout` (10 minutes), a 24-hour lifetime (no `serverShutdown`: USD-M
 * documents none), and 10 incoming messages per second. Depth updates carry `pu`, the previous update's `u`,
 * and their `U` is that same id: consecutive ranges touch (`U` = `pu`), so the event after a REST snapshot
 * always satisfies the documented first-event rule `U <= lastUpdateId <= u`, even when no event arrived
 * between subscribing and the snapshot (a paused simulator). Clients chain USD-M events by `pu`, never by `U`.
 */
import { fixed, type Instrument } from "../internal/Market.ts"
import type { OrderBook, Shape } from "../internal/OrderBook.ts"
import * as BinanceSession from "./BinanceSession.ts"
import type { BookFaultKind, Emission, Feed, Market, Session, Venue } from "./Venue.ts"
import { pairs } from "./Venue.ts"

/** How Binance USD-M writes BTCUSDT-like numbers: 2 price decimals, 3 quantity decimals. */
export const instrument: Instrument = { priceDecimals: 2, qtyDecimals: 3 }
/** About 320 levels per side, up to 8 level changes per update. */
const shape: Shape = { levels: 400, maxChanges: 8 }
/** The small books behind the partial-depth and bookTicker streams. */
const small: Shape = { levels: 25, maxChanges: 3 }
const bookFaults: ReadonlySet<BookFaultKind> = new Set(["bookGap", "crossed"])

/** The true book of a symbol (`BTCUSDT`), shared by `<s>@depth[@...]` and the REST snapshot. */
export const bookOf = (market: Market, symbol: string): OrderBook =>
  market.book("binanceUsdm", symbol, instrument, shape)
const pathPattern = /^\/binance-usdm(?:\/(public|market))?\/(ws|stream)(\/.*)?$/
const publicPattern = /^([a-z0-9]+)@(trade|bookTicker|depth(5|10|20)?(?:@100ms|@250ms|@500ms)?)$/
const intervals = "1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M"
const marketPattern = new RegExp(`^([a-z0-9]+)@(aggTrade|markPrice(?:@1s)?|kline_(?:${intervals})|ticker|miniTicker)$`)

/** Which routed endpoint a stream belongs to, or undefined for one the simulator does not publish. */
export const routeOf = (name: string): "public" | "market" | undefined =>
  publicPattern.test(name) ? "public" : marketPattern.test(name) ? "market" : undefined

const p2 = (units: number) => fixed(units, 2)
const q3 = (units: number) => fixed(units, 3)

/** The feed of a stream the simulator publishes (by route). */
const liveFeed = (market: Market, name: string): Feed => {
  const rate = market.config.binanceUsdm.rate
  const lower = name.slice(0, name.indexOf("@"))
  const symbol = lower.toUpperCase()
  const kind = name.slice(lower.length + 1)
  const feed = (key: string, next: (now: number) => Emission) => market.feed(`binanceUsdm:${lower}@${key}`, rate, next)
  if (kind === "trade") {
    const tape = market.tape("binanceUsdm", symbol, instrument)
    return feed("trade", (now) => {
      const t = tape.next(now)
      const text = `{"e":"trade","E":${now},"T":${t.time},"s":"${symbol}","t":${t.id},"p":"${p2(t.price)}","q":"${
        q3(t.qty)
      }","X":"MARKET","m":${!t.buy}}`
      return { text, first: t.id, last: t.id }
    })
  }
  if (kind === "bookTicker") {
    const book = market.book("binanceUsdm", `${symbol}#bookTicker`, instrument, small)
    return feed("bookTicker", (now) => {
      const c = book.next(now)
      const [bid = [0, 0]] = book.top("bids", 1)
      const [ask = [0, 0]] = book.top("asks", 1)
      const text = `{"e":"bookTicker","u":${c.last},"E":${now},"T":${now},"s":"${symbol}","b":"${p2(bid[0])}","B":"${
        q3(bid[1])
      }","a":"${p2(ask[0])}","A":"${q3(ask[1])}"}`
      return { text, first: c.last, last: c.last }
    })
  }
  if (kind.startsWith("depth")) {
    const levels = /^depth(5|10|20)/.exec(kind)?.[1]
    if (levels !== undefined) {
      const book = market.book("binanceUsdm", `${symbol}#depth${levels}`, instrument, small)
      return feed(`depth${levels}`, (now) => {
        const prev = book.lastUpdateId
        const c = book.next(now)
        const n = Number(levels)
        const text =
          `{"e":"depthUpdate","E":${now},"T":${now},"s":"${symbol}","U":${c.first},"u":${c.last},"pu":${prev},"b":${
            pairs(book.top("bids", n), 2, 3, fixed)
          },"a":${pairs(book.top("asks", n), 2, 3, fixed)}}`
        return { text, first: c.first, last: c.last }
      })
    }
    const book = bookOf(market, symbol)
    return market.feed(`binanceUsdm:${lower}@depth`, rate, (now) => {
      const prev = book.lastUpdateId
      const c = book.next(now)
      const render = (bids: typeof c.bids) =>
        `{"e":"depthUpdate","E":${now},"T":${now},"s":"${symbol}","U":${prev},"u":${c.last},"pu":${prev},"b":${
          pairs(bids, 2, 3, fixed)
        },"a":${pairs(c.asks, 2, 3, fixed)}}`
      const text = render(c.bids)
      const crossed = () => render([...c.bids, book.crossingBid()])
      return {
        text,
        first: c.first,
        last: c.last,
        book: { text, first: c.first, last: c.last, detectable: true, crossed }
      }
    }, { bookFaults })
  }
  // market streams: aggregates over their own tape (so they never consume `@trade` ids)
  const tape = market.tape("binanceUsdm", `${symbol}#${kind}`, instrument)
  if (kind === "aggTrade") {
    return feed("aggTrade", (now) => {
      const t = tape.next(now)
      const text = `{"e":"aggTrade","E":${now},"s":"${symbol}","a":${t.id},"p":"${p2(t.price)}","q":"${
        q3(t.qty)
      }","f":${t.id},"l":${t.id},"T":${t.time},"m":${!t.buy}}`
      return { text, first: t.id, last: t.id }
    })
  }
  if (kind.startsWith("markPrice")) {
    return feed(kind, (now) => {
      const t = tape.next(now)
      const text = `{"e":"markPriceUpdate","E":${now},"s":"${symbol}","p":"${p2(t.price)}","ap":"${p2(t.price)}","i":"${
        p2(t.price)
      }","P":"${p2(t.price)}","r":"0.00010000","T":${Math.ceil((now + 1) / 28_800_000) * 28_800_000}}`
      return { text, first: t.id, last: t.id }
    })
  }
  if (kind.startsWith("kline_")) {
    const interval = kind.slice("kline_".length)
    return feed(kind, (now) => {
      const t = tape.next(now)
      const start = now - (now % 60_000)
      const px = p2(t.price)
      const text = `{"e":"kline","E":${now},"s":"${symbol}","k":{"t":${start},"T":${
        start + 59_999
      },"s":"${symbol}","i":"${interval}","f":${t.id},"L":${t.id},"o":"${px}","c":"${px}","h":"${px}","l":"${px}","v":"${
        q3(t.qty)
      }","n":1,"x":false,"q":"0","V":"0","Q":"0","B":"0"}}`
      return { text, first: t.id, last: t.id }
    })
  }
  const mini = kind === "miniTicker"
  return feed(kind, (now) => {
    const t = tape.next(now)
    const px = p2(t.price)
    const text = mini
      ? `{"e":"24hrMiniTicker","E":${now},"s":"${symbol}","c":"${px}","o":"${px}","h":"${px}","l":"${px}","v":"${
        q3(t.qty)
      }","q":"0"}`
      : `{"e":"24hrTicker","E":${now},"s":"${symbol}","p":"0","P":"0","w":"${px}","c":"${px}","Q":"${
        q3(t.qty)
      }","o":"${px}","h":"${px}","l":"${px}","v":"${q3(t.qty)}","q":"0","O":${
        now - 86_400_000
      },"C":${now},"F":${t.id},"L":${t.id},"n":1}`
    return { text, first: t.id, last: t.id }
  })
}

/** The Binance USD-M futures venue. */
export const venue: Venue = {
  name: "binanceUsdm",
  matches: (path) => {
    const m = pathPattern.exec(path)
    return m !== null && (m[2] === "ws" || m[3] === undefined)
  },
  open: (conn, url, market): Session => {
    const cfg = market.config.binanceUsdm
    const [, routed, mode = "ws"] = pathPattern.exec(url.pathname) ?? []
    const route = routed === "market" ? "market" : "public"
    const combined = mode === "stream"
    const prefix = routed === undefined ? "/binance-usdm/ws" : `/binance-usdm/${routed}/ws`
    const feedFor = (m: Market, name: string): Feed | string => {
      const at = name.indexOf("@")
      const symbol = at < 0 ? name : name.slice(0, at)
      if (symbol !== symbol.toLowerCase()) return `Invalid request: stream symbols are lowercase ("${name}")`
      if (routeOf(name) === route) return liveFeed(m, name)
      // acknowledged, never pushed: another endpoint's stream, or one the simulator does not publish
      return m.feed(`binanceUsdm:silent:${name}`, 0, () => ({ text: "", first: 0, last: 0 }), { silent: true })
    }
    return BinanceSession.open(conn, market, {
      pingIntervalMs: cfg.pingIntervalMs,
      pongTimeoutMs: cfg.pongTimeoutMs,
      maxLifetimeMs: cfg.maxLifetimeMs,
      shutdownNoticeMs: undefined,
      messageLimit: cfg.messageLimit,
      combined,
      initial: BinanceSession.initialStreams(url, prefix, combined),
      feedFor
    })
  }
}
