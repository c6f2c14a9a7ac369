/**
 * The seam between a `Connection` and a socket library. A `Transport` opens
 * one session at a time in a `Scope` (closing the scope closes the socket);
 * the session hands inbound frames over in batches, one per socket read,
 * and applies backpressure both ways. `Connection` never touches a socket:
 * `NodeTransport` (in `@kharbranth/node`) and `MemoryTransport` (for tests)
 * are two implementations of this one contract. A new transport builds its
 * sessions' inbound side on `Inbox` (`Inbox.make`, or a session class
 * extending `Inbox.Base`): it gets batching per socket read, pause/resume
 * at the high water mark, and the connection's direct read for free.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { defaults } from "./ConnectionConfig.ts"
import { ConnectTimeout } from "./ConnectionError.ts"
import type { Closed, ConnectFailed, ProtocolError, SendFailed } from "./ConnectionError.ts"
import type * as Frame from "./Frame.ts"
import { redactIn as redactIn_, redactUrl as redactUrl_ } from "./internal/redact.ts"

/**
 * PEM text: a string, or its bytes (ASCII). DER is not accepted.
 *
 * @category models
 * @since 0.1.0
 */
export type Pem = string | Uint8Array

/**
 * TLS settings of one connection, for `wss://` URLs, in a form every
 * platform can carry: certificates as PEM text or bytes, the private key and
 * its passphrase as `Redacted` (revealed only to the TLS stack, never shown
 * in errors, events or stats). A transport merges them over its own
 * defaults, field by field: a field given here wins, a field left out keeps
 * the transport's. `cert`, `key` and `passphrase` are one client identity
 * and are taken together: a connection that gives `cert` and `key` never
 * uses the transport's key or passphrase. `ConnectionConfig.resolve`
 * validates them into `InvalidConfig` naming the field.
 *
 * `NodeTransport` applies them; `MemoryTransport` has no TLS and ignores
 * them; so does every transport for `ws://` URLs.
 *
 * @category models
 * @since 0.1.0
 */
export interface TlsOptions {
  /**
   * Trusted CA certificates (PEM; one text may hold several), replacing the
   * transport's CA, and the system store, for this connection.
   */
  readonly ca?: Pem | ReadonlyArray<Pem> | undefined
  /** Client certificate chain (PEM) for mutual TLS; requires `key`. */
  readonly cert?: Pem | undefined
  /** The client certificate's private key (PEM); requires `cert`. A secret: `Redacted` only. */
  readonly key?: Redacted.Redacted<Pem> | undefined
  /** Passphrase of an encrypted `key`; requires `key`. */
  readonly passphrase?: Redacted.Redacted<string> | undefined
  /** Server name for SNI and the certificate check, if not the URL's host (a DNS name, not an IP). */
  readonly servername?: string | undefined
  /** Whether the server's certificate must verify. Default `true`; `false` accepts any certificate: never in production. */
  readonly rejectUnauthorized?: boolean | undefined
}

/**
 * What to dial. `connection` and `session` are stamped on errors and frames;
 * header values may be `Redacted` and are only revealed on the wire.
 *
 * @category models
 * @since 0.1.0
 */
export interface OpenRequest {
  /** The connection's name, for errors. */
  readonly connection: string
  /** `ws://` or `wss://` URL. */
  readonly url: string
  /** The session number this dial will carry if it succeeds. */
  readonly session: number
  /** Subprotocols offered in `Sec-WebSocket-Protocol`. */
  readonly protocols: ReadonlyArray<string>
  /** Extra request headers for the upgrade. */
  readonly headers: Readonly<Record<string, string | Redacted.Redacted<string>>>
  /** Bound on TCP + TLS + upgrade, in milliseconds. */
  readonly connectTimeout: number
  /** Largest accepted inbound message in bytes; larger is a `ProtocolError` (1009). */
  readonly maxPayload: number
  /** Offer permessage-deflate (off by default: it costs far more CPU than it saves on market data). */
  readonly compression: boolean
  /** Inbound frames buffered before the socket is paused. */
  readonly highWaterMark: number
  /** Outbound bytes buffered before `send` waits for the socket to drain. */
  readonly sendHighWaterMark: number
  /** This connection's TLS settings, merged over the transport's own (see `TlsOptions`). */
  readonly tls?: TlsOptions | undefined
  /**
   * Measure the dial's phases and report them as the session's `timings`
   * (a transport that cannot see them ignores it). A `Connection` asks when
   * its metrics are on (`Metrics.layer`), for its `kharbranth.dial` span.
   */
  readonly timings?: boolean | undefined
}

/**
 * When each phase of a dial ended, in epoch milliseconds on the
 * transport's clock, as far as the transport can see them: the name
 * resolved (`lookup`), TCP connected (`connect`), the TLS handshake done
 * (`secureConnect`, `wss://` only), the upgrade answered (`upgrade`). A
 * phase that did not happen (an IP address needs no lookup, a reused or
 * proxied socket shows no connect) is absent.
 *
 * @category models
 * @since 0.1.0
 */
