/**
 * A connection's metrics and spans (see `Metrics.ts` for what they are),
 * made only when `Metrics.enabled` is true where the connection is made.
 * The counters the connection keeps anyway are registered as series read at
 * export (`Metric.registerUnsafe`); the rest is updated from `event`, which
 * the connection's `emit` calls once per event, and from `rtt`, once per
 * pong. Nothing here runs per frame. The series are removed when the
 * connection's scope closes.
 *
 * Spans: `kharbranth.dial` from `Connecting` to `Opened` or `DialFailed`,
 * `kharbranth.session` from `Opened` to the session's end; each a root span
 * (its own trace), the session's linked to its dial's, so that no span
 * stays open as the parent of a connection's whole life.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Tracer from "effect/Tracer"
import type { ConnectionStats } from "../Connection.ts"
import type { ConnectionEvent } from "../ConnectionEvent.ts"
import type { ConnectionState } from "../ConnectionState.ts"
import * as Metrics from "../Metrics.ts"
import type * as Transport from "../Transport.ts"
import { CurrentState } from "./currentState.ts"
import type * as Lifecycle from "./lifecycle.ts"

/** What the metrics read of their connection: its name, its state and its counters. */
export interface Measured {
  readonly name: string
  [CurrentState](): ConnectionState
  readonly cfg: { readonly strategy: string }
  readonly phase: Lifecycle.Phase
  statsNow(): ConnectionStats
}

/** What a fiber gives a connection's metrics when it is made: the switch, the registry, the tracer. */
export interface Setup {
  readonly registry: Metric.MetricRegistry
  readonly tracer: Tracer.Tracer | undefined
}

const STATES: ReadonlyArray<ConnectionState["_tag"]> = [
  "Idle",
  "Queued",
  "Connecting",
  "Open",
  "Reconnecting",
  "Closed"
]

/**
 * The connections with metrics in one registry, and the series that count
 * them by state: registered with the first, removed with the last.
 */
class Collector {
  readonly members = new Set<Measured>()
  registrations: Array<Metric.Registration> = []
  readonly registry: Metric.MetricRegistry
  constructor(registry: Metric.MetricRegistry) {
    this.registry = registry
  }

  count(state: ConnectionState["_tag"]): number {
    let n = 0
    for (const member of this.members) if (member[CurrentState]()._tag === state) n++
    return n
  }

  add(member: Measured): void {
    if (this.members.size === 0) {
      for (const state of STATES) {
        const context = contextOf(this.registry, { state })
        this.registrations.push(Metric.registerUnsafe(Metrics.connections, context, gauge(() => this.count(state))))
      }
      this.registrations.push(
        Metric.registerUnsafe(
          Metrics.governorQueue,
          contextOf(this.registry, {}),
          gauge(() => this.count("Queued"))
        )
      )
    }
    this.members.add(member)
  }

  delete(member: Measured): void {
    if (!this.members.delete(member) || this.members.size > 0) return
    for (const registration of this.registrations) registration.remove()
    this.registrations = []
  }
}

const collectors = new WeakMap<Metric.MetricRegistry, Collector>()

const collectorOf = (registry: Metric.MetricRegistry): Collector => {
  let collector = collectors.get(registry)
  if (collector === undefined) collectors.set(registry, collector = new Collector(registry))
  return collector
}

const contextOf = (registry: Metric.MetricRegistry, attributes: Metric.Metric.AttributeSet): Context.Context<never> =>
  Context.add(Context.make(Metric.MetricRegistry, registry), Metric.CurrentMetricAttributes, attributes)

const noop = (): void => {}

const gauge = (get: () => number): Metric.Metric.Hooks<number, Metric.GaugeState<number>> => ({
  get: () => ({ value: get() }),
  update: noop,
  modify: noop
})

const counter = (get: () => number): Metric.Metric.Hooks<number, Metric.CounterState<number>> => ({
  get: () => ({ count: get(), incremental: true }),
  update: noop,
  modify: noop
})

const NANOS_PER_MICRO = 1_000n
/** Epoch ms (fractional) to the nanoseconds a span takes, to the microsecond. */
const nanos = (ms: number): bigint => BigInt(Math.round(ms * 1000)) * NANOS_PER_MICRO

