/**
 * Feed on MemoryTransport and TestClock, the limits a venue counts: the
 * shared budgets of a venue and host (`VenueBudgets`: windows paced, caps
 * refused), routes to the profile's endpoints, and the bounded events hub.
 * Feeds of one test share the default budgets because they share the test's
 * clock; each test has a TestClock (and so budgets) of its own.
 */
import { assert, describe, it } from "@effect/vitest"
import { MemoryTransport } from "@kharbranth/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import * as Feed from "../src/Feed.ts"
import type * as Venue from "../src/Venue.ts"
import * as VenueBudgets from "../src/VenueBudgets.ts"
import { advance, base, collect, data, layer, reply, requests, settle, toy } from "./utils/toy.ts"

const { MemoryServer } = MemoryTransport

/** Runs `effect` in a fiber, lets everything settle, and returns how it ended (it must have ended). */
const settled = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkScoped(effect)
    yield* settle
    const exit = fiber.pollUnsafe()
    assert.isDefined(exit, "still running after settle")
    return exit!
  })

/** The `SubscriptionError` an exit failed with. */
const subscriptionError = <A>(exit: Exit.Exit<A, Feed.SubscriptionError | { readonly _tag: string }>) => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const found = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
  assert.strictEqual(found?._tag, "Some", "expected a typed failure")
  const error = (found as { readonly value: { readonly _tag: string } }).value
  assert.strictEqual(error._tag, "SubscriptionError")
  return error as Feed.SubscriptionError
}

/** Every request the server received on open connections (filtered by URL if given), topics flattened. */
const sentTopics = (url?: string) =>
  Effect.gen(function*() {
    const server = yield* MemoryServer
    const out: Array<string> = []
    for (const peer of yield* server.connections) {
      if (url !== undefined && peer.request.url !== url) continue
      for (const r of requests(yield* peer.received)) if (r.op === "subscribe") out.push(...r.args)
    }
    return out
  })

const sentCount = (url?: string) => Effect.map(sentTopics(url), (ts) => ts.length)

/**
 * The running total of `count` sampled every `step` ms for `ms` ms, the
 * first sample taken after settling at the start: `counts[i]` is what was
 * sent by `i * step` ms.
 */
const sample = (count: Effect.Effect<number, never, MemoryTransport.MemoryServer>, ms: number, step: number) =>
  Effect.gen(function*() {
    yield* settle
    const counts: Array<number> = [yield* count]
    for (let t = step; t <= ms; t += step) {
      yield* advance(step)
      counts.push(yield* count)
    }
    return counts
  })

/**
 * The most sent in any window of `span` samples: `(t, t + span * step]`
 * for each sample `t`, and `[0, (span - 1) * step]` for what went out at
 * the start.
 */
