/**
 * OKX v5 private websocket at `/okx/ws/v5/private`, as OKX documents it (docs-v5 "WebSocket login", the
 * `orders` channel, the WebSocket error codes). Text `ping` is answered with `pong`. `login` takes
 * `args: [{apiKey, passphrase, timestamp, sign}]`, `sign` = base64(HMAC-SHA256(secret, timestamp + "GET" +
 * "/users/self/verify")), `timestamp` in seconds; it is checked in this order and answered
 * `{"event":"error","code","msg","connId"}` on the first failure: 60012 (a field missing), 60004 (the
 * timestamp is not a number), 60006 (more than 30 s from the venues' clock, `clockOffset`), 60005 (no such
 * key), 60024 (wrong passphrase), 60007 (wrong sign); a second login on a logged-in connection gets 60031.
 * Success is `{"event":"login","code":"0","msg":"","connId"}`. OKX also lists close code 4001 "Login
 * Failed"; when it is sent is not documented, so a failed login keeps the connection open here.
 * Private channels `orders` (`instType` required), `account` and `positions` answer 60011 "Please log in"
 * before a login, and after it subscribe to the account's stream: `{"arg":{...,"uid"},"data":[{...}]}`,
 * where `data[0].seq` (the simulator's own field, to prove nothing was missed) is one higher than the
 * account's previous push on that channel, whichever of its connections got it. Logins count in the hourly quota with subscribes (60014 past it). The
 * connection closes (4004) when nothing is logged in or subscribed, or nothing received or pushed, for
 * `idleTimeout`. `expireAuth` closes a logged-in connection with 4007 ("API key has been updated or
 * deleted. Please reconnect."), OKX's one documented end of a login.
 */
import * as Accounts from "../internal/Accounts.ts"
import { SlidingLog } from "../internal/Limits.ts"
import * as OkxCommon from "./OkxCommon.ts"
import type { Session, Venue } from "./Venue.ts"
import { parseObject } from "./Venue.ts"

