/**
 * Bybit's private WebSocket (docs v5/ws/connect "Authentication", the
 * private topics): `wss://stream.bybit.com/v5/private`. A session sends
 * `{"op":"auth","args":[apiKey, expires, signature]}`, `expires` in ms after
 * the venue's clock (here 10 s after it) and signature = hex HMAC-SHA256 of
 * "GET/realtime" + expires, answered `{"success","ret_msg","op":"auth"}`;
 * then the topics `order`, `execution`, `position`, `wallet`. Bybit
 * documents no failure texts: `error:request expired` is read as a clock
 * refusal (corrected by `GET /v5/market/time`), `Repeat auth` as the venue's
 * trouble, any other as a bad key.
 */
import * as Effect from "effect/Effect"
import * as AuthApi from "../../Auth.ts"
import type * as Venue from "../../Venue.ts"
import { finite, parseObject, str } from "../json.ts"
import * as Messages from "./messages.ts"

const answer = (text: string): AuthApi.Answer | undefined => {
  if (!text.includes('"auth"')) return undefined
  const msg = parseObject(text)
  if (str(msg, "op") !== "auth") return undefined
  if (msg?.["success"] === true) return AuthApi.accepted
  const reason = str(msg, "ret_msg") ?? ""
  const lower = reason.toLowerCase()
  return lower.includes("expired")
    ? AuthApi.refused("clock", "expired", reason)
    : lower.includes("repeat")
    ? AuthApi.refused("transient", "repeat", reason)
    : AuthApi.refused("credentials", "unauthorized", reason)
}

/** The Bybit private profile, from a public one (heartbeat, requests, answers, pushes). */
export const authenticated = (publicProfile: Venue.Profile): Venue.Profile => ({
  ...publicProfile,
  venue: "bybit-private",
  url: "wss://stream.bybit.com/v5/private",
  urls: {
    mainnet: "wss://stream.bybit.com/v5/private",
    testnet: "wss://stream-testnet.bybit.com/v5/private",
    time: "https://api.bybit.com/v5/market/time"
  },
  auth: {
    needs: ["secret"],
    rest: ["time"],
    login: (input) =>
      Messages.bybitAuth(
        { apiKey: input.credentials.apiKey, secret: input.credentials.secret! },
        input.now + 10_000,
        "auth"
      ).pipe(
        Effect.map((message) => ({ messages: [message] })),
        Effect.mapError(Messages.signingRefusal)
      ),
    answer,
    serverTime: {
      url: "time",
      read: (json) => finite((json as { readonly time?: unknown }).time)
    }
  }
})
