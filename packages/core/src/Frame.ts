/**
 * The frames a connection receives: the five WebSocket frame kinds, each
 * stamped with the session it arrived on and the time of the socket read
 * that carried it. Payloads are handed over as the transport produced them:
 * text is decoded once, binary is the transport's own `Uint8Array`, never
 * copied.
 *
 * @since 0.1.0
 */

/**
 * The facts every frame carries besides its payload.
 *
 * @category models
 * @since 0.1.0
 */
export interface FrameMeta {
  /** The session (1, 2, 3…: one per successful dial) the frame arrived on. */
  readonly session: number
  /** Receive time in epoch milliseconds from the `Clock`, one stamp per socket read. */
  readonly receivedAt: number
}

/**
 * A text message, decoded from UTF-8 once by the transport.
 *
 * @category models
 * @since 0.1.0
 */
export interface Text extends FrameMeta {
  readonly _tag: "Text"
  readonly data: string
}

/**
 * A binary message: the transport's own bytes, not a copy.
 *
 * @category models
 * @since 0.1.0
 */
export interface Binary extends FrameMeta {
  readonly _tag: "Binary"
  readonly data: Uint8Array
}

/**
 * A protocol ping received from the server (transports answer it with a pong).
 *
 * @category models
 * @since 0.1.0
 */
export interface Ping extends FrameMeta {
  readonly _tag: "Ping"
  readonly data: Uint8Array
}

/**
 * A protocol pong received from the server.
 *
 * @category models
 * @since 0.1.0
 */
export interface Pong extends FrameMeta {
  readonly _tag: "Pong"
  readonly data: Uint8Array
}

/**
 * The close of a session: the code and reason the peer sent, or 1006 with an
 * empty reason when the socket went away without a close frame.
 *
 * @category models
 * @since 0.1.0
 */
export interface Close extends FrameMeta {
  readonly _tag: "Close"
  readonly code: number
  readonly reason: string
}

/**
 * Any inbound frame.
 *
 * @category models
 * @since 0.1.0
 */
export type Frame = Text | Binary | Ping | Pong | Close

/**
 * A data frame: what `idleTimeout` counts and what `sliding`/`dropping`
 * buffers may drop.
 *
 * @category models
 * @since 0.1.0
 */
export type DataFrame = Text | Binary

const EMPTY = new Uint8Array(0)

/**
 * Data frames are built by a constructor rather than an object literal: V8
 * may decide to allocate everything a literal makes straight in the old
 * generation once it sees those objects survive a scavenge (a socket read's
 * batch is alive until its flush), and then every dead frame keeps its
 * payload string alive until a full GC. A constructor has no such allocation
 * site. Its prototype is `Object.prototype`: the frames are plain objects,
 * equal to the literals they replace.
 */
interface DataFrameObject {
  readonly _tag: "Text" | "Binary"
  readonly data: string | Uint8Array
  readonly session: number
  readonly receivedAt: number
}
interface DataFrameConstructor {
  new(_tag: "Text" | "Binary", data: string | Uint8Array, session: number, receivedAt: number): DataFrameObject
}
const DataFrameObject = function(
  this: { _tag: "Text" | "Binary"; data: string | Uint8Array; session: number; receivedAt: number },
  _tag: "Text" | "Binary",
  data: string | Uint8Array,
  session: number,
  receivedAt: number
) {
  this._tag = _tag
  this.data = data
  this.session = session
  this.receivedAt = receivedAt
} as unknown as DataFrameConstructor
DataFrameObject.prototype = Object.prototype

/**
 * Makes a `Text` frame.
 *
 * @category constructors
 * @since 0.1.0
 */
export const text = (data: string, session: number, receivedAt: number): Text =>
  new DataFrameObject("Text", data, session, receivedAt) as Text

/**
 * Makes a `Binary` frame around the given bytes (no copy).
 *
 * @category constructors
 * @since 0.1.0
 */
export const binary = (data: Uint8Array, session: number, receivedAt: number): Binary =>
  new DataFrameObject("Binary", data, session, receivedAt) as Binary

/**
 * Makes a `Ping` frame.
 *
 * @category constructors
 * @since 0.1.0
 */
export const ping = (data: Uint8Array | undefined, session: number, receivedAt: number): Ping => ({
  _tag: "Ping",
  data: data ?? EMPTY,
  session,
  receivedAt
})

/**
 * Makes a `Pong` frame.
 *
 * @category constructors
 * @since 0.1.0
 */
export const pong = (data: Uint8Array | undefined, session: number, receivedAt: number): Pong => ({
  _tag: "Pong",
  data: data ?? EMPTY,
  session,
  receivedAt
})

/**
 * Makes a `Close` frame.
 *
 * @category constructors
 * @since 0.1.0
 */
export const close = (code: number, reason: string, session: number, receivedAt: number): Close => ({
  _tag: "Close",
  code,
  reason,
  session,
  receivedAt
})

/**
 * Whether a frame carries data (`Text` or `Binary`) rather than control.
 *
 * @category guards
 * @since 0.1.0
 */
export const isData = (frame: Frame): frame is DataFrame => frame._tag === "Text" || frame._tag === "Binary"

/**
 * What a connection sends: text or bytes.
 *
 * @category models
 * @since 0.1.0
 */
export type Outbound = string | Uint8Array
