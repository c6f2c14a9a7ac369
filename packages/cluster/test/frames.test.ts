/**
 * The consumer side of `FeedCluster.frames`, on `TestClock` with scripted
 * slice streams: items of an older activation after a newer one are
 * dropped, a new activation is announced by one `SliceMoved`, beats are not
 * handed on, and a stream silent past the stall timeout is asked again.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import type * as FeedSlice from "../src/FeedSlice.ts"
import * as Frames from "../src/internal/frames.ts"

const frame = (activation: number, data: string): FeedSlice.SliceItem => ({
  _tag: "Frame",
  activation,
  session: 1,
  receivedAt: 0,
  data
})
const beat = (activation: number): FeedSlice.SliceItem => ({ _tag: "Beat", activation, at: 0 })

const describeItem = (item: Frames.ClusterItem) =>
  item._tag === "Frame"
    ? `${item.slice}:${item.activation}:${String(item.data)}`
    : `moved ${item.slice} ${item.from}→${item.to}`

describe("FeedCluster.frames (consumer side)", () => {
  it.effect("drops an older activation's items after a newer one, marks the move once, hands on no beat", () =>
    Effect.gen(function*() {
      const script = [frame(1, "a"), beat(1), frame(1, "b"), beat(2), frame(2, "c"), frame(1, "stale"), frame(2, "d")]
      const items = yield* Frames.make({
        feed: "f",
        slices: Effect.succeed([0]),
        open: () => Stream.fromIterable(script).pipe(Stream.concat(Stream.never))
      }).pipe(Stream.take(5), Stream.runCollect)
      assert.deepStrictEqual(items.map(describeItem), ["0:1:a", "0:1:b", "moved 0 1→2", "0:2:c", "0:2:d"])
    }))

  it.effect("asks a silent slice again after the stall timeout, and only then", () =>
    Effect.gen(function*() {
      let opened = 0
      const fiber = yield* Frames.make({
        feed: "f",
        slices: Effect.succeed([0]),
        open: () =>
          Stream.suspend(() => {
            opened++
            return Stream.make(frame(opened, `open ${opened}`)).pipe(Stream.concat(Stream.never))
          })
      }, { stallTimeout: "3 seconds" }).pipe(Stream.take(3), Stream.runCollect, Effect.forkChild)
      while (opened === 0) yield* Effect.yieldNow
      yield* TestClock.adjust("2999 millis")
      assert.strictEqual(opened, 1)
      // Asked again once the stall timeout passed (plus the 200 ms pause between rounds).
      yield* TestClock.adjust("1 second")
      assert.strictEqual(opened, 2)
      const items = yield* Fiber.join(fiber)
      assert.deepStrictEqual(items.map(describeItem), ["0:1:open 1", "moved 0 1→2", "0:2:open 2"])
    }))

  it.effect("follows slices the registry adds later", () =>
    Effect.gen(function*() {
      let slices: ReadonlyArray<number> = [0]
      const fiber = yield* Frames.make({
        feed: "f",
        slices: Effect.sync(() => slices),
        open: (slice) => Stream.make(frame(1, `slice ${slice}`)).pipe(Stream.concat(Stream.never))
      }, { pollInterval: "2 seconds" }).pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
      yield* TestClock.adjust("1 second")
      slices = [0, 1]
      yield* TestClock.adjust("2 seconds")
      const items = yield* Fiber.join(fiber)
      assert.deepStrictEqual(items.map(describeItem), ["0:1:slice 0", "1:1:slice 1"])
    }))
})
