/**
 * Binance spot's user data stream, as Binance documents it today: the
 * WebSocket API (`wss://ws-api.binance.com:443/ws-api/v3`) with
 * `userDataStream.subscribe.signature`. The listen-key endpoints (REST
 * `/api/v3/userDataStream` and `userDataStream.start`) were retired on
 * 2026-02-20 (Spot API changelog, 2026-01-21), so this is the one current
 * way; it works with HMAC and Ed25519 keys and needs no `session.logon`.
 * Each subscribe is signed when sent: every param but the signature,
 * sorted, as `k=v&…`, hex HMAC-SHA256 with an HMAC secret or base64
 * Ed25519 with a private key. Answers are `{"id","status":200,"result":
 * {"subscriptionId"}}` or `{"id","status","error":{"code","msg"}}`: -2014,
 * -2015 and -1022 are the key's (the feed stops), -1021 the clock's
 * (corrected by `GET /api/v3/time`, then retried once). Events come as
 * `{"subscriptionId","event":{...}}`; `eventStreamTerminated` ends the
 * subscription, and the feed subscribes again, freshly signed.
 */
import * as Effect from "effect/Effect"
import * as AuthApi from "../../Auth.ts"
import * as Venue from "../../Venue.ts"
import { finite, num, obj, parseObject, str } from "../json.ts"
import * as Messages from "./messages.ts"

/** The one topic of a user data feed: the account's events. */
export const userDataTopic = "userData"

const SUBSCRIBE = "userDataStream.subscribe.signature"

const request =
  (op: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>, id = 1): ReadonlyArray<Venue.Request> => [{
    op,
    topics,
    id,
    text: JSON.stringify({ id, method: op === "subscribe" ? SUBSCRIBE : "userDataStream.unsubscribe" })
  }]

/** The codes that are the key's: -2014 (key format), -2015 (key, IP or permission), -1022 (signature). */
const credentialCodes: ReadonlySet<number> = new Set([-2014, -2015, -1022])

/** A refusal of a signed request, or undefined for any other message. */
const answer = (text: string): AuthApi.Answer | undefined => {
  if (!text.startsWith('{"id"') || !text.includes('"error"')) return undefined
  const error = obj(parseObject(text), "error")
  const code = num(error, "code")
  if (code === undefined) return undefined
  const reason = str(error, "msg") ?? ""
  if (code === -1021) return AuthApi.refused("clock", String(code), reason)
  return credentialCodes.has(code) ? AuthApi.refused("credentials", String(code), reason) : undefined
}

const confirmation = (text: string): Venue.Confirmation | undefined => {
  if (!text.startsWith('{"id"')) return undefined
  const msg = parseObject(text)
  const id = num(msg, "id")
  if (num(msg, "status") === 200) return Venue.confirmation("acknowledged", [], id)
  const error = obj(msg, "error")
  return error === undefined
    ? undefined
    : Venue.confirmation("rejected", [], id, `${num(error, "code") ?? ""} ${str(error, "msg") ?? ""}`.trim())
}

const topicOf = (text: string): string | undefined =>
  text.startsWith('{"subscriptionId"') && !text.includes('"eventStreamTerminated"') ? userDataTopic : undefined

/** Signs a subscribe with the key (and the venue's clock as the feed knows it); other requests go as they are. */
const sign = (text: string, input: AuthApi.LoginInput): Effect.Effect<string, AuthApi.Refusal> => {
  const msg = parseObject(text)
  if (str(msg, "method") !== SUBSCRIBE) return Effect.succeed(text)
  const { apiKey, privateKey, secret } = input.credentials
  const credentials = privateKey !== undefined ? { apiKey, privateKey } : { apiKey, secret: secret! }
  return Messages.binanceSigned(credentials, { timestamp: Math.floor(input.now) }).pipe(
    Effect.map((params) => JSON.stringify({ ...msg, params })),
    Effect.mapError(Messages.signingRefusal)
  )
}

/** The Binance user data profile, from the spot profile (heartbeat, lifetime). */
export const userData = (spot: Venue.Profile): Venue.Profile => ({
  ...spot,
  venue: "binance-user-data",
  url: "wss://ws-api.binance.com:443/ws-api/v3",
  urls: {
    wsApi: "wss://ws-api.binance.com:443/ws-api/v3",
    wsApi9443: "wss://ws-api.binance.com:9443/ws-api/v3",
    testnet: "wss://ws-api.testnet.binance.vision/ws-api/v3",
    time: "https://api.binance.com/api/v3/time"
  },
  idleRule: "the server sends a ping frame every 20 s and closes the connection when no pong comes within 1 minute",
  limits: { connections: { count: 300, window: "5 minutes" }, maxLifetime: "24 hours" },
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation,
  isNotice: () => false,
  topicOf,
  auth: {
    needs: ["secret or privateKey"],
    rest: ["time"],
    login: () => Effect.succeed({ messages: [] }),
    answer,
    sign,
    ended: (text) => text.startsWith('{"subscriptionId"') && text.includes('"eventStreamTerminated"'),
    serverTime: {
      url: "time",
      read: (json) => finite((json as { readonly serverTime?: unknown }).serverTime)
    }
  }
})
