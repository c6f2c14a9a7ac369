/**
 * Binance spot WebSocket API at `/binance/ws-api/v3`, the user data stream part, as Binance documents it
 * since the listen-key endpoints were retired (2026-02-20): `{"id","method","params"}` requests answered
 * `{"id","status":200,"result"}` or `{"id","status":400,"error":{"code","msg"}}` (401 for -2015).
 * - `userDataStream.subscribe.signature` with `apiKey`, `timestamp`, `signature` and optional `recvWindow`
 *   (default 5,000, at most 60,000 ms): the signature is over every param but itself, sorted by name, as
 *   `k=v&...`: hex HMAC-SHA256 with the account's `secret`, or base64 Ed25519 when the account has a
 *   `publicKey`. Refusals: -1102 (a param missing), -2015 (no such key), -1021 (timestamp not within
 *   `recvWindow` before the venues' clock, or 1 s after it: `clockOffset`), -1022 (wrong signature). The
 *   answer carries a `subscriptionId`, from 0 per connection; a second subscription of the same account on
 *   one connection is answered with the one it has (Binance allows one per account and connection).
 * - `userDataStream.unsubscribe` with an optional `subscriptionId` (none: all); `time` → `serverTime`.
 * Events come wrapped as `{"subscriptionId","event":{...}}`: `executionReport`s of the account's order
 * stream, each with the simulator's own `seq` one higher than the last (shared by every connection of the
 * account). `expireAuth` ends every subscription with `{"e":"eventStreamTerminated","E"}`, as Binance does
 * when a subscription's authorization ends; the client must subscribe again.
 */
import { verify } from "node:crypto"
import * as Accounts from "../internal/Accounts.ts"
import type { Emission, Session, Venue } from "./Venue.ts"
import { parseObject } from "./Venue.ts"

const render: Accounts.Render = (seq, now) => {
  const o = Accounts.order(seq)
  const status = o.state === "live" ? "NEW" : o.state === "filled" ? "FILLED" : "PARTIALLY_FILLED"
  return `{"e":"executionReport","E":${now},"s":"BTCUSDT","c":"sim-${o.id}","S":"${o.side.toUpperCase()}","o":"LIMIT","f":"GTC","q":"${o.size}","p":"${o.price}","x":"${
    status === "NEW" ? "NEW" : "TRADE"
  }","X":"${status}","i":${o.id},"z":"${o.filled}","T":${now},"seq":${seq}}`
}

const errors = {
  missing: (name: string) => ({
    code: -1102,
    msg: `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`
  }),
  key: { code: -2015, msg: "Invalid API-key, IP, or permissions for action." },
  timestamp: { code: -1021, msg: "Timestamp for this request is outside of the recvWindow." },
  signature: { code: -1022, msg: "Signature for this request is not valid." },
  method: (method: string) => ({ code: -1100, msg: `Illegal characters found in parameter 'method'; ${method}` })
} as const

/** The Binance spot WebSocket API venue (user data stream). */
export const venue: Venue = {
  name: "binance",
  matches: (path) => path === "/binance/ws-api/v3",
  open: (conn, _url, market): Session => {
    /** apiKey → subscription id on this connection. */
    const subscriptions = new Map<string, number>()
    let nextId = 0

    const answer = (id: unknown, result: unknown) => conn.sendText(JSON.stringify({ id, status: 200, result }))
    const fail = (id: unknown, error: { readonly code: number; readonly msg: string }) =>
      conn.sendText(JSON.stringify({ id, status: error.code === -2015 ? 401 : 400, error }))

    const subscribe = (id: unknown, params: Record<string, unknown>, now: number) => {
      const reason = check(id, params, now)
      Accounts.checked(conn.host.emit, conn.id, "binance", params["apiKey"], params["signature"], reason)
    }
    const refuse = (id: unknown, error: { readonly code: number; readonly msg: string }): string => {
      fail(id, error)
      return String(error.code)
    }
    /** Checks a signed subscribe and answers it; returns the refusal's code, or "" when it subscribed. */
    const check = (id: unknown, params: Record<string, unknown>, now: number): string => {
      for (const name of ["apiKey", "timestamp", "signature"]) {
        if (params[name] === undefined || params[name] === "") return refuse(id, errors.missing(name))
      }
      const account = Accounts.account(market.config, params["apiKey"])
      if (account === undefined) return refuse(id, errors.key)
      const timestamp = Number(params["timestamp"])
      const recvWindow = params["recvWindow"] === undefined ? 5_000 : Math.min(Number(params["recvWindow"]), 60_000)
      const venueNow = Accounts.venueNow(market.config, now)
      if (!(timestamp < venueNow + 1_000 && venueNow - timestamp <= recvWindow)) return refuse(id, errors.timestamp)
      const payload = Object.keys(params).filter((k) => k !== "signature").sort().map((k) =>
        `${k}=${String(params[k])}`
      )
        .join("&")
      const signature = String(params["signature"])
      const valid = account.publicKey !== undefined
        ? verify(null, Buffer.from(payload), account.publicKey, Buffer.from(signature, "base64"))
        : Accounts.hmacMatches(account.secret, payload, "hex", signature)
      if (!valid) return refuse(id, errors.signature)
      const existing = subscriptions.get(account.apiKey)
      if (existing !== undefined) {
        answer(id, { subscriptionId: existing })
        return ""
      }
      const subscriptionId = nextId++
      subscriptions.set(account.apiKey, subscriptionId)
      const topic = `userData:${subscriptionId}`
      const feed = Accounts.privateFeed(market, "binance", account.apiKey, "userData", render)
      answer(id, { subscriptionId })
      conn.subscribe(
        topic,
        feed,
        (e: Emission) => conn.sendData(topic, `{"subscriptionId":${subscriptionId},"event":${e.text}}`)
      )
      conn.announce("Subscribed", [topic])
      return ""
    }

    const end = (which: number | undefined, terminated: boolean, now: number): Array<string> => {
      const ended: Array<string> = []
      for (const [apiKey, subscriptionId] of subscriptions) {
        if (which !== undefined && which !== subscriptionId) continue
        subscriptions.delete(apiKey)
        const topic = `userData:${subscriptionId}`
        conn.unsubscribe(topic)
        ended.push(topic)
        if (terminated) {
          conn.sendText(`{"subscriptionId":${subscriptionId},"event":{"e":"eventStreamTerminated","E":${now}}}`)
        }
      }
      conn.announce("Unsubscribed", ended)
      return ended
    }

    return {
      onText: (text, now) => {
        const msg = parseObject(text)
        const id = msg?.["id"]
        const method = msg?.["method"]
        const raw = msg?.["params"]
        const params = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {}
        if (method === "userDataStream.subscribe.signature") return subscribe(id, params, now)
        if (method === "userDataStream.unsubscribe") {
          const which = params["subscriptionId"] === undefined ? undefined : Number(params["subscriptionId"])
          end(which, false, now)
          return answer(id, {})
        }
        if (method === "time") return answer(id, { serverTime: Accounts.venueNow(market.config, now) })
        if (method === "ping") return answer(id, {})
        fail(id, errors.method(String(method)))
      },
      onTick: () => {},
      expireAuth: (now) => end(undefined, true, now).length > 0
    }
  }
}
