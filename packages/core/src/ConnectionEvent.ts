/**
 * The lifecycle events of a connection, for logs, metrics and alerts. Each
 * event of the original crate has an equivalent here: ConnectionStarting →
 * `Connecting`, SuccessfulHandshake → `Opened`, FailedHandshake(attempt) →
 * `DialFailed`, PongReceiveTimeout → `HeartbeatMissed`, ReadError →
 * `Disconnected`, WriteError → `SendFailed`, Close → `Closed`. `Queued`
 * (a dial waiting for a slot at a `WSManager`'s dial governor) is new. Each
 * event has a type of its own (`ConnectionEvent.Disconnected`, …), and each
 * `error` is typed by what can happen there.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Errors from "./ConnectionError.ts"

/**
 * A lifecycle event; `at` is the `Clock` time in epoch milliseconds.
 *
 * @category models
 * @since 0.1.0
 */
export type ConnectionEvent = Data.TaggedEnum<{
  /**
   * Dial `attempt` waits for a dial slot at a `WSManager`'s dial governor
   * (`maxConcurrentDials` dials in flight, or the host's `dialsPerSecond`
   * window full). `Connecting` follows when the dial starts. Only for a dial
   * that cannot start at once: the others go straight to `Connecting`.
   */
  Queued: { readonly at: number; readonly attempt: number; readonly url: string }
  /** A dial starts (after its wait for a slot, if it had one): `connectTimeout` counts from here. */
  Connecting: { readonly at: number; readonly attempt: number; readonly url: string }
  /** The handshake succeeded: session `session` is open. */
  Opened: { readonly at: number; readonly session: number; readonly attempt: number; readonly protocol: string }
  /** A dial failed: refused (`ConnectFailed`, with the HTTP `status` of a refused upgrade) or too slow (`ConnectTimeout`). */
  DialFailed: { readonly at: number; readonly attempt: number; readonly error: Errors.DialError }
  /** An open session ended unasked: `error` says why (`Closed` and `ProtocolError` carry the close `code`). */
  Disconnected: { readonly at: number; readonly session: number; readonly error: Errors.DisconnectError }
  /** The next dial waits `delay` ms; the `Reconnecting` state carries the error that led here. */
  Reconnecting: { readonly at: number; readonly attempt: number; readonly delay: number }
  /** No pong arrived in time; the session is ended. */
  HeartbeatMissed: { readonly at: number; readonly session: number; readonly timeout: number }
  /** A send failed on an open session. */
  SendFailed: { readonly at: number; readonly session: number; readonly error: Errors.SendFailed }
  /** A hook failed or died; the connection lives on. */
  HookFailed: {
    readonly at: number
    readonly session: number
    readonly hook: string
    readonly cause: Cause.Cause<unknown>
  }
  /** The caller asked for a restart. */
  RestartRequested: { readonly at: number; readonly session: number; readonly reason: string }
  /**
   * The connection stopped for good: `error` is `undefined` when the caller
   * closed it, else the failure that ended it (as the `Closed` state's).
   */
  Closed: {
    readonly at: number
    readonly reason: string
    readonly error: Errors.SessionError | Errors.InvalidConfig | undefined
  }
}>

/**
 * Constructors and matchers for events.
 *
 * @category constructors
 * @since 0.1.0
 */
export const ConnectionEvent = Data.taggedEnum<ConnectionEvent>()

/**
 * A dial waits for a slot.
 *
 * @category models
 * @since 0.1.0
 */
export type Queued = Extract<ConnectionEvent, { readonly _tag: "Queued" }>

/**
 * A dial starts.
 *
 * @category models
 * @since 0.1.0
 */
export type Connecting = Extract<ConnectionEvent, { readonly _tag: "Connecting" }>

/**
 * A session opened.
 *
 * @category models
 * @since 0.1.0
 */
export type Opened = Extract<ConnectionEvent, { readonly _tag: "Opened" }>

/**
 * A dial failed.
 *
 * @category models
 * @since 0.1.0
 */
export type DialFailed = Extract<ConnectionEvent, { readonly _tag: "DialFailed" }>

/**
 * An open session ended unasked.
 *
 * @category models
 * @since 0.1.0
 */
export type Disconnected = Extract<ConnectionEvent, { readonly _tag: "Disconnected" }>

/**
 * The next dial waits.
 *
 * @category models
 * @since 0.1.0
 */
export type Reconnecting = Extract<ConnectionEvent, { readonly _tag: "Reconnecting" }>

/**
 * No pong in time.
 *
 * @category models
 * @since 0.1.0
 */
export type HeartbeatMissed = Extract<ConnectionEvent, { readonly _tag: "HeartbeatMissed" }>

/**
 * A send failed.
 *
 * @category models
 * @since 0.1.0
 */
export type SendFailed = Extract<ConnectionEvent, { readonly _tag: "SendFailed" }>

/**
 * A hook failed.
 *
 * @category models
 * @since 0.1.0
 */
export type HookFailed = Extract<ConnectionEvent, { readonly _tag: "HookFailed" }>

/**
 * A restart was asked for.
 *
 * @category models
 * @since 0.1.0
 */
export type RestartRequested = Extract<ConnectionEvent, { readonly _tag: "RestartRequested" }>

/**
 * The connection stopped for good.
 *
 * @category models
 * @since 0.1.0
 */
export type Closed = Extract<ConnectionEvent, { readonly _tag: "Closed" }>
