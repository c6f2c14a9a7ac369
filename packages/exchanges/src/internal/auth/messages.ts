/**
 * The signed messages of each venue's private-stream login, built exactly
 * as the venue documents them (sources inline). Each takes the time it
 * signs as an argument, so a caller can sign with a clock corrected by the
 * venue's server time, and tests can sign at a documented example's time.
 * The result holds key material (an API key, a passphrase): it goes to the
 * socket and nowhere else.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as AuthApi from "../../Auth.ts"
import * as Sign from "./sign.ts"

/** Signing that cannot be done (a malformed key) refuses like a bad key: the feed stops with the reason. */
export const signingRefusal = (error: Sign.SigningFailed): AuthApi.Refusal =>
  AuthApi.refused("credentials", "signing", error.message)

/** An API key, its secret, and the passphrase OKX and Coinbase Exchange also issue. */
export interface KeyCredentials {
  readonly apiKey: Redacted.Redacted<string>
  readonly secret: Redacted.Redacted<string>
  readonly passphrase?: Redacted.Redacted<string> | undefined
}

/** A Binance key: an HMAC secret, or an Ed25519 private key in PKCS#8 PEM. */
export type BinanceCredentials =
  | { readonly apiKey: Redacted.Redacted<string>; readonly secret: Redacted.Redacted<string> }
  | { readonly apiKey: Redacted.Redacted<string>; readonly privateKey: Redacted.Redacted<string> }

const passphraseOf = (venue: string, credentials: KeyCredentials): Effect.Effect<string, Sign.SigningFailed> =>
  credentials.passphrase === undefined
    ? Effect.fail(new Sign.SigningFailed({ algorithm: "HMAC-SHA256", reason: `${venue} keys need a passphrase` }))
    : Effect.succeed(Redacted.value(credentials.passphrase))

/**
 * OKX `login` (docs-v5 "WebSocket login"): `sign` = base64(HMAC-SHA256(secret,
 * timestamp + "GET" + "/users/self/verify")), the timestamp in whole
 * seconds, the secret's UTF-8 bytes as the key. OKX rejects a timestamp
 * more than 30 s old (60006).
 */
export const okxLogin = (credentials: KeyCredentials, timestampSeconds: number) =>
  Effect.gen(function*() {
    const passphrase = yield* passphraseOf("OKX", credentials)
    const timestamp = String(Math.floor(timestampSeconds))
    const sign = yield* Sign.hmacSha256(credentials.secret, `${timestamp}GET/users/self/verify`)
    return JSON.stringify({
      op: "login",
      args: [{ apiKey: Redacted.value(credentials.apiKey), passphrase, timestamp, sign: Sign.toBase64(sign) }]
    })
  })

/**
 * Bybit v5 `auth` (docs v5/ws/connect, "Authentication"): args `[apiKey,
 * expires, signature]`, `expires` in ms and later than the server's time,
 * signature = lowercase hex HMAC-SHA256(secret, "GET/realtime" + expires).
 */
export const bybitAuth = (credentials: KeyCredentials, expiresMs: number, reqId?: string) =>
  Effect.map(
    Sign.hmacSha256(credentials.secret, `GET/realtime${Math.floor(expiresMs)}`),
    (signature) =>
      JSON.stringify({
        ...(reqId === undefined ? {} : { req_id: reqId }),
        op: "auth",
        args: [Redacted.value(credentials.apiKey), Math.floor(expiresMs), Sign.toHex(signature)]
      })
  )

/**
 * The fields Coinbase Exchange adds to a `subscribe` for authenticated
 * channels (Exchange WebSocket "Authentication"): the secret is base64 and
 * decoded before keying; signature = base64(HMAC-SHA256(key, timestamp +
 * "GET" + "/users/self/verify")); the timestamp in seconds, decimals
 * allowed, within 30 s of the venue's time.
 */
export const coinbaseSignature = (credentials: KeyCredentials, timestampSeconds: number) =>
  Effect.gen(function*() {
    const passphrase = yield* passphraseOf("Coinbase Exchange", credentials)
    const timestamp = String(timestampSeconds)
    const signature = yield* Sign.hmacSha256(credentials.secret, `${timestamp}GET/users/self/verify`, "base64")
    return { signature: Sign.toBase64(signature), key: Redacted.value(credentials.apiKey), passphrase, timestamp }
  })

/**
 * Kraken's REST `API-Sign` (docs "Spot REST authentication"): base64(HMAC-SHA512(
 * base64decode(secret), path ‖ SHA-256(nonce ‖ postData))), `path` starting
 * at `/0/private`, `postData` the form body (with `nonce=`).
 */
export const krakenApiSign = (
  secret: Redacted.Redacted<string>,
  path: string,
  nonce: string,
  postData: string
) =>
  Effect.gen(function*() {
    const digest = yield* Sign.sha256(nonce + postData)
    const pathBytes = new TextEncoder().encode(path)
    const message = new Uint8Array(pathBytes.length + digest.length)
    message.set(pathBytes, 0)
    message.set(digest, pathBytes.length)
    return Sign.toBase64(yield* Sign.hmacSha512Base64Key(secret, message))
  })

/** A Binance request's params, with the `apiKey` and `signature` added. */
export type BinanceSignedParams = Readonly<Record<string, string | number>> & {
  readonly apiKey: string
  readonly signature: string
}

/**
 * The signed params of a Binance WebSocket API request (Spot "SIGNED
 * request security"): every param but `signature`, sorted by name, as
 * `k=v` joined by `&`; HMAC-SHA256 as hex for an HMAC key, Ed25519 as
 * base64 for an Ed25519 key. Returns the params with `apiKey` and
 * `signature` added.
 */
export const binanceSigned = (
  credentials: BinanceCredentials,
  params: Readonly<Record<string, string | number>>
): Effect.Effect<BinanceSignedParams, Sign.SigningFailed> =>
  Effect.gen(function*() {
    const apiKey = Redacted.value(credentials.apiKey)
    const all: Record<string, string | number> = { ...params, apiKey }
    const payload = Object.keys(all).sort().map((key) => `${key}=${all[key]}`).join("&")
    const signature = "secret" in credentials
      ? Sign.toHex(yield* Sign.hmacSha256(credentials.secret, payload))
      : yield* Sign.ed25519(credentials.privateKey, payload)
    return { ...all, apiKey, signature }
  })
