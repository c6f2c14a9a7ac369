/**
 * One named, self-healing WebSocket connection. It dials through the
 * `Transport`, proves the peer alive with a heartbeat, ends dead or silent
 * sessions, reconnects by a `Schedule`, runs `onOpen` (the place to
 * resubscribe) after every connect, and hands every frame to hooks and to
 * `frames` subscribers in receive order, a socket read at a time.
 *
 * One read loop per session is the only consumer of the socket: heartbeat,
 * idle timer, `restart` and `close` end a session by closing or terminating
 * the socket, and the read loop delivers everything that arrived before the
 * end. Nothing is dropped unless a subscriber chose `sliding`/`dropping`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as SubscriptionRef from "effect/SubscriptionRef"
import type * as Config from "./ConnectionConfig.ts"
import type * as Errors from "./ConnectionError.ts"
import type { ConnectionEvent } from "./ConnectionEvent.ts"
import type { ConnectionState } from "./ConnectionState.ts"
import type * as Frame from "./Frame.ts"
import * as Internal from "./internal/make.ts"
import * as Transport from "./Transport.ts"

/**
 * What `onOpen` gets: the new session's number and a `send` bound to it.
 *
 * @category models
 * @since 0.1.0
 */
export interface OpenContext {
  readonly connection: string
  readonly session: number
  readonly send: (data: Frame.Outbound) => Effect.Effect<void, Errors.SendFailed>
}

/**
 * Handlers per frame kind, run in receive order on the connection's read
 * loop. A frame hook may return an Effect (run before the next frame is
 * handed over) or be a plain function that returns nothing: that form runs
 * with no effect per frame, the fastest way to handle a flood, and over a
 * transport built on `Inbox` (the Node transport) as each frame is read,
 * before the rest of its socket read is parsed, while reads are small (a
 * flood's reads of hundreds of frames are handed over whole). Once a hook
 * has returned an effect, the connection's hooks run a socket read's batch
 * at a time. A hook that fails or throws is reported as a
 * `HookFailed` event; the connection lives on. Hooks hold up the read loop
 * while they run: keep them short, or fork. The services a hook needs (`R`)
 * come from the fiber that made the connection (`make`, `WSManager.add`);
 * `onOpen` alone runs in the session's scope, so what it forks with
 * `Effect.forkScoped` ends with the session.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReadHooks<R = never> {
  /** After every (re)connect, before the session's first frame is delivered: resubscribe here. */
  readonly onOpen?: ((context: OpenContext) => Effect.Effect<void, unknown, R>) | undefined
  /**
   * Each text frame, in receive order, before `frames` subscribers get the
   * socket read it came in. A message heartbeat's pongs reach it only with
   * `deliverPongs`. A plain function runs with no effect per frame (the
   * fastest path); return an effect when the hook must wait.
   */
  readonly onText?: ((frame: Frame.Text) => Effect.Effect<void, unknown, R> | void) | undefined
  /** Each binary frame, as `onText`. */
  readonly onBinary?: ((frame: Frame.Binary) => Effect.Effect<void, unknown, R> | void) | undefined
  /** Each protocol ping from the server; the transport has already answered it with a pong. */
  readonly onPing?: ((frame: Frame.Ping) => Effect.Effect<void, unknown, R> | void) | undefined
  /** Each protocol pong (a heartbeat's or `ping`'s), after its round-trip time was recorded (`stats.lastRtt`). */
  readonly onPong?: ((frame: Frame.Pong) => Effect.Effect<void, unknown, R> | void) | undefined
  /** The session's close: the peer's code and reason, or 1006 when the socket ended without a close frame. */
  readonly onClose?: ((frame: Frame.Close) => Effect.Effect<void, unknown, R> | void) | undefined
}

/**
 * Counters of one connection. Text payloads are counted in UTF-16 code
 * units (bytes, for the ASCII JSON that market data is), so no message is
 * encoded twice.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectionStats {
  readonly framesIn: number
  readonly bytesIn: number
  readonly framesOut: number
  readonly bytesOut: number
  /** Frames lost by `sliding`/`dropping` subscribers. */
  readonly dropped: number
  /** Sessions opened so far. */
  readonly sessions: number
  /** Reconnects: sessions after the first. */
  readonly reconnects: number
  /** Dials that failed. */
  readonly failedDials: number
  /** Receive time of the latest frame (epoch ms), if any. */
  readonly lastFrameAt: number | undefined
  /**
   * Round-trip time of the latest answered ping (`ping`, or a heartbeat's,
   * protocol or message), in milliseconds with a fraction: measured on the
   * `Clock`'s monotonic nanoseconds, so a loopback RTT of 80 µs reads 0.08.
   * `undefined` until a ping is answered.
   */
  readonly lastRtt: number | undefined
  /** How long the current session has been open, in ms (0 when not open). */
  readonly uptime: number
}

