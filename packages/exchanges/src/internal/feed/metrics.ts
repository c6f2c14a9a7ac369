/**
 * A feed's metrics and spans, made only when core's `Metrics.enabled` is
 * true where the feed is made (as a connection's are). Labels: `feed` (its
 * name), `venue`, and where an event names a topic its class (`topic_class`,
 * the channel: `trade` of `btcusdt@trade`, `books` of `books:BTC-USDT`),
 * never the symbol. Counters the feed keeps anyway and the subscriptions by
 * state are read at export; the rest is updated once per event, from the
 * feed's `emit`, and once per request sent (its wait for the budgets). The
 * series are removed when the feed's scope closes.
 *
 * Spans `kharbranth.feed.replay` (one per replay, made when it is reported,
 * from its start) and `kharbranth.feed.rotation` (from `RotationStarted` to
 * its end), each the root of its own trace.
 */
import { Metrics } from "@kharbranth/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as References from "effect/References"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type { FeedEvent } from "./model.ts"
import type { State } from "./registry.ts"

/** Subscriptions by state (`pending`, `confirmed`, `retrying`, `failed`), read at export. */
export const subscriptions = Metric.gauge("kharbranth_feed_subscriptions", {
  description: "Subscriptions by state, per feed, read at export"
})
/** Replays of a shard's topics on a new session. */
export const replays = Metric.counter("kharbranth_feed_replays_total", {
  description: "Replays of a shard's topics on a new session, per feed",
  incremental: true
})
/** How long replays took, in seconds. */
export const replaySeconds = Metric.histogram("kharbranth_feed_replay_seconds", {
  description: "Seconds a replay took, from the session's open to the last answer, per feed",
  boundaries: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
})
/** Rotations by outcome (`overlapped`, `forced`, `failed`). */
export const rotations = Metric.counter("kharbranth_feed_rotations_total", {
  description: "Rotations by outcome (overlapped, forced, failed), per feed",
  incremental: true
})
/** Staleness episodes by topic class and action (`resubscribe`, `restart`). */
export const stale = Metric.counter("kharbranth_feed_stale_total", {
  description: "Topics gone quiet past their cadence, by topic class and action, per feed",
  incremental: true
})
/** Sequence gaps by topic class and action. */
export const gaps = Metric.counter("kharbranth_feed_gaps_total", {
  description: "Sequence gaps by topic class and action (restart, resync, report, hold), per feed",
  incremental: true
})
/** Duplicate messages dropped (a replay or a rotation's overlap), read at export. */
export const duplicates = Metric.counter("kharbranth_feed_duplicates_total", {
  description: "Messages dropped as already delivered, per feed, read at export"
})
/** Requests sent (subscribe, unsubscribe), read at export. */
export const requests = Metric.counter("kharbranth_feed_requests_total", {
  description: "Subscription requests sent, per feed, read at export"
})
/** A private feed's logins accepted (`Authenticated`). */
export const logins = Metric.counter("kharbranth_feed_logins_total", {
  description: "Sessions of a private feed logged in, per feed",
  incremental: true
})
/** A private feed's logins refused, by kind (`credentials`, `clock`, `transient`) and action (`stop`, `retry`, `restart`). */
export const loginRefusals = Metric.counter("kharbranth_feed_login_refusals_total", {
  description: "Logins a venue refused, by kind and what the feed did (stop, retry, restart), per feed",
  incremental: true
})
/** How long each request waited for the request budgets, in seconds (0: it did not wait). */
export const requestWait = Metric.histogram("kharbranth_feed_request_wait_seconds", {
  description: "Seconds each subscription request waited for the venue's request budgets, per feed",
  boundaries: [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
})

/**
 * A topic's class: its channel, never its symbol. `channel:key` topics
 * (most venues) give the part before the colon, Binance's `symbol@stream`
 * the part after the `@`.
 */
export const topicClass = (topic: string): string => {
  const colon = topic.indexOf(":")
  if (colon >= 0) return topic.slice(0, colon)
  const at = topic.indexOf("@")
  return at >= 0 ? topic.slice(at + 1) : "other"
}

const STATES: ReadonlyArray<State> = ["pending", "confirmed", "retrying", "failed"]
const noop = (): void => {}
const NANOS_PER_MILLI = 1_000_000n
const nanos = (ms: number): bigint => BigInt(Math.round(ms)) * NANOS_PER_MILLI

/** What the metrics read of their feed. */
export interface Measured {
  readonly name: string
  readonly profile: { readonly venue: string }
  readonly registry: ReadonlyMap<string, { readonly state: State }>
  readonly counters: { readonly duplicates: number; readonly requests: number }
}

/** One feed's metrics and spans. */
export class FeedMetrics {
  private readonly registry: Metric.MetricRegistry
  private readonly tracer: Tracer.Tracer | undefined
  private readonly feed: Measured
  private readonly registrations: Array<Metric.Registration> = []
  private readonly touched = new Map<
    string,
    { readonly metric: Metric.Metric<number, unknown>; readonly context: Context.Context<never> }
  >()
  private readonly labels: Record<string, string>
  private readonly base: Context.Context<never>
  private readonly rotationSpans = new Map<number, Tracer.Span>()
  private removed = false

  constructor(feed: Measured, registry: Metric.MetricRegistry, tracer: Tracer.Tracer | undefined) {
    this.feed = feed
    this.registry = registry
    this.tracer = tracer
    this.labels = { feed: feed.name, venue: feed.profile.venue }
    this.base = this.contextOf(this.labels)
    for (const state of STATES) {
      this.registrations.push(Metric.registerUnsafe(subscriptions, this.contextOf({ ...this.labels, state }), {
        get: () => {
          let n = 0
          for (const entry of feed.registry.values()) if (entry.state === state) n++
          return { value: n }
        },
        update: noop,
        modify: noop
      }))
    }
    const pulled = (metric: Metric.Counter<number>, get: () => number) =>
      this.registrations.push(
        Metric.registerUnsafe(metric, this.base, {
          get: () => ({ count: get(), incremental: true }),
          update: noop,
          modify: noop
        })
      )
    pulled(duplicates, () => feed.counters.duplicates)
    pulled(requests, () => feed.counters.requests)
  }

  private contextOf(attributes: Record<string, string>): Context.Context<never> {
    return Context.add(Context.make(Metric.MetricRegistry, this.registry), Metric.CurrentMetricAttributes, attributes)
  }

  private bump(metric: Metric.Metric<number, unknown>, labels: Record<string, string> | undefined, value = 1): void {
    if (this.removed) return
    const key = labels === undefined ? metric.id : `${metric.id}\u0000${Object.values(labels).join("\u0000")}`
    let series = this.touched.get(key)
    if (series === undefined) {
      series = { metric, context: labels === undefined ? this.base : this.contextOf({ ...this.labels, ...labels }) }
      this.touched.set(key, series)
    }
    metric.updateUnsafe(value, series.context)
  }

  /** One request's wait for the budgets, in milliseconds. */
  requestWaited(ms: number): void {
    this.bump(requestWait, undefined, ms / 1000)
  }

  /** Counts `event` and moves the spans along. */
  event(event: FeedEvent): void {
    if (this.removed) return
    switch (event._tag) {
      case "Replayed": {
        this.bump(replays, undefined)
        this.bump(replaySeconds, undefined, event.took / 1000)
        const span = this.startSpan("kharbranth.feed.replay", event.at - event.took, {
          "kharbranth.feed": this.feed.name,
          "kharbranth.venue": this.feed.profile.venue,
          "kharbranth.shard": event.shard,
          "kharbranth.session": event.session,
          "kharbranth.requests": event.requests,
          "kharbranth.confirmed": event.confirmed,
          "kharbranth.failed": event.failed.length
        })
        span?.end(nanos(event.at), Exit.void)
        break
      }
      case "RotationStarted": {
        const span = this.startSpan("kharbranth.feed.rotation", event.at, {
          "kharbranth.feed": this.feed.name,
          "kharbranth.venue": this.feed.profile.venue,
          "kharbranth.shard": event.shard,
          "kharbranth.reason": event.reason
        })
        if (span !== undefined) this.rotationSpans.set(event.shard, span)
        break
      }
      case "Rotated":
        this.bump(rotations, { outcome: event.overlapped ? "overlapped" : "forced" })
        this.endRotation(event.shard, event.at, event.overlapped ? "overlapped" : "forced", undefined)
        break
      case "RotationFailed":
        this.bump(rotations, { outcome: "failed" })
        this.endRotation(event.shard, event.at, "failed", event.reason)
        break
      case "Stale":
        this.bump(stale, { topic_class: topicClass(event.topic), action: event.action })
        break
      case "GapDetected":
        this.bump(gaps, { topic_class: topicClass(event.stream), action: event.action })
        break
      case "Authenticated":
        this.bump(logins, undefined)
        break
      case "AuthRefused":
        this.bump(loginRefusals, { kind: event.kind, action: event.action })
        break
      default:
    }
  }

  /** Removes every series of this feed (and ends its open spans); later updates do nothing. */
  remove(at: number): void {
    if (this.removed) return
    this.removed = true
    for (const registration of this.registrations) registration.remove()
    for (const { context, metric } of this.touched.values()) Metric.removeUnsafe(metric, context)
    for (const shard of [...this.rotationSpans.keys()]) this.endRotation(shard, at, "closed", undefined)
  }

  private startSpan(name: string, at: number, attributes: Record<string, unknown>): Tracer.Span | undefined {
    if (this.tracer === undefined) return undefined
    const span = this.tracer.span({
      name,
      parent: Option.none(),
      annotations: Context.empty(),
      links: [],
      startTime: nanos(at),
      kind: "internal",
      root: true,
      sampled: true
    })
    for (const key in attributes) span.attribute(key, attributes[key])
    return span
  }

  private endRotation(shard: number, at: number, outcome: string, failure: string | undefined): void {
    const span = this.rotationSpans.get(shard)
    if (span === undefined) return
    this.rotationSpans.delete(shard)
    span.attribute("kharbranth.outcome", outcome)
    span.end(nanos(at), failure === undefined ? Exit.void : Exit.fail(failure))
  }
}

/**
 * The feed's metrics if `Metrics.enabled` is true in the calling fiber,
 * removed when `scope` closes (add it before the feed's own finalizer, so
 * that they go after its last event).
 */
export const attach = (
  feed: Measured,
  scope: Scope.Scope,
  now: () => number
): Effect.Effect<FeedMetrics | undefined> =>
  Effect.withFiber((fiber) => {
    if (!fiber.getRef(Metrics.enabled)) return Effect.succeed(undefined)
    const tracer = fiber.getRef(References.TracerEnabled) ? fiber.getRef(Tracer.Tracer) : undefined
    const metrics = new FeedMetrics(feed, fiber.getRef(Metric.MetricRegistry), tracer)
    return Effect.as(Scope.addFinalizer(scope, Effect.sync(() => metrics.remove(now()))), metrics)
  })
