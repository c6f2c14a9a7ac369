/**
 * Hyperliquid websocket at `/hyperliquid/ws`. `{"method":"ping"}` → `{"channel":"pong"}`;
 * `{"method":"subscribe"|"unsubscribe","subscription":{"type","coin"}}` → `subscriptionResponse`.
 * Subscriptions: `trades` (`tid` +1) and `l2Book` (whole 20-level snapshots, one at once on subscribe and
 * one per update; `time` increases; a `bookRestart` fault sends one more at once), and the user streams
 * `orderUpdates`, `userFills` and `userEvents` (channel `user`) keyed by `user`, an address (`0x` and 40 hex
 * digits), with no signature, as Hyperliquid's subscription messages have none; each push carries the
 * simulator's own `seq`, one higher per push of that address and stream. The
 * connection closes when the client sent nothing for `idleTimeout`.
 *
 * Limits per IP, across all connections from one remote address, as Hyperliquid's "Rate limits and user
 * limits" page lists them: `subscriptionsPerIp` (1,000), `messagesPerMinute` (2,000) and
 * `connectionsPerIp` (100). Beyond the first two the server answers with the error messages Hyperliquid
 * sends (as quoted by the nktkas/hyperliquid SDK, issue #78) and does not carry the message out; the
 * connection stays open:
 * `{"channel":"error","data":"Cannot subscribe to more than 1000 channels."}` and
 * `{"channel":"error","data":"Cannot send more than 2000 messages per minute."}`. Hyperliquid does not
 * document what a connection beyond the cap gets; the simulator refuses its handshake with HTTP 429.
 */
import * as Accounts from "../internal/Accounts.ts"
import { Counts, SlidingLog } from "../internal/Limits.ts"
import { fixed, type Instrument } from "../internal/Market.ts"
import type { LevelChange, OrderBook, Shape } from "../internal/OrderBook.ts"
import type { BookFaultKind, Feed, Market, Session, Venue } from "./Venue.ts"
import { parseObject } from "./Venue.ts"

const instrument: Instrument = { priceDecimals: 1, qtyDecimals: 5 }
/** About 32 levels per side, of which `l2Book` sends the top 20. */
const shape: Shape = { levels: 40, maxChanges: 4 }
/** The levels per side of an `l2Book` snapshot. */
export const depth = 20
const bookFaults: ReadonlySet<BookFaultKind> = new Set(["bookGap", "crossed"])

const bookOf = (market: Market, coin: string): OrderBook => market.book("hyperliquid", coin, instrument, shape)

const l2Text = (coin: string, now: number, bids: ReadonlyArray<LevelChange>, asks: ReadonlyArray<LevelChange>) =>
  `{"channel":"l2Book","data":{"coin":"${coin}","time":${now},"levels":[${levelsText(bids)},${levelsText(asks)}]}}`

const snapshotOf = (coin: string, book: OrderBook, now: number) =>
  l2Text(coin, now, book.top("bids", depth), book.top("asks", depth))

const levelsText = (levels: ReadonlyArray<readonly [number, number]>): string =>
  "[" + levels.map(([p, q]) => `{"px":"${fixed(p, 1)}","sz":"${fixed(q, 5)}","n":1}`).join(",") + "]"

const feedFor = (market: Market, type: string, coin: string): Feed | undefined => {
  const rate = market.config.hyperliquid.rate
  if (type === "trades") {
    const tape = market.tape("hyperliquid", coin, instrument)
    return market.feed(`hyperliquid:trades:${coin}`, rate, (now) => {
      const t = tape.next(now)
      return {
        text: `{"channel":"trades","data":[{"coin":"${coin}","side":"${t.buy ? "B" : "A"}","px":"${
          fixed(t.price, 1)
        }","sz":"${fixed(t.qty, 5)}","hash":"0x${
          t.id.toString(16).padStart(64, "0")
        }","time":${t.time},"tid":${t.id},"users":["0x0","0x1"]}]}`,
        first: t.id,
        last: t.id
      }
    })
  }
  if (type === "l2Book") {
    const book = bookOf(market, coin)
    return market.feed(`hyperliquid:l2Book:${coin}`, rate, (now) => {
      const c = book.next(now)
      const text = snapshotOf(coin, book, now)
      const crossed = () =>
        l2Text(coin, now, [book.crossingBid(), ...book.top("bids", depth - 1)], book.top("asks", depth))
      return { text, first: c.seq, last: c.seq, book: { text, first: c.seq, last: c.seq, detectable: true, crossed } }
    }, { bookFaults })
  }
  return undefined
}

