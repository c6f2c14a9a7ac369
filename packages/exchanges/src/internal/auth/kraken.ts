/**
 * Kraken's authenticated WebSocket v2 (`wss://ws-auth.kraken.com/v2`):
 * private channels (`executions`, `balances`) take a `token` from the REST
 * endpoint `POST /0/private/GetWebSocketsToken` (signed: `API-Sign` =
 * base64 HMAC-SHA512 with the base64-decoded secret over the path and
 * SHA-256 of nonce + body). A token must be used within 15 minutes and
 * stays valid while its subscription lives; Kraken asks for a fresh one
 * before every reconnect, so each session's login fetches one, and every
 * request of the session carries it. A token Kraken no longer accepts
 * (`ESession:Invalid session`) restarts the session, which fetches a new
 * one; `EAPI:Invalid key` and `EAPI:Invalid signature` stop the feed.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as AuthApi from "../../Auth.ts"
import * as Venue from "../../Venue.ts"
import { num, obj, parseObject, str } from "../json.ts"
import * as Messages from "./messages.ts"

const TOKEN_PATH = "/0/private/GetWebSocketsToken"

const request =
  (method: "subscribe" | "unsubscribe") => (topics: ReadonlyArray<string>, id = 1): ReadonlyArray<Venue.Request> =>
    topics.map((channel, i) => ({
      op: method,
      topics: [channel],
      id: id + i,
      text: JSON.stringify({ method, params: { channel }, req_id: id + i })
    }))

const confirmation = (text: string): Venue.Confirmation | undefined => {
  if (!text.startsWith('{"method"') && !text.includes('"success"')) return undefined
  const msg = parseObject(text)
  const method = str(msg, "method")
  if (method !== "subscribe" && method !== "unsubscribe") return undefined
  const id = num(msg, "req_id")
  const channel = str(obj(msg, "result"), "channel")
  const topics = channel === undefined ? [] : [channel]
  if (msg?.["success"] === true) {
    return Venue.confirmation(method === "subscribe" ? "subscribed" : "unsubscribed", topics, id)
  }
  return Venue.confirmation("rejected", topics, id, str(msg, "error"))
}

const topicOf = (text: string): string | undefined => {
  if (!text.startsWith('{"channel"')) return undefined
  const channel = str(parseObject(text), "channel")
  return channel === "executions" || channel === "balances" ? channel : undefined
}

/** The refusal a token endpoint's errors mean. */
const tokenRefusal = (errors: ReadonlyArray<string>): AuthApi.Refusal => {
  const first = errors[0] ?? "no token in the answer"
  return first === "EAPI:Invalid key" || first === "EAPI:Invalid signature" || first.startsWith("EGeneral:Permission")
    ? AuthApi.refused("credentials", first, "the token endpoint refused the key")
    : AuthApi.refused("transient", first, "the token endpoint did not give a token")
}

const login = (input: AuthApi.LoginInput): Effect.Effect<AuthApi.Login, AuthApi.Refusal> =>
  Effect.gen(function*() {
    const url = input.url("token")
    if (url === undefined) return yield* Effect.fail(AuthApi.refused("credentials", "config", "no token URL"))
    // Microseconds: always above the last nonce, even for two logins in one millisecond's reach.
    const nonce = String(Math.floor(input.now * 1000))
    const body = `nonce=${nonce}`
    const sign = yield* Messages.krakenApiSign(input.credentials.secret!, TOKEN_PATH, nonce, body).pipe(
      Effect.mapError(Messages.signingRefusal)
    )
    const { apiKey } = input.credentials
    const json = yield* input.http(url, {
      method: "POST",
      body,
      headers: { "API-Key": Redacted.value(apiKey), "API-Sign": sign }
    }).pipe(Effect.mapError((reason) => AuthApi.refused("transient", "token", reason)))
    const answer = json as { readonly error?: ReadonlyArray<string>; readonly result?: { readonly token?: string } }
    const token = answer.result?.token
    if (token === undefined || (answer.error?.length ?? 0) > 0) {
      return yield* Effect.fail(tokenRefusal(answer.error ?? []))
    }
    return { messages: [], token }
  })

const answer = (text: string): AuthApi.Answer | undefined => {
  if (!text.includes("ESession") && !text.includes("EAPI")) return undefined
  const error = str(parseObject(text), "error")
  if (error === undefined) return undefined
  return error.startsWith("ESession")
    ? AuthApi.refused("transient", error, "Kraken no longer takes the session's token")
    : AuthApi.refused("credentials", error, "Kraken refused the key")
}

/** Puts the session's token in a request's params. */
const sign = (
  text: string,
  _input: AuthApi.LoginInput,
  token: string | undefined
): Effect.Effect<string, AuthApi.Refusal> => {
  const msg = parseObject(text)
  const params = obj(msg, "params")
  if (token === undefined || params === undefined) return Effect.succeed(text)
  return Effect.succeed(JSON.stringify({ ...msg, params: { ...params, token } }))
}

/** The Kraken authenticated profile, from the public one (heartbeat, limits). */
export const authenticated = (publicProfile: Venue.Profile): Venue.Profile => ({
  ...publicProfile,
  venue: "kraken-authenticated",
  url: "wss://ws-auth.kraken.com/v2",
  urls: {
    authenticated: "wss://ws-auth.kraken.com/v2",
    token: `https://api.kraken.com${TOKEN_PATH}`
  },
  subscribe: request("subscribe"),
  unsubscribe: request("unsubscribe"),
  confirmation,
  topicOf,
  auth: { needs: ["secret"], needsHttp: true, rest: ["token"], login, answer, sign }
})
