/**
 * The metrics of connections and managers, as Effect `Metric`s named for
 * Prometheus (`kharbranth_…`, counters ending in `_total`, times in
 * seconds), and the switch that turns them on. Off by default, and free
 * then: nothing is registered and nothing is updated. With `Metrics.layer`
 * (or `Metrics.enabled` set to `true`) each connection made from then on
 * registers its series in the context's `Metric.MetricRegistry`, labelled
 * `connection` with its name, and removes them when its scope closes.
 *
 * The counters a connection already keeps for `stats` (frames, bytes,
 * drops, sessions, reconnects, uptime, last RTT) are read when the metrics
 * are exported, not updated per frame: the hot path pays nothing for them.
 * The others are updated once per event (a dial's outcome, a pong's round
 * trip, a missed heartbeat, a failed send). Labels are bounded: connection
 * names, states, outcomes and error tags, never a URL or a payload.
 *
 * The same switch turns on the spans `kharbranth.dial` (one per dial:
 * connection, attempt, redacted URL, outcome, and the phases the transport
 * sees: DNS, TCP, TLS, upgrade) and `kharbranth.session` (one per session,
 * from open to end, with its end reason). Each is the root of
 * a trace of its own, a session's span linked to its dial's: a connection
 * that lives for days keeps no span open for days, and no span of the
 * program becomes the parent of a connection's whole life.
 *
 * `@kharbranth/node/Observability` exports all of it (Prometheus or OTLP)
 * with one layer.
 *
 * **Gotchas**: a series is named by its connection's name, so names must be
 * unique within a registry (one process, unless you provide registries of
 * your own): two live connections named alike share their series. A scrape
 * reads and formats every series, about ten per connection: at 1,000
 * connections that is 15–20 ms of the event loop (measured: BENCHMARKS.md),
 * so scrape every 15 s or more rather than every second.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"

/**
 * Whether connections made in this context have metrics and spans. `false`
 * by default: nothing is registered or updated. A connection reads it once,
 * when it is made.
 *
 * @category references
 * @since 0.1.0
 */
export const enabled: Context.Reference<boolean> = Context.Reference<boolean>("@kharbranth/core/Metrics/enabled", {
  defaultValue: () => false
})

