/**
 * Binance spot market streams. Raw streams at `/binance/ws` (optionally `/binance/ws/<stream>`), combined
 * streams at `/binance/stream?streams=a/b` with payloads wrapped as `{"stream","data"}`. JSON requests
 * `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`/`GET_PROPERTY` (`combined`). The server
 * sends a PING frame every `pingInterval` and closes (1008) when one stays unanswered for `pongTimeout`;
 * it sends `serverShutdown` before `maxLifetime` and then closes; more than `messageLimit` incoming
 * messages (text, PING, unsolicited PONG) in a second closes with 1008. Streams: `<symbol>@trade`
 * (trade ids +1) and `<symbol>@depth[@100ms|@1000ms]` (`U` = previous `u` + 1).
 */
import { fixed, type Instrument } from "../internal/Market.ts"
import type { Emission, Feed, Market, Session, Venue } from "./Venue.ts"
import { pairs, parseObject } from "./Venue.ts"

const instrument: Instrument = { priceDecimals: 2, qtyDecimals: 5 }
const streamPattern = /^([a-z0-9]+)@(trade|depth)(@100ms|@1000ms)?$/
const combinedPayload = new WeakMap<Emission, Map<string, string>>()

const feedFor = (market: Market, name: string): Feed | string => {
  if (name !== name.toLowerCase()) return `Invalid request: stream names are lowercase ("${name}")`
  const m = streamPattern.exec(name)
  if (m === null) return `Invalid request: unsupported stream "${name}" (simulator: <symbol>@trade, <symbol>@depth[@100ms])`
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
  const book = market.book("binance", symbol, instrument, 20)
  return market.feed(`binance:${lower}@depth`, rate, (now) => {
    const c = book.next(now)
    return {
      text: `{"e":"depthUpdate","E":${now},"s":"${symbol}","U":${c.first},"u":${c.last},"b":${pairs(c.bids, 2, 5, fixed)},"a":${
        pairs(c.asks, 2, 5, fixed)
      }}`,
      first: c.first,
      last: c.last
    }
  })
}

/** The Binance venue. */
export const venue: Venue = {
  name: "binance",
  matches: (path) => path === "/binance/ws" || path.startsWith("/binance/ws/") || path === "/binance/stream",
  open: (conn, url, market): Session => {
    const cfg = market.config.binance
    let combined = url.pathname === "/binance/stream"
    let nextPing = conn.openedAt + cfg.pingIntervalMs
    let awaitingSince: number | undefined
    let noticeSent = false
    let windowStart = 0
    let windowCount = 0

    const send = (value: unknown) => conn.sendText(JSON.stringify(value))

    const subscribe = (names: ReadonlyArray<string>): string | undefined => {
      const resolved: Array<readonly [string, Feed]> = []
      for (const name of names) {
        const feed = feedFor(market, name)
        if (typeof feed === "string") return feed
        resolved.push([name, feed])
      }
      const added: Array<string> = []
      for (const [name, feed] of resolved) {
        const ok = conn.subscribe(name, feed, (e) => {
          if (!combined) return conn.deliver(feed.key, e.text, e.first, e.last)
          let wrapped = combinedPayload.get(e)
          if (wrapped === undefined) combinedPayload.set(e, (wrapped = new Map()))
          let text = wrapped.get(name)
          if (text === undefined) wrapped.set(name, (text = `{"stream":"${name}","data":${e.text}}`))
          conn.deliver(feed.key, text, e.first, e.last)
        })
        if (ok) added.push(name)
      }
      conn.announce("Subscribed", added)
      return undefined
    }

    /** Counts one incoming message; closes and returns true past the limit. */
    const overLimit = (now: number): boolean => {
      if (now - windowStart >= 1000) {
        windowStart = now
        windowCount = 0
      }
      windowCount += 1
      if (windowCount > cfg.messageLimit) {
        conn.close(1008, `Too many messages: limit is ${cfg.messageLimit} incoming messages per second`)
        return true
      }
      return false
    }

    const initial = url.pathname === "/binance/stream"
      ? (url.searchParams.get("streams") ?? "").split("/").filter((s) => s !== "")
      : url.pathname.slice("/binance/ws/".length).split("/").filter((s) => s !== "")
    if (initial.length > 0) {
      const error = subscribe(initial)
      if (error !== undefined) conn.close(1008, error.slice(0, 120))
    }

    return {
      onText: (text, now) => {
        if (overLimit(now)) return
        const msg = parseObject(text)
        if (msg === undefined) return send({ error: { code: 3, msg: "Invalid JSON" }, id: null })
        const id = msg["id"] ?? null
        const params = Array.isArray(msg["params"]) ? (msg["params"] as ReadonlyArray<unknown>) : []
        const names = params.filter((p): p is string => typeof p === "string")
        switch (msg["method"]) {
          case "SUBSCRIBE": {
            if (names.length !== params.length) {
              return send({ error: { code: 2, msg: "Invalid request: params must be stream names" }, id })
            }
            const error = subscribe(names)
            return send(error === undefined ? { result: null, id } : { error: { code: 2, msg: error }, id })
          }
          case "UNSUBSCRIBE":
            conn.announce("Unsubscribed", names.filter((n) => conn.unsubscribe(n)))
            return send({ result: null, id })
          case "LIST_SUBSCRIPTIONS":
            return send({ result: [...conn.subscriptions.keys()], id })
          case "SET_PROPERTY":
            if (params[0] === "combined" && typeof params[1] === "boolean") {
              combined = params[1]
              return send({ result: null, id })
            }
            return send({ error: { code: 2, msg: "Invalid request: unknown property" }, id })
          case "GET_PROPERTY":
            return send(params[0] === "combined" ? { result: combined, id } : { error: { code: 2, msg: "Invalid request: unknown property" }, id })
          default:
            return send({ error: { code: 2, msg: "Invalid request: unknown method" }, id })
        }
      },
      onPing: (now) => {
        overLimit(now)
      },
      onPong: (now) => {
        if (awaitingSince === undefined) overLimit(now)
        awaitingSince = undefined
      },
      onTick: (now) => {
        const lifetimeEnd = conn.openedAt + cfg.maxLifetimeMs
        if (now >= lifetimeEnd) return conn.close(1000, "Maximum connection lifetime reached")
        if (!noticeSent && now >= lifetimeEnd - cfg.shutdownNoticeMs) {
          noticeSent = true
          conn.sendText(`{"e":"serverShutdown","E":${now}}`)
        }
        if (awaitingSince !== undefined && now - awaitingSince >= cfg.pongTimeoutMs) {
          return conn.close(1008, "Pong timeout")
        }
        if (now >= nextPing) {
          nextPing = now + cfg.pingIntervalMs
          if (awaitingSince === undefined) awaitingSince = now
          conn.ping()
        }
      },
      notice: (now) => {
        conn.sendText(`{"e":"serverShutdown","E":${now}}`)
        return true
      },
      onResume: (now) => {
        awaitingSince = undefined
        nextPing = now + cfg.pingIntervalMs
      }
    }
  }
}