/** One connection's metrics and spans. */
export class ConnectionMetrics {
  private readonly registry: Metric.MetricRegistry
  private readonly tracer: Tracer.Tracer | undefined
  private readonly connection: Measured
  private readonly registrations: Array<Metric.Registration> = []
  /** The event-driven series this connection touched, by their labels: removed with it. */
  private readonly touched = new Map<
    string,
    { readonly metric: Metric.Metric<number, unknown>; readonly context: Context.Context<never> }
  >()
  private readonly base: Context.Context<never>
  private removed = false
  /** When the dial waiting at the governor was queued (the event's `at`). */
  private queuedAt: number | undefined = undefined
  private dialSpan: Tracer.Span | undefined = undefined
  private sessionSpan: Tracer.Span | undefined = undefined
  /** Why the open session is ending, once known before its end is reported (a restart). */
  private sessionEnd: string | undefined = undefined

  constructor(connection: Measured, setup: Setup) {
    this.connection = connection
    this.registry = setup.registry
    this.tracer = setup.tracer
    this.base = contextOf(this.registry, { connection: connection.name })
    const pulled = (metric: Metric.Counter<number>, get: () => number) =>
      this.registrations.push(Metric.registerUnsafe(metric, this.base, counter(get)))
    const stats = () => connection.statsNow()
    pulled(Metrics.framesIn, () => stats().framesIn)
    pulled(Metrics.bytesIn, () => stats().bytesIn)
    pulled(Metrics.framesOut, () => stats().framesOut)
    pulled(Metrics.bytesOut, () => stats().bytesOut)
    // A `suspend` buffer never drops: no series that would always read 0 (each costs at every scrape).
    if (connection.cfg.strategy !== "suspend") pulled(Metrics.framesDropped, () => stats().dropped)
    pulled(Metrics.sessions, () => stats().sessions)
    pulled(Metrics.reconnects, () => stats().reconnects)
    this.registrations.push(
      Metric.registerUnsafe(Metrics.sessionUptime, this.base, gauge(() => stats().uptime / 1000)),
      Metric.registerUnsafe(Metrics.lastRtt, this.base, gauge(() => (stats().lastRtt ?? 0) / 1000))
    )
    collectorOf(this.registry).add(connection)
  }

  /** Adds `value` to `metric`'s series of this connection with `labels` (and remembers the series). */
  private bump(metric: Metric.Metric<number, unknown>, labels: Record<string, string> | undefined, value = 1): void {
    if (this.removed) return
    let context = this.base
    if (labels !== undefined) {
      const key = `${metric.id}\u0000${Object.values(labels).join("\u0000")}`
      let series = this.touched.get(key)
      if (series === undefined) {
        series = { metric, context: contextOf(this.registry, { connection: this.connection.name, ...labels }) }
        this.touched.set(key, series)
      }
      context = series.context
    } else if (!this.touched.has(metric.id)) {
      this.touched.set(metric.id, { metric, context })
    }
    metric.updateUnsafe(value, context)
  }

  /** One pong's round trip, in milliseconds. */
  rtt(ms: number): void {
    this.bump(Metrics.rtt, undefined, ms / 1000)
  }

  /** Counts `event` and moves the spans along. */
  event(event: ConnectionEvent): void {
    if (this.removed) return
    switch (event._tag) {
      case "Queued":
        this.queuedAt = event.at
        this.endSession(event.at, undefined)
        break
      case "Connecting":
        if (this.queuedAt !== undefined) {
          Metrics.governorWait.updateUnsafe((event.at - this.queuedAt) / 1000, contextOf(this.registry, {}))
          this.queuedAt = undefined
        }
        this.endSession(event.at, undefined)
        this.dialSpan = this.startSpan("kharbranth.dial", event.at, {
          "kharbranth.connection": this.connection.name,
          "kharbranth.attempt": event.attempt,
          "url.full": event.url
        }, undefined)
        break
      case "Opened": {
        this.bump(Metrics.dials, { outcome: "opened", error: "none" })
        const dial = this.dialSpan
        const phase = this.connection.phase
        if (dial !== undefined && phase._tag === "Open" && phase.socket.timings !== undefined) {
          addTimings(dial, phase.socket.timings)
        }
        this.endDial(event.at, "opened", undefined)
        this.sessionEnd = undefined
        this.sessionSpan = this.startSpan("kharbranth.session", event.at, {
          "kharbranth.connection": this.connection.name,
          "kharbranth.session": event.session,
          "kharbranth.attempt": event.attempt
        }, dial)
        break
      }
      case "DialFailed":
        this.bump(Metrics.dials, { outcome: "failed", error: event.error._tag })
        this.endDial(event.at, "failed", event.error)
        break
      case "Disconnected":
        this.bump(Metrics.disconnects, { error: event.error._tag })
        this.endSession(event.at, event.error._tag, event.error)
        break
      case "HeartbeatMissed":
        this.bump(Metrics.heartbeatMisses, undefined)
        break
      case "SendFailed":
        this.bump(Metrics.sendFailures, undefined)
        break
      case "HookFailed":
        this.bump(Metrics.hookFailures, undefined)
        break
      case "RestartRequested":
        this.bump(Metrics.restarts, undefined)
        this.sessionEnd = `restart: ${event.reason}`
        break
      case "Reconnecting":
        this.endSession(event.at, undefined)
        break
      case "Closed":
        this.endDial(event.at, "closed", event.error)
        this.endSession(event.at, `closed: ${event.reason}`, event.error)
        break
    }
  }

