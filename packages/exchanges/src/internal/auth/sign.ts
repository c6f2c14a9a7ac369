/**
 * The signing primitives private streams need, on Web Crypto
 * (`globalThis.crypto.subtle`) so the venue modules stay portable: Node,
 * Bun, Deno and browsers alike, with no `node:crypto`. HMAC-SHA256 (OKX,
 * Bybit, Coinbase Exchange, Binance HMAC keys), HMAC-SHA512 over a SHA-256
 * digest (Kraken's REST `API-Sign`) and Ed25519 (Binance's WebSocket API
 * keys). Secrets arrive as `Redacted` values and are unwrapped only here,
 * into bytes handed to `importKey`; a failure names the algorithm and what
 * was wrong with the key, never the key.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * A signature could not be made: the key was malformed for its algorithm
 * (say, an Ed25519 key that is not PKCS#8), or the runtime's Web Crypto
 * lacks the algorithm. `reason` never contains key material.
 */
export class SigningFailed extends Schema.TaggedError<SigningFailed>()("SigningFailed", {
  algorithm: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `could not sign with ${this.algorithm}: ${this.reason}`
  }
}

const encoder = new TextEncoder()

/** Lowercase hex of bytes. */
export const toHex = (bytes: Uint8Array): string => {
  let out = ""
  for (let i = 0; i < bytes.length; i++) out += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16)
  return out
}

/** Standard base64, padded, of bytes. */
export const toBase64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary)
}

/** The bytes of standard base64 text; `undefined` when it is not base64. */
export const fromBase64 = (text: string): Uint8Array | undefined => {
  const clean = text.replace(/\s+/g, "")
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) return undefined
  const binary = atob(clean)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** The secret's bytes: its UTF-8 text, or its base64 decoding for venues that hand out base64 secrets. */
const secretBytes = (
  algorithm: string,
  secret: Redacted.Redacted<string>,
  encoding: "utf8" | "base64"
): Effect.Effect<Uint8Array, SigningFailed> => {
  const text = Redacted.value(secret)
  if (text.length === 0) return Effect.fail(new SigningFailed({ algorithm, reason: "the secret is empty" }))
  if (encoding === "utf8") return Effect.succeed(encoder.encode(text))
  const bytes = fromBase64(text)
  return bytes === undefined
    ? Effect.fail(
      new SigningFailed({ algorithm, reason: "the secret is not base64 (this venue issues base64 secrets)" })
    )
    : Effect.succeed(bytes)
}

/** The runtime's Web Crypto. */
type Subtle = typeof globalThis.crypto.subtle

const subtle = (algorithm: string): Effect.Effect<Subtle, SigningFailed> => {
  const crypto = globalThis.crypto
  return crypto?.subtle === undefined
    ? Effect.fail(new SigningFailed({ algorithm, reason: "this runtime has no Web Crypto (globalThis.crypto.subtle)" }))
    : Effect.succeed(crypto.subtle)
}

const reasonOf = (error: unknown): string =>
  error instanceof Error ? (error.message === "" ? error.name : `${error.name}: ${error.message}`) : "unknown error"

const hmac = (
  hash: "SHA-256" | "SHA-512",
  secret: Redacted.Redacted<string>,
  encoding: "utf8" | "base64",
  message: Uint8Array
): Effect.Effect<Uint8Array, SigningFailed> => {
  const algorithm = `HMAC-${hash.replace("-", "")}`
  return Effect.flatMap(
    Effect.zip(subtle(algorithm), secretBytes(algorithm, secret, encoding)),
    ([api, key]) =>
      Effect.tryPromise({
        try: async () => {
          const imported = await api.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"])
          return new Uint8Array(await api.sign("HMAC", imported, message))
        },
        catch: (error) => new SigningFailed({ algorithm, reason: reasonOf(error) })
      })
  )
}

/** HMAC-SHA256 of a UTF-8 message, keyed by the secret's UTF-8 bytes or its base64 decoding. */
export const hmacSha256 = (
  secret: Redacted.Redacted<string>,
  message: string,
  encoding: "utf8" | "base64" = "utf8"
): Effect.Effect<Uint8Array, SigningFailed> => hmac("SHA-256", secret, encoding, encoder.encode(message))

/** HMAC-SHA512 of raw bytes, keyed by the base64-decoded secret (Kraken). */
export const hmacSha512Base64Key = (
  secret: Redacted.Redacted<string>,
  message: Uint8Array
): Effect.Effect<Uint8Array, SigningFailed> => hmac("SHA-512", secret, "base64", message)

/** SHA-256 of a UTF-8 message. */
export const sha256 = (message: string): Effect.Effect<Uint8Array, SigningFailed> =>
  Effect.flatMap(subtle("SHA-256"), (api) =>
    Effect.tryPromise({
      try: async () => new Uint8Array(await api.digest("SHA-256", encoder.encode(message))),
      catch: (error) => new SigningFailed({ algorithm: "SHA-256", reason: reasonOf(error) })
    }))

/** The DER bytes of a PEM block of the given label, or `undefined`. */
const pemBody = (pem: string, label: string): Uint8Array | undefined => {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem)
  return match === null ? undefined : fromBase64(match[1]!)
}

/**
 * The Ed25519 signature (base64) of a UTF-8 message, with a private key in
 * PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as Binance issues them. A raw
 * 32-byte seed is refused: an HMAC secret must never be taken for an
 * Ed25519 key by accident.
 */
export const ed25519 = (
  privateKey: Redacted.Redacted<string>,
  message: string
): Effect.Effect<string, SigningFailed> => {
  const algorithm = "Ed25519"
  const der = pemBody(Redacted.value(privateKey), "PRIVATE KEY")
  if (der === undefined) {
    return Effect.fail(
      new SigningFailed({
        algorithm,
        reason: "the private key is not a PKCS#8 PEM block (-----BEGIN PRIVATE KEY-----)"
      })
    )
  }
  return Effect.flatMap(subtle(algorithm), (api) =>
    Effect.tryPromise({
      try: async () => {
        const key = await api.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"])
        return toBase64(new Uint8Array(await api.sign("Ed25519", key, encoder.encode(message))))
      },
      catch: (error) => new SigningFailed({ algorithm, reason: reasonOf(error) })
    }))
}
