/**
 * Coinbase Exchange websocket feed at `/coinbase`. A `{"type":"subscribe","product_ids","channels"}` must
 * arrive within `subscribeDeadline` or the connection closes (1008); every (un)subscribe is answered with
 * the full `{"type":"subscriptions","channels":[...]}`. Channels: `matches` (a `last_match`, then `match`
 * messages whose per-product `sequence` increases by 1), `heartbeat` (every `heartbeatInterval`, carrying
 * the product's current `sequence` and `last_trade_id`), and `level2`/`level2_batch` (a `snapshot` of the
 * whole book, then `l2update`s; a `bookRestart` fault sends a fresh `snapshot`), and the authenticated
 * `user` channel (`CoinbaseUser.ts`: the subscribe is signed with a test account).
 *
 * Limits per IP, across connections, from Coinbase's "Exchange WebSocket Rate Limits" page: connection
 * requests at `requestsPerSecond` (8) with bursts up to `requestBurst` (20), refused beyond with HTTP 429
 * (the page does not say how Coinbase answers; a handshake has no socket to carry an error message yet);
 * `messagesPerSecond` (100) sent by the clients, beyond which the connection gets the documented
 * `{"type":"error","message":"ErrSlowRead",...}` ("the client is sending too many messages") and is
 * closed (1008); and `subscriptionsPerProductChannel` (10): "the new subscription will be rejected", here
 * with `{"type":"error","message":"Failed to subscribe","reason":...}` while the request's other
 * subscriptions are made.
 */
import * as Accounts from "../internal/Accounts.ts"
import { Counts, SlidingLog, TokenBucket } from "../internal/Limits.ts"
import { fixed, type Instrument, type Tape, type Trade } from "../internal/Market.ts"
import type { LevelChange, OrderBook, Shape } from "../internal/OrderBook.ts"
import * as CoinbaseUser from "./CoinbaseUser.ts"
import type { BookFaultKind, Feed, Market, Session, Venue } from "./Venue.ts"
import { isoMicros, isStringArray, pairs, parseObject } from "./Venue.ts"

const instrument: Instrument = { priceDecimals: 2, qtyDecimals: 8 }
/** About 240 levels per side; `level2` is the whole book. */
const shape: Shape = { levels: 300, maxChanges: 6 }
/** No `bookGap`: `l2update` carries no sequence number and Coinbase guarantees delivery on `level2`. */
const bookFaults: ReadonlySet<BookFaultKind> = new Set(["crossed"])

const bookOf = (market: Market, product: string): OrderBook => market.book("coinbase", product, instrument, shape)

const snapshotText = (product: string, book: OrderBook): string =>
  `{"type":"snapshot","product_id":"${product}","bids":${
    pairs(book.top("bids", book.bids.prices.length), 2, 8, fixed)
  },"asks":${pairs(book.top("asks", book.asks.prices.length), 2, 8, fixed)}}`
const sequenceOffset = 50_000_000
const channelNames = ["matches", "heartbeat", "level2", "level2_batch", "user"] as const
type ChannelName = typeof channelNames[number]

const matchText = (type: "match" | "last_match", product: string, t: Trade): string =>
  `{"type":"${type}","trade_id":${t.id},"maker_order_id":"m-${t.id}","taker_order_id":"t-${t.id}","side":"${
    t.buy ? "sell" : "buy"
  }","size":"${fixed(t.qty, 8)}","price":"${fixed(t.price, 2)}","product_id":"${product}","sequence":${
    t.id + sequenceOffset
  },"time":"${isoMicros(t.time)}"}`

interface Channel {
  readonly feed: Feed
  readonly initial?: (now: number) => string | undefined
}

