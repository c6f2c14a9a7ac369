/**
 * The protocol Binance spot and USD-M futures market streams share: raw (`.../ws[/<stream>...]`) and
 * combined (`.../stream?streams=a/b`, payloads wrapped as `{"stream","data"}`) connections; JSON requests
 * `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`/`GET_PROPERTY` (`combined`); a PING frame
 * every `pingInterval`, closed (1008) when one stays unanswered for `pongTimeout`; the connection lifetime,
 * with `serverShutdown` first where the venue sends it; and the incoming message limit, which counts every
 * text message, PING frame and PONG frame (PONGs answering the server's own PINGs included), as Binance
 * documents it, closing with 1008 past it. Each venue supplies its streams.
 */
import type { Connection } from "../internal/Connection.ts"
import type { Emission, Feed, Market, Session } from "./Venue.ts"
import { parseObject } from "./Venue.ts"

/** What a Binance venue supplies: its limits and its streams. */
export interface Profile {
  readonly pingIntervalMs: number
  readonly pongTimeoutMs: number
  readonly maxLifetimeMs: number
  /** How long before `maxLifetime` `serverShutdown` is sent; undefined for a venue that sends none. */
  readonly shutdownNoticeMs: number | undefined
  readonly messageLimit: number
  /** The connection's streams are wrapped as `{"stream","data"}` from the start (a `/stream` path). */
  readonly combined: boolean
  /** The streams named in the URL (`/ws/a/b` or `?streams=a/b`). */
  readonly initial: ReadonlyArray<string>
  /** A stream's feed, or the error text for a name the venue rejects. */
  readonly feedFor: (market: Market, name: string) => Feed | string
}

const combinedPayload = new WeakMap<Emission, Map<string, string>>()

const wrap = (name: string, data: string) => `{"stream":"${name}","data":${data}}`

/** Opens a session speaking the shared Binance stream protocol. */
export const open = (conn: Connection, market: Market, profile: Profile): Session => {
  let combined = profile.combined
  let nextPing = conn.openedAt + profile.pingIntervalMs
  let awaitingSince: number | undefined
  let noticeSent = false
  let windowStart = 0
  let windowCount = 0

  const send = (value: unknown) => conn.sendText(JSON.stringify(value))

  /** The `serverShutdown` event, in combined form on a combined connection. */
  const shutdownText = (now: number) => {
    const event = `{"e":"serverShutdown","E":${now}}`
    return combined ? `{"stream":"!serverShutdown","data":${event}}` : event
  }

  const subscribe = (names: ReadonlyArray<string>): string | undefined => {
    const resolved: Array<readonly [string, Feed]> = []
    for (const name of names) {
      const feed = profile.feedFor(market, name)
      if (typeof feed === "string") return feed
      resolved.push([name, feed])
    }
    const added: Array<string> = []
    for (const [name, feed] of resolved) {
      const ok = conn.subscribe(name, feed, (e) => {
        if (e.text === "") return
        let text = e.text
        if (combined) {
          let wrapped = combinedPayload.get(e)
          if (wrapped === undefined) combinedPayload.set(e, wrapped = new Map())
          const cached = wrapped.get(name)
          if (cached === undefined) wrapped.set(name, text = wrap(name, e.text))
          else text = cached
        }
        const book = e.book
        if (book === undefined) return conn.deliver(feed.key, text, e.first, e.last)
        const crossed = book.crossed
        conn.deliverBook(name, feed.key, {
          ...book,
          text,
          crossed: crossed !== undefined && combined ? () => wrap(name, crossed()) : crossed
        })
      })
      if (ok) added.push(name)
    }
    conn.announce("Subscribed", added)
    return undefined
  }

  /** Counts one incoming message (text, PING or PONG); closes and returns true past the limit. */
  const overLimit = (now: number): boolean => {
    if (now - windowStart >= 1000) {
      windowStart = now
      windowCount = 0
    }
    windowCount += 1
    if (windowCount > profile.messageLimit) {
      conn.close(1008, `Too many messages: limit is ${profile.messageLimit} incoming messages per second`)
      return true
    }
    return false
  }

  if (profile.initial.length > 0) {
    const error = subscribe(profile.initial)
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
          return send(
            params[0] === "combined"
              ? { result: combined, id }
              : { error: { code: 2, msg: "Invalid request: unknown property" }, id }
          )
        default:
          return send({ error: { code: 2, msg: "Invalid request: unknown method" }, id })
      }
    },
    onPing: (now) => {
      overLimit(now)
    },
    onPong: (now) => {
      awaitingSince = undefined
      overLimit(now)
    },
    onTick: (now) => {
      const lifetimeEnd = conn.openedAt + profile.maxLifetimeMs
      if (now >= lifetimeEnd) return conn.close(1000, "Maximum connection lifetime reached")
      if (profile.shutdownNoticeMs !== undefined && !noticeSent && now >= lifetimeEnd - profile.shutdownNoticeMs) {
        noticeSent = true
        conn.sendText(shutdownText(now))
      }
      if (awaitingSince !== undefined && now - awaitingSince >= profile.pongTimeoutMs) {
        return conn.close(1008, "Pong timeout")
      }
      if (now >= nextPing) {
        nextPing = now + profile.pingIntervalMs
        if (awaitingSince === undefined) awaitingSince = now
        conn.ping()
      }
    },
    ...(profile.shutdownNoticeMs !== undefined
      ? {
        notice: (now: number) => {
          conn.sendText(shutdownText(now))
          return true
        }
      }
      : {}),
    onResume: (now) => {
      awaitingSince = undefined
      nextPing = now + profile.pingIntervalMs
    }
  }
}

/** The stream names in a raw path (`<prefix>/btcusdt@trade/ethusdt@trade`) or a combined query (`?streams=a/b`). */
export const initialStreams = (url: URL, rawPrefix: string, combined: boolean): ReadonlyArray<string> =>
  combined
    ? (url.searchParams.get("streams") ?? "").split("/").filter((s) => s !== "")
    : url.pathname.slice(rawPrefix.length + 1).split("/").filter((s) => s !== "")
