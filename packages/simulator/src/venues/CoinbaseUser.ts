/**
 * Coinbase Exchange's authenticated `user` channel, as Coinbase documents it (Exchange WebSocket
 * "Authentication"): a `subscribe` that names `user` carries `signature`, `key`, `passphrase` and
 * `timestamp`, signed as a `GET /users/self/verify` request: signature = base64(HMAC-SHA256(base64-decoded
 * secret, timestamp + "GET" + "/users/self/verify")), `timestamp` in seconds (decimals allowed) within 30 s
 * of the venues' clock (`clockOffset`). The `user` channel pushes the account's own orders for the product
 * (`received`, `open`, `match`, `done`, with `user_id` and `profile_id`), each with the simulator's own
 * `seq` one higher than the last push of that account and product. Coinbase does not document the refusal
 * texts; here a bad request is answered `{"type":"error","message":"Authentication Failed","reason"}` with
 * the reason (missing fields, a stale timestamp, an unknown key, a wrong passphrase or signature), and none
 * of the request's subscriptions is made.
 */
import * as Accounts from "../internal/Accounts.ts"
import type { Account } from "../Options.ts"
import type { Feed, Market } from "./Venue.ts"
import { isoMicros } from "./Venue.ts"

/** The account a signed subscribe authenticates, or the reason it does not. */
export const authenticate = (
  market: Market,
  msg: Readonly<Record<string, unknown>>,
  now: number
): Account | string => {
  const missing = ["signature", "key", "passphrase", "timestamp"].find((f) => typeof msg[f] !== "string")
  if (missing !== undefined) return `the user channel needs a signed subscribe: ${missing} is missing`
  const timestamp = msg["timestamp"] as string
  const seconds = Number(timestamp)
  if (!/^\d+(\.\d+)?$/.test(timestamp) || Math.abs(Accounts.venueNow(market.config, now) / 1000 - seconds) > 30) {
    return "request timestamp expired"
  }
  const account = Accounts.account(market.config, msg["key"])
  if (account === undefined) return "invalid API key"
  if (msg["passphrase"] !== account.passphrase) return "invalid passphrase"
  const key = Buffer.from(account.secret, "base64")
  if (!Accounts.hmacMatches(key, `${timestamp}GET/users/self/verify`, "base64", msg["signature"] as string)) {
    return "invalid signature"
  }
  return account
}

/** The `user` channel of an account for a product. */
export const userFeed = (market: Market, account: Account, product: string): Feed =>
  Accounts.privateFeed(market, "coinbase", account.apiKey, `user:${product}`, (seq, now) => {
    const o = Accounts.order(seq)
    const type = o.state === "live" ? "open" : o.state === "filled" ? "done" : "match"
    return `{"type":"${type}","seq":${seq},"order_id":"sim-${o.id}","product_id":"${product}","side":"${o.side}","price":"${o.price}","size":"${o.size}","user_id":"user-${account.apiKey}","profile_id":"profile-${account.apiKey}","time":"${
      isoMicros(now)
    }"${type === "done" ? `,"reason":"filled"` : ""}}`
  })
