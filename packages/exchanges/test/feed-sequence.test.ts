/**
 * Sequences in a Feed on MemoryTransport and TestClock: the verdicts of the
 * sequencer (in order, duplicate, a venue's documented reset, gap), OKX's
 * `seqId` reset through a feed, staleness that duplicates cannot fool, and
 * a book stream nothing on the socket repairs held after a gap until a
 * resync ran.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Frame, MemoryTransport } from "@kharbranth/core"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Stream from "effect/Stream"
import * as Feed from "../src/Feed.ts"
import * as Sequencer from "../src/internal/feed/sequencer.ts"
import type * as Venue from "../src/Venue.ts"
import { advance, base, collect, layer, settle, toy } from "./utils/toy.ts"

const { MemoryServer } = MemoryTransport

/** A book push: `{"topic","seq","prev"}` (chained, as OKX), `"snap":true` for a snapshot, `"diff":true` for a stream with no snapshot on the socket (as Binance). */
const push = (topic: string, seq: number, extra: { prev?: number; snap?: boolean; diff?: boolean } = {}) =>
  JSON.stringify({ topic, seq, ...extra })

const sequence = (text: string): Venue.Sequence | undefined => {
  if (!text.startsWith('{"topic"')) return undefined
  const msg = JSON.parse(text)
  return {
    stream: msg.topic,
    first: msg.seq,
    last: msg.seq,
    ...(msg.prev === undefined ? {} : { prev: msg.prev }),
    ...(msg.snap === true ? { snapshot: true } : {}),
    ...(msg.diff === true ? { needsResync: true } : {})
  }
}

const seqs = (frames: ReadonlyArray<{ readonly _tag: string }>) =>
  frames.flatMap((
    f
  ) => ("data" in f && typeof f.data === "string" && f.data.startsWith('{"topic"') ? [JSON.parse(f.data).seq] : []))

/**
 * A toy Binance-like feed on "depth" with `options` (an `onGap` callback),
 * whose live session sent 1 then 5: the gap at 5 holds the stream and runs
 * the callback. Collects frames and events from the start.
 */
const heldAfterGap = (options: Partial<Feed.FeedOptions>) =>
  Effect.gen(function*() {
    const feed = yield* Feed.make("binance-like", toy(), { ...base, sequence, ...options })
    const frames = yield* collect(feed.frames)
    const events = yield* collect(feed.events)
    yield* Effect.forkScoped(feed.subscribe("depth"))
    yield* settle
    const peer = (yield* (yield* MemoryServer).latest)!
    yield* peer.send(push("depth", 1, { diff: true }))
    yield* peer.send(push("depth", 5, { diff: true }))
    yield* settle
    return { events, feed, frames, peer }
  })

describe("Sequencer.judge", () => {
  const s = (last: number, extra: Partial<Venue.Sequence> = {}): Venue.Sequence => ({
    stream: "x",
    first: last,
    last,
    ...extra
  })
  it("consecutive numbers: in order, duplicate, gap", () => {
    assert.deepStrictEqual(Sequencer.judge(undefined, s(7), false), { _tag: "InOrder" })
    assert.deepStrictEqual(Sequencer.judge(7, s(8), false), { _tag: "InOrder" })
    assert.deepStrictEqual(Sequencer.judge(7, s(7), false), { _tag: "Duplicate" })
    assert.deepStrictEqual(Sequencer.judge(7, s(5), false), { _tag: "Duplicate" })
    assert.deepStrictEqual(Sequencer.judge(7, s(10), false), { _tag: "Gap", expected: 8, got: 10 })
  })
  it("chained numbers are judged by prev first: OKX's seqId reset continues the stream", () => {
    assert.deepStrictEqual(Sequencer.judge(1002, s(1010, { prev: 1002 }), false), { _tag: "InOrder" })
    assert.deepStrictEqual(Sequencer.judge(1002, s(5, { prev: 1002 }), false), { _tag: "Reset", from: 1002, to: 5 })
    assert.deepStrictEqual(Sequencer.judge(5, s(6, { prev: 5 }), false), { _tag: "InOrder" })
    // OKX's empty keep-alive update: seqId = prevSeqId = the last one.
    assert.deepStrictEqual(Sequencer.judge(1002, s(1002, { prev: 1002 }), false), { _tag: "InOrder" })
    assert.deepStrictEqual(Sequencer.judge(1002, s(1001, { prev: 990 }), false), { _tag: "Duplicate" })
    assert.deepStrictEqual(Sequencer.judge(1002, s(1020, { prev: 1010 }), false), {
      _tag: "Gap",
      expected: 1002,
      got: 1010
    })
  })
  it("a snapshot restarts its stream, except while a rotation's frames are released", () => {
    assert.deepStrictEqual(Sequencer.judge(1002, s(1, { snapshot: true }), false), { _tag: "InOrder" })
    assert.deepStrictEqual(Sequencer.judge(1002, s(1, { snapshot: true }), true), { _tag: "Duplicate" })
  })
})

