/**
 * Bybit v5 private websocket at `/bybit/v5/private`, as Bybit documents it (docs v5/ws/connect
 * "Authentication", the private topics). `{"op":"ping"}` is answered `{"op":"pong","args":["<ms>"],
 * "conn_id"}`. `{"req_id"?,"op":"auth","args":[apiKey, expires, signature]}`, `expires` in ms,
 * signature = hex HMAC-SHA256(secret, "GET/realtime" + expires), gets `{"success":true,"ret_msg":"",
 * "op":"auth","conn_id"}`. Bybit documents no failure texts; these follow what clients see and report:
 * `Params Error` (args malformed), `error:request expired` (`expires` is not later than the venues' clock,
 * `clockOffset`), `Request not authorized` (no such key, or a wrong signature), `Repeat auth` (a second
 * auth). Private topics `order`, `execution`, `position` and `wallet` are refused with
 * `Request not authorized` before an auth, and after it pushed as `{"id","topic","creationTime","data":[
 * {...,"seq"}]}`, one higher in `seq` per push of the account's topic, shared by every connection of the
 * account. The connection closes when neither a ping nor pushed data happened for `idleTimeout`.
 * `expireAuth` closes an authenticated connection (1000), as Bybit ends one at its `max_alive_time`.
 */
import * as Accounts from "../internal/Accounts.ts"
import type { Session, Venue } from "./Venue.ts"
import { isStringArray, parseObject } from "./Venue.ts"

const topics = new Set(["order", "execution", "position", "wallet"])

const render = (topic: string): Accounts.Render => (seq, now) => {
  const o = Accounts.order(seq)
  const side = o.side === "buy" ? "Buy" : "Sell"
  const data = topic === "wallet"
    ? `{"seq":${seq},"accountType":"UNIFIED","totalEquity":"${
      (10_000 + seq / 100).toFixed(2)
    }","coin":[{"coin":"USDT","walletBalance":"${(10_000 + seq / 100).toFixed(2)}","locked":"0"}]}`
    : topic === "position"
    ? `{"seq":${seq},"category":"linear","symbol":"BTCUSDT","side":"${side}","size":"${
      (seq % 10) + 1
    }","avgPrice":"${o.price}","updatedTime":"${now}"}`
    : topic === "execution"
    ? `{"seq":${seq},"category":"spot","symbol":"BTCUSDT","execId":"e-${seq}","orderId":"${o.id}","side":"${side}","execPrice":"${o.price}","execQty":"0.005","execType":"Trade","execTime":"${now}"}`
    : `{"seq":${seq},"category":"spot","symbol":"BTCUSDT","orderId":"${o.id}","side":"${side}","orderType":"Limit","price":"${o.price}","qty":"0.01","cumExecQty":"${o.filled}","orderStatus":"${
      o.state === "live" ? "New" : o.state === "filled" ? "Filled" : "PartiallyFilled"
    }","updatedTime":"${now}"}`
  return `{"id":"${topic}-${seq}","topic":"${topic}","creationTime":${now},"data":[${data}]}`
}

/** The Bybit private venue. */
export const venue: Venue = {
  name: "bybit",
  matches: (path) => path === "/bybit/v5/private",
  open: (conn, _url, market): Session => {
    const idle = market.config.bybit.idleTimeoutMs
    const connId = `sim-private-${conn.id}`
    let lastPing = conn.openedAt
    let authed: string | undefined
    const reply = (op: string, success: boolean, retMsg: string, reqId: unknown) =>
      conn.sendText(
        `{"success":${success},"ret_msg":${JSON.stringify(retMsg)},"conn_id":"${connId}",${
          reqId !== undefined ? `"req_id":${JSON.stringify(reqId)},` : ""
        }"op":"${op}"}`
      )

    const auth = (args: unknown, reqId: unknown, now: number) => {
      const reason = check(args, reqId, now)
      const list = Array.isArray(args) ? args : []
      Accounts.checked(conn.host.emit, conn.id, "bybit", list[0], list[2], reason)
    }
    const refuse = (retMsg: string, reqId: unknown): string => {
      reply("auth", false, retMsg, reqId)
      return retMsg
    }
    /** Checks an auth and answers it; returns the refusal's text, or "" when it succeeded. */
    const check = (args: unknown, reqId: unknown, now: number): string => {
      if (authed !== undefined) return refuse("Repeat auth", reqId)
      if (!Array.isArray(args) || args.length !== 3 || typeof args[0] !== "string" || typeof args[2] !== "string") {
        return refuse("Params Error", reqId)
      }
      const expires = Number(args[1])
      if (!Number.isSafeInteger(expires)) return refuse("Params Error", reqId)
      if (expires <= Accounts.venueNow(market.config, now)) return refuse("error:request expired", reqId)
      const account = Accounts.account(market.config, args[0])
      if (account === undefined || !Accounts.hmacMatches(account.secret, `GET/realtime${expires}`, "hex", args[2])) {
        return refuse("Request not authorized", reqId)
      }
      authed = account.apiKey
      reply("auth", true, "", reqId)
      return ""
    }

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
          return conn.sendText(
            `{${
              reqId !== undefined ? `"req_id":${JSON.stringify(reqId)},` : ""
            }"op":"pong","args":["${now}"],"conn_id":"${connId}"}`
          )
        }
        if (op === "auth") return auth(msg["args"], reqId, now)
        const args = msg["args"]
        if ((op !== "subscribe" && op !== "unsubscribe") || !isStringArray(args)) {
          return reply(op, false, "Invalid request: unsupported op or args", reqId)
        }
        if (authed === undefined) return reply(op, false, "Request not authorized", reqId)
        if (op === "unsubscribe") {
          conn.announce("Unsubscribed", args.filter((t) => conn.unsubscribe(t)))
          return reply(op, true, "", reqId)
        }
        const unknown = args.find((t) => !topics.has(t))
        if (unknown !== undefined) return reply(op, false, `error:handler not found,topic:${unknown}`, reqId)
        const already = args.find((t) => conn.subscriptions.has(t))
        if (already !== undefined) return reply(op, false, `error:already subscribed,topic:${already}`, reqId)
        reply(op, true, "", reqId)
        for (const topic of args) {
          conn.subscribe(topic, Accounts.privateFeed(market, "bybit", authed, topic, render(topic)))
        }
        conn.announce("Subscribed", args)
      },
      onTick: (now) => {
        if (now - Math.max(lastPing, conn.lastData) >= idle) {
          conn.close(1000, `No ping or data for ${Math.round(idle / 1000)}s`)
        }
      },
      expireAuth: () => {
        if (authed === undefined) return false
        conn.close(1000, "max_alive_time reached")
        return true
      },
      onResume: (now) => {
        lastPing = now
      }
    }
  }
}
