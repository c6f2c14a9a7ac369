/**
 * Feed on MemoryTransport and TestClock: the registry and its replay, the
 * message budget, sharding, staleness, gaps, duplicates and rotation, with
 * a toy venue (test/utils/toy.ts) so every timing is virtual.
 */
import { assert, describe, it } from "@effect/vitest"
import { MemoryTransport } from "@kharbranth/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Feed from "../src/Feed.ts"
import { advance, base, collect, data, layer, requests, sequence, settle, toy } from "./utils/toy.ts"

const { MemoryServer } = MemoryTransport

const texts = (frames: ReadonlyArray<{ readonly _tag: string }>) =>
  frames.flatMap((f) => ("data" in f && typeof f.data === "string" ? [f.data] : []))

const seqs = (frames: ReadonlyArray<{ readonly _tag: string }>) =>
  texts(frames).flatMap((t) => {
    const s = sequence(t)
    return s === undefined ? [] : [s.last]
  })

describe("Feed", () => {
  describe("registry", () => {
    it.effect("subscribe returns once the venue confirmed; the registry says confirmed", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), base)
        const events = yield* collect(feed.events)
        const fiber = yield* Effect.forkScoped(feed.subscribe(["a", "b", "c"]))
        yield* settle
        yield* Fiber.join(fiber)
        const subs = yield* feed.subscriptions
        assert.deepStrictEqual(subs.map((s) => [s.topic, s.state]), [["a", "confirmed"], ["b", "confirmed"], [
          "c",
          "confirmed"
        ]])
        const server = yield* MemoryServer
        const peer = (yield* server.latest)!
        assert.deepStrictEqual(requests(yield* peer.received).map((r) => r.args), [["a", "b"], ["c"]])
        const subscribed = events.filter(Feed.FeedEvent.$is("Subscribed")).flatMap((e) => e.topics)
        assert.deepStrictEqual(subscribed, ["a", "b", "c"])
      }).pipe(Effect.provide(layer())))

    it.effect("a rejected topic fails subscribe with its name; the others stay subscribed", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ topicsPerRequest: 1 }), base)
        const exit = yield* feed.subscribe(["ok", "bad-1"]).pipe(Effect.exit, Effect.forkScoped)
        yield* settle
        const result = yield* Fiber.join(exit)
        assert.isTrue(Exit.isFailure(result))
        const error = yield* Effect.flip(
          feed.subscribe("bad-1").pipe(Effect.forkScoped, Effect.tap(() => settle), Effect.flatMap(Fiber.join))
        )
        assert.strictEqual(error._tag, "SubscriptionError")
        if (error._tag === "SubscriptionError") {
          assert.deepStrictEqual(error.topics, ["bad-1"])
          assert.include(error.message, "unknown topic bad-1")
        }
        const subs = yield* feed.subscriptions
        assert.deepStrictEqual(subs.map((s) => [s.topic, s.state]), [["ok", "confirmed"], ["bad-1", "failed"]])
      }).pipe(Effect.provide(layer())))

    it.effect("a request left unanswered fails after confirmTimeout", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), { ...base, confirmTimeout: "3 seconds" })
        const fiber = yield* Effect.forkScoped(Effect.flip(feed.subscribe("mute-1")))
        yield* settle
        yield* advance(2_500, 250)
        assert.isUndefined(fiber.pollUnsafe())
        yield* advance(1_000, 250)
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "SubscriptionError")
        if (error._tag === "SubscriptionError") assert.include(error.reason, "no answer within 3000 ms")
      }).pipe(Effect.provide(layer())))

    it.effect("after a reconnect the registry is replayed in order, without unsubscribed topics", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), base)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(["a", "b", "c", "d", "e"]))
        yield* settle
        yield* Effect.forkScoped(feed.unsubscribe("c"))
        yield* settle
        const first = (yield* server.latest)!
        yield* first.drop
        yield* advance(1_000)
        const second = (yield* server.latest)!
        assert.notStrictEqual(second.id, first.id)
        assert.deepStrictEqual(requests(yield* second.received).map((r) => [r.op, r.args]), [
          ["subscribe", ["a", "b"]],
          ["subscribe", ["d", "e"]]
        ])
        const replayed = events.filter(Feed.FeedEvent.$is("Replayed"))
        assert.strictEqual(replayed.length, 1)
        assert.strictEqual(replayed[0]!.confirmed, 4)
        assert.deepStrictEqual(replayed[0]!.failed, [])
        const subs = yield* feed.subscriptions
        assert.deepStrictEqual(subs.map((s) => s.topic), ["a", "b", "d", "e"])
        assert.isTrue(subs.every((s) => s.state === "confirmed"))
      }).pipe(Effect.provide(layer())))
  })

  describe("repair", () => {
    it.effect("resubscribe sends unsubscribe then subscribe for just those topics; restart redials every shard", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ streamsPerConnection: 2 }), base)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(["a", "b", "c"]))
        yield* settle
        const [first, second] = yield* server.connections
        const done = yield* Effect.forkScoped(feed.resubscribe("b"))
        yield* settle
        yield* Fiber.join(done)
        assert.deepStrictEqual(requests(yield* first!.received).map((r) => [r.op, r.args]), [
          ["subscribe", ["a", "b"]],
          ["unsubscribe", ["b"]],
          ["subscribe", ["b"]]
        ])
        assert.strictEqual(requests(yield* second!.received).length, 1)
        const unknown = yield* Effect.flip(feed.resubscribe("zzz"))
        assert.strictEqual(unknown._tag, "SubscriptionError")
        yield* feed.restart("checksum mismatch")
        yield* advance(100)
        assert.strictEqual((yield* server.dials).length, 4)
        assert.deepStrictEqual((yield* feed.subscriptions).map((s) => s.state), ["confirmed", "confirmed", "confirmed"])
      }).pipe(Effect.provide(layer())))
  })

  describe("budget", () => {
    it.effect("requests never exceed the budget in any one-second window, the heartbeat's share reserved", () =>
      Effect.gen(function*() {
        // 5 per second, pings counted: 4 per second for requests.
        const profile = toy({ messagesPerSecond: 5, countsHeartbeat: true, topicsPerRequest: 1 })
        const feed = yield* Feed.make("toy", profile, {
          ...base,
          heartbeat: { _tag: "Protocol", interval: "20 seconds", timeout: "10 seconds" }
        })
        const server = yield* MemoryServer
        const topics = Array.from({ length: 30 }, (_, i) => `t${i}`)
        const done = yield* Effect.forkScoped(feed.subscribe(topics))
        const counts: Array<number> = []
        for (let ms = 0; ms <= 10_000; ms += 50) {
          const peer = yield* server.latest
          counts.push(peer === undefined ? 0 : requests(yield* peer.received).length)
          yield* advance(50)
        }
        yield* Fiber.join(done)
        assert.strictEqual(counts[counts.length - 1], 30)
        // counts[i] is the total at i*50 ms: any 20 consecutive steps span one second.
        let worst = 0
        for (let i = 0; i + 20 < counts.length; i++) worst = Math.max(worst, counts[i + 20]! - counts[i]!)
        assert.strictEqual(worst, 4)
      }).pipe(Effect.provide(layer())))

    it.effect("the budget is counted over 1.1 s, a tenth of margin for requests that arrive late", () =>
      Effect.gen(function*() {
        const profile = toy({ messagesPerSecond: 4, topicsPerRequest: 1 })
        const feed = yield* Feed.make("toy", profile, base)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(Array.from({ length: 8 }, (_, i) => `t${i}`)))
        let first: number | undefined
        let fifth: number | undefined
        for (let ms = 0; ms <= 3_000 && fifth === undefined; ms += 10) {
          const peer = yield* server.latest
          const sent = peer === undefined ? 0 : requests(yield* peer.received).length
          if (first === undefined && sent >= 1) first = ms
          if (sent >= 5) fifth = ms
          yield* advance(10)
        }
        assert.isDefined(first)
        assert.isDefined(fifth)
        // Counted over exactly a second, the fifth would go out 1,000 ms after the first.
        assert.isAtLeast(fifth! - first!, 1_100)
        assert.isAtMost(fifth! - first!, 1_110)
      }).pipe(Effect.provide(layer())))

    it.effect("a replay after a reconnect is paced by the same budget", () =>
      Effect.gen(function*() {
        const profile = toy({ messagesPerSecond: 3, topicsPerRequest: 1 })
        const feed = yield* Feed.make("toy", profile, base)
        const server = yield* MemoryServer
        const events = yield* collect(feed.events)
        yield* Effect.forkScoped(feed.subscribe(Array.from({ length: 9 }, (_, i) => `t${i}`)))
        yield* advance(5_000, 100)
        const first = (yield* server.latest)!
        yield* first.drop
        yield* advance(1_000)
        const second = (yield* server.latest)!
        const seen: Array<number> = []
        for (let step = 0; step < 40; step++) {
          seen.push(requests(yield* second.received).length)
          yield* advance(100)
        }
        assert.strictEqual(seen[seen.length - 1], 9)
        for (let i = 0; i + 10 < seen.length; i++) assert.isAtMost(seen[i + 10]! - seen[i]!, 3)
        const replayed = events.filter(Feed.FeedEvent.$is("Replayed"))
        assert.strictEqual(replayed.length, 1)
        assert.strictEqual(replayed[0]!.confirmed, 9)
        assert.strictEqual(replayed[0]!.requests, 9)
        assert.isAtLeast(replayed[0]!.took, 2_000)
      }).pipe(Effect.provide(layer())))
  })

  describe("sharding", () => {
    it.effect("topics beyond streamsPerConnection go to new connections; frames of all shards reach one stream", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ streamsPerConnection: 3 }), base)
        const frames = yield* collect(feed.frames)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(Array.from({ length: 8 }, (_, i) => `t${i}`)))
        yield* settle
        const peers = yield* server.connections
        assert.strictEqual(peers.length, 3)
        const held = yield* Effect.forEach(
          peers,
          (p) => Effect.map(p.received, (r) => requests(r).flatMap((q) => q.args))
        )
        assert.deepStrictEqual(held, [["t0", "t1", "t2"], ["t3", "t4", "t5"], ["t6", "t7"]])
        for (const [i, peer] of peers.entries()) yield* peer.send(data(`t${i * 3}`, 1))
        yield* settle
        assert.sameMembers(texts(frames).filter((t) => t.startsWith('{"topic"')), [
          data("t0", 1),
          data("t3", 1),
          data("t6", 1)
        ])
        const shards = yield* feed.shards
        assert.deepStrictEqual(shards.map((s) => s.topics.length), [3, 3, 2])
        assert.deepStrictEqual(new Set(shards.map((s) => s.connection)).size, 3)
      }).pipe(Effect.provide(layer())))

    it.effect("a shard whose last topic leaves is closed; new topics fill the free room first", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ streamsPerConnection: 2 }), base)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(["a", "b", "c"]))
        yield* settle
        yield* Effect.forkScoped(feed.unsubscribe("c"))
        yield* settle
        assert.strictEqual((yield* server.dials).length, 2)
        assert.strictEqual((yield* server.connections).length, 1)
        assert.deepStrictEqual((yield* feed.shards).map((s) => s.topics), [["a", "b"]])
        yield* Effect.forkScoped(feed.unsubscribe("b"))
        yield* settle
        yield* Effect.forkScoped(feed.subscribe("d"))
        yield* settle
        assert.deepStrictEqual((yield* feed.shards).map((s) => s.topics), [["a", "d"]])
      }).pipe(Effect.provide(layer())))

    it.effect("a request over maxRequestBytes is split until each fits", () =>
      Effect.gen(function*() {
        const profile = toy({ topicsPerRequest: 8, maxRequestBytes: 90 })
        const feed = yield* Feed.make("toy", profile, base)
        const server = yield* MemoryServer
        const topics = Array.from({ length: 20 }, (_, i) => `topic-${String(i).padStart(2, "0")}`)
        const done = yield* Effect.forkScoped(feed.subscribe(topics))
        yield* settle
        yield* Fiber.join(done)
        const peer = (yield* server.latest)!
        const sent = (yield* peer.received).flatMap((m) => (m._tag === "Text" ? [m.data] : []))
        assert.isAbove(sent.length, 1)
        assert.isAbove(sent.length, 3)
        for (const text of sent) assert.isAtMost(text.length, 90)
        assert.deepStrictEqual(requests(yield* peer.received).flatMap((r) => r.args), topics)
        const ids = requests(yield* peer.received).map((r) => r.id)
        assert.strictEqual(new Set(ids).size, ids.length)
      }).pipe(Effect.provide(layer())))

    it.effect("dials across shards respect the venue's connection limit", () =>
      Effect.gen(function*() {
        const profile = toy({ streamsPerConnection: 1, connections: { count: 2, window: "1 second" } })
        const feed = yield* Feed.make("toy", profile, base)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(["a", "b", "c", "d", "e"]))
        yield* advance(3_000, 100)
        const dials = yield* server.dials
        assert.strictEqual(dials.length, 5)
        const at = dials.map((d) => d.at)
        for (const t of at) assert.isAtMost(at.filter((u) => u >= t && u < t + 1_000).length, 2)
        assert.deepStrictEqual((yield* feed.subscriptions).map((s) => s.state), Array(5).fill("confirmed"))
      }).pipe(Effect.provide(layer())))
  })

  describe("staleness", () => {
    it.effect("a quiet topic is resubscribed, then its connection restarted; quiet-by-nature topics are left alone", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy({ topicsPerRequest: 1 }), {
          ...base,
          cadence: (topic) => (topic === "busy" || topic === "lost" ? "2 seconds" : undefined)
        })
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(["busy", "lost", "rare"]))
        yield* settle
        const peer = (yield* server.latest)!
        for (let i = 1; i <= 12; i++) {
          yield* peer.send(data("busy", i))
          yield* advance(250)
        }
        // 3 s in: "lost" was quiet for 2 s, so it got a targeted resubscribe.
        const stale = () => events.filter(Feed.FeedEvent.$is("Stale"))
        assert.deepStrictEqual(stale().map((e) => [e.topic, e.action]), [["lost", "resubscribe"]])
        assert.deepStrictEqual(
          requests(yield* peer.received).slice(3).map((r) => [r.op, r.args]),
          [["unsubscribe", ["lost"]], ["subscribe", ["lost"]]]
        )
        for (let i = 13; i <= 20; i++) {
          yield* peer.send(data("busy", i))
          yield* advance(250)
        }
        // Still quiet after another cadence: the connection is restarted.
        assert.deepStrictEqual(stale().map((e) => [e.topic, e.action]), [["lost", "resubscribe"], ["lost", "restart"]])
        yield* advance(1_000)
        assert.strictEqual((yield* server.dials).length, 2)
        assert.isFalse(yield* peer.isOpen)
        assert.isFalse(stale().some((e) => e.topic === "rare" || e.topic === "busy"))
      }).pipe(Effect.provide(layer())))

    it.effect("data after a resubscribe ends the episode: no restart", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), { ...base, cadence: () => "1 second" })
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe("x"))
        yield* settle
        const peer = (yield* server.latest)!
        yield* advance(1_500, 250)
        yield* peer.send(data("x", 1))
        yield* settle
        for (let i = 2; i < 10; i++) {
          yield* advance(500)
          yield* peer.send(data("x", i))
        }
        const stale = events.filter(Feed.FeedEvent.$is("Stale"))
        assert.deepStrictEqual(stale.map((e) => e.action), ["resubscribe"])
        assert.strictEqual((yield* server.dials).length, 1)
      }).pipe(Effect.provide(layer())))
  })

  describe("sequence", () => {
    it.effect("a gap emits GapDetected{expected, got} and restarts the connection", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), { ...base, sequence })
        const frames = yield* collect(feed.frames)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe("s"))
        yield* settle
        const peer = (yield* server.latest)!
        yield* peer.send(data("s", 1), data("s", 2), data("s", 4), data("s", 5))
        // A later read of the same session, still in flight when the restart's new session opens.
        yield* peer.send(data("s", 6))
        yield* settle
        // Nothing built on the gap is delivered.
        assert.deepStrictEqual(seqs(frames), [1, 2])
        const gaps = events.filter(Feed.FeedEvent.$is("GapDetected"))
        assert.deepStrictEqual(gaps.map((g) => [g.stream, g.expected, g.got, g.action, g.sessionStart]), [[
          "s",
          3,
          4,
          "restart",
          false
        ]])
        assert.isFalse(yield* peer.isOpen)
        yield* advance(100)
        // The new session misses what went by meanwhile: reported, not restarted again.
        const next = (yield* server.latest)!
        assert.notStrictEqual(next.id, peer.id)
        yield* next.send(data("s", 9), data("s", 10))
        yield* settle
        const after = events.filter(Feed.FeedEvent.$is("GapDetected"))
        assert.deepStrictEqual(after.map((g) => [g.expected, g.got, g.action, g.sessionStart]), [
          [3, 4, "restart", false],
          [3, 9, "report", true]
        ])
        assert.isTrue(yield* next.isOpen)
        assert.deepStrictEqual(seqs(frames), [1, 2, 9, 10])
      }).pipe(Effect.provide(layer())))

    it.effect("with a resync callback, a gap runs it and the connection stays up", () =>
      Effect.gen(function*() {
        const resyncs: Array<Feed.Gap> = []
        const feed = yield* Feed.make("toy", toy(), {
          ...base,
          sequence,
          onGap: (gap) => Effect.sync(() => void resyncs.push(gap))
        })
        const frames = yield* collect(feed.frames)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe("s"))
        yield* settle
        const peer = (yield* server.latest)!
        yield* peer.send(data("s", 10), data("s", 11), data("s", 15), data("s", 16))
        yield* settle
        assert.deepStrictEqual(resyncs.map((g) => [g.stream, g.expected, g.got]), [["s", 12, 15]])
        assert.deepStrictEqual(seqs(frames), [10, 11, 15, 16])
        assert.isTrue(yield* peer.isOpen)
        assert.strictEqual((yield* server.dials).length, 1)
      }).pipe(Effect.provide(layer())))

    it.effect("a snapshot restarts its stream, even with lower numbers (a venue restart)", () =>
      Effect.gen(function*() {
        const withSnapshots = (text: string) => {
          const s = sequence(text)
          return s === undefined ? undefined : { ...s, snapshot: JSON.parse(text).snapshot === true }
        }
        const feed = yield* Feed.make("toy", toy(), { ...base, sequence: withSnapshots })
        const frames = yield* collect(feed.frames)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe("b"))
        yield* settle
        const peer = (yield* server.latest)!
        const snapshot = (seq: number) => JSON.stringify({ topic: "b", seq, snapshot: true })
        yield* peer.send(snapshot(500), data("b", 501), data("b", 502), snapshot(1), data("b", 2), data("b", 3))
        yield* settle
        assert.deepStrictEqual(seqs(frames), [500, 501, 502, 1, 2, 3])
        assert.isFalse(events.some((e) => e._tag === "GapDetected"))
        assert.isTrue(yield* peer.isOpen)
      }).pipe(Effect.provide(layer())))

    it.effect("duplicates are dropped; a chained stream (prev) gaps when prev is not the last seen", () =>
      Effect.gen(function*() {
        const chained = (text: string) => {
          const s = sequence(text)
          return s === undefined ? undefined : { ...s, prev: JSON.parse(text).prev }
        }
        const feed = yield* Feed.make("toy", toy(), { ...base, sequence: chained, onGap: "report" })
        const frames = yield* collect(feed.frames)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe("b"))
        yield* settle
        const peer = (yield* server.latest)!
        const msg = (seq: number, prev: number) => JSON.stringify({ topic: "b", seq, prev })
        yield* peer.send(msg(100, 90), msg(107, 100), msg(107, 100), msg(120, 111), msg(125, 120))
        yield* settle
        assert.deepStrictEqual(seqs(frames), [100, 107, 120, 125])
        const gaps = events.filter(Feed.FeedEvent.$is("GapDetected"))
        assert.deepStrictEqual(gaps.map((g) => [g.expected, g.got, g.action]), [[107, 111, "report"]])
        assert.strictEqual((yield* feed.stats).duplicates, 1)
      }).pipe(Effect.provide(layer())))
  })

  describe("rotation", () => {
    it.effect("maxLifetime rotates make-before-break: no gap, no duplicate, old session closed after the switch", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), { ...base, sequence, maxLifetime: "10 seconds" })
        const frames = yield* collect(feed.frames)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe("s"))
        yield* settle
        const old = (yield* server.latest)!
        let seq = 0
        for (; seq < 40; seq++) {
          yield* old.send(data("s", seq))
          yield* advance(250)
        }
        // 10 s: a second connection is dialed beside the first.
        const fresh = (yield* server.latest)!
        assert.notStrictEqual(fresh.id, old.id)
        assert.isTrue(yield* old.isOpen)
        // The new session starts a little behind the old one (overlap 38..45).
        yield* old.send(data("s", 40), data("s", 41))
        yield* settle
        yield* fresh.send(data("s", 38), data("s", 39), data("s", 40), data("s", 41), data("s", 42))
        yield* settle
        yield* old.send(data("s", 42), data("s", 43))
        yield* fresh.send(data("s", 43), data("s", 44))
        yield* settle
        yield* advance(500, 100)
        assert.isFalse(yield* old.isOpen)
        assert.deepStrictEqual(seqs(frames), Array.from({ length: 45 }, (_, i) => i))
        const rotated = events.filter(Feed.FeedEvent.$is("Rotated"))
        assert.strictEqual(rotated.length, 1)
        assert.isTrue(rotated[0]!.overlapped)
        assert.strictEqual(events.find(Feed.FeedEvent.$is("RotationStarted"))!.reason, "maxLifetime")
        assert.strictEqual((yield* feed.shards)[0]!.generation, 1)
      }).pipe(Effect.provide(layer())))

    it.effect("a server notice rotates at once", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), { ...base, sequence })
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe("s"))
        yield* settle
        const old = (yield* server.latest)!
        yield* old.send(data("s", 1), '{"notice":"bye"}')
        yield* settle
        const fresh = (yield* server.latest)!
        assert.notStrictEqual(fresh.id, old.id)
        yield* fresh.send(data("s", 1), data("s", 2))
        yield* settle
        yield* advance(200, 100)
        assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("RotationStarted")).map((e) => e.reason), ["notice"])
        assert.strictEqual(events.filter(Feed.FeedEvent.$is("Rotated")).length, 1)
        assert.isFalse(yield* old.isOpen)
      }).pipe(Effect.provide(layer())))

    it.effect("a new session that never gets ready: RotationFailed, the old one stays live", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), { ...base, rotationTimeout: "5 seconds" })
        const frames = yield* collect(feed.frames)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe("s"))
        yield* settle
        const old = (yield* server.latest)!
        yield* server.setDefault(MemoryTransport.DialOutcome.refuse(503))
        const rotation = yield* Effect.forkScoped(feed.rotate())
        yield* advance(6_000, 250)
        yield* Fiber.join(rotation)
        assert.strictEqual(events.filter(Feed.FeedEvent.$is("RotationFailed")).length, 1)
        assert.isTrue(yield* old.isOpen)
        yield* old.send(data("s", 1))
        yield* settle
        assert.deepStrictEqual(seqs(frames), [1])
      }).pipe(Effect.provide(layer())))
  })

  describe("options", () => {
    it.effect("invalid options fail with InvalidConfig naming the field", () =>
      Effect.gen(function*() {
        const a = yield* Effect.flip(Feed.make("toy", toy(), { streamsPerConnection: 0 }))
        assert.strictEqual(a.field, "streamsPerConnection")
        const b = yield* Effect.flip(Feed.make("toy", toy(), { maxLifetime: "-1 seconds" }))
        assert.strictEqual(b.field, "maxLifetime")
        const c = yield* Effect.flip(Feed.make("toy", toy(), { url: "http://nope" }))
        assert.strictEqual(c.field, "url")
        const d = yield* Effect.flip(Feed.make("toy", toy(), { topics: [""] }))
        assert.strictEqual(d.field, "topics")
        const misspelt: Feed.GapAction = JSON.parse('"restrat"')
        const e = yield* Effect.flip(Feed.make("toy", toy(), { onGap: misspelt }))
        assert.strictEqual(e.field, "onGap")
        assert.include(e.message, "restrat")
      }).pipe(Effect.provide(layer())))

    it.effect("a sequence or cadence function that throws is reported; frames keep flowing", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), {
          ...base,
          // The unread 2 makes 3 look like a gap: reported only, so every frame stays visible.
          onGap: "report",
          sequence: (text) => {
            if (text.includes('"seq":2')) throw new Error("cannot read 2")
            return sequence(text)
          },
          cadence: (topic) => {
            if (topic === "odd") throw new Error("no cadence for odd")
            return undefined
          }
        })
        const frames = yield* collect(feed.frames)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe(["s", "odd"]))
        yield* settle
        const peer = (yield* server.latest)!
        yield* peer.send(data("s", 1), data("s", 2), data("s", 3))
        yield* settle
        assert.deepStrictEqual(seqs(frames), [1, 2, 3])
        const failures = events.filter(Feed.FeedEvent.$is("ReaderFailed"))
        assert.deepStrictEqual(failures.map((f) => [f.reader, String(f.error)]), [
          ["cadence", "Error: no cadence for odd"],
          ["sequence", "Error: cannot read 2"]
        ])
        assert.strictEqual((yield* feed.stats).readerFailures, 2)
        assert.deepStrictEqual((yield* feed.subscriptions).map((s) => s.state), ["confirmed", "confirmed"])
      }).pipe(Effect.provide(layer())))

    it.effect("a user-written profile that throws is reported; the frame is delivered as it came", () =>
      Effect.gen(function*() {
        const base_ = toy()
        const fragile: typeof base_ = {
          ...base_,
          isNotice: (text) => {
            if (text === "boom") throw new Error("isNotice cannot read boom")
            return base_.isNotice(text)
          }
        }
        const feed = yield* Feed.make("toy", fragile, base)
        const frames = yield* collect(feed.frames)
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe("s"))
        yield* settle
        const peer = (yield* server.latest)!
        yield* peer.send(data("s", 1), "boom", data("s", 2))
        yield* settle
        assert.deepStrictEqual(texts(frames).filter((t) => !t.startsWith('{"ack"')), [
          data("s", 1),
          "boom",
          data("s", 2)
        ])
        const failures = events.filter(Feed.FeedEvent.$is("ReaderFailed"))
        assert.deepStrictEqual(failures.map((f) => [f.reader, String(f.error)]), [[
          "profile",
          "Error: isNotice cannot read boom"
        ]])
      }).pipe(Effect.provide(layer())))

    it.effect("close ends the streams and fails waiting subscribers with ConnectionStopped", () =>
      Effect.gen(function*() {
        const feed = yield* Feed.make("toy", toy(), base)
        const waiting = yield* Effect.forkScoped(Effect.flip(feed.subscribe("mute-x")))
        const frames = yield* Effect.forkScoped(Stream.runDrain(feed.frames))
        yield* settle
        yield* feed.close
        const error = yield* Fiber.join(waiting)
        assert.strictEqual(error._tag, "ConnectionStopped")
        yield* Fiber.join(frames)
        const server = yield* MemoryServer
        const peers = yield* server.connections
        for (const peer of peers) assert.isFalse(yield* peer.isOpen)
        const late = yield* Effect.flip(feed.subscribe("y"))
        assert.strictEqual(late._tag, "ConnectionStopped")
      }).pipe(Effect.provide(layer())))
  })
})
