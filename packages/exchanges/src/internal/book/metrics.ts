/**
 * The metrics of a set of books, made only when core's `Metrics.enabled`
 * is true where the set starts: books by status (read at export), resyncs
 * by reason, and the time a book took to go live (from its first
 * subscription, or from what broke it). Labels: `feed` (the feed the books
 * follow), `venue`, and `status`, `reason` or `from`; never the symbol.
 * Updated from the set's `emit`, once per status change; removed when the
 * set's scope closes.
 */
import { Metrics } from "@kharbranth/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Scope from "effect/Scope"
import type { BookEvent, Status } from "./model.ts"

/** Books by status (`Syncing`, `Live`, `Resyncing`, `Failed`), read at export. */
export const books = Metric.gauge("kharbranth_books", {
  description: "Order books by status, per feed, read at export"
})
/** Resyncs started, by reason (`gap`, `checksum`, `crossed`, `reconnect`, `stale`, `restart`, `periodic`). */
export const resyncs = Metric.counter("kharbranth_book_resyncs_total", {
  description: "Order book resyncs started, by reason, per feed",
  incremental: true
})
/** Seconds from a book's subscription (`from` `initial`) or its trouble (`from` the resync reason) to `Live`. */
export const timeToLive = Metric.histogram("kharbranth_book_time_to_live_seconds", {
  description:
    "Seconds an order book took to go live, from its subscription (from=initial) or its resync (from=reason)",
  boundaries: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
})

const STATUSES: ReadonlyArray<Status["_tag"]> = ["Syncing", "Live", "Resyncing", "Failed"]
const noop = (): void => {}

/** One set's metrics. */
export class BookMetrics {
  private readonly registry: Metric.MetricRegistry
  private readonly labels: Record<string, string>
  private readonly registrations: Array<Metric.Registration> = []
  private readonly touched = new Map<
    string,
    { readonly metric: Metric.Metric<number, unknown>; readonly context: Context.Context<never> }
  >()
  private removed = false

  constructor(
    registry: Metric.MetricRegistry,
    labels: Record<string, string>,
    statuses: () => Iterable<{ readonly status: Status }>
  ) {
    this.registry = registry
    this.labels = labels
    for (const status of STATUSES) {
      this.registrations.push(Metric.registerUnsafe(books, this.contextOf({ status }), {
        get: () => {
          let n = 0
          for (const book of statuses()) if (book.status._tag === status) n++
          return { value: n }
        },
        update: noop,
        modify: noop
      }))
    }
  }

  private contextOf(labels: Record<string, string>): Context.Context<never> {
    return Context.add(Context.make(Metric.MetricRegistry, this.registry), Metric.CurrentMetricAttributes, {
      ...this.labels,
      ...labels
    })
  }

  private bump(metric: Metric.Metric<number, unknown>, labels: Record<string, string>, value: number): void {
    const key = `${metric.id}\u0000${Object.values(labels).join("\u0000")}`
    let series = this.touched.get(key)
    if (series === undefined) this.touched.set(key, series = { metric, context: this.contextOf(labels) })
    metric.updateUnsafe(value, series.context)
  }

  /** Counts a status change. */
  event(event: BookEvent): void {
    if (this.removed || event._tag !== "StatusChanged") return
    const { from, to } = event
    if (to._tag === "Resyncing") this.bump(resyncs, { reason: to.reason }, 1)
    else if (to._tag === "Live" && (from._tag === "Syncing" || from._tag === "Resyncing")) {
      this.bump(timeToLive, { from: from._tag === "Syncing" ? "initial" : from.reason }, (event.at - from.since) / 1000)
    }
  }

  remove(): void {
    if (this.removed) return
    this.removed = true
    for (const registration of this.registrations) registration.remove()
    for (const { context, metric } of this.touched.values()) Metric.removeUnsafe(metric, context)
  }
}

/** The set's metrics if `Metrics.enabled` is true in the calling fiber, removed when `scope` closes. */
export const attach = (
  labels: { readonly feed: string; readonly venue: string },
  statuses: () => Iterable<{ readonly status: Status }>,
  scope: Scope.Scope
): Effect.Effect<BookMetrics | undefined> =>
  Effect.withFiber((fiber) => {
    if (!fiber.getRef(Metrics.enabled)) return Effect.succeed(undefined)
    const metrics = new BookMetrics(fiber.getRef(Metric.MetricRegistry), labels, statuses)
    return Effect.as(Scope.addFinalizer(scope, Effect.sync(() => metrics.remove())), metrics)
  })