/** The user streams: keyed by an address, with no signature (Hyperliquid signs actions, not subscriptions). */
const userTypes: ReadonlySet<string> = new Set(["orderUpdates", "userFills", "userEvents"])
const addressPattern = /^0x[0-9a-fA-F]{40}$/

/** A user stream of an address: the simulator's synthetic orders and fills, `seq` one higher per push. */
const userFeed = (market: Market, type: string, user: string): Feed =>
  Accounts.privateFeed(market, "hyperliquid", user, type, (seq, now) => {
    const o = Accounts.order(seq)
    const side = o.side === "buy" ? "B" : "A"
    const fill =
      `{"coin":"BTC","px":"${o.price}","sz":"0.005","side":"${side}","time":${now},"oid":${o.id},"tid":${seq},"seq":${seq}}`
    if (type === "userFills") return `{"channel":"userFills","data":{"user":"${user}","fills":[${fill}]}}`
    if (type === "userEvents") return `{"channel":"user","data":{"fills":[${fill}]}}`
    return `{"channel":"orderUpdates","data":[{"order":{"coin":"BTC","side":"${side}","limitPx":"${o.price}","sz":"${o.size}","oid":${o.id},"timestamp":${now},"origSz":"${o.size}"},"status":"${
      o.state === "filled" ? "filled" : "open"
    }","statusTimestamp":${now},"seq":${seq}}]}`
  })

/** The Hyperliquid venue. */
export const venue: Venue = {
  name: "hyperliquid",
  matches: (path) => path === "/hyperliquid/ws",
  refuse: (_address, open, _now, market) => (open >= market.config.hyperliquid.connectionsPerIp ? 429 : undefined),
  open: (conn, _url, market): Session => {
    const cfg = market.config.hyperliquid
    const idle = cfg.idleTimeoutMs
    const messages = market.perIp(
      "hyperliquid:messages",
      conn.address,
      () => new SlidingLog(cfg.messagesPerMinute, 60_000)
    )
    const held = market.perIp("hyperliquid:subscriptions", conn.address, () => new Counts())
    const error = (data: string) => conn.sendText(JSON.stringify({ channel: "error", data }))
    return {
      onText: (text, now) => {
        if (!messages.take(now)) return error(`Cannot send more than ${cfg.messagesPerMinute} messages per minute.`)
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
        const user = typeof type === "string" && userTypes.has(type) ? s["user"] : undefined
        const coin = user === undefined ? s["coin"] : undefined
        if (
          typeof type !== "string" ||
          (user === undefined ? typeof coin !== "string" : typeof user !== "string" || !addressPattern.test(user))
        ) {
          return error(`Invalid subscription: ${text.slice(0, 100)}`)
        }
        const topic = `${type}:${String(user ?? coin)}`
        if (method === "unsubscribe") {
          if (!conn.unsubscribe(topic)) return error(`Already unsubscribed: ${text.slice(0, 100)}`)
          held.remove(topic)
          conn.sendText(JSON.stringify({ channel: "subscriptionResponse", data: { method, subscription: s } }))
          return conn.announce("Unsubscribed", [topic])
        }
        const feed = typeof user === "string"
          ? userFeed(market, type, user.toLowerCase())
          : feedFor(market, type, String(coin))
        if (feed === undefined) return error(`Invalid subscription: ${text.slice(0, 100)}`)
        if (conn.subscriptions.has(topic)) return error(`Already subscribed: ${text.slice(0, 100)}`)
        if (held.total >= cfg.subscriptionsPerIp) {
          return error(`Cannot subscribe to more than ${cfg.subscriptionsPerIp} channels.`)
        }
        held.add(topic)
        conn.subscribe(topic, feed)
        conn.sendText(JSON.stringify({ channel: "subscriptionResponse", data: { method, subscription: s } }))
        if (type === "l2Book") conn.sendData(topic, snapshotOf(String(coin), bookOf(market, String(coin)), now))
        conn.announce("Subscribed", [topic])
      },
      onTick: (now) => {
        if (now - conn.lastIn >= idle) conn.close(1000, `No message from client for ${Math.round(idle / 1000)}s`)
      },
      onClose: () => {
        for (const topic of conn.subscriptions.keys()) held.remove(topic)
      },
      bookRestart: (_fault, stream) => {
        let hit = false
        for (const topic of conn.subscriptions.keys()) {
          if (!topic.startsWith("l2Book:") || (stream !== undefined && topic !== stream)) continue
          const coin = topic.slice("l2Book:".length)
          conn.sendData(topic, snapshotOf(coin, bookOf(market, coin), Date.now()))
          hit = true
        }
        return hit
      }
    }
  }
}
