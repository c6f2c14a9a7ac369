/**
 * Where a connection is in its life:
 * `Idle → Connecting{attempt} → Open{session, since} → Reconnecting{attempt, delay, error} → Connecting … → Closed{reason}`.
 * Held in a `SubscriptionRef`, so `changes` is a stream of every transition.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type { ConnectionError } from "./ConnectionError.ts"

/**
 * A connection's state.
 *
 * @category models
 * @since 0.1.0
 */
export type ConnectionState = Data.TaggedEnum<{
  /** Made, not dialing yet. */
  Idle: {}
  /** Dialing: `attempt` counts dials since the last session that stayed up `minUptime`. */
  Connecting: { readonly attempt: number; readonly url: string }
  /** A session is up since `since` (epoch ms). */
  Open: { readonly session: number; readonly since: number; readonly protocol: string }
  /** Waiting `delay` ms before dial `attempt`, after `error`. */
  Reconnecting: { readonly attempt: number; readonly delay: number; readonly error: ConnectionError }
  /** Stopped for good: closed by the caller, or a failure that is not retried. */
  Closed: { readonly reason: string; readonly error: ConnectionError | undefined }
}>

/**
 * Constructors and matchers: `ConnectionState.Open({...})`, `ConnectionState.$is("Open")(s)`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const ConnectionState = Data.taggedEnum<ConnectionState>()
