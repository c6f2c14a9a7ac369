/**
 * Where a connection is in its life:
 * `Idle → (Queued →) Connecting{attempt} → Open{session, since} → Reconnecting{attempt, delay, error} → (Queued →) Connecting … → Closed{reason}`.
 * `Queued` comes only where a dial governor holds a dial back (a
 * `WSManager`'s connections). Held in a `SubscriptionRef`, so `changes` is a
 * stream of every transition. Each state has a type of its own
 * (`ConnectionState.Open`, …), to narrow to without `Extract`.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type { InvalidConfig, SessionError } from "./ConnectionError.ts"

/**
 * A connection's state.
 *
 * @category models
 * @since 0.1.0
 */
export type ConnectionState = Data.TaggedEnum<{
  /** Made, not dialing yet. */
  Idle: {}
  /**
   * Dial `attempt` waits for a dial slot: a `WSManager`'s dial governor
   * holds it back because `maxConcurrentDials` dials are in flight or the
   * host's `dialsPerSecond` window is full. `Connecting` follows when the
   * dial starts; `connectTimeout` does not count the wait. A dial that gets
   * its slot at once, and every dial of a connection made with
   * `Connection.make`, is never `Queued`.
   */
  Queued: { readonly attempt: number; readonly url: string }
  /**
   * Dialing: the dial has started (TCP, TLS, the upgrade), bounded by
   * `connectTimeout`. `attempt` counts dials since the last session that
   * stayed up `minUptime`.
   */
  Connecting: { readonly attempt: number; readonly url: string }
  /** A session is up since `since` (epoch ms). */
  Open: { readonly session: number; readonly since: number; readonly protocol: string }
  /** Waiting `delay` ms before dial `attempt`, after `error`: a failed dial or an ended session. */
  Reconnecting: { readonly attempt: number; readonly delay: number; readonly error: SessionError }
  /**
   * Stopped for good. `error` is `undefined` when the caller closed it (or
   * its scope closed); otherwise the failure that was not retried (or after
   * which the reconnect schedule ended), or the `InvalidConfig` of a URL
   * effect that gave a bad URL.
   */
  Closed: { readonly reason: string; readonly error: SessionError | InvalidConfig | undefined }
}>

/**
 * Constructors and matchers: `ConnectionState.Open({...})`, `ConnectionState.$is("Open")(s)`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const ConnectionState = Data.taggedEnum<ConnectionState>()

/**
 * Made, not dialing yet.
 *
 * @category models
 * @since 0.1.0
 */
export type Idle = Extract<ConnectionState, { readonly _tag: "Idle" }>

/**
 * Waiting for a dial slot at a `WSManager`'s dial governor.
 *
 * @category models
 * @since 0.1.0
 */
export type Queued = Extract<ConnectionState, { readonly _tag: "Queued" }>

/**
 * Dialing.
 *
 * @category models
 * @since 0.1.0
 */
export type Connecting = Extract<ConnectionState, { readonly _tag: "Connecting" }>

/**
 * A session is up.
 *
 * @category models
 * @since 0.1.0
 */
export type Open = Extract<ConnectionState, { readonly _tag: "Open" }>

/**
 * Waiting before the next dial.
 *
 * @category models
 * @since 0.1.0
 */
export type Reconnecting = Extract<ConnectionState, { readonly _tag: "Reconnecting" }>

/**
 * Stopped for good.
 *
 * @category models
 * @since 0.1.0
 */
export type Closed = Extract<ConnectionState, { readonly _tag: "Closed" }>
