/**
 * Feed on MemoryTransport and TestClock: answers attributed to the right
 * topic, no subscription abandoned for a late or transient answer, the new
 * session's word after a rotation, nothing that hangs when an answer is lost
 * to a drop, and shards that close when their topics failed.
 */
import { assert, describe, it } from "@effect/vitest"
import { MemoryTransport } from "@kharbranth/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Feed from "../src/Feed.ts"
import * as Venue from "../src/Venue.ts"
import { advance, base, collect, data, layer, reply, requests, settle, toy } from "./utils/toy.ts"

const { MemoryServer } = MemoryTransport

const states = (subs: ReadonlyArray<Feed.Subscription>) => subs.map((s) => [s.topic, s.state])

/**
 * A venue that answers each topic of a request on its own, under the
 * request's id (as Kraken v2 does): `{"ans":id,"topic","ok"}`. With
 * `anonymous`, a rejection names no topic (as OKX's `60018` without its
 * text read).
 */
const perTopic = (options: { readonly anonymous?: boolean } = {}): Venue.Profile => ({
  ...toy({ topicsPerRequest: 10 }),
  confirmation: (text) => {
    if (!text.startsWith('{"ans"')) return undefined
    const msg = JSON.parse(text)
    if (msg.ok) return Venue.confirmation("subscribed", [msg.topic], msg.ans)
    return Venue.confirmation(
      "rejected",
      options.anonymous ? [] : [msg.topic],
      options.anonymous ? undefined : msg.ans,
      `unknown ${msg.topic}`,
      {
        permanent: true
      }
    )
  }
})

const perTopicReply = (message: string) => {
  const msg = JSON.parse(message)
  if (msg.op !== "subscribe") return msg.op === undefined ? undefined : JSON.stringify({ ack: msg.id })
  return (msg.args as Array<string>).map((topic) =>
    JSON.stringify({ ans: msg.id, topic, ok: !topic.startsWith("bad") })
  )
}

/** A toy venue whose answers a test can silence, or turn into transient rejections of some topics. */
const venue = () => {
  const state = { silent: false, busy: new Set<string>(), refusals: 0 }
  const answer = (message: string) => {
    if (state.silent) return undefined
    const msg = JSON.parse(message)
    const busy = msg.op === "subscribe" && (msg.args as Array<string>).some((t) => state.busy.has(t))
    if (busy && state.refusals > 0) {
      state.refusals -= 1
      return JSON.stringify({ nack: msg.id, reason: "busy, try again" })
    }
    return reply(message)
  }
  return { state, layer: layer({ reply: answer }) }
}

