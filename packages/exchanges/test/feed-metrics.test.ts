/**
 * Feed's metrics and spans on MemoryTransport and TestClock: subscriptions
 * by state, requests and their budget waits, replays, rotations, stale
 * episodes, gaps and duplicates, labelled by feed, venue and topic class;
 * nothing when the metrics are off; every series gone when the feed closes.
 */
import { assert, describe, it } from "@effect/vitest"
import { MemoryTransport, Metrics } from "@kharbranth/core"
import { Context, Effect, Exit, Fiber, Layer, Metric, Option, Scope, Tracer } from "effect"
import * as Feed from "../src/Feed.ts"
import { topicClass } from "../src/internal/feed/metrics.ts"
import { advance, base, data, layer, sequence, settle, toy } from "./utils/toy.ts"

const { MemoryServer } = MemoryTransport

const on = (registry: Metric.MetricRegistry, enabled = true) =>
  Layer.mergeAll(Layer.succeed(Metric.MetricRegistry, registry), Layer.succeed(Metrics.enabled, enabled))

/** The value of the series with exactly these labels: a counter's count, a gauge's value, a histogram's count. */
const valueOf = (registry: Metric.MetricRegistry, id: string, labels: Record<string, string>) => {
  const found = Metric.snapshotUnsafe(Context.make(Metric.MetricRegistry, registry)).find((s) =>
    s.id === id && Object.keys(s.attributes ?? {}).length === Object.keys(labels).length &&
    Object.entries(labels).every(([k, v]) => s.attributes?.[k] === v)
  )
  if (found === undefined) return undefined
  const state = found.state as { readonly count?: number; readonly value?: number }
  return state.count ?? state.value
}

const feedIds = (registry: Metric.MetricRegistry) =>
  Metric.snapshotUnsafe(Context.make(Metric.MetricRegistry, registry)).map((s) => s.id).filter((id) =>
    id.startsWith("kharbranth_feed")
  )

const toyLabels = { feed: "toy", venue: "toy" }