  /** Removes every series of this connection (and ends its spans); later updates do nothing. */
  remove(): void {
    if (this.removed) return
    this.removed = true
    for (const registration of this.registrations) registration.remove()
    for (const { context, metric } of this.touched.values()) Metric.removeUnsafe(metric, context)
    collectorOf(this.registry).delete(this.connection)
  }

  private startSpan(
    name: string,
    at: number,
    attributes: Record<string, unknown>,
    link: Tracer.Span | undefined
  ): Tracer.Span | undefined {
    const tracer = this.tracer
    if (tracer === undefined) return undefined
    const span = tracer.span({
      name,
      parent: Option.none(),
      annotations: Context.empty(),
      links: link === undefined ? [] : [{ span: link, attributes: {} }],
      startTime: nanos(at),
      kind: "client",
      root: true,
      sampled: true
    })
    for (const key in attributes) span.attribute(key, attributes[key])
    return span
  }

  private endDial(at: number, outcome: string, error: { readonly _tag: string } | undefined): void {
    const span = this.dialSpan
    if (span === undefined) return
    this.dialSpan = undefined
    span.attribute("kharbranth.outcome", outcome)
    if (error !== undefined) span.attribute("error.type", error._tag)
    span.end(nanos(at), error === undefined ? Exit.void : Exit.fail(error))
  }

  /** Ends the session's span, if one is open: with `reason`, else the reason noted before (a restart). */
  private endSession(at: number, reason: string | undefined, error?: { readonly _tag: string }): void {
    const span = this.sessionSpan
    if (span === undefined) return
    this.sessionSpan = undefined
    span.attribute("kharbranth.end_reason", reason ?? this.sessionEnd ?? "ended")
    this.sessionEnd = undefined
    span.end(nanos(at), error === undefined ? Exit.void : Exit.fail(error))
  }
}

/** The dial's phases as span events (`dns`, `tcp`, `tls`, `upgrade`) and their durations in ms as attributes. */
const addTimings = (span: Tracer.Span, timings: Transport.DialTimings): void => {
  let last = timings.start
  const phase = (name: string, at: number | undefined): void => {
    if (at === undefined) return
    span.event(name, nanos(at))
    span.attribute(`kharbranth.dial.${name}_ms`, at - last)
    last = at
  }
  phase("dns", timings.lookup)
  phase("tcp", timings.connect)
  phase("tls", timings.secureConnect)
  phase("upgrade", timings.upgrade)
}

/**
 * The metrics of a connection about to be made in a fiber whose context is
 * `get`: `undefined` unless `Metrics.enabled` is true there.
 */
export const setupOf = (get: <A>(reference: Context.Reference<A>) => A): Setup | undefined => {
  if (!get(Metrics.enabled)) return undefined
  return {
    registry: get(Metric.MetricRegistry),
    tracer: get(References.TracerEnabled) ? get(Tracer.Tracer) : undefined
  }
}

/**
 * Gives `connection` its metrics if `Metrics.enabled` is true in the
 * calling fiber (reading the registry and tracer there). They are removed
 * by the connection's `shutdown` (internal/close.ts), after its last event.
 */
export const attach = (
  connection: Measured & { metrics: ConnectionMetrics | undefined }
): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const setup = setupOf((reference) => fiber.getRef(reference))
    if (setup !== undefined) connection.metrics = new ConnectionMetrics(connection, setup)
    return Effect.void
  })