describe("Feed registry", () => {
  describe("answers attributed per topic", () => {
    for (const order of [["good", "bad-pair"], ["bad-pair", "good"]]) {
      it.effect(`answers per symbol under one id settle only their own topic (${order.join(" first, ")})`, () =>
        Effect.gen(function*() {
          const feed = yield* Feed.make("kraken-like", perTopic(), base)
          const result = yield* feed.subscribe(order).pipe(Effect.exit, Effect.forkScoped)
          yield* settle
          const exit = yield* Fiber.join(result)
          assert.isTrue(Exit.isFailure(exit))
          const error = yield* Effect.flip(exit)
          assert.strictEqual(error._tag, "SubscriptionError")
          if (error._tag === "SubscriptionError") {
            assert.deepStrictEqual(error.topics, ["bad-pair"])
            assert.isTrue(error.permanent)
          }
          const subs = yield* feed.subscriptions
          assert.deepStrictEqual(states(subs).sort(), [["bad-pair", "failed"], ["good", "confirmed"]])
          // The good pair is replayed after a drop; the rejected one is not.
          const server = yield* MemoryServer
          yield* (yield* server.latest)!.drop
          yield* advance(1_000)
          assert.deepStrictEqual(requests(yield* (yield* server.latest)!.received).map((r) => r.args), [["good"]])
        }).pipe(Effect.provide(layer({ reply: perTopicReply }))))
    }

    it.effect("a rejection naming none of a request's topics asks each topic alone; good topics stay", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("okx-like", perTopic({ anonymous: true }), base)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        const result = yield* feed.subscribe(["a", "bad-x", "b"]).pipe(Effect.flip, Effect.forkScoped)
        yield* settle
        const error = yield* Fiber.join(result)
        assert.strictEqual(error._tag, "SubscriptionError")
        if (error._tag === "SubscriptionError") assert.deepStrictEqual(error.topics, ["bad-x"])
        const peer = (yield* server.latest)!
        assert.deepStrictEqual(requests(yield* peer.received).map((r) => r.args), [["a", "bad-x", "b"], ["bad-x"], [
          "b"
        ]])
        assert.deepStrictEqual(states(yield* feed.subscriptions), [["a", "confirmed"], ["bad-x", "failed"], [
          "b",
          "confirmed"
        ]])
        const failed = events.filter(Feed.FeedEvent.$is("SubscribeFailed"))
        assert.deepStrictEqual(failed.map((e) => [e.topics, e.permanent]), [[["bad-x"], true]])
      }).pipe(Effect.provide(layer({ reply: perTopicReply }))))
  })

  describe("no subscription abandoned", () => {
    it.effect("a transient rejection reads retrying and is sent again with backoff until confirmed", () => {
      const { layer, state } = venue()
      state.busy.add("shaky")
      state.refusals = 2
      return Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ topicsPerRequest: 1 }), base)
        const server = yield* MemoryServer
        const first = yield* feed.subscribe("shaky").pipe(Effect.flip, Effect.forkScoped)
        yield* settle
        const error = yield* Fiber.join(first)
        assert.strictEqual(error._tag, "SubscriptionError")
        if (error._tag === "SubscriptionError") assert.isFalse(error.permanent)
        const sub = (yield* feed.subscriptions)[0]!
        assert.strictEqual(sub.state, "retrying")
        assert.strictEqual(sub.failures, 1)
        const peer = (yield* server.latest)!
        const sent = () => Effect.map(peer.received, (r) => requests(r).length)
        // Backoff: 1 s after the first failure, 2 s after the second.
        yield* advance(750, 250)
        assert.strictEqual(yield* sent(), 1)
        yield* advance(500, 250)
        assert.strictEqual(yield* sent(), 2)
        assert.strictEqual((yield* feed.subscriptions)[0]!.failures, 2)
        yield* advance(1_500, 250)
        assert.strictEqual(yield* sent(), 2)
        yield* advance(500, 250)
        assert.strictEqual(yield* sent(), 3)
        assert.deepStrictEqual(states(yield* feed.subscriptions), [["shaky", "confirmed"]])
        assert.strictEqual((yield* feed.stats).retries, 2)
      }).pipe(Effect.provide(layer))
    })

    it.effect("a replay left unanswered is retried, and replayed again after the next drop", () => {
      const { layer, state } = venue()
      return Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), { ...base, confirmTimeout: "3 seconds" })
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(["a", "b"]))
        yield* settle
        state.silent = true
        yield* (yield* server.latest)!.drop
        // Reconnected at 1 s, replay unanswered until 4 s: both go to retrying, due at 5 s.
        yield* advance(4_500, 250)
        assert.deepStrictEqual(states(yield* feed.subscriptions), [["a", "retrying"], ["b", "retrying"]])
        state.silent = false
        yield* (yield* server.latest)!.drop
        yield* advance(1_000, 250)
        const third = (yield* server.latest)!
        assert.deepStrictEqual(requests(yield* third.received).map((r) => r.args), [["a", "b"]])
        assert.deepStrictEqual(states(yield* feed.subscriptions), [["a", "confirmed"], ["b", "confirmed"]])
      }).pipe(Effect.provide(layer))
    })
  })

  describe("rotation", () => {
    it.effect("a topic the new session rejects no longer reads confirmed after the switch", () => {
      const { layer, state } = venue()
      state.busy.add("x")
      return Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ topicsPerRequest: 1 }), base)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(["a", "x"]))
        yield* settle
        const old = (yield* server.latest)!
        state.refusals = 1
        const rotation = yield* Effect.forkScoped(feed.rotate("test"))
        yield* settle
        const fresh = (yield* server.latest)!
        yield* fresh.send(data("a", 1))
        yield* advance(250, 250)
        yield* Fiber.join(rotation)
        assert.strictEqual(events.filter(Feed.FeedEvent.$is("Rotated")).length, 1)
        assert.isFalse(yield* old.isOpen)
        const x = (yield* feed.subscriptions).find((s) => s.topic === "x")!
        assert.notStrictEqual(x.state, "confirmed")
        assert.strictEqual(x.state, "retrying")
        assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("SubscribeFailed")).map((e) => e.topics), [["x"]])
        // And it is sent again on the new session once its backoff is over.
        yield* advance(1_250, 250)
        assert.strictEqual((yield* feed.subscriptions).find((s) => s.topic === "x")!.state, "confirmed")
      }).pipe(Effect.provide(layer))
    })
  })

  describe("nothing hangs", () => {
    it.effect("unsubscribe and resubscribe whose answers are lost to a drop complete after the reconnect", () => {
      const { layer, state } = venue()
      return Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ topicsPerRequest: 1 }), { ...base, confirmTimeout: "3 seconds" })
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(["a", "b"]))
        yield* settle
        state.silent = true
        const unsubscribed = yield* Effect.forkScoped(Effect.exit(feed.unsubscribe("a")))
        const resubscribed = yield* Effect.forkScoped(Effect.exit(feed.resubscribe("b")))
        yield* settle
        yield* (yield* server.latest)!.drop
        state.silent = false
        yield* advance(1_000, 250)
        assert.isTrue(Exit.isSuccess(yield* Fiber.join(unsubscribed)))
        assert.isTrue(Exit.isSuccess(yield* Fiber.join(resubscribed)))
        assert.deepStrictEqual(states(yield* feed.subscriptions), [["b", "confirmed"]])
      }).pipe(Effect.provide(layer))
    })

    it.effect("a resubscribe whose answer never comes fails typed after confirmTimeout; the topic is retried", () => {
      const { layer, state } = venue()
      return Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ topicsPerRequest: 1 }), { ...base, confirmTimeout: "3 seconds" })
        yield* Effect.forkScoped(feed.subscribe(["b"]))
        yield* settle
        state.silent = true
        const resubscribed = yield* Effect.forkScoped(Effect.flip(feed.resubscribe("b")))
        yield* advance(6_500, 250)
        const error = yield* Fiber.join(resubscribed)
        assert.strictEqual(error._tag, "SubscriptionError")
        if (error._tag === "SubscriptionError") assert.isFalse(error.permanent)
        state.silent = false
        yield* advance(1_500, 250)
        assert.deepStrictEqual(states(yield* feed.subscriptions), [["b", "confirmed"]])
      }).pipe(Effect.provide(layer))
    })
  })

  describe("shards", () => {
    it.effect("a shard whose topics all failed closes its connection; failed topics do not count against the cap", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ streamsPerConnection: 2, topicsPerRequest: 1 }), base)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.exit(Effect.forkScoped(feed.subscribe(["bad-1", "bad-2"])))
        yield* settle
        assert.deepStrictEqual(yield* feed.shards, [])
        assert.strictEqual((yield* server.connections).length, 0)
        assert.strictEqual(events.filter(Feed.FeedEvent.$is("ShardRemoved")).length, 1)
        yield* Effect.forkScoped(feed.subscribe(["bad-3", "a"]))
        yield* settle
        assert.deepStrictEqual((yield* feed.shards).map((s) => s.topics), [["a"]])
        yield* Effect.forkScoped(feed.subscribe("b"))
        yield* settle
        assert.deepStrictEqual((yield* feed.shards).map((s) => s.topics), [["a", "b"]])
        // Unsubscribing a failed topic sends nothing and leaves the shard alone.
        yield* feed.unsubscribe(["bad-1", "bad-2", "bad-3"])
        assert.deepStrictEqual((yield* feed.shards).map((s) => s.topics), [["a", "b"]])
        assert.deepStrictEqual(states(yield* feed.subscriptions), [["a", "confirmed"], ["b", "confirmed"]])
      }).pipe(Effect.provide(layer())))
  })
})
