/**
 * What the private endpoints share: the venues' clock (this machine's plus `clockOffset`), signature checks
 * against the configured test accounts, the private order streams (one per account and channel, shared by
 * every connection of that account, each message one higher in `seq`, so a client can prove it missed
 * none), and the server-time REST endpoints a client reads to correct its clock:
 * `GET /binance/api/v3/time` (Binance `{"serverTime":<ms>}`), `GET /coinbase/time` (Coinbase `{"iso","epoch"}`), `GET /okx/api/v5/public/time` (OKX `{"code":"0","msg":"","data":[{"ts":"<ms>"}]}`) and
 * `GET /bybit/v5/market/time` (Bybit `{"retCode":0,"retMsg":"OK","result":{"timeSecond","timeNano"},
 * "retExtInfo":{},"time":<ms>}`).
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import type * as Http from "node:http"
import type { Account, Config, VenueName } from "../Options.ts"
import type { SimulatorEvent } from "../SimulatorEvent.ts"
import type { Feed, Market } from "../venues/Venue.ts"
import { paths } from "./Endpoints.ts"

/** The venues' clock, in epoch ms. */
export const venueNow = (config: Config, now: number): number => now + config.clockOffsetMs

/** Whether `given` is the HMAC-SHA256 of `message` under `key`, in `encoding`; compared in constant time. */
export const hmacMatches = (
  key: string | Buffer,
  message: string,
  encoding: "hex" | "base64",
  given: string
): boolean => {
  const expected = Buffer.from(createHmac("sha256", key).update(message).digest(encoding))
  const actual = Buffer.from(encoding === "hex" ? given.toLowerCase() : given)
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/** The account of an API key, if configured. */
export const account = (config: Config, apiKey: unknown): Account | undefined =>
  typeof apiKey === "string" ? config.accounts.get(apiKey) : undefined

/** One private message: the account's `seq`-th update of a channel, rendered by the venue. */
export type Render = (seq: number, now: number) => string

/**
 * The private stream of `channel` for the account `apiKey` on `venue`: a feed shared by every connection
 * of that account (so a reconnect or a second session sees the same `seq` line), `privateRate` messages a
 * second, `seq` starting at 1.
 */
export const privateFeed = (
  market: Market,
  venue: string,
  apiKey: string,
  channel: string,
  render: Render
): Feed => {
  let seq = 0
  return market.feed(`${venue}:private:${channel}:${apiKey}`, market.config.privateRate, (now) => {
    seq += 1
    return { text: render(seq, now), first: seq, last: seq }
  })
}

/** A synthetic order of the `seq`-th update: alternating sides, cycling through live, partially filled, filled. */
export const order = (seq: number) => {
  const states = ["live", "partially_filled", "filled"] as const
  return {
    id: String(1_000_000 + Math.floor((seq - 1) / 3)),
    side: seq % 2 === 0 ? "sell" : "buy",
    price: (30_000 + (seq % 100) / 10).toFixed(1),
    size: "0.01000000",
    filled: ["0", "0.00500000", "0.01000000"][(seq - 1) % 3]!,
    state: states[(seq - 1) % 3]!
  }
}

/** Answers a server-time request; returns false for any other path. */
export const handleTime = (config: Config, req: Http.IncomingMessage, res: Http.ServerResponse): boolean => {
  const path = new URL(req.url ?? "/", "http://localhost").pathname
  if (path !== paths.okxTime && path !== paths.bybitTime && path !== paths.binanceTime && path !== paths.coinbaseTime) {
    return false
  }
  const ms = venueNow(config, Date.now())
  const body = path === paths.binanceTime
    ? { serverTime: ms }
    : path === paths.coinbaseTime
    ? { iso: new Date(ms).toISOString(), epoch: ms / 1000 }
    : path === paths.okxTime
    ? { code: "0", msg: "", data: [{ ts: String(ms) }] }
    : {
      retCode: 0,
      retMsg: "OK",
      result: { timeSecond: String(Math.floor(ms / 1000)), timeNano: `${ms}000000` },
      retExtInfo: {},
      time: ms
    }
  res.writeHead(200, { "Content-Type": "application/json" })
  res.end(JSON.stringify(body))
  return true
}

/** Reports a login check (`LoginChecked`) through `emit`. */
export const checked = (
  emit: (event: SimulatorEvent) => void,
  connection: number,
  venue: VenueName,
  apiKey: unknown,
  proof: unknown,
  reason: string
): void =>
  emit({
    _tag: "LoginChecked",
    connection,
    venue,
    apiKey: typeof apiKey === "string" ? apiKey : "",
    proof: typeof proof === "string" ? proof : "",
    accepted: reason === "",
    reason,
    at: Date.now()
  })