describe("Feed metrics", () => {
  it("a topic's class is its channel, never its symbol", () => {
    assert.strictEqual(topicClass("btcusdt@trade"), "trade")
    assert.strictEqual(topicClass("btcusdt@depth@100ms"), "depth@100ms")
    assert.strictEqual(topicClass("books:BTC-USDT"), "books")
    assert.strictEqual(topicClass("s"), "other")
  })

  it.effect("off by default: a feed registers and updates nothing", () => {
    const registry: Metric.MetricRegistry = new Map()
    return Effect.gen(function*() {
      const feed = yield* Feed.make("toy", toy(), { ...base, sequence })
      const server = yield* MemoryServer
      yield* Effect.forkScoped(feed.subscribe("s"))
      yield* settle
      yield* (yield* server.latest)!.send(data("s", 1), data("s", 3))
      yield* settle
      assert.deepStrictEqual(feedIds(registry), [])
    }).pipe(Effect.provide(layer()), Effect.provide(on(registry, false)))
  })

  it.effect("subscriptions by state, requests, budget waits, replays, gaps and duplicates; gone when the feed closes", () => {
    const registry: Metric.MetricRegistry = new Map()
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const feed = yield* Feed.make("toy", toy({ topicsPerRequest: 1 }), { ...base, sequence }).pipe(
        Scope.provide(scope)
      )
      const server = yield* MemoryServer
      yield* Effect.forkScoped(Effect.exit(feed.subscribe(["s", "t", "bad-1"])))
      yield* settle
      assert.strictEqual(valueOf(registry, "kharbranth_feed_subscriptions", { ...toyLabels, state: "confirmed" }), 2)
      assert.strictEqual(valueOf(registry, "kharbranth_feed_subscriptions", { ...toyLabels, state: "failed" }), 1)
      assert.strictEqual(valueOf(registry, "kharbranth_feed_subscriptions", { ...toyLabels, state: "pending" }), 0)
      assert.strictEqual(valueOf(registry, "kharbranth_feed_requests_total", toyLabels), 3)
      assert.strictEqual(valueOf(registry, "kharbranth_feed_request_wait_seconds", toyLabels), 3)
      const peer = (yield* server.latest)!
      yield* peer.send(data("s", 1), data("s", 2), data("s", 2), data("s", 4))
      yield* settle
      assert.strictEqual(valueOf(registry, "kharbranth_feed_duplicates_total", toyLabels), 1)
      assert.strictEqual(
        valueOf(registry, "kharbranth_feed_gaps_total", { ...toyLabels, topic_class: "other", action: "restart" }),
        1
      )
      // The gap's restart opened a new session: its topics were replayed.
      yield* advance(1_000, 100)
      assert.strictEqual(valueOf(registry, "kharbranth_feed_replays_total", toyLabels), 1)
      assert.strictEqual(valueOf(registry, "kharbranth_feed_replay_seconds", toyLabels), 1)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(feedIds(registry), [])
    }).pipe(Effect.provide(layer()), Effect.provide(on(registry)))
  })

  it.effect("stale episodes by topic class and action", () => {
    const registry: Metric.MetricRegistry = new Map()
    return Effect.gen(function*() {
      const feed = yield* Feed.make("toy", toy(), { ...base, sequence, cadence: () => "2 seconds" })
      yield* Effect.forkScoped(feed.subscribe("books:BTC"))
      yield* settle
      yield* advance(3_000, 250)
      assert.strictEqual(
        valueOf(registry, "kharbranth_feed_stale_total", { ...toyLabels, topic_class: "books", action: "resubscribe" }),
        1
      )
    }).pipe(Effect.provide(layer()), Effect.provide(on(registry)))
  })

  it.effect("rotations by outcome, with a rotation span and a replay span, each a root", () => {
    const registry: Metric.MetricRegistry = new Map()
    const spans: Array<Tracer.Span> = []
    const tracer = Tracer.make({
      span: (options) => {
        const span = new Tracer.NativeSpan(options)
        spans.push(span)
        return span
      }
    })
    return Effect.gen(function*() {
      const feed = yield* Feed.make("toy", toy(), { ...base, sequence, rotationTimeout: "5 seconds" })
      const server = yield* MemoryServer
      yield* Effect.forkScoped(feed.subscribe("s"))
      yield* settle
      const old = (yield* server.latest)!
      yield* old.send(data("s", 1), '{"notice":"bye"}')
      yield* settle
      const fresh = (yield* server.latest)!
      yield* fresh.send(data("s", 1), data("s", 2))
      yield* settle
      yield* advance(200, 100)
      assert.strictEqual(
        valueOf(registry, "kharbranth_feed_rotations_total", { ...toyLabels, outcome: "overlapped" }),
        1
      )
      yield* server.setDefault(MemoryTransport.DialOutcome.refuse(503))
      const rotation = yield* Effect.forkScoped(feed.rotate())
      yield* advance(6_000, 250)
      yield* Fiber.join(rotation)
      assert.strictEqual(valueOf(registry, "kharbranth_feed_rotations_total", { ...toyLabels, outcome: "failed" }), 1)
      const rotations = spans.filter((s) => s.name === "kharbranth.feed.rotation")
      assert.deepStrictEqual(rotations.map((s) => s.attributes.get("kharbranth.outcome")), ["overlapped", "failed"])
      const replays = spans.filter((s) => s.name === "kharbranth.feed.replay")
      assert.isAtLeast(replays.length, 1)
      for (const span of [...rotations, ...replays]) {
        assert.isTrue(Option.isNone(span.parent))
        assert.strictEqual(span.status._tag, "Ended")
      }
    }).pipe(Effect.provide(layer()), Effect.provide(on(registry)), Effect.provide(Layer.succeed(Tracer.Tracer, tracer)))
  })
})
