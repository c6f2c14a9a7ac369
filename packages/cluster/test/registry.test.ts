/**
 * The registry, in memory and in PostgreSQL: topics placed on slices (free
 * room first, the lowest free slice number next, routes never mixed), held
 * topics not placed twice, two registries (two processes) placing topics of
 * one feed at once without a slice over its size or a topic twice, and
 * activation numbers that only grow. And the cluster-wide dial window:
 * two limiters on one database share one window.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, inject, it } from "@effect/vitest"
import { createDatabase, dropDatabase } from "@kharbranth/test-utils/postgres"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as DialLimiter from "../src/internal/dialLimiter.ts"
import { place } from "../src/internal/planner.ts"
import * as Registry from "../src/internal/registry.ts"

let databases = 0
const database = Effect.acquireRelease(
  Effect.promise(async () => {
    const name = `kh_cluster_registry_${databases++}`
    return { name, url: await createDatabase(inject("pgAdminUrl"), name) }
  }),
  ({ name }) => Effect.promise(() => dropDatabase(inject("pgAdminUrl"), name))
)
const pg = (url: string) => PgClient.layer({ url: Redacted.make(url) })

const feed: Registry.FeedRow = { name: "f", kind: "okx", url: undefined, urls: undefined, sliceSize: 2 }
const noRoute = () => undefined

describe("planner", () => {
  it("fills free room first, then the lowest free slice number; never mixes routes", () => {
    const placed = place(
      [{ slice: 0, route: undefined, count: 2 }, { slice: 2, route: undefined, count: 1 }],
      ["a", "b", "c", "x:d"],
      2,
      (t) => t.startsWith("x:") ? "x" : undefined
    )
    assert.deepStrictEqual([...placed.entries()], [[1, ["b", "c"]], [2, ["a"]], [3, ["x:d"]]])
  })
})

const registries: ReadonlyArray<
  readonly [string, Effect.Effect<ReadonlyArray<Layer.Layer<Registry.Registry>>, unknown, Scope.Scope>]
> = [
  [
    "memory",
    Effect.sync(() => {
      const one = Layer.fresh(Registry.layerMemory)
      return [one]
    })
  ],
  [
    "PostgreSQL",
    Effect.map(database, ({ url }) => [
      Layer.orDie(Registry.layerSql().pipe(Layer.provide(pg(url)))),
      Layer.orDie(Registry.layerSql().pipe(Layer.provide(pg(url))))
    ])
  ]
]

for (const [name, make] of registries) {
  describe(`Registry (${name})`, () => {
    it.live("places topics, skips held ones, releases them by slice, and numbers activations", () =>
      Effect.gen(function*() {
        const [layer] = yield* make
        yield* Effect.gen(function*() {
          const registry = yield* Registry.Registry
          yield* registry.upsertFeed(feed)
          const first = yield* registry.assign(feed, ["a", "b", "c", "a"], noRoute)
          assert.deepStrictEqual([...first.entries()], [[0, ["a", "b"]], [1, ["c"]]])
          const again = yield* registry.assign(feed, ["b", "d"], noRoute)
          assert.deepStrictEqual([...again.entries()], [[1, ["d"]]])
          assert.deepStrictEqual((yield* registry.slices("f")).map((s) => [s.slice, s.topics]), [[0, 2], [1, 2]])
          assert.deepStrictEqual([...(yield* registry.topicsOf("f", 1))].sort(), ["c", "d"])
          const located = yield* registry.locate("f", ["d", "a", "nope"])
          assert.deepStrictEqual([...located.entries()].sort(([a], [b]) => a - b), [[0, ["a"]], [1, ["d"]]])
          assert.deepStrictEqual(yield* registry.release("f", ["a", "zz"]), [0])
          const refill = yield* registry.assign(feed, ["e"], noRoute)
          assert.deepStrictEqual([...refill.entries()], [[0, ["e"]]])
          assert.deepStrictEqual(
            [yield* registry.activate("f", 0), yield* registry.activate("f", 0), yield* registry.activate("f", 1)],
            [1, 2, 1]
          )
          assert.deepStrictEqual(yield* registry.removeFeed("f"), [0, 1])
          assert.deepStrictEqual(yield* registry.slices("f"), [])
          // A feed added again keeps counting activations up: a consumer never takes new frames for stale ones.
          assert.strictEqual(yield* registry.activate("f", 0), 3)
        }).pipe(Effect.provide(layer!))
      }))

    if (name === "PostgreSQL") {
      it.live("two registries (two processes) placing one feed's topics at once: no topic twice, no slice over its size", () =>
        Effect.gen(function*() {
          const [a, b] = yield* make
          const topics = Array.from({ length: 40 }, (_, i) => `t${i}`)
          const assign = (layer: Layer.Layer<Registry.Registry>, list: ReadonlyArray<string>) =>
            Effect.flatMap(Registry.Registry, (r) => r.assign(feed, list, noRoute)).pipe(
              Effect.provide(layer)
            )
          yield* Effect.flatMap(Registry.Registry, (r) => r.upsertFeed(feed)).pipe(Effect.provide(a!))
          yield* Effect.all([
            assign(a!, topics.slice(0, 30)),
            assign(b!, topics.slice(10, 40)),
            assign(a!, topics.slice(5, 25)),
            assign(b!, topics.slice(20, 35))
          ], { concurrency: "unbounded" })
          const slices = yield* Effect.flatMap(Registry.Registry, (r) => r.slices("f")).pipe(
            Effect.provide(b!)
          )
          assert.strictEqual(slices.reduce((n, s) => n + s.topics, 0), 40)
          assert.isTrue(slices.every((s) => s.topics <= 2))
          assert.deepStrictEqual(slices.map((s) => s.slice), Array.from({ length: 20 }, (_, i) => i))
        }))
    }
  })
}

describe("DialLimiter.layerSql", () => {
  it.live(
    "two limiters on one database share one window: the 4th dial of 3 per second waits for the first to leave",
    () =>
      Effect.gen(function*() {
        const { url } = yield* database
        const limiter = () => Layer.orDie(DialLimiter.layerSql({ prefix: "kharbranth" }).pipe(Layer.provide(pg(url))))
        const take = (layer: Layer.Layer<DialLimiter.DialLimiter>) =>
          Effect.flatMap(
            DialLimiter.DialLimiter,
            (l) => l.take("okx@127.0.0.1", { count: 3, windowMs: 1_000 })
          )
            .pipe(Effect.provide(layer), Effect.timed, Effect.map(([d]) => Duration.toMillis(d)))
        const [a, b] = [limiter(), limiter()]
        const waits = yield* Effect.all([take(a), take(b), take(a), take(b), take(a), take(b)], {
          concurrency: "unbounded"
        })
        const sorted = [...waits].sort((x, y) => x - y)
        // Three go at once, three wait about a second (the window is the database's own clock).
        assert.isBelow(sorted[2]!, 700, `waits: ${waits.join(", ")}`)
        assert.isAtLeast(sorted[3]!, 800, `waits: ${waits.join(", ")}`)
      }),
    20_000
  )
})
