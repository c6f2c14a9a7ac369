/**
 * Coinbase Exchange's authenticated channels (Exchange WebSocket
 * "Authentication"): the feed's own URL, with each `subscribe` signed as a
 * `GET /users/self/verify` request: `signature` = base64 HMAC-SHA256 with
 * the base64-decoded secret over timestamp + "GET" + "/users/self/verify",
 * plus `key`, `passphrase` and `timestamp` (seconds, decimals allowed,
 * within 30 s of the venue's clock). No login message: every subscribe
 * carries its own signature, signed when sent. The `user` channel pushes
 * the account's own orders per product (`received`, `open`, `match`,
 * `done`, each with `user_id`). Coinbase documents no texts for a refused
 * signature; an `error` whose text speaks of authentication is read as a
 * bad key, one that says the timestamp expired as the clock's (corrected by
 * `GET /time`).
 */
import * as Effect from "effect/Effect"
import * as AuthApi from "../../Auth.ts"
import type * as Venue from "../../Venue.ts"
import { finite, parseObject, str } from "../json.ts"
import * as Messages from "./messages.ts"

const answer = (text: string): AuthApi.Answer | undefined => {
  if (!text.startsWith('{"type":"error"')) return undefined
  const msg = parseObject(text)
  const message = str(msg, "message") ?? ""
  const reason = str(msg, "reason") ?? ""
  const both = `${message} ${reason}`.toLowerCase()
  if (both.includes("timestamp")) return AuthApi.refused("clock", message, reason)
  return both.includes("authenticat") || both.includes("signature") || both.includes("api key") ||
      both.includes("passphrase")
    ? AuthApi.refused("credentials", message, reason)
    : undefined
}

/** Adds the signature fields to a `subscribe`; other requests go as they are. */
const sign = (text: string, input: AuthApi.LoginInput): Effect.Effect<string, AuthApi.Refusal> => {
  const msg = parseObject(text)
  if (str(msg, "type") !== "subscribe") return Effect.succeed(text)
  const { apiKey, passphrase, secret } = input.credentials
  return Messages.coinbaseSignature({ apiKey, secret: secret!, passphrase }, Number((input.now / 1000).toFixed(3)))
    .pipe(
      Effect.map((fields) => JSON.stringify({ ...msg, ...fields })),
      Effect.mapError(Messages.signingRefusal)
    )
}

/** The push of a `user` channel: the account's own order events carry `user_id`. */
const userTopic = (text: string): string | undefined => {
  if (!text.includes('"user_id"')) return undefined
  const product = str(parseObject(text), "product_id")
  return product === undefined ? undefined : `user:${product}`
}

/** The Coinbase Exchange authenticated profile, from the public one. */
export const authenticated = (publicProfile: Venue.Profile): Venue.Profile => ({
  ...publicProfile,
  venue: "coinbase-authenticated",
  urls: { ...publicProfile.urls, time: "https://api.exchange.coinbase.com/time" },
  topicOf: (text) => userTopic(text) ?? publicProfile.topicOf(text),
  auth: {
    needs: ["secret", "passphrase"],
    rest: ["time"],
    login: () => Effect.succeed({ messages: [] }),
    answer,
    sign,
    serverTime: {
      url: "time",
      read: (json) => {
        const epoch = finite((json as { readonly epoch?: unknown }).epoch)
        return epoch === undefined ? undefined : epoch * 1000
      }
    }
  }
})
