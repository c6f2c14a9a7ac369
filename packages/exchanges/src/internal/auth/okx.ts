/**
 * OKX's private WebSocket (docs-v5 "WebSocket login", "Order channel",
 * "Error Code > WebSocket"): `wss://ws.okx.com:8443/ws/v5/private`. A
 * session sends `login` (apiKey, passphrase, a timestamp in seconds and
 * `sign` = base64 HMAC-SHA256 of timestamp + "GET" + "/users/self/verify"),
 * answered `{"event":"login","code":"0"}` or `{"event":"error","code"}`; the
 * login counts in the 480 requests an hour of the connection. Then the
 * private channels: `orders` and `positions` per `instType`, `account`.
 * OKX rejects a timestamp more than 30 s off (60004, 60006): the feed then
 * reads `GET /api/v5/public/time` and signs with the venue's clock.
 */
import * as Effect from "effect/Effect"
import * as AuthApi from "../../Auth.ts"
import type * as Venue from "../../Venue.ts"
import { finite, obj, parseObject, str } from "../json.ts"
import * as Messages from "./messages.ts"

/** Login codes that say the clock is off (60004 "Invalid timestamp", 60006 "Timestamp request expired"). */
const clockCodes: ReadonlySet<string> = new Set(["60004", "60006"])
/**
 * Login codes about the key itself: 60005 "Invalid apiKey", 60007 "Invalid
 * sign", 60009 "Login failure", 60024 "Wrong passphrase", 60032 "API key
 * doesn't exist". Any other is the venue's trouble (63999 "Login failed due
 * to internal error", 60014 "Requests too frequent").
 */
const credentialCodes: ReadonlySet<string> = new Set(["60005", "60007", "60009", "60024", "60032"])

/** The topic of a private channel: `orders:SPOT`, `positions:ANY`, `account`. */
const privateTopic = (channel: string, instType: string | undefined): string =>
  instType === undefined ? channel : `${channel}:${instType}`

const argOf = (topic: string) => {
  const at = topic.indexOf(":")
  return at < 0 ? { channel: topic } : { channel: topic.slice(0, at), instType: topic.slice(at + 1) }
}

const request =
  (op: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>, id = 1): ReadonlyArray<Venue.Request> => [{
    op,
    topics,
    id,
    text: JSON.stringify({ id: String(id), op, args: topics.map(argOf) })
  }]

/** A push's topic, from its `arg`. */
const topicOf = (text: string): string | undefined => {
  if (!text.startsWith('{"arg":')) return undefined
  const arg = obj(parseObject(text), "arg")
  const channel = str(arg, "channel")
  return channel === undefined ? undefined : privateTopic(channel, str(arg, "instType"))
}

/** Subscribe answers name their `arg` as a private topic; errors go through the public reader. */
const confirmationWith =
  (publicConfirmation: Venue.Profile["confirmation"]) => (text: string): Venue.Confirmation | undefined => {
    const public_ = publicConfirmation(text)
    if (public_ === undefined || public_.kind === "rejected") return public_
    const arg = obj(parseObject(text), "arg")
    const channel = str(arg, "channel")
    return channel === undefined ? public_ : { ...public_, topics: [privateTopic(channel, str(arg, "instType"))] }
  }

const answer = (text: string): AuthApi.Answer | undefined => {
  if (!text.startsWith('{"event"') && !text.includes('"event":')) return undefined
  const msg = parseObject(text)
  const event = str(msg, "event")
  const code = str(msg, "code") ?? ""
  if (event === "login") {
    return code === "0"
      ? AuthApi.accepted
      : AuthApi.refused("credentials", code, str(msg, "msg") ?? "")
  }
  if (event !== "error") return undefined
  const reason = str(msg, "msg") ?? ""
  return AuthApi.refused(
    clockCodes.has(code) ? "clock" : credentialCodes.has(code) ? "credentials" : "transient",
    code,
    reason
  )
}

/** The OKX private profile, from the public one (heartbeat, limits, notices, answers). */
export const authenticated = (publicProfile: Venue.Profile): Venue.Profile => ({
  ...publicProfile,
  venue: "okx",
  url: "wss://ws.okx.com:8443/ws/v5/private",
  urls: {
    private: "wss://ws.okx.com:8443/ws/v5/private",
    demoPrivate: "wss://wspap.okx.com:8443/ws/v5/private",
    time: "https://www.okx.com/api/v5/public/time"
  },
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation: confirmationWith(publicProfile.confirmation),
  topicOf,
  auth: {
    needs: ["secret", "passphrase"],
    rest: ["time"],
    login: (input) =>
      Messages.okxLogin(
        {
          apiKey: input.credentials.apiKey,
          secret: input.credentials.secret!,
          passphrase: input.credentials.passphrase
        },
        input.now / 1000
      ).pipe(
        Effect.map((message) => ({ messages: [message] })),
        Effect.mapError(Messages.signingRefusal)
      ),
    answer,
    serverTime: {
      url: "time",
      read: (json) => finite((json as { readonly data?: ReadonlyArray<{ readonly ts?: unknown }> }).data?.[0]?.ts)
    }
  }
})

/** The topic of OKX's private `orders` channel for an instrument type (`SPOT`, `SWAP`, `ANY`…). */
export const orders = (instType: string): string => privateTopic("orders", instType)
/** The topic of OKX's private `positions` channel for an instrument type. */
export const positions = (instType: string): string => privateTopic("positions", instType)
/** The topic of OKX's private `account` channel. */
export const account = "account"