/**
 * Turns the metrics and spans on for everything built with this layer.
 *
 * @example
 * ```ts
 * import { Connection, Heartbeat, MemoryTransport, Metrics } from "@kharbranth/core"
 * import { Effect, Layer, Metric } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const server = yield* MemoryTransport.MemoryServer
 *   yield* Connection.make("btc", { url: "wss://example.test/ws", heartbeat: Heartbeat.none })
 *   yield* server.accepted
 *   const opened = yield* Metric.value(
 *     Metrics.dials.pipe(Metric.withAttributes({ connection: "btc", outcome: "opened", error: "none" }))
 *   )
 *   console.log(opened.count) // 1
 * })
 *
 * Effect.runPromise(
 *   program.pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryTransport.layer(), Metrics.layer)))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<never> = Layer.succeed(enabled, true)

// ---- connections -------------------------------------------------------

/**
 * Connections by state (`Idle`, `Queued`, `Connecting`, `Open`,
 * `Reconnecting`, `Closed`), over every connection with metrics in the
 * registry, standalone or under a `WSManager`. Read at export. Label: `state`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const connections: Metric.Gauge<number> = Metric.gauge("kharbranth_connections", {
  description: "Connections by state (label state), read at export"
})

/**
 * Frames read, all kinds. Read at export from the connection's counters. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const framesIn: Metric.Counter<number> = Metric.counter("kharbranth_frames_in_total", {
  description: "Frames read (every kind), per connection"
})

/**
 * Payload bytes read. Read at export. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const bytesIn: Metric.Counter<number> = Metric.counter("kharbranth_bytes_in_total", {
  description: "Payload bytes read, per connection"
})

/**
 * Frames sent. Read at export. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const framesOut: Metric.Counter<number> = Metric.counter("kharbranth_frames_out_total", {
  description: "Frames sent, per connection"
})

/**
 * Payload bytes sent. Read at export. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const bytesOut: Metric.Counter<number> = Metric.counter("kharbranth_bytes_out_total", {
  description: "Payload bytes sent, per connection"
})

/**
 * Frames dropped by a `sliding` or `dropping` inbound buffer. Read at export;
 * only connections with such a buffer have the series (`suspend` never
 * drops). Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const framesDropped: Metric.Counter<number> = Metric.counter("kharbranth_frames_dropped_total", {
  description: "Frames dropped by a sliding or dropping buffer, per connection"
})

/**
 * Sessions opened. Read at export. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const sessions: Metric.Counter<number> = Metric.counter("kharbranth_sessions_total", {
  description: "Sessions opened, per connection"
})

/**
 * Reconnects: sessions opened after the first. Read at export. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const reconnects: Metric.Counter<number> = Metric.counter("kharbranth_reconnects_total", {
  description: "Sessions opened after the first, per connection"
})

/**
 * How long the open session has been up, in seconds; 0 when none is open. Read at export. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const sessionUptime: Metric.Gauge<number> = Metric.gauge("kharbranth_session_uptime_seconds", {
  description: "Seconds the open session has been up (0 when none is open), per connection"
})

/**
 * The last heartbeat round trip, in seconds. Read at export. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const lastRtt: Metric.Gauge<number> = Metric.gauge("kharbranth_heartbeat_rtt_last_seconds", {
  description: "The last heartbeat round trip in seconds, per connection"
})

/**
 * Heartbeat round trips, in seconds, one observation per pong. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const rtt: Metric.Histogram<number> = Metric.histogram("kharbranth_heartbeat_rtt_seconds", {
  description: "Heartbeat round trips in seconds, per connection",
  boundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
})

/**
 * Dials by outcome: `outcome` is `opened` (with `error` `none`) or `failed`
 * (with `error` the failure's tag: `ConnectFailed`, `ConnectTimeout`).
 * Labels: `connection`, `outcome`, `error`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const dials: Metric.Counter<number> = Metric.counter("kharbranth_dials_total", {
  description: "Dials by outcome (opened, failed) and error tag, per connection",
  incremental: true
})

/**
 * Sessions that ended unasked, by the error's tag (`Closed`,
 * `HeartbeatTimeout`, `IdleTimeout`, …). Labels: `connection`, `error`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const disconnects: Metric.Counter<number> = Metric.counter("kharbranth_disconnects_total", {
  description: "Sessions ended unasked, by error tag, per connection",
  incremental: true
})

/**
 * Heartbeats that got no pong in time. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const heartbeatMisses: Metric.Counter<number> = Metric.counter("kharbranth_heartbeat_misses_total", {
  description: "Heartbeats with no pong in time, per connection",
  incremental: true
})

/**
 * Sends that failed. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const sendFailures: Metric.Counter<number> = Metric.counter("kharbranth_send_failures_total", {
  description: "Failed sends, per connection",
  incremental: true
})

/**
 * Hooks that threw or failed. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const hookFailures: Metric.Counter<number> = Metric.counter("kharbranth_hook_failures_total", {
  description: "Hooks that threw or failed, per connection",
  incremental: true
})

/**
 * Restarts asked for (`restart`), by the caller or a `Feed`. Label: `connection`.
 *
 * @category metrics
 * @since 0.1.0
 */
export const restarts: Metric.Counter<number> = Metric.counter("kharbranth_restarts_total", {
  description: "Restarts asked for on an open session, per connection",
  incremental: true
})

// ---- the dial governor ---------------------------------------------------

/**
 * Dials waiting for a slot at a `WSManager`'s dial governor (connections in
 * state `Queued`), over the registry. Read at export. No labels.
 *
 * @category metrics
 * @since 0.1.0
 */
export const governorQueue: Metric.Gauge<number> = Metric.gauge("kharbranth_governor_queue_length", {
  description: "Dials waiting for a slot at a dial governor, read at export"
})

/**
 * How long dials waited for their slot at the dial governor, in seconds
 * (from `Queued` to `Connecting`; dials that did not wait are not
 * observed). No labels.
 *
 * @category metrics
 * @since 0.1.0
 */
export const governorWait: Metric.Histogram<number> = Metric.histogram("kharbranth_governor_wait_seconds", {
  description: "Seconds dials waited for a slot at a dial governor",
  boundaries: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
})