export interface DialTimings {
  /** When the dial started. */
  readonly start: number
  readonly lookup?: number | undefined
  readonly connect?: number | undefined
  readonly secureConnect?: number | undefined
  readonly upgrade?: number | undefined
}

/**
 * A request with the settings it leaves out filled in with the defaults a
 * `Connection` uses (`ConnectionConfig.defaults`: 10 s connect timeout,
 * 16 MiB `maxPayload`, no compression, 4096 frames, 1 MiB send buffer), so a
 * transport opened directly behaves as it does under a `Connection`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const request = (
  options: Pick<OpenRequest, "url"> & Partial<Omit<OpenRequest, "url">>
): OpenRequest => ({
  connection: "anonymous",
  session: 1,
  protocols: [],
  headers: {},
  connectTimeout: defaults.connectTimeout,
  maxPayload: defaults.maxPayload,
  compression: defaults.compression,
  highWaterMark: defaults.capacity,
  sendHighWaterMark: defaults.sendHighWaterMark,
  ...options
})

/**
 * Why a session's inbound pull ended: the close (with its code), or a
 * protocol violation by the peer.
 *
 * @category models
 * @since 0.1.0
 */
export type SessionEnd = Closed | ProtocolError

/**
 * One open WebSocket session.
 *
 * @category models
 * @since 0.1.0
 */
export interface Session {
  /** The session number from the request. */
  readonly session: number
  /** The subprotocol the server chose, or `""`. */
  readonly protocol: string
  /**
   * Takes every inbound frame received since the last take (at least one),
   * waiting if there is none. The last batch ends with the `Close` frame;
   * the take after it fails with the reason the session ended.
   */
  readonly take: Effect.Effect<ReadonlyArray<Frame.Frame>, SessionEnd>
  /** Sends a text or binary message; waits while the socket's buffer is over its high-water mark. */
  readonly send: (data: Frame.Outbound) => Effect.Effect<void, SendFailed>
  /** Sends a protocol ping (payload at most 125 bytes). */
  readonly ping: (payload?: Uint8Array) => Effect.Effect<void, SendFailed>
  /** Starts the close handshake; the end of `take` tells when it completes. */
  readonly close: (code?: number, reason?: string) => Effect.Effect<void>
  /** Destroys the socket at once, for dead peers. */
  readonly terminate: Effect.Effect<void>
  /** Outbound bytes queued in the socket and not yet written. */
  readonly bufferedAmount: () => number
  /** The dial's phases, when the request asked for them (`OpenRequest.timings`) and the transport sees them. */
  readonly timings?: DialTimings | undefined
}

/**
 * The transport service: opens sessions.
 *
 * @category services
 * @since 0.1.0
 */
export class Transport extends Context.Service<Transport, {
  /**
   * Dials and completes the WebSocket handshake within
   * `request.connectTimeout`. The session lives until the scope closes.
   */
  readonly open: (request: OpenRequest) => Effect.Effect<Session, ConnectFailed | ConnectTimeout, Scope.Scope>
  /**
   * Optional, for a transport that may hold a dial back until a dial slot
   * is free (the `WSManager`'s dial governor): `open`, reporting the wait.
   * It runs `slot.queued` before it makes this dial wait (not at all when
   * the dial can start at once) and `slot.dialing` when the dial starts,
   * after any wait; `connectTimeout` counts from there. A `Connection`
   * calls it when it is there, to report `Queued` and then `Connecting`;
   * otherwise it reports `Connecting` and calls `open`. A transport that
   * wraps another defines its own or leaves it out: copying the inner one
   * would let dials bypass the wrapper's `open`.
   */
  readonly openQueued?:
    | ((
      request: OpenRequest,
      slot: { readonly queued: Effect.Effect<void>; readonly dialing: Effect.Effect<void> }
    ) => Effect.Effect<Session, ConnectFailed | ConnectTimeout, Scope.Scope>)
    | undefined
}>()("@kharbranth/core/Transport") {}

/**
 * Bounds a dial by the request's `connectTimeout`, failing with
 * `ConnectTimeout`; for transport implementations.
 *
 * @category combinators
 * @since 0.1.0
 */
export const withConnectTimeout = <A, E, R>(
  request: OpenRequest,
  dial: Effect.Effect<A, E, R>
): Effect.Effect<A, E | ConnectTimeout, R> =>
  Effect.timeoutOrElse(dial, {
    duration: Duration.millis(request.connectTimeout),
    orElse: () =>
      Effect.fail(
        new ConnectTimeout({
          connection: request.connection,
          url: redactUrl_(request.url),
          timeout: request.connectTimeout
        })
      )
  })

/**
 * A URL as it may be shown in errors, events and logs: user info and
 * key-like query parameters (`key`, `token`, `signature`, …) become `***`.
 *
 * @category utils
 * @since 0.1.0
 */
export const redactUrl: (url: string) => string = redactUrl_

/**
 * A message about `url` with the URL's secrets (user info, key-like query
 * values) replaced by `***`: for transports mapping a socket library's
 * errors, whose messages may quote the URL.
 *
 * @category utils
 * @since 0.1.0
 */
export const redactIn: (url: string, text: string) => string = redactIn_