const channelFor = (market: Market, name: Exclude<ChannelName, "user">, product: string, tape: Tape): Channel => {
  const rate = market.config.coinbase.rate
  switch (name) {
    case "matches":
      return {
        feed: market.feed(`coinbase:matches:${product}`, rate, (now) => {
          const t = tape.next(now)
          return { text: matchText("match", product, t), first: t.id, last: t.id }
        }),
        initial: () => (tape.last !== undefined ? matchText("last_match", product, tape.last) : undefined)
      }
    case "heartbeat":
      return {
        feed: market.feed(`coinbase:heartbeat:${product}`, 0, () => ({ text: "", first: 0, last: 0 }), { silent: true })
      }
    case "level2":
    case "level2_batch": {
      const book = bookOf(market, product)
      const feed = market.feed(`coinbase:level2:${product}`, rate, (now) => {
        const c = book.next(now)
        const render = (bids: ReadonlyArray<LevelChange>) => {
          const changes = [
            ...bids.map(([p, q]) => `["buy","${fixed(p, 2)}","${fixed(q, 8)}"]`),
            ...c.asks.map(([p, q]) => `["sell","${fixed(p, 2)}","${fixed(q, 8)}"]`)
          ]
          return `{"type":"l2update","product_id":"${product}","changes":[${changes.join(",")}],"time":"${
            isoMicros(now)
          }"}`
        }
        const text = render(c.bids)
        return {
          text,
          first: c.seq,
          last: c.seq,
          book: {
            text,
            first: c.seq,
            last: c.seq,
            detectable: false,
            crossed: () => render([...c.bids, book.crossingBid()])
          }
        }
      }, { bookFaults })
      return { feed, initial: () => snapshotText(product, book) }
    }
  }
}

const isChannel = (name: string): name is ChannelName => (channelNames as ReadonlyArray<string>).includes(name)