/**
 * A connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectionShape {
  readonly name: string
  /**
   * The current state; `SubscriptionRef.changes(state)` streams every
   * transition. `Queued` shows only under a `WSManager`, while a dial waits
   * for its slot at the dial governor.
   */
  readonly state: SubscriptionRef.SubscriptionRef<ConnectionState>
  /**
   * Every inbound frame of every session, in order, from the moment the
   * stream starts. Ends when the connection closes. A socket read's frames
   * arrive as one array (a subscriber waiting while reads are small gets
   * each frame as it is read): read a flood with `Stream.runForEachArray`.
   */
  readonly frames: Stream.Stream<Frame.Frame>
  /**
   * Lifecycle events. The first subscriber of a connection made with `make`
   * or `layer` also gets the events that came before it subscribed (up to
   * 1,024; past that many, none), so subscribing right after `make` misses
   * nothing; a later subscriber gets them from the moment its stream starts.
   * A connection made by a `WSManager` keeps none for its own `events`:
   * read the manager's `events`, which keeps them for its first subscriber.
   * Ends after `Closed`.
   */
  readonly events: Stream.Stream<ConnectionEvent>
  /**
   * Sends on the open session. While not open: fails with `NotConnected`,
   * or, with a `sendBuffer`, waits in it and is sent after the next
   * `onOpen` (it fails with `SendFailed` when the buffer is full and with
   * `ConnectionStopped` if the connection closes first).
   */
  readonly send: (
    data: Frame.Outbound
  ) => Effect.Effect<void, Errors.SendFailed | Errors.NotConnected | Errors.ConnectionStopped>
  /**
   * An Effect, not a function (`yield* conn.ping`): each run sends a
   * protocol ping on the open session and waits for its pong, and gives the
   * round-trip time as a `Duration` of nanosecond precision, measured on
   * the `Clock`'s monotonic nanoseconds from the send to the read of the
   * pong (also kept as `stats.lastRtt`). Fails with `NotConnected` when no
   * session is open (or it ends first), with `HeartbeatTimeout` when no pong
   * comes within the heartbeat's `timeout` (`connectTimeout` with
   * `Heartbeat.none`).
   */
  readonly ping: Effect.Effect<Duration.Duration, Errors.NotConnected | Errors.SendFailed | Errors.HeartbeatTimeout>
  /**
   * The feed went bad: close this session now and reconnect at once, without
   * backoff (during a backoff wait, dial now; while dialing, nothing more is
   * needed). Fails with `ConnectionStopped` after `close`.
   */
  readonly restart: (reason?: string) => Effect.Effect<void, Errors.ConnectionStopped>
  /**
   * Graceful stop: close frame, wait at most `closeTimeout`, terminate; no
   * more reconnects; streams end. The code must be one an endpoint may send
   * (1000, or 3000–4999); any other is sent as 1000. The reason is cut to the
   * 123 bytes a close frame holds. Calling it again waits for the first.
   * During a dial, the handshake gets up to `closeTimeout` to finish (then
   * the session is closed with a close frame); a dial still waiting for its
   * slot (`Queued`) is given up at once.
   */
  readonly close: (code?: number, reason?: string) => Effect.Effect<void>
  /** An Effect, not a function (`yield* conn.stats`): the counters as they are when it runs. */
  readonly stats: Effect.Effect<ConnectionStats>
}

/**
 * The connection service, for `Connection.layer`.
 *
 * @category services
 * @since 0.1.0
 */
export class Connection extends Context.Service<Connection, ConnectionShape>()("@kharbranth/core/Connection") {}

/**
 * Makes a connection that lives as long as the scope: closing the scope
 * closes it gracefully. Fails at once with `InvalidConfig` for a bad config.
 *
 * @example
 * ```ts
 * import { Connection, Heartbeat, ReconnectPolicy } from "@kharbranth/core"
 * import { NodeTransport } from "@kharbranth/node"
 * import { Effect, Stream } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const conn = yield* Connection.make("okx", {
 *     url: "wss://ws.okx.com:8443/ws/v5/public",
 *     heartbeat: Heartbeat.message({ interval: "20 seconds", timeout: "5 seconds", message: "ping", isPong: (t) => t === "pong" }),
 *     reconnect: ReconnectPolicy.exponential({ base: "250 millis", max: "10 seconds" })
 *   }, {
 *     onOpen: ({ send }) => send(JSON.stringify({ op: "subscribe", args: [{ channel: "trades", instId: "BTC-USDT" }] }))
 *   })
 *   yield* conn.frames.pipe(Stream.take(10), Stream.runForEach((frame) => Effect.log(frame._tag)))
 * }).pipe(Effect.scoped, Effect.provide(NodeTransport.layer()))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <R = never>(
  name: string,
  config: Config.ConnectionConfig,
  hooks: ReadHooks<R> = {}
): Effect.Effect<ConnectionShape, Errors.InvalidConfig, Transport.Transport | Scope.Scope | R> =>
  Internal.make(name, config, hooks)

/**
 * A layer providing one `Connection`, closed gracefully when the layer is
 * released.
 *
 * @example
 * ```ts
 * import { Connection } from "@kharbranth/core"
 * import { NodeTransport } from "@kharbranth/node"
 * import { Effect, Layer, Stream } from "effect"
 *
 * const Feed = Connection.layer("btc", { url: "wss://stream.binance.com:9443/ws/btcusdt@trade" }).pipe(
 *   Layer.provide(NodeTransport.layer())
 * )
 * const program = Effect.gen(function*() {
 *   const conn = yield* Connection.Connection
 *   yield* conn.frames.pipe(Stream.take(5), Stream.runDrain)
 * }).pipe(Effect.provide(Feed))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <R = never>(
  name: string,
  config: Config.ConnectionConfig,
  hooks?: ReadHooks<R>
): Layer.Layer<Connection, Errors.InvalidConfig, Transport.Transport | R> =>
  Layer.effect(Connection, make(name, config, hooks))
