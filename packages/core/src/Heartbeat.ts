/**
 * How a connection proves its peer is alive. `Protocol` sends WebSocket ping
 * frames and expects pongs; `Message` sends the text ping an exchange asks
 * for (`ping`, `{"op":"ping"}`…) and recognises its pong; `None` sends
 * nothing. Missing the pong deadline ends the session with
 * `HeartbeatTimeout`, and the reconnect policy takes over.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"

/**
 * Ping frames every `interval`; a pong must arrive within `timeout` of each.
 *
 * @category models
 * @since 0.1.0
 */
export interface Protocol {
  readonly _tag: "Protocol"
  readonly interval: Duration.Input
  readonly timeout: Duration.Input
  /** Ping payload, at most 125 bytes (default: a short counter, so pongs can be matched). */
  readonly payload?: Uint8Array | undefined
}

/**
 * A text ping every `interval`; a text frame for which `isPong` holds must
 * arrive within `timeout`. Pongs are kept out of `frames` and the text hooks
 * unless `deliverPongs` is set.
 *
 * @category models
 * @since 0.1.0
 */
export interface Message {
  readonly _tag: "Message"
  readonly interval: Duration.Input
  readonly timeout: Duration.Input
  /** The ping to send, or a function making it (for pings carrying a timestamp). */
  readonly message: string | (() => string)
  /** Recognises the venue's pong among text frames. */
  readonly isPong: (text: string) => boolean
  readonly deliverPongs?: boolean | undefined
}

/**
 * No heartbeat: rely on `idleTimeout` or the server's own pings.
 *
 * @category models
 * @since 0.1.0
 */
export interface None {
  readonly _tag: "None"
}

/**
 * A heartbeat style.
 *
 * @category models
 * @since 0.1.0
 */
export type Heartbeat = Protocol | Message | None

/**
 * A protocol heartbeat (the default: ping every 15 s, pong within 10 s).
 *
 * @category constructors
 * @since 0.1.0
 */
export const protocol = (
  options: Omit<Protocol, "_tag"> = { interval: "15 seconds", timeout: "10 seconds" }
): Protocol => ({
  _tag: "Protocol",
  ...options
})

/**
 * A message heartbeat: for example
 * `Heartbeat.message({ interval: "20 seconds", timeout: "5 seconds", message: "ping", isPong: (t) => t === "pong" })`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const message = (options: Omit<Message, "_tag">): Message => ({ _tag: "Message", ...options })

/**
 * No heartbeat.
 *
 * @category constructors
 * @since 0.1.0
 */
export const none: None = { _tag: "None" }
