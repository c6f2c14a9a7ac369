/**
 * The lifecycle events of a connection, for logs, metrics and alerts. Each
 * event of the original crate has an equivalent here: ConnectionStarting →
 * `Connecting`, SuccessfulHandshake → `Opened`, FailedHandshake(attempt) →
 * `DialFailed`, PongReceiveTimeout → `HeartbeatMissed`, ReadError →
 * `Disconnected`, WriteError → `SendFailed`, Close → `Closed`.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type { ConnectionError } from "./ConnectionError.ts"

/**
 * A lifecycle event; `at` is the `Clock` time in epoch milliseconds.
 *
 * @category models
 * @since 0.1.0
 */
export type ConnectionEvent = Data.TaggedEnum<{
  /** A dial starts. */
  Connecting: { readonly at: number; readonly attempt: number; readonly url: string }
  /** The handshake succeeded: session `session` is open. */
  Opened: { readonly at: number; readonly session: number; readonly attempt: number; readonly protocol: string }
  /** A dial failed (refused, timed out, TLS…). */
  DialFailed: { readonly at: number; readonly attempt: number; readonly error: ConnectionError }
  /** An open session ended: `error` says why. */
  Disconnected: { readonly at: number; readonly session: number; readonly error: ConnectionError }
  /** The next dial waits `delay` ms. */
  Reconnecting: { readonly at: number; readonly attempt: number; readonly delay: number }
  /** No pong arrived in time; the session is ended. */
  HeartbeatMissed: { readonly at: number; readonly session: number; readonly timeout: number }
  /** A send failed on an open session. */
  SendFailed: { readonly at: number; readonly session: number; readonly error: ConnectionError }
  /** A hook failed or died; the connection lives on. */
  HookFailed: { readonly at: number; readonly session: number; readonly hook: string; readonly cause: Cause.Cause<unknown> }
  /** The caller asked for a restart. */
  RestartRequested: { readonly at: number; readonly session: number; readonly reason: string }
  /** The connection stopped for good. */
  Closed: { readonly at: number; readonly reason: string; readonly error: ConnectionError | undefined }
}>

/**
 * Constructors and matchers for events.
 *
 * @category constructors
 * @since 0.1.0
 */
export const ConnectionEvent = Data.taggedEnum<ConnectionEvent>()
