/**
 * The `Transport` over the `ws` package, for Node: protocol ping and pong
 * frames both ways, TLS with certificate checks on by default (a custom CA
 * and a client certificate per layer, and per connection over the layer's),
 * request headers whose values may be `Redacted`,
 * subprotocols, a connect timeout that covers TCP, TLS and the upgrade, the
 * HTTP status and `Retry-After` of a refused upgrade, `maxPayload`,
 * permessage-deflate off unless asked, and backpressure both ways: reading
 * pauses the socket when the consumer falls behind, sending waits while the
 * socket's buffer is over its high-water mark.
 *
 * @since 0.1.0
 */
import { Transport } from "@kharbranth/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import type * as http from "node:http"
import { connectOf, NodeSession, releaseOf, type Settings } from "./internal/session.ts"
import { TlsMerge } from "./internal/tls.ts"

/**
 * The layer's TLS settings for `wss://` URLs: the defaults of every
 * connection it dials. A connection's own `tls` (`ConnectionConfig.tls`, a
 * `Transport.TlsOptions`) is merged over them field by field: its `ca`,
 * `servername` and `rejectUnauthorized` replace these when given; its
 * `cert` and `key` (with its `passphrase`) replace this client identity as a
 * whole, never mixed with it. Certificates are verified unless
 * `rejectUnauthorized` is explicitly `false`.
 *
 * **Gotchas**: a `ca` here replaces the system store for every connection
 * that gives no `ca` of its own. To mix public feeds with a venue's private
 * CA, give that CA on the venue's connection, not here (or list
 * `tls.rootCertificates` beside it).
 *
 * @category models
 * @since 0.1.0
 */
export interface TlsOptions {
  /** Trusted CA certificates (PEM), replacing the system store for these connections. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer> | undefined
  /** Client certificate (PEM) for mutual TLS, with `key`. */
  readonly cert?: string | Buffer | undefined
  /** The client certificate's private key (PEM), plain or `Redacted`. */
  readonly key?: string | Buffer | Redacted.Redacted<string | Uint8Array> | undefined
  /** Passphrase of an encrypted `key`. */
  readonly passphrase?: string | Redacted.Redacted<string> | undefined
  /** Server name for SNI and certificate checks, if not the URL's host. */
  readonly servername?: string | undefined
  /** Defaults to `true`. Turning it off accepts any certificate: never do so in production. */
  readonly rejectUnauthorized?: boolean | undefined
}

/**
 * Options of the Node transport.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** TLS defaults of every connection; a connection's own `tls` is merged over them (see `TlsOptions`). */
  readonly tls?: TlsOptions | undefined
  /** An HTTP(S) agent, for example a proxy agent. */
  readonly agent?: http.Agent | undefined
  /** How long scope release waits for the close handshake before terminating (default 1000 ms). */
  readonly closeTimeout?: Duration.Input | undefined
  /**
   * Pongs allowed to wait for the socket before a ping flood ends the
   * session with a `ProtocolError` (code 1008). Default 60, as `ws`.
   */
  readonly maxPendingPongs?: number | undefined
}

/**
 * Makes the transport service.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options = {}): Transport.Transport["Service"] => {
  const settings: Settings = {
    closeTimeout: Duration.fromInputUnsafe(options.closeTimeout ?? 1000),
    maxPendingPongs: options.maxPendingPongs ?? 60,
    tls: new TlsMerge(options.tls ?? {})
  }
  return Transport.Transport.of({
    open: (request) =>
      // Plain effects, not a generator: this runs for every dial.
      Effect.clockWith((clock) =>
        Effect.flatMap(Effect.scope, (scope) => {
          const session = new NodeSession(request, settings, clock)
          // As `Effect.acquireRelease` (the socket is made and its release
          // registered uninterruptibly; the release runs on this clock), but
          // the scope keeps one function that holds the session alone, not
          // acquireRelease's chain of closures and the acquire effect.
          return Effect.andThen(
            Effect.uninterruptible(
              Effect.flatMap(connectOf(session, request, options), () =>
                Scope.addFinalizerExit(scope, releaseOf(session)))
            ),
            Effect.as(session.awaitOpen(request.connectTimeout), session)
          )
        })
      )
  })
}

/**
 * The `Transport` over `ws`.
 *
 * @example
 * ```ts
 * import { Connection } from "@kharbranth/core"
 * import { NodeTransport } from "@kharbranth/node"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const conn = yield* Connection.make("binance", { url: "wss://stream.binance.com:9443/ws/btcusdt@trade" })
 *   // ...
 * }).pipe(Effect.scoped, Effect.provide(NodeTransport.layer()))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Transport.Transport> =>
  Layer.succeed(Transport.Transport, make(options))