const instTypes = new Set(["SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "ANY"])
const channels = new Set(["orders", "account", "positions"])

const render = (channel: string, arg: string, uid: string): Accounts.Render => (seq, now) => {
  const o = Accounts.order(seq)
  if (channel === "account") {
    return `{"arg":${arg},"data":[{"seq":${seq},"uTime":"${now}","totalEq":"${
      (10_000 + seq / 100).toFixed(2)
    }","details":[{"ccy":"USDT","eq":"${(10_000 + seq / 100).toFixed(2)}","availBal":"${
      (9_000 + seq / 100).toFixed(2)
    }"}]}]}`
  }
  if (channel === "positions") {
    return `{"arg":${arg},"data":[{"seq":${seq},"instId":"BTC-USDT-SWAP","posSide":"net","pos":"${
      (seq % 10) + 1
    }","avgPx":"${o.price}","uTime":"${now}"}]}`
  }
  return `{"arg":${arg},"data":[{"seq":${seq},"instType":"SPOT","instId":"BTC-USDT","ordId":"${o.id}","clOrdId":"","side":"${o.side}","ordType":"limit","px":"${o.price}","sz":"${o.size}","accFillSz":"${o.filled}","state":"${o.state}","uid":"${uid}","uTime":"${now}","cTime":"${now}"}]}`
}

/** The OKX private venue. */
export const venue: Venue = {
  name: "okx",
  matches: (path) => path === "/okx/ws/v5/private",
  open: (conn, _url, market): Session => {
    const cfg = market.config.okx
    const idle = cfg.idleTimeoutMs
    const connId = (0x2000_0000 + conn.id).toString(16)
    const quota = new SlidingLog(cfg.requestsPerWindow, cfg.requestWindowMs)
    let loggedIn: string | undefined
    let active = false

    const idField = OkxCommon.idField
    const error = (id: string | undefined, code: string, msg: string) =>
      OkxCommon.sendError(conn, connId, id, code, msg)

    const login = (id: string | undefined, args: unknown, now: number) => {
      const a = Array.isArray(args) && typeof args[0] === "object" && args[0] !== null
        ? (args[0] as Record<string, unknown>)
        : undefined
      const code = check(id, a, now)
      Accounts.checked(conn.host.emit, conn.id, "okx", a?.["apiKey"], a?.["sign"], code)
    }

    /** Checks a login and answers it; returns the refusal's code, or "" when it succeeded. */
    const check = (id: string | undefined, a: Record<string, unknown> | undefined, now: number): string => {
      if (loggedIn !== undefined) {
        return refuse(id, "60031", "The WebSocket endpoint does not allow multiple or repeated logins.")
      }
      const fields = ["apiKey", "passphrase", "timestamp", "sign"] as const
      const missing = fields.find((f) => typeof a?.[f] !== "string" || a[f] === "")
      if (a === undefined || missing !== undefined) {
        return refuse(id, "60012", `Invalid request: login needs ${missing ?? "args"}`)
      }
      const timestamp = a["timestamp"] as string
      const seconds = Number(timestamp)
      if (!/^\d+(\.\d+)?$/.test(timestamp) || !Number.isFinite(seconds)) return refuse(id, "60004", "Invalid timestamp")
      if (Math.abs(Accounts.venueNow(market.config, now) / 1000 - seconds) > 30) {
        return refuse(id, "60006", "Timestamp request expired")
      }
      const account = Accounts.account(market.config, a["apiKey"])
      if (account === undefined) return refuse(id, "60005", "Invalid apiKey")
      if (a["passphrase"] !== account.passphrase) return refuse(id, "60024", "Wrong passphrase")
      if (!Accounts.hmacMatches(account.secret, `${timestamp}GET/users/self/verify`, "base64", a["sign"] as string)) {
        return refuse(id, "60007", "Invalid sign")
      }
      loggedIn = account.apiKey
      active = true
      conn.sendText(`{${idField(id)}"event":"login","code":"0","msg":"","connId":"${connId}"}`)
      return ""
    }
    const refuse = (id: string | undefined, code: string, msg: string): string => {
      error(id, code, msg)
      return code
    }

    return {
      onText: (text, now) => {
        if (text === "ping") return conn.sendText("pong")
        const msg = parseObject(text)
        const rawId = msg?.["id"]
        const id = OkxCommon.requestId(rawId)
        const op = msg?.["op"]
        if (op === "subscribe" || op === "unsubscribe" || op === "login") {
          if (!quota.take(now)) {
            return error(id, "60014", "Requests too frequent")
          }
        }
        if (op === "login") return login(id, msg?.["args"], now)
        const args = msg?.["args"]
        if (msg === undefined || (op !== "subscribe" && op !== "unsubscribe") || !Array.isArray(args)) {
          return error(id, "60012", `Invalid request: ${text.slice(0, 100)}`)
        }
        const changed: Array<string> = []
        for (const raw of args as ReadonlyArray<unknown>) {
          const a = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {}
          const channel = a["channel"]
          if (typeof channel !== "string" || !channels.has(channel)) {
            error(id, "60018", `Wrong URL or channel:${String(channel)} doesn't exist.`)
            continue
          }
          if (loggedIn === undefined) {
            error(id, "60011", "Please log in")
            continue
          }
          const instType = a["instType"]
          if (channel !== "account" && (typeof instType !== "string" || !instTypes.has(instType))) {
            error(id, "60013", `Invalid args: ${channel} needs instType`)
            continue
          }
          const arg = channel === "account"
            ? `{"channel":"account"}`
            : `{"channel":"${channel}","instType":"${instType}"}`
          const topic = channel === "account" ? "account" : `${channel}:${instType}`
          if (op === "unsubscribe") {
            if (conn.unsubscribe(topic)) changed.push(topic)
            conn.sendText(`{${idField(id)}"event":"unsubscribe","arg":${arg},"connId":"${connId}"}`)
            continue
          }
          conn.sendText(`{${idField(id)}"event":"subscribe","arg":${arg},"connId":"${connId}"}`)
          const uid = `uid-${loggedIn}`
          const pushArg = `${arg.slice(0, -1)},"uid":"${uid}"}`
          const feed = Accounts.privateFeed(market, "okx", loggedIn, topic, render(channel, pushArg, uid))
          if (conn.subscribe(topic, feed)) changed.push(topic)
        }
        conn.announce(op === "subscribe" ? "Subscribed" : "Unsubscribed", changed)
      },
      onTick: (now) => OkxCommon.idleTick(conn, idle, active, now),
      expireAuth: () => {
        if (loggedIn === undefined) return false
        conn.close(4007, "API key has been updated or deleted. Please reconnect.")
        return true
      },
      notice: () => OkxCommon.notice(conn, connId)
    }
  }
}
