/**
 * The cluster's behaviour, whatever runs it: topics placed on slices of
 * `sliceSize` (one venue connection each), every slice's status, frames
 * merged over slices, a slice stopped behind the registry's back started
 * again by the reconciler, unsubscribe and removal stopping slices, and
 * typed errors for bad input. `local.test.ts` runs it on `layerLocal` (no
 * database), `pg-behaviour.test.ts` on `layerPg` with a runner in the test
 * process over PostgreSQL.
 */
import { assert, describe, it } from "@effect/vitest"
import { Okx } from "@kharbranth/exchanges"
import { Simulator } from "@kharbranth/simulator"
import type * as Sharding from "effect/cluster/Sharding"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as FeedCluster from "../../src/FeedCluster.ts"
import * as FeedSlice from "../../src/FeedSlice.ts"

const topics = ["BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "ADA-USDT"].map((s) => Okx.topic("trades", s))

/**
 * The simulator's open OKX connections once closes have landed: a slice's
 * close returns when its side is done, and the simulator drops the
 * connection when it reads the close (polled for up to 2 s).
 */
const okxConnectionsAfterClose = (sim: Simulator.Simulator) =>
  Effect.gen(function*() {
    let open = 0
    for (let i = 0; i < 40; i++) {
      open = (yield* sim.connections).filter((c) => c.venue === "okx").length
      if (open === 0) return 0
      yield* Effect.sleep("50 millis")
    }
    return open
  })

export const behaviourSuite = (
  name: string,
  layer: () => Effect.Effect<Layer.Layer<FeedCluster.FeedCluster | Sharding.Sharding, unknown>, unknown, Scope.Scope>
) =>
  describe(name, () => {
    const withCluster = <A, E>(
      body: (
        cluster: FeedCluster.Shape,
        sim: Simulator.Simulator
      ) => Effect.Effect<A, E, Sharding.Sharding | Scope.Scope>
    ) =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make({ rate: 20 })
        const built = yield* layer()
        return yield* Effect.gen(function*() {
          const cluster = yield* FeedCluster.FeedCluster
          return yield* body(cluster, sim)
        }).pipe(Effect.provide(built))
      }).pipe(Effect.scoped)

    it.live("places topics on slices of sliceSize, confirms them, and merges their frames", () =>
      withCluster((cluster, sim) =>
        Effect.gen(function*() {
          yield* cluster.addFeed({ name: "okx-trades", kind: "okx", url: sim.endpoints.okx, sliceSize: 2 })
          const synced = yield* cluster.subscribe("okx-trades", topics)
          assert.deepStrictEqual(synced.map((s) => s.slice), [0, 1, 2])
          const status = yield* cluster.status("okx-trades")
          assert.deepStrictEqual(status.map((s) => s.topics.length), [2, 2, 1])
          for (const s of status) {
            assert.strictEqual(s.state, "live")
            assert.strictEqual(s.activation, 1)
            assert.deepStrictEqual(s.topics.map((t) => t.state), s.topics.map(() => "confirmed"))
          }
          // One venue connection per slice.
          const items = yield* cluster.frames("okx-trades").pipe(
            Stream.filter((item) => item._tag === "Frame"),
            Stream.take(60),
            Stream.runCollect
          )
          const slices = new Set(items.map((i) => i.slice))
          assert.deepStrictEqual([...slices].sort(), [0, 1, 2])
          assert.strictEqual((yield* sim.connections).filter((c) => c.venue === "okx").length, 3)
          // A resubscribe goes to the topic's own slice (its connection gets unsubscribe + subscribe) and comes back confirmed.
          const holder = () =>
            Effect.map(
              sim.connections,
              (all) => all.find((c) => c.subscriptions.includes(topics[2]!))!.messagesReceived
            )
          const before = yield* holder()
          const resubscribed = yield* cluster.resubscribe("okx-trades", [topics[2]!, "trades:ABSENT-USDT"])
          assert.deepStrictEqual(resubscribed.map((s) => s.slice), [1])
          assert.deepStrictEqual(resubscribed[0]!.topics.map((t) => t.state), ["confirmed", "confirmed"])
          assert.isAtLeast((yield* holder()) - before, 2)
        })
      ))

    it.live(
      "a slice stopped behind the registry's back is started again by the reconciler; its consumer's stream resumes",
      () =>
        withCluster((cluster, sim) =>
          Effect.gen(function*() {
            yield* cluster.addFeed({ name: "okx", kind: "okx", url: sim.endpoints.okx, sliceSize: 5 })
            yield* cluster.subscribe("okx", topics.slice(0, 2))
            const seen: Array<FeedCluster.ClusterItem> = []
            const consumer = yield* cluster.frames("okx").pipe(
              Stream.runForEach((item) => Effect.sync(() => void seen.push(item))),
              Effect.forkScoped
            )
            yield* Effect.sleep("1 second")
            const clientFor = yield* FeedSlice.FeedSlice.client
            const stopped = yield* clientFor(FeedSlice.entityId("okx", 0)).Stop()
            assert.strictEqual(stopped.state, "idle")
            assert.strictEqual(yield* okxConnectionsAfterClose(sim), 0)
            const before = seen.length
            // The registry still holds its topics: the reconciler (every second here) starts it again.
            yield* Effect.sleep("3 seconds")
            const after = yield* cluster.status("okx")
            assert.strictEqual(after[0]!.state, "live")
            assert.deepStrictEqual(after[0]!.topics.map((t) => t.state), ["confirmed", "confirmed"])
            assert.isAbove(seen.length, before, "frames flow to the same consumer again")
            yield* Fiber.interrupt(consumer)
          })
        ),
      20_000
    )

    it.live("unsubscribing a slice's last topic stops it; removing the feed stops every slice", () =>
      withCluster((cluster, sim) =>
        Effect.gen(function*() {
          yield* cluster.addFeed({ name: "okx", kind: "okx", url: sim.endpoints.okx, sliceSize: 2 })
          yield* cluster.subscribe("okx", topics.slice(0, 3))
          const after = yield* cluster.unsubscribe("okx", [topics[2]!])
          assert.deepStrictEqual(after.map((s) => [s.slice, s.state]), [[1, "idle"]])
          assert.deepStrictEqual((yield* cluster.status("okx")).map((s) => s.slice), [0])
          yield* cluster.removeFeed("okx")
          assert.strictEqual(yield* okxConnectionsAfterClose(sim), 0)
          const missing = yield* Effect.flip(cluster.status("okx"))
          assert.strictEqual(missing._tag, "UnknownFeed")
        })
      ))

    it.live("refuses a kind no definition has, and a bad name, with what was wrong", () =>
      withCluster((cluster) =>
        Effect.gen(function*() {
          const kind = yield* Effect.flip(cluster.addFeed({ name: "x", kind: "nope" }))
          assert.strictEqual(kind._tag, "InvalidFeed")
          assert.include(kind.message, `no definition "nope"`)
          const name = yield* Effect.flip(cluster.addFeed({ name: "a b", kind: "okx" }))
          assert.include(name.message, "name")
          const unknown = yield* Effect.flip(cluster.subscribe("absent", topics))
          assert.strictEqual(unknown._tag, "UnknownFeed")
        })
      ))
  })