/** The Coinbase venue. */
export const venue: Venue = {
  name: "coinbase",
  matches: (path) => path === "/coinbase" || path === "/coinbase/",
  refuse: (address, _open, now, market) => {
    const cfg = market.config.coinbase
    const bucket = market.perIp(
      "coinbase:requests",
      address,
      () => new TokenBucket(cfg.requestsPerSecond, cfg.requestBurst, now)
    )
    return bucket.take(now) ? undefined : 429
  },
  open: (conn, _url, market): Session => {
    const cfg = market.config.coinbase
    const messages = market.perIp("coinbase:messages", conn.address, () => new SlidingLog(cfg.messagesPerSecond, 1000))
    const held = market.perIp("coinbase:subscriptions", conn.address, () => new Counts())
    let subscribed = false
    let nextHeartbeat = 0

    const error = (message: string, reason: string) => conn.sendText(JSON.stringify({ type: "error", message, reason }))

    const subscriptionsText = (): string => {
      const byChannel = new Map<string, Array<string>>()
      for (const topic of conn.subscriptions.keys()) {
        const [channel = "", product = ""] = topic.split(":")
        byChannel.set(channel, [...(byChannel.get(channel) ?? []), product])
      }
      return JSON.stringify({
        type: "subscriptions",
        channels: [...byChannel].map(([name, product_ids]) => ({ name, product_ids }))
      })
    }

    return {
      onText: (text, now) => {
        if (!messages.take(now)) {
          error("ErrSlowRead", `more than ${cfg.messagesPerSecond} messages per second from this IP`)
          return conn.close(1008, "ErrSlowRead")
        }
        const msg = parseObject(text)
        const type = msg?.["type"]
        if (msg === undefined || (type !== "subscribe" && type !== "unsubscribe")) {
          return error("Failed to subscribe", "type must be subscribe or unsubscribe")
        }
        const products = isStringArray(msg["product_ids"]) ? msg["product_ids"] : []
        const channels = Array.isArray(msg["channels"]) ? (msg["channels"] as ReadonlyArray<unknown>) : []
        const wanted: Array<readonly [string, string]> = []
        for (const c of channels) {
          if (typeof c === "string") {
            for (const p of products) wanted.push([c, p])
          } else if (typeof c === "object" && c !== null) {
            const o = c as Record<string, unknown>
            const ids = isStringArray(o["product_ids"]) ? o["product_ids"] : products
            if (typeof o["name"] === "string") { for (const p of ids) wanted.push([o["name"], p]) }
          }
        }
        if (wanted.length === 0) return error("Failed to subscribe", "No channels or product_ids provided")
        for (const [name] of wanted) {
          if (!isChannel(name)) return error("Failed to subscribe", `${name} is not a valid channel`)
        }
        const user = type === "subscribe" && wanted.some(([name]) => name === "user")
          ? CoinbaseUser.authenticate(market, msg, now)
          : undefined
        if (user !== undefined) {
          const reason = typeof user === "string" ? user : ""
          Accounts.checked(conn.host.emit, conn.id, "coinbase", msg["key"], msg["signature"], reason)
        }
        if (typeof user === "string") return error("Authentication Failed", user)
        const changed: Array<string> = []
        const initial: Array<readonly [topic: string, text: string]> = []
        for (const [name, product] of wanted) {
          const topic = `${name}:${product}`
          if (type === "unsubscribe") {
            if (conn.unsubscribe(topic)) {
              held.remove(topic)
              changed.push(topic)
            }
            continue
          }
          if (!isChannel(name)) continue
          const fresh = !conn.subscriptions.has(topic)
          if (fresh && held.get(topic) >= cfg.subscriptionsPerProductChannel) {
            error(
              "Failed to subscribe",
              `subscription limit exceeded: at most ${cfg.subscriptionsPerProductChannel} subscriptions to ${name} for ${product} per IP`
            )
            continue
          }
          if (fresh) held.add(topic)
          if (name === "user") {
            if (user !== undefined && conn.subscribe(topic, CoinbaseUser.userFeed(market, user, product))) {
              changed.push(topic)
            }
            continue
          }
          const ch = channelFor(market, name, product, market.tape("coinbase", product, instrument))
          if (conn.subscribe(topic, ch.feed)) {
            changed.push(topic)
            const first = ch.initial?.(now)
            if (first !== undefined) initial.push([topic, first])
          }
        }
        if (type === "subscribe") {
          if (!subscribed) nextHeartbeat = now + cfg.heartbeatIntervalMs
          subscribed = true
        }
        conn.sendText(subscriptionsText())
        for (const [topic, m] of initial) conn.sendData(topic, m)
        conn.announce(type === "subscribe" ? "Subscribed" : "Unsubscribed", changed)
      },
      onTick: (now) => {
        if (!subscribed) {
          if (now - conn.openedAt >= cfg.subscribeDeadlineMs) {
            conn.close(1008, `No subscribe message within ${cfg.subscribeDeadlineMs / 1000}s`)
          }
          return
        }
        if (now < nextHeartbeat) return
        nextHeartbeat = now + cfg.heartbeatIntervalMs
        for (const topic of conn.subscriptions.keys()) {
          if (!topic.startsWith("heartbeat:") || conn.muted(topic)) continue
          const product = topic.slice("heartbeat:".length)
          const tape = market.tape("coinbase", product, instrument)
          conn.sendText(
            `{"type":"heartbeat","last_trade_id":${tape.lastId},"product_id":"${product}","sequence":${
              tape.lastId + sequenceOffset
            },"time":"${isoMicros(now)}"}`
          )
        }
      },
      onResume: (now) => {
        nextHeartbeat = now + cfg.heartbeatIntervalMs
      },
      onClose: () => {
        for (const topic of conn.subscriptions.keys()) held.remove(topic)
      },
      bookRestart: (_fault, stream) => {
        let hit = false
        for (const topic of conn.subscriptions.keys()) {
          if (!topic.startsWith("level2") || (stream !== undefined && topic !== stream)) continue
          conn.sendData(
            topic,
            snapshotText(topic.slice(topic.indexOf(":") + 1), bookOf(market, topic.slice(topic.indexOf(":") + 1)))
          )
          hit = true
        }
        return hit
      }
    }
  }
}
