/**
 * OrderBook's metrics on MemoryTransport and TestClock (OKX messages): books
 * by status, resyncs by reason, and the time to live from the subscription
 * and from a gap; labelled by feed and venue, never by symbol; gone when the
 * books close.
 */
import { assert, describe, it } from "@effect/vitest"
import { MemoryTransport, Metrics } from "@kharbranth/core"
import { advance } from "@kharbranth/test-utils/clock"
import { Context, Effect, Exit, Layer, Metric, Scope } from "effect"
import * as OrderBook from "../src/OrderBook.ts"
import { feedOptions, okxBook, server, settle } from "./utils/books.ts"

const { MemoryServer } = MemoryTransport

/** The series of `id` whose labels include `labels`: a counter's count, a gauge's value, a histogram's count and sum. */
const seriesOf = (registry: Metric.MetricRegistry, id: string, labels: Record<string, string>) =>
  Metric.snapshotUnsafe(Context.make(Metric.MetricRegistry, registry)).filter((s) =>
    s.id === id && Object.entries(labels).every(([k, v]) => s.attributes?.[k] === v)
  ).map((s) => ({ attributes: s.attributes, state: s.state as { count?: number; value?: number; sum?: number } }))

describe("OrderBook metrics", () => {
  it.effect("books by status, resyncs by reason, time to live from the subscription and from a gap", () => {
    const registry: Metric.MetricRegistry = new Map()
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const books = yield* OrderBook.make(OrderBook.okx(), { feed: feedOptions }).pipe(Scope.provide(scope))
      yield* books.book("BTC-USDT")
      yield* settle
      const okx = { venue: "okx" }
      assert.strictEqual(seriesOf(registry, "kharbranth_books", { ...okx, status: "Syncing" })[0]?.state.value, 1)
      const venue = okxBook("BTC-USDT")
      const p = (yield* (yield* MemoryServer).latest)!
      yield* advance(500)
      yield* p.send(venue.push("snapshot", 10, -1, [["100", "1"]], [["101", "1"]]))
      yield* settle
      assert.strictEqual(seriesOf(registry, "kharbranth_books", { ...okx, status: "Live" })[0]?.state.value, 1)
      const initial = seriesOf(registry, "kharbranth_book_time_to_live_seconds", { ...okx, from: "initial" })
      assert.strictEqual(initial[0]?.state.count, 1)
      assert.isAtLeast(initial[0]!.state.sum!, 0.5)
      // A gap: Resyncing(gap), then Live at the next snapshot 2 s later.
      yield* p.send(venue.push("update", 12, 11, [["100", "2"]], []))
      yield* settle
      assert.strictEqual(
        seriesOf(registry, "kharbranth_book_resyncs_total", { ...okx, reason: "gap" })[0]?.state.count,
        1
      )
      yield* advance(2000)
      yield* p.send(venue.push("snapshot", 20, -1, [["100", "5"]], [["101", "1"]]))
      yield* settle
      const afterGap = seriesOf(registry, "kharbranth_book_time_to_live_seconds", { ...okx, from: "gap" })
      assert.strictEqual(afterGap[0]?.state.count, 1)
      assert.isAtLeast(afterGap[0]!.state.sum!, 2)
      // No label carries the symbol.
      for (const s of Metric.snapshotUnsafe(Context.make(Metric.MetricRegistry, registry))) {
        assert.notInclude(Object.values(s.attributes ?? {}).join(","), "BTC")
      }
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(seriesOf(registry, "kharbranth_books", okx), [])
      assert.deepStrictEqual(seriesOf(registry, "kharbranth_book_resyncs_total", okx), [])
    }).pipe(
      Effect.provide(Layer.fresh(server())),
      Effect.provide(Layer.mergeAll(Layer.succeed(Metric.MetricRegistry, registry), Metrics.layer))
    )
  })
})
