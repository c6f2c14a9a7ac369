/**
 * Feed's log lines on MemoryTransport and TestClock: a gap warns with the
 * feed, shard and stream; a rotation done is info, one that failed a
 * warning; the connections' own events are logged once, by the core
 * connection; a raised minimum level drops the lines below it.
 */
import { assert, describe, it } from "@effect/vitest"
import { MemoryTransport } from "@kharbranth/core"
import { capture, type Line } from "@kharbranth/test-utils/logs"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Feed from "../src/Feed.ts"
import { advance, base, collect, data, layer, sequence, settle, toy } from "./utils/toy.ts"

const { MemoryServer } = MemoryTransport

const feedLines = (lines: ReadonlyArray<Line>, event: string) =>
  lines.filter((l) => l.annotations.feed !== undefined && l.annotations.event === event)

describe("Feed logs", () => {
  it.effect("a sequence gap is a warning with feed, shard and stream; connection events are logged once, by the connection", () => {
    const { lines, provide } = capture("All")
    return Effect.gen(function*() {
      const feed = yield* Feed.make("toy", toy(), { ...base, sequence })
      const server = yield* MemoryServer
      yield* Effect.forkScoped(feed.subscribe("s"))
      yield* settle
      const peer = (yield* server.latest)!
      yield* peer.send(data("s", 1), data("s", 2), data("s", 4))
      yield* settle
      const gaps = feedLines(lines, "GapDetected")
      assert.deepStrictEqual(gaps, [{
        level: "Warn",
        message: "sequence gap: expected 3, got 4: restart",
        annotations: { feed: "toy", event: "GapDetected", shard: 0, stream: "s" }
      }])
      // The first session, and the one the gap's restart opened: each logged once, as the connection's.
      const opened = lines.filter((l) => l.annotations.event === "Opened")
      assert.deepStrictEqual(opened.map((l) => [l.level, l.annotations.session, l.annotations.feed]), [
        ["Info", 1, undefined],
        ["Info", 2, undefined]
      ])
      assert.strictEqual(typeof opened[0]!.annotations.connection, "string")
      assert.strictEqual(feedLines(lines, "Connection").length, 0)
    }).pipe(Effect.provide(layer()), provide)
  })

  it.effect("a rotation done is info, with its generation and duration", () => {
    const { lines, provide } = capture("All")
    return Effect.gen(function*() {
      const feed = yield* Feed.make("toy", toy(), { ...base, sequence })
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
      const rotated = feedLines(lines, "Rotated")
      assert.strictEqual(rotated.length, 1)
      assert.strictEqual(rotated[0]!.level, "Info")
      assert.match(rotated[0]!.message, /^rotation done: generation 1 in \d+ ms$/)
      assert.deepStrictEqual(rotated[0]!.annotations, { feed: "toy", event: "Rotated", shard: 0 })
      const started = feedLines(lines, "RotationStarted")
      assert.deepStrictEqual(started.map((l) => [l.level, l.message]), [["Debug", "rotation started: notice"]])
    }).pipe(Effect.provide(layer()), provide)
  })

  it.effect("a rotation that failed is a warning", () => {
    const { lines, provide } = capture("All")
    return Effect.gen(function*() {
      const feed = yield* Feed.make("toy", toy(), { ...base, rotationTimeout: "5 seconds" })
      const server = yield* MemoryServer
      yield* Effect.forkScoped(feed.subscribe("s"))
      yield* settle
      yield* server.setDefault(MemoryTransport.DialOutcome.refuse(503))
      const rotation = yield* Effect.forkScoped(feed.rotate())
      yield* advance(6_000, 250)
      yield* Fiber.join(rotation)
      const failed = feedLines(lines, "RotationFailed")
      assert.strictEqual(failed.length, 1)
      assert.strictEqual(failed[0]!.level, "Warn")
      assert.match(failed[0]!.message, /^rotation failed: /)
    }).pipe(Effect.provide(layer()), provide)
  })

  it.effect("a resync that failed is an error, with the stream and the failure's message", () => {
    const { lines, provide } = capture("All")
    return Effect.gen(function*() {
      const feed = yield* Feed.make("toy", toy(), {
        ...base,
        sequence,
        onGap: () => Effect.fail(new Error("snapshot endpoint down"))
      })
      const server = yield* MemoryServer
      yield* Effect.forkScoped(feed.subscribe("s"))
      yield* settle
      const peer = (yield* server.latest)!
      yield* peer.send(data("s", 10), data("s", 11), data("s", 15))
      yield* settle
      assert.deepStrictEqual(feedLines(lines, "ResyncFailed"), [{
        level: "Error",
        message: "resync failed: Error: snapshot endpoint down",
        annotations: { feed: "toy", event: "ResyncFailed", stream: "s" }
      }])
    }).pipe(Effect.provide(layer()), provide)
  })

  it.effect("topics the venue refused are a warning naming them", () => {
    const { lines, provide } = capture("All")
    return Effect.gen(function*() {
      const feed = yield* Feed.make("toy", toy({ topicsPerRequest: 1 }), base)
      yield* feed.subscribe(["ok", "bad-1"]).pipe(Effect.exit, Effect.forkScoped)
      yield* settle
      const refused = feedLines(lines, "SubscribeFailed")
      assert.strictEqual(refused.length, 1)
      assert.strictEqual(refused[0]!.level, "Warn")
      assert.match(refused[0]!.message, /^venue refused 1 topic \(permanent\): .*bad-1/)
      assert.deepStrictEqual(refused[0]!.annotations, {
        feed: "toy",
        event: "SubscribeFailed",
        shard: 0,
        topic: "bad-1"
      })
    }).pipe(Effect.provide(layer()), provide)
  })

  it.effect("with the minimum at Warn, only the gap and the connection's warnings are logged", () => {
    const { lines, provide } = capture("Warn")
    return Effect.gen(function*() {
      const feed = yield* Feed.make("toy", toy(), { ...base, sequence })
      const events = yield* collect(feed.events)
      const server = yield* MemoryServer
      yield* Effect.forkScoped(feed.subscribe("s"))
      yield* settle
      const peer = (yield* server.latest)!
      yield* peer.send(data("s", 1), data("s", 2), data("s", 4))
      yield* settle
      assert.isTrue(events.some((e) => e._tag === "Subscribed"), "debug events happened")
      assert.isTrue(lines.length > 0)
      assert.isTrue(lines.every((l) => l.level === "Warn" || l.level === "Error"))
      assert.strictEqual(feedLines(lines, "GapDetected").length, 1)
    }).pipe(Effect.provide(layer()), provide)
  })
})
