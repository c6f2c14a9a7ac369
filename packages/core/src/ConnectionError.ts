/**
 * Every way a connection can fail, as tagged classes a caller can match on
 * with `Effect.catchTag`: each carries the connection's name and the facts
 * needed to act (attempt, HTTP status, close code, deadline), and a message
 * a person can read. URLs inside errors never show credentials.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const optionalNumber = Schema.optionalKey(Schema.Number)

/**
 * The configuration is wrong: `field` names what, `reason` says why. Raised
 * when a connection is made, never later in a background fiber.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidConfig extends Schema.TaggedError<InvalidConfig>()("InvalidConfig", {
  connection: Schema.String,
  field: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `connection "${this.connection}": invalid config ${this.field}: ${this.reason}`
  }
}

/**
 * A dial failed: TCP, TLS or the WebSocket upgrade. When the server refused
 * the upgrade, `status` is its HTTP status and `retryAfter` the delay it asked
 * for in milliseconds (from `Retry-After`).
 *
 * @category errors
 * @since 0.1.0
 */
export class ConnectFailed extends Schema.TaggedError<ConnectFailed>()("ConnectFailed", {
  connection: Schema.String,
  url: Schema.String,
  status: optionalNumber,
  retryAfter: optionalNumber,
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `connection "${this.connection}": could not connect to ${this.url}${status}: ${this.detail}`
  }
}

/**
 * Dial and handshake together took longer than `connectTimeout` (milliseconds).
 *
 * @category errors
 * @since 0.1.0
 */
export class ConnectTimeout extends Schema.TaggedError<ConnectTimeout>()("ConnectTimeout", {
  connection: Schema.String,
  url: Schema.String,
  timeout: Schema.Number
}) {
  override get message(): string {
    return `connection "${this.connection}": no handshake from ${this.url} within ${this.timeout} ms`
  }
}

/**
 * The session ended with a close: the peer's code and reason, or 1006 when
 * the socket went away without a close frame.
 *
 * @category errors
 * @since 0.1.0
 */
export class Closed extends Schema.TaggedError<Closed>()("Closed", {
  connection: Schema.String,
  session: Schema.Number,
  code: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    const reason = this.reason === "" ? "" : `: ${this.reason}`
    return `connection "${this.connection}": session ${this.session} closed with code ${this.code}${reason}`
  }
}

/**
 * The peer broke the WebSocket protocol (invalid UTF-8, a frame over
 * `maxPayload`, a masked server frame…). `violation` names what, `code` is
 * the close code the client used (1002, 1007, 1009).
 *
 * @category errors
 * @since 0.1.0
 */
export class ProtocolError extends Schema.TaggedError<ProtocolError>()("ProtocolError", {
  connection: Schema.String,
  session: Schema.Number,
  code: Schema.Number,
  violation: Schema.String
}) {
  override get message(): string {
    return `connection "${this.connection}": session ${this.session} protocol error (${this.code}): ${this.violation}`
  }
}

/**
 * No pong (protocol or message heartbeat) arrived within `timeout`
 * milliseconds of a ping.
 *
 * @category errors
 * @since 0.1.0
 */
export class HeartbeatTimeout extends Schema.TaggedError<HeartbeatTimeout>()("HeartbeatTimeout", {
  connection: Schema.String,
  session: Schema.Number,
  timeout: Schema.Number
}) {
  override get message(): string {
    return `connection "${this.connection}": session ${this.session} got no pong within ${this.timeout} ms`
  }
}

/**
 * No data frame arrived for `idleTimeout` milliseconds (heartbeat traffic
 * does not count).
 *
 * @category errors
 * @since 0.1.0
 */
export class IdleTimeout extends Schema.TaggedError<IdleTimeout>()("IdleTimeout", {
  connection: Schema.String,
  session: Schema.Number,
  idleTimeout: Schema.Number
}) {
  override get message(): string {
    return `connection "${this.connection}": session ${this.session} received no data for ${this.idleTimeout} ms`
  }
}

/**
 * A send could not be done: the socket failed under it, or the outbound
 * buffer kept while disconnected is full.
 *
 * @category errors
 * @since 0.1.0
 */
export class SendFailed extends Schema.TaggedError<SendFailed>()("SendFailed", {
  connection: Schema.String,
  reason: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message(): string {
    return `connection "${this.connection}": send failed: ${this.reason}`
  }
}

/**
 * The operation needs an open session and there is none (`state` names the
 * state the connection is in).
 *
 * @category errors
 * @since 0.1.0
 */
export class NotConnected extends Schema.TaggedError<NotConnected>()("NotConnected", {
  connection: Schema.String,
  state: Schema.String
}) {
  override get message(): string {
    return `connection "${this.connection}" is not connected (state ${this.state})`
  }
}

/**
 * The connection has stopped for good: closed by the caller, or a failure
 * that `shouldReconnect` declined to retry, or a schedule that ran out.
 *
 * @category errors
 * @since 0.1.0
 */
export class ConnectionStopped extends Schema.TaggedError<ConnectionStopped>()("ConnectionStopped", {
  connection: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `connection "${this.connection}" has stopped: ${this.reason}`
  }
}

/**
 * Any error of a single connection.
 *
 * @category errors
 * @since 0.1.0
 */
export type ConnectionError =
  | InvalidConfig
  | ConnectFailed
  | ConnectTimeout
  | Closed
  | ProtocolError
  | HeartbeatTimeout
  | IdleTimeout
  | SendFailed
  | NotConnected
  | ConnectionStopped

/**
 * The schema of `ConnectionError`, to encode errors into logs or across
 * processes and decode them back.
 *
 * @category schemas
 * @since 0.1.0
 */
export const ConnectionError = Schema.Union([
  InvalidConfig,
  ConnectFailed,
  ConnectTimeout,
  Closed,
  ProtocolError,
  HeartbeatTimeout,
  IdleTimeout,
  SendFailed,
  NotConnected,
  ConnectionStopped
])

/**
 * Why a dial failed: the transport's `open` could not connect, or the
 * handshake took longer than `connectTimeout`. The `error` of a
 * `DialFailed` event.
 *
 * @category errors
 * @since 0.1.0
 */
export type DialError = ConnectFailed | ConnectTimeout

/**
 * Why an open session ended unasked: a close (the peer's, or 1006 for a
 * socket that went away), a protocol violation by the peer, a missed pong,
 * or silence past `idleTimeout`. The `error` of a `Disconnected` event.
 *
 * @category errors
 * @since 0.1.0
 */
export type DisconnectError = Closed | ProtocolError | HeartbeatTimeout | IdleTimeout

/**
 * What a live connection's dial loop can meet: a failed dial or an ended
 * session. The reconnect policy (`shouldReconnect`, the schedule) decides
 * what follows; it is the `error` of the `Reconnecting` state, and of
 * `Closed` when it was not retried.
 *
 * @category errors
 * @since 0.1.0
 */
export type SessionError = DialError | DisconnectError

/**
 * `WSManager`: no connection has this name.
 *
 * @category errors
 * @since 0.1.0
 */
export class ConnectionNotFound extends Schema.TaggedError<ConnectionNotFound>()("ConnectionNotFound", {
  name: Schema.String
}) {
  override get message(): string {
    return `no connection named "${this.name}"`
  }
}

/**
 * `WSManager`: a live connection already has this name.
 *
 * @category errors
 * @since 0.1.0
 */
export class DuplicateConnection extends Schema.TaggedError<DuplicateConnection>()("DuplicateConnection", {
  name: Schema.String
}) {
  override get message(): string {
    return `a connection named "${this.name}" already exists`
  }
}
