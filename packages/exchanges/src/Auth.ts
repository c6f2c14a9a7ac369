/**
 * Authenticated (private) streams: the credentials a feed signs with, and
 * what a venue profile says about its login (`Venue.Profile.auth`). A feed
 * whose profile has `auth` authenticates every session before it sends a
 * single subscribe, after every reconnect and on a rotation's new session:
 * it sends the venue's login (OKX `login`, Bybit `auth`), or fetches what
 * the venue's requests carry (Kraken's WebSocket token), or signs each
 * request (Binance's `userDataStream.subscribe.signature`, Coinbase's
 * signed `subscribe`), and only then replays the private topics.
 *
 * Secrets are `Redacted` from the moment they are given: they are unwrapped
 * only to compute a signature or to write the login message onto the
 * socket, and never appear in an error, an event, a log line or `stats`.
 * Signing runs on Web Crypto, so this works wherever `effect` runs.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

/**
 * An API key and what signs with it. OKX and Coinbase Exchange keys come
 * with a `passphrase`; a Binance Ed25519 key is a `privateKey` (PKCS#8 PEM)
 * instead of a `secret`; Kraken and Coinbase secrets are the base64 text
 * the venue shows.
 *
 * @category models
 * @since 0.1.0
 */
export interface Credentials {
  readonly apiKey: Redacted.Redacted<string>
  readonly secret?: Redacted.Redacted<string> | undefined
  readonly passphrase?: Redacted.Redacted<string> | undefined
  readonly privateKey?: Redacted.Redacted<string> | undefined
}

/**
 * Credentials from plain strings (each is wrapped in `Redacted` at once),
 * or from `Redacted` values read with `Config.Redacted`.
 *
 * @example
 * ```ts
 * import { Auth } from "@kharbranth/exchanges"
 *
 * const credentials = Auth.credentials({
 *   apiKey: process.env.OKX_API_KEY ?? "",
 *   secret: process.env.OKX_SECRET ?? "",
 *   passphrase: process.env.OKX_PASSPHRASE ?? ""
 * })
 * String(credentials.secret) // "<redacted>"
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const credentials = (fields: {
  readonly apiKey: string | Redacted.Redacted<string>
  readonly secret?: string | Redacted.Redacted<string> | undefined
  readonly passphrase?: string | Redacted.Redacted<string> | undefined
  readonly privateKey?: string | Redacted.Redacted<string> | undefined
}): Credentials => {
  const wrap = (value: string | Redacted.Redacted<string> | undefined) =>
    value === undefined ? undefined : Redacted.isRedacted(value) ? value : Redacted.make(value)
  return {
    apiKey: wrap(fields.apiKey)!,
    secret: wrap(fields.secret),
    passphrase: wrap(fields.passphrase),
    privateKey: wrap(fields.privateKey)
  }
}

/**
 * What the venue answered to a login. A refusal's `kind` decides what the
 * feed does: `"credentials"` (a bad key, secret, passphrase or permission)
 * stops the feed with one `AuthFailed`, never retried; `"clock"` (the
 * timestamp was outside the venue's window) is retried once after the feed
 * corrects its clock by the venue's server time; `"transient"` (the venue's
 * own trouble) restarts the session under the reconnect schedule.
 *
 * @category models
 * @since 0.1.0
 */
export type Answer =
  | { readonly _tag: "Accepted" }
  | {
    readonly _tag: "Refused"
    readonly code: string
    readonly reason: string
    readonly kind: "credentials" | "clock" | "transient"
  }

/**
 * A refusal, as an `Answer` or as the failure of a login step.
 *
 * @category models
 * @since 0.1.0
 */
export type Refusal = Extract<Answer, { readonly _tag: "Refused" }>

/**
 * A refusal value.
 *
 * @category constructors
 * @since 0.1.0
 */
export const refused = (kind: Refusal["kind"], code: string, reason: string): Refusal => ({
  _tag: "Refused",
  code,
  reason,
  kind
})

/**
 * The accepted answer.
 *
 * @category constructors
 * @since 0.1.0
 */
export const accepted: Answer = { _tag: "Accepted" }

/**
 * What a venue's login needs from the feed: the credentials, the time to
 * sign with (this machine's clock corrected by the venue's server time once
 * a clock refusal was seen), the URL of one of the profile's `urls` (or the
 * feed's `urls` option) by key, and a way to make an HTTP request for
 * venues that hand out tokens over REST.
 *
 * @category models
 * @since 0.1.0
 */
export interface LoginInput {
  readonly credentials: Credentials
  /** Epoch ms on the venue's clock, as well as the feed knows it. */
  readonly now: number
  readonly url: (key: string) => string | undefined
  /**
   * An HTTP request through the `HttpClient` the program provides, with the
   * answer's body as JSON; fails with a sentence naming what went wrong
   * (no `HttpClient` provided, the venue unreachable, not JSON).
   */
  readonly http: (
    url: string,
    init?: {
      readonly method?: "GET" | "POST" | undefined
      readonly body?: string | undefined
      readonly headers?: Readonly<Record<string, string>> | undefined
    }
  ) => Effect.Effect<unknown, string>
}

/**
 * A session's login: messages to send before any subscribe (answered by
 * `Spec.answer`), and what the session's requests carry (a token), if any.
 *
 * @category models
 * @since 0.1.0
 */
export interface Login {
  readonly messages: ReadonlyArray<string>
  readonly token?: string | undefined
}

/**
 * How a venue authenticates its private WebSocket; a profile's `auth`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Spec {
  /** The credential fields the venue signs with: checked when the feed is made. */
  readonly needs: ReadonlyArray<"secret" | "passphrase" | "secret or privateKey">
  /** Builds a session's login. A failure is a refusal of the given kind (a token endpoint's answer). */
  readonly login: (input: LoginInput) => Effect.Effect<Login, Refusal>
  /** What a text message says about the login, or undefined for any other message. */
  readonly answer: (text: string) => Answer | undefined
  /**
   * Signs a subscribe or unsubscribe request, for venues whose requests,
   * not sessions, carry the signature or token: the request's text as sent.
   */
  readonly sign?:
    | ((text: string, input: LoginInput, token: string | undefined) => Effect.Effect<string, Refusal>)
    | undefined
  /**
   * Whether a text says the venue ended the session's authorization (Binance's
   * `eventStreamTerminated`): the feed authenticates again and resubscribes
   * the shard's topics on the same session.
   */
  readonly ended?: ((text: string) => boolean) | undefined
  /** Whether every login makes an HTTP request (a token): a feed then needs an `HttpClient` in its context. */
  readonly needsHttp?: boolean | undefined
  /** The keys of the profile's `urls` that are REST endpoints (server time, tokens), not WebSockets. */
  readonly rest?: ReadonlyArray<string> | undefined
  /** The venue's server time: the key of its REST URL in `urls`, and how to read epoch ms from the JSON answer. */
  readonly serverTime?: { readonly url: string; readonly read: (json: unknown) => number | undefined } | undefined
}