describe("Feed sequences", () => {
  it.effect("an OKX seqId reset is delivered and reported; the updates after it flow", () =>
    Effect.gen(function*() {
      const feed = yield* Feed.make("okx-like", toy(), { ...base, sequence })
      const frames = yield* collect(feed.frames)
      const events = yield* collect(feed.events)
      yield* Effect.forkScoped(feed.subscribe("books:BTC-USDT"))
      yield* settle
      const peer = (yield* (yield* MemoryServer).latest)!
      const t = "books:BTC-USDT"
      yield* peer.send(push(t, 1000, { snap: true }))
      yield* peer.send(push(t, 1001, { prev: 1000 }))
      yield* peer.send(push(t, 1002, { prev: 1001 }))
      yield* peer.send(push(t, 5, { prev: 1002 }))
      for (let n = 6; n < 10; n++) yield* peer.send(push(t, n, { prev: n - 1 }))
      yield* settle
      assert.deepStrictEqual(seqs(frames), [1000, 1001, 1002, 5, 6, 7, 8, 9])
      const resets = events.filter(Feed.FeedEvent.$is("SequenceReset"))
      assert.deepStrictEqual(resets.map((e) => [e.stream, e.from, e.to]), [[t, 1002, 5]])
      const stats = yield* feed.stats
      assert.strictEqual(stats.duplicates, 0)
      assert.strictEqual(stats.resets, 1)
      assert.strictEqual(events.filter(Feed.FeedEvent.$is("GapDetected")).length, 0)
    }).pipe(Effect.provide(layer())))

  it.effect("duplicates do not count as data: a topic that only repeats itself goes stale", () =>
    Effect.gen(function*() {
      const feed = yield* Feed.make("toy", toy(), { ...base, sequence, cadence: () => "2 seconds" })
      const events = yield* collect(feed.events)
      yield* Effect.forkScoped(feed.subscribe("t"))
      yield* settle
      const peer = (yield* (yield* MemoryServer).latest)!
      yield* peer.send(push("t", 10))
      yield* settle
      for (let i = 0; i < 12; i++) {
        yield* peer.send(push("t", 10))
        yield* advance(250)
      }
      assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("Stale")).map((e) => e.action), ["resubscribe"])
      assert.isAtLeast((yield* feed.stats).duplicates, 8)
    }).pipe(Effect.provide(layer())))

  it.effect("a book with no snapshot on the socket is held after a reconnect's gap, not handed over", () =>
    Effect.gen(function*() {
      const feed = yield* Feed.make("binance-like", toy(), { ...base, sequence })
      const frames = yield* collect(feed.frames)
      const events = yield* collect(feed.events)
      const server = yield* MemoryServer
      yield* Effect.forkScoped(feed.subscribe("depth"))
      yield* settle
      const first = (yield* server.latest)!
      for (let n = 1; n <= 3; n++) yield* first.send(push("depth", n, { diff: true }))
      yield* settle
      yield* first.drop
      yield* advance(1_000)
      const second = (yield* server.latest)!
      yield* second.send(push("depth", 10, { diff: true }))
      yield* second.send(push("depth", 11, { diff: true }))
      yield* settle
      assert.deepStrictEqual(seqs(frames), [1, 2, 3])
      const gaps = events.filter(Feed.FeedEvent.$is("GapDetected"))
      assert.deepStrictEqual(gaps.map((g) => [g.action, g.sessionStart]), [["hold", true]])
      assert.strictEqual(events.filter(Feed.FeedEvent.$is("Held")).length, 1)
      assert.strictEqual((yield* feed.stats).held, 2)
      // A snapshot from the venue repairs it: the held frames are older, dropped.
      yield* second.send(push("depth", 20, { diff: true, snap: true }))
      yield* second.send(push("depth", 21, { diff: true }))
      yield* settle
      assert.deepStrictEqual(seqs(frames), [1, 2, 3, 20, 21])
      assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("Released")).map((e) => [e.frames, e.dropped]), [[0, 2]])
    }).pipe(Effect.provide(layer())))

  it.effect("with a resync callback, a held stream's frames are released in order once it succeeds", () =>
    Effect.gen(function*() {
      const fetched = yield* Deferred.make<void>()
      const calls: Array<Feed.Gap> = []
      const { events, frames, peer } = yield* heldAfterGap({
        onGap: (gap) => Effect.andThen(Effect.sync(() => void calls.push(gap)), Deferred.await(fetched))
      })
      yield* peer.send(push("depth", 6, { diff: true }))
      yield* settle
      // A gap on a live session is restarted by default; with a callback the
      // stream is held while it runs (its frames would build a wrong book).
      assert.deepStrictEqual(seqs(frames), [1])
      assert.strictEqual(calls.length, 1)
      assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("GapDetected")).map((g) => g.action), ["resync"])
      yield* Deferred.succeed(fetched, undefined)
      yield* settle
      yield* peer.send(push("depth", 7, { diff: true }))
      yield* settle
      assert.deepStrictEqual(seqs(frames), [1, 5, 6, 7])
      assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("Released")).map((e) => e.frames), [2])
    }).pipe(Effect.provide(layer())))

  it.effect("a stream with a snapshot on the socket is not held: a session-start gap is reported and flows", () =>
    Effect.gen(function*() {
      const feed = yield* Feed.make("toy", toy(), { ...base, sequence })
      const frames = yield* collect(feed.frames)
      const events = yield* collect(feed.events)
      const server = yield* MemoryServer
      yield* Effect.forkScoped(feed.subscribe("trades"))
      yield* settle
      const first = (yield* server.latest)!
      yield* first.send(push("trades", 1))
      yield* settle
      yield* first.drop
      yield* advance(1_000)
      yield* (yield* server.latest)!.send(push("trades", 9))
      yield* settle
      assert.deepStrictEqual(seqs(frames), [1, 9])
      assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("GapDetected")).map((g) => g.action), ["report"])
    }).pipe(Effect.provide(layer())))

  it.effect.each([
    { reads: "one read", split: false },
    { reads: "two reads", split: true }
  ])(
    "a gap's resync still runs when its session's reader is stopped mid-delivery ($reads): the held stream is released",
    ({ split }) =>
      Effect.gen(function*() {
        // A consumer that stops reading fills the one-frame hub, so the read
        // that finds the gap waits in its publish; a rotation then retires and
        // closes that session. What the read triggered (the hold's resync)
        // must run anyway: otherwise the stream stays held for good.
        const gate = yield* Latch.make(false)
        const feed = yield* Feed.make("binance-like", toy(), {
          ...base,
          sequence,
          capacity: 1,
          onGap: () => Effect.void
        })
        const frames: Array<Frame.Frame> = []
        yield* Effect.forkScoped(
          Stream.runForEach(feed.frames, (f) => Effect.andThen(gate.await, Effect.sync(() => void frames.push(f))))
        )
        const events = yield* collect(feed.events)
        const server = yield* MemoryServer
        yield* Effect.forkScoped(feed.subscribe("depth"))
        yield* settle
        const first = (yield* server.latest)!
        yield* first.send(push("depth", 1, { diff: true }))
        yield* first.send(push("depth", 2, { diff: true }))
        yield* settle
        // In one socket read, or in two: then the gap is found by a read of its
        // own, whose switchover wakes the rotation on the reader's stack.
        if (split) {
          yield* first.send(push("depth", 3, { diff: true }))
          yield* settle
          yield* first.send(push("depth", 9, { diff: true }))
        } else {
          yield* first.send(push("depth", 3, { diff: true }), push("depth", 9, { diff: true }))
        }
        yield* settle
        yield* Effect.forkScoped(feed.rotate("test"))
        yield* settle
        const second = (yield* server.latest)!
        assert.notStrictEqual(second, first)
        yield* second.send(push("depth", 10, { diff: true }))
        yield* settle
        yield* advance(1_000)
        yield* gate.open
        yield* settle
        yield* second.send(push("depth", 11, { diff: true }))
        yield* settle
        assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("Rotated")).length, 1)
        assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("Held")).length, 1)
        assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("Released")).length, 1)
        // Nothing the sequence check counted as delivered is lost: 3 reaches
        // consumers before the retired session is closed, then the held 9, 10, 11.
        assert.deepStrictEqual(seqs(frames), [1, 2, 3, 9, 10, 11])
        assert.deepStrictEqual((yield* feed.stats).held, 0)
      }).pipe(Effect.provide(layer()))
  )

  it.effect("a held stream's resync that fails is run again after a backoff; the stream flows once one succeeds", () =>
    Effect.gen(function*() {
      let calls = 0
      const { events, feed, frames, peer } = yield* heldAfterGap({
        onGap: () => Effect.suspend(() => ++calls === 1 ? Effect.fail("snapshot endpoint down") : Effect.void)
      })
      assert.strictEqual(calls, 1)
      assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("ResyncFailed")).map((e) => e.stream), ["depth"])
      yield* peer.send(push("depth", 6, { diff: true }))
      yield* advance(900)
      assert.strictEqual(calls, 1, "not before the backoff")
      assert.deepStrictEqual(seqs(frames), [1])
      yield* advance(400)
      assert.strictEqual(calls, 2)
      assert.deepStrictEqual(seqs(frames), [1, 5, 6])
      assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("Released")).map((e) => e.frames), [2])
      assert.strictEqual((yield* feed.stats).held, 0)
    }).pipe(Effect.provide(layer())))

  it.effect("a held stream's resync that never finishes is interrupted at resyncTimeout and run again", () =>
    Effect.gen(function*() {
      let calls = 0
      let interrupted = 0
      const { events, frames } = yield* heldAfterGap({
        resyncTimeout: "5 seconds",
        onGap: () =>
          Effect.suspend(() =>
            ++calls === 1 ? Effect.onInterrupt(Effect.never, () => Effect.sync(() => void interrupted++)) : Effect.void
          )
      })
      yield* advance(4_500)
      assert.deepStrictEqual([calls, interrupted, seqs(frames)], [1, 0, [1]])
      yield* advance(1_000)
      assert.strictEqual(interrupted, 1)
      const failed = events.filter(Feed.FeedEvent.$is("ResyncFailed"))
      assert.strictEqual(failed.length, 1)
      assert.include(String(Cause.squash(failed[0]!.cause)), "did not finish within 5000 ms")
      yield* advance(1_500)
      assert.strictEqual(calls, 2)
      assert.deepStrictEqual(seqs(frames), [1, 5])
      assert.deepStrictEqual(events.filter(Feed.FeedEvent.$is("Released")).map((e) => e.frames), [1])
    }).pipe(Effect.provide(layer())))
})
