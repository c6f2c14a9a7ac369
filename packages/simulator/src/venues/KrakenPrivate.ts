/**
 * Kraken's private streams, as Kraken documents them: a token from the REST endpoint
 * `POST /kraken/0/private/GetWebSocketsToken` (the real `/0/private/GetWebSocketsToken`), then private
 * channels on the authenticated WebSocket at `/kraken-auth/v2` (the real `ws-auth.kraken.com/v2`).
 * - The REST request carries headers `API-Key` and `API-Sign` and a form body with `nonce`; `API-Sign` =
 *   base64(HMAC-SHA512(base64-decoded secret, "/0/private/GetWebSocketsToken" ‖ SHA-256(nonce ‖ body))).
 *   Answers `{"error":[],"result":{"token","expires":900}}`, or `{"error":["EAPI:Invalid key"]}`,
 *   `["EAPI:Invalid signature"]`, `["EAPI:Invalid nonce"]` (a nonce not above the key's last one).
 * - A token must be used within `tokenLifetime` (real: 900 s) of being issued; once it subscribed, it
 *   stays valid. `expireAuth` invalidates every token and closes the authenticated
 *   connections (1000), so a client fetches a fresh token, as Kraken asks before every reconnect.
 * - On the socket: `{"method":"ping"}` → `pong`; `{"method":"subscribe","params":{"channel":"executions"|
 *   "balances","token"},"req_id"}` answered `{"method":"subscribe","result":{"channel"},"success":true,
 *   "time_in","time_out","req_id"}`, or with `success: false` and `"error":"ESession:Invalid session"` (no,
 *   unknown, stale or invalidated token; the text Kraken users report, as Kraken's v2 docs do not list it).
 *   Pushes are `{"channel","type":"update","data":[{...,"seq"}]}`, `seq` one higher per push of the
 *   account's channel, shared by every connection of the account.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto"
import type * as Http from "node:http"
import * as Accounts from "../internal/Accounts.ts"
import type { Config } from "../Options.ts"
import type { SimulatorEvent } from "../SimulatorEvent.ts"
import type { Session, Venue } from "./Venue.ts"
import { isoMicros, parseObject } from "./Venue.ts"

/** The REST path of the token endpoint on the simulator. */
export const tokenPath = "/kraken/0/private/GetWebSocketsToken"
const signedPath = "/0/private/GetWebSocketsToken"

interface Token {
  readonly apiKey: string
  readonly issuedAt: number
  used: boolean
}

interface State {
  readonly tokens: Map<string, Token>
  readonly nonces: Map<string, bigint>
  issued: number
}

/** Per server (its `Config`): the tokens issued and each key's last nonce. */
const states = new WeakMap<Config, State>()
const stateOf = (config: Config): State => {
  let state = states.get(config)
  if (state === undefined) states.set(config, state = { tokens: new Map(), nonces: new Map(), issued: 0 })
  return state
}

const apiSign = (secret: string, nonce: string, body: string): Buffer => {
  const digest = createHash("sha256").update(nonce + body).digest()
  return createHmac("sha512", Buffer.from(secret, "base64")).update(Buffer.concat([Buffer.from(signedPath), digest]))
    .digest()
}

/** Invalidates every token issued (`Simulator.expireAuth("kraken")`). */
export const expireTokens = (config: Config): void => stateOf(config).tokens.clear()