const worst = (counts: ReadonlyArray<number>, span: number): number => {
  let most = counts[Math.min(span - 1, counts.length - 1)]!
  for (let i = 0; i + span < counts.length; i++) most = Math.max(most, counts[i + span]! - counts[i]!)
  return most
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

describe("Feed limits", () => {
  describe("VenueBudgets", () => {
    it.effect("requestsPerHour: the connection sends 3 requests at once, the 4th and 5th only after the hour", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ requestsPerHour: 3, topicsPerRequest: 1 }), base)
        const server = yield* MemoryServer
        const calls = yield* Effect.forEach(names("h", 5), (topic) => Effect.forkScoped(feed.subscribe(topic)))
        yield* settle
        assert.deepStrictEqual(yield* sentTopics(), ["h0", "h1", "h2"])
        yield* advance(3_599_000, 600_000)
        assert.deepStrictEqual(yield* sentTopics(), ["h0", "h1", "h2"])
        assert.isUndefined(calls[3]!.pollUnsafe())
        yield* advance(2_000, 500)
        assert.deepStrictEqual(yield* sentTopics(), ["h0", "h1", "h2", "h3", "h4"])
        yield* Effect.forEach(calls, Fiber.join)
        assert.strictEqual((yield* server.dials).length, 1)
        assert.deepStrictEqual((yield* feed.subscriptions).map((s) => s.state), Array(5).fill("confirmed"))
      }).pipe(Effect.provide(layer())))

    it.effect("requestsPerHour is counted per connection: a new socket after a drop replays at once", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ requestsPerHour: 3, topicsPerRequest: 1 }), base)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(["x", "y", "z"]))
        yield* settle
        yield* (yield* server.latest)!.drop
        yield* advance(1_000)
        assert.deepStrictEqual(requests(yield* (yield* server.latest)!.received).map((r) => r.args), [["x"], ["y"], [
          "z"
        ]])
        assert.deepStrictEqual((yield* feed.subscriptions).map((s) => s.state), ["confirmed", "confirmed", "confirmed"])
      }).pipe(Effect.provide(layer())))

    it.effect("connectionsPerIp counts a rotation's second connection: at the cap the rotation fails, the live one stays", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ connectionsPerIp: 1 }), base)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe("x"))
        yield* settle
        yield* feed.rotate("test")
        assert.strictEqual((yield* server.dials).length, 1)
        assert.strictEqual((yield* server.connections).length, 1)
        const failed = events.filter(Feed.FeedEvent.$is("RotationFailed"))
        assert.strictEqual(failed.length, 1)
        assert.include(failed[0]!.reason, "1 connections per IP")
        // With room for two, the rotation dials its second connection and gives the slot back after.
        const roomy = yield* Feed.make("roomy", toy({ connectionsPerIp: 2 }), { ...base, url: "ws://roomy.test/ws" })
        yield* Effect.forkScoped(roomy.subscribe("y"))
        yield* settle
        const rotation = yield* Effect.forkScoped(roomy.rotate("test"))
        yield* settle
        yield* (yield* server.latest)!.send(data("y", 1))
        yield* advance(250)
        yield* Fiber.join(rotation)
        assert.strictEqual(events.filter(Feed.FeedEvent.$is("RotationFailed")).length, 1)
        yield* Effect.forkScoped(roomy.subscribe("z"))
        yield* settle
        assert.deepStrictEqual((yield* roomy.subscriptions).map((s) => s.state), ["confirmed", "confirmed"])
      }).pipe(Effect.provide(layer())))

    it.effect("messagesPerIp keeps the heartbeats of every connection the venue allows out of the request budget", () =>
      Effect.gen(function*() {
        // 10 messages a minute; 2 connections pinging every 20 s send 6 of them: 4 are left for requests.
        const profile: Venue.Profile = {
          ...toy({ messagesPerIp: { count: 10, window: "1 minute" }, connectionsPerIp: 2, topicsPerRequest: 1 }),
          heartbeat: {
            _tag: "Message",
            interval: "20 seconds",
            timeout: "5 seconds",
            message: "ping",
            isPong: (t) => t === "pong"
          }
        }
        const feed = yield* Feed.make("toy", profile, base)
        yield* Effect.forkScoped(feed.subscribe(names("m", 6)))
        yield* advance(59_000, 1_000)
        assert.strictEqual(yield* sentCount(), 4)
        yield* advance(3_000, 1_000)
        assert.strictEqual(yield* sentCount(), 6)
      }).pipe(Effect.provide(layer({ reply: (m) => (m === "ping" ? "pong" : reply(m)) }))))

    const windows: ReadonlyArray<readonly [string, Venue.Limits]> = [
      ["requestsPerIp", { requestsPerIp: { count: 4, window: "1 second" }, topicsPerRequest: 1 }],
      ["messagesPerIp", { messagesPerIp: { count: 4, window: "1 second" }, topicsPerRequest: 1 }],
      ["messagesPerSecond counted per IP", { messagesPerSecond: 4, messagesScope: "ip", topicsPerRequest: 1 }]
    ]
    for (const [limit, limits] of windows) {
      it.effect(`${limit}: two feeds of one venue and host never send more than the count in any window together`, () =>
        Effect.gen(function*() {
          const a = yield* Feed.make("a", toy(limits), base)
          const b = yield* Feed.make("b", toy(limits), base)
          const done = yield* Effect.forkScoped(
            Effect.all([a.subscribe(names("a", 10)), b.subscribe(names("b", 10))], { concurrency: "unbounded" })
          )
          const counts = yield* sample(sentCount(), 6_000, 50)
          yield* Fiber.join(done)
          const perFeed = yield* sentTopics()
          assert.strictEqual(perFeed.filter((t) => t.startsWith("a")).length, 10)
          assert.strictEqual(perFeed.filter((t) => t.startsWith("b")).length, 10)
          // counts[i] is the total at i*50 ms: 20 samples span one second.
          assert.strictEqual(worst(counts, 20), 4)
        }).pipe(Effect.provide(layer())))

      it.effect(`${limit}: feeds of different hosts each have their own window`, () =>
        Effect.gen(function*() {
          const a = yield* Feed.make("a", toy(limits), base)
          const b = yield* Feed.make("b", toy(limits), { ...base, url: "ws://other.test/ws" })
          yield* Effect.forkScoped(a.subscribe(names("a", 4)))
          yield* Effect.forkScoped(b.subscribe(names("b", 4)))
          yield* settle
          assert.strictEqual(yield* sentCount("ws://toy.test/ws"), 4)
          assert.strictEqual(yield* sentCount("ws://other.test/ws"), 4)
        }).pipe(Effect.provide(layer())))
    }

    it.effect("subscriptionsPerIp: a topic over the cap shared by two feeds fails permanent, is never sent; it fits once the other feed unsubscribes", () =>
      Effect.gen(function*() {
        const profile = toy({ subscriptionsPerIp: 3 })
        const a = yield* Feed.make("a", profile, base)
        const b = yield* Feed.make("b", profile, base)
        assert.isTrue(Exit.isSuccess(yield* settled(a.subscribe(["a1", "a2"]))))
        const error = subscriptionError(yield* settled(b.subscribe(["b1", "b2"])))
        assert.isTrue(error.permanent)
        assert.deepStrictEqual(error.topics, ["b2"])
        assert.include(error.reason, "3 subscriptions per IP")
        assert.sameMembers(yield* sentTopics(), ["a1", "a2", "b1"])
        assert.deepStrictEqual((yield* b.subscriptions).map((s) => s.topic), ["b1"])

        assert.isTrue(Exit.isSuccess(yield* settled(a.unsubscribe("a1"))))
        assert.isTrue(Exit.isSuccess(yield* settled(b.subscribe("b2"))))
        assert.deepStrictEqual((yield* b.subscriptions).map((s) => [s.topic, s.state]), [["b1", "confirmed"], [
          "b2",
          "confirmed"
        ]])
        assert.include(yield* sentTopics(), "b2")
      }).pipe(Effect.provide(layer())))

    it.effect("subscriptionsPerIp: a closed feed gives its subscriptions back to the cap", () =>
      Effect.gen(function*() {
        const profile = toy({ subscriptionsPerIp: 2 })
        const a = yield* Feed.make("a", profile, base)
        const b = yield* Feed.make("b", profile, base)
        assert.isTrue(Exit.isSuccess(yield* settled(a.subscribe(["a1", "a2"]))))
        const server = yield* MemoryServer
        const error = subscriptionError(yield* settled(b.subscribe("b1")))
        assert.isTrue(error.permanent)
        assert.notInclude(yield* sentTopics(), "b1")
        assert.strictEqual((yield* server.dials).length, 1)
        yield* a.close
        assert.isTrue(Exit.isSuccess(yield* settled(b.subscribe(["b1", "b2"]))))
        assert.sameMembers(yield* sentTopics(), ["b1", "b2"])
      }).pipe(Effect.provide(layer())))

    it.effect("connectionsPerIp: the topic that needs a connection over the cap fails permanent and is never dialed; a removed shard frees its slot", () =>
      Effect.gen(function*() {
        const profile = toy({ connectionsPerIp: 2, streamsPerConnection: 1 })
        const a = yield* Feed.make("a", profile, base)
        const b = yield* Feed.make("b", profile, base)
        const server = yield* MemoryServer
        assert.isTrue(Exit.isSuccess(yield* settled(a.subscribe("a1"))))
        const error = subscriptionError(yield* settled(b.subscribe(["b1", "b2"])))
        assert.isTrue(error.permanent)
        assert.deepStrictEqual(error.topics, ["b2"])
        assert.include(error.reason, "2 connections per IP")
        assert.strictEqual((yield* server.dials).length, 2)
        assert.sameMembers(yield* sentTopics(), ["a1", "b1"])
        assert.deepStrictEqual((yield* b.subscriptions).map((s) => s.topic), ["b1"])
        assert.strictEqual((yield* b.shards).length, 1)

        assert.isTrue(Exit.isSuccess(yield* settled(a.unsubscribe("a1"))))
        assert.isTrue(Exit.isSuccess(yield* settled(b.subscribe("b2"))))
        assert.strictEqual((yield* server.dials).length, 3)
        assert.sameMembers(yield* sentTopics(), ["b1", "b2"])
      }).pipe(Effect.provide(layer())))

    it.effect("subscribersPerTopic: with a cap of 1, a second feed's subscribe of the same topic fails permanent and is not sent", () =>
      Effect.gen(function*() {
        const profile = toy({ subscribersPerTopic: 1 })
        const a = yield* Feed.make("a", profile, base)
        const b = yield* Feed.make("b", profile, base)
        assert.isTrue(Exit.isSuccess(yield* settled(a.subscribe("x"))))
        const error = subscriptionError(yield* settled(b.subscribe(["x", "y"])))
        assert.isTrue(error.permanent)
        assert.deepStrictEqual(error.topics, ["x"])
        assert.include(error.reason, "1 connections per topic")
        assert.deepStrictEqual((yield* sentTopics()).filter((t) => t === "x"), ["x"])
        // One dial for a's "x", one for b's "y": none for the refused topic.
        assert.strictEqual((yield* (yield* MemoryServer).dials).length, 2)
        assert.deepStrictEqual((yield* b.subscriptions).map((s) => [s.topic, s.state]), [["y", "confirmed"]])
      }).pipe(Effect.provide(layer())))

    it.effect("countsPongs: with a 1 s heartbeat and 5 messages per second, requests are paced at 3 per 1.1 s", () =>
      Effect.gen(function*() {
        const profile = toy({ messagesPerSecond: 5, countsHeartbeat: true, countsPongs: true, topicsPerRequest: 1 })
        const feed = yield* Feed.make("toy", profile, {
          ...base,
          heartbeat: { _tag: "Protocol", interval: "1 second", timeout: "5 seconds" }
        })
        const done = yield* Effect.forkScoped(feed.subscribe(names("t", 15)))
        const counts = yield* sample(sentCount(), 7_000, 50)
        yield* Fiber.join(done)
        assert.strictEqual(counts[counts.length - 1], 15)
        // counts[i] is the total at i*50 ms: 22 samples span 1.1 s.
        assert.strictEqual(worst(counts, 22), 3)
      }).pipe(Effect.provide(layer())))

    it.effect("the default budgets are kept per clock: a feed on another clock does not share them", () =>
      Effect.gen(function*() {
        const profile = toy({ subscriptionsPerIp: 1 })
        const a = yield* Feed.make("a", profile, base)
        assert.isTrue(Exit.isSuccess(yield* settled(a.subscribe("a1"))))
        const sameClock = yield* Feed.make("b", profile, base)
        assert.isTrue(Exit.isFailure(yield* settled(sameClock.subscribe("b1"))))
        const otherClock = yield* Effect.gen(function*() {
          const c = yield* Feed.make("c", profile, base)
          return yield* settled(c.subscribe("c1"))
        }).pipe(Effect.provide(TestClock.layer()))
        assert.isTrue(Exit.isSuccess(otherClock))
      }).pipe(Effect.provide(layer())))

    it.effect("VenueBudgets.layer() gives feeds budgets of their own", () =>
      Effect.gen(function*() {
        const profile = toy({ subscriptionsPerIp: 1 })
        const a = yield* Feed.make("a", profile, base)
        assert.isTrue(Exit.isSuccess(yield* settled(a.subscribe("a1"))))
        const own = yield* Effect.gen(function*() {
          const b = yield* Feed.make("b", profile, base)
          return yield* settled(b.subscribe("b1"))
        }).pipe(Effect.provide(VenueBudgets.layer()))
        assert.isTrue(Exit.isSuccess(own))
      }).pipe(Effect.provide(layer())))
  })

  describe("routes", () => {
    const routed = (limits: Venue.Limits = {}): Venue.Profile => ({
      ...toy(limits),
      urls: { a: "ws://toy.test/a", b: "ws://toy.test/b" },
      route: (topic) => (topic.startsWith("a") ? "a" : "b")
    })

    it.effect("topics of different routes go to shards dialing their own URL; topics of one route share a shard", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", routed(), base)
        const server = yield* MemoryServer
        assert.isTrue(Exit.isSuccess(yield* settled(feed.subscribe(["a1", "b1", "a2", "b2"]))))
        assert.sameMembers((yield* server.dials).map((d) => d.url), ["ws://toy.test/a", "ws://toy.test/b"])
        assert.sameMembers(yield* sentTopics("ws://toy.test/a"), ["a1", "a2"])
        assert.sameMembers(yield* sentTopics("ws://toy.test/b"), ["b1", "b2"])
        const shards = yield* feed.shards
        assert.sameDeepMembers(shards.map((s) => s.topics), [["a1", "a2"], ["b1", "b2"]])
      }).pipe(Effect.provide(layer())))

    it.effect("the urls option replaces the profile's endpoints per route", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", routed(), {
          ...base,
          urls: { a: "ws://sim.test/a", b: "ws://sim.test/b" }
        })
        const server = yield* MemoryServer
        assert.isTrue(Exit.isSuccess(yield* settled(feed.subscribe(["a1", "b1"]))))
        assert.sameMembers((yield* server.dials).map((d) => d.url), ["ws://sim.test/a", "ws://sim.test/b"])
        assert.deepStrictEqual(yield* sentTopics("ws://sim.test/a"), ["a1"])
        assert.deepStrictEqual(yield* sentTopics("ws://sim.test/b"), ["b1"])
      }).pipe(Effect.provide(layer())))
  })

  describe("events", () => {
    it.effect("an events subscriber that never reads does not stop the feed; it loses the oldest, counted in eventsDropped", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), { ...base, eventsCapacity: 8 })
        const server = yield* MemoryServer
        const stuck = yield* Stream.toPull(feed.events)
        const reader = yield* collect(feed.events)
        const frames = yield* collect(feed.frames)
        assert.isTrue(Exit.isSuccess(yield* settled(feed.subscribe("keep"))))
        const peer = (yield* server.latest)!
        for (let i = 1; i <= 20; i++) {
          assert.isTrue(Exit.isSuccess(yield* settled(feed.subscribe(`t${i}`))))
          yield* peer.send(data("keep", i))
          assert.isTrue(Exit.isSuccess(yield* settled(feed.unsubscribe(`t${i}`))))
        }
        yield* settle
        const delivered = frames.flatMap((f) => (f._tag === "Text" && f.data.startsWith('{"topic"') ? [f.data] : []))
        assert.deepStrictEqual(delivered, Array.from({ length: 20 }, (_, i) => data("keep", i + 1)))
        assert.isAtLeast(reader.length, 40)
        const stats = yield* feed.stats
        assert.strictEqual(stats.eventsDropped, reader.length - 8)
        const newest = yield* stuck
        assert.deepStrictEqual([...newest], reader.slice(-8))
      }).pipe(Effect.provide(layer())))
  })
})