/** Answers a token request; returns false for any other path. */
export const handleToken = (
  config: Config,
  emit: (event: SimulatorEvent) => void,
  req: Http.IncomingMessage,
  res: Http.ServerResponse
): boolean => {
  if (new URL(req.url ?? "/", "http://localhost").pathname !== tokenPath) return false
  const chunks: Array<Buffer> = []
  req.on("data", (chunk: Buffer) => chunks.push(chunk))
  req.on("end", () => {
    const reply = (body: { readonly error: ReadonlyArray<string>; readonly result?: unknown }) => {
      Accounts.checked(emit, 0, "kraken", req.headers["api-key"], req.headers["api-sign"], body.error.join(", "))
      res.writeHead(200, { "Content-Type": "application/json" })
      res.end(JSON.stringify(body))
    }
    const body = Buffer.concat(chunks).toString()
    const nonce = new URLSearchParams(body).get("nonce") ?? ""
    const account = Accounts.account(config, req.headers["api-key"])
    if (req.method !== "POST" || account === undefined) return reply({ error: ["EAPI:Invalid key"] })
    const given = Buffer.from(String(req.headers["api-sign"] ?? ""), "base64")
    const expected = apiSign(account.secret, nonce, body)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return reply({ error: ["EAPI:Invalid signature"] })
    }
    const state = stateOf(config)
    const value = /^\d{1,19}$/.test(nonce) ? BigInt(nonce) : -1n
    if (value <= (state.nonces.get(account.apiKey) ?? -1n)) return reply({ error: ["EAPI:Invalid nonce"] })
    state.nonces.set(account.apiKey, value)
    const token = `sim-token-${++state.issued}-${
      createHash("sha256").update(`${account.apiKey}:${state.issued}`).digest("hex").slice(0, 16)
    }`
    state.tokens.set(token, { apiKey: account.apiKey, issuedAt: Accounts.venueNow(config, Date.now()), used: false })
    reply({ error: [], result: { token, expires: Math.round(config.kraken.tokenLifetimeMs / 1000) } })
  })
  return true
}

const render = (channel: string): Accounts.Render => (seq, now) => {
  const o = Accounts.order(seq)
  const data = channel === "balances"
    ? `{"seq":${seq},"asset":"USD","balance":${10_000 + seq / 100},"timestamp":"${isoMicros(now)}"}`
    : `{"seq":${seq},"order_id":"O-${o.id}","symbol":"BTC/USD","side":"${o.side}","order_type":"limit","limit_price":${o.price},"order_qty":0.01,"cum_qty":${
      Number(o.filled)
    },"order_status":"${o.state === "live" ? "new" : o.state}","exec_type":"${
      o.state === "live" ? "new" : "trade"
    }","timestamp":"${isoMicros(now)}"}`
  return `{"channel":"${channel}","type":"update","data":[${data}]}`
}

/** The Kraken authenticated venue. */
export const venue: Venue = {
  name: "kraken",
  matches: (path) => path === "/kraken-auth/v2",
  open: (conn, _url, market): Session => {
    const state = stateOf(market.config)
    const send = (value: unknown) => conn.sendText(JSON.stringify(value))
    let authed = false
    return {
      onText: (text, now) => {
        const msg = parseObject(text)
        const method = msg?.["method"]
        const reqId = msg?.["req_id"]
        const times = { time_in: isoMicros(now), time_out: isoMicros(Date.now()) }
        const withReq = reqId === undefined ? {} : { req_id: reqId }
        if (method === "ping") return send({ method: "pong", ...withReq, ...times })
        const raw = msg?.["params"]
        const params = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {}
        const channel = params["channel"]
        if (
          (method !== "subscribe" && method !== "unsubscribe") || (channel !== "executions" && channel !== "balances")
        ) {
          return send({
            error: `Unsupported request: ${text.slice(0, 100)}`,
            method,
            success: false,
            ...withReq,
            ...times
          })
        }
        const token = typeof params["token"] === "string" ? state.tokens.get(params["token"]) : undefined
        const venueNow = Accounts.venueNow(market.config, now)
        const valid = token !== undefined &&
          (token.used || venueNow - token.issuedAt <= market.config.kraken.tokenLifetimeMs)
        if (method === "subscribe") {
          const reason = valid ? "" : "ESession:Invalid session"
          Accounts.checked(conn.host.emit, conn.id, "kraken", token?.apiKey, params["token"], reason)
        }
        if (token === undefined || !valid) {
          return send({ error: "ESession:Invalid session", method, success: false, ...withReq, ...times })
        }
        if (method === "unsubscribe") {
          conn.announce("Unsubscribed", conn.unsubscribe(channel) ? [channel] : [])
          return send({ method, result: { channel }, success: true, ...withReq, ...times })
        }
        token.used = true
        authed = true
        send({ method, result: { channel, snapshot: false }, success: true, ...withReq, ...times })
        const feed = Accounts.privateFeed(market, "kraken", token.apiKey, channel, render(channel))
        if (conn.subscribe(channel, feed)) conn.announce("Subscribed", [channel])
      },
      onTick: () => {},
      expireAuth: () => {
        if (!authed) return false
        conn.close(1000, "session expired")
        return true
      }
    }
  }
}
