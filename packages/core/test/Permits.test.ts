import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Permits } from "../src/internal/permits.ts"
import * as RateWindow from "../src/RateWindow.ts"

describe("Permits (the dial governor's limit)", () => {
  it.effect("at most n hold a permit; the rest go in arrival order as permits come back", () =>
    Effect.gen(function*() {
      const permits = new Permits(2)
      const gates = Array.from({ length: 6 }, () => Deferred.makeUnsafe<void>())
      const started: Array<number> = []
      const fibers = yield* Effect.forEach(gates, (gate, i) =>
        Effect.forkChild(
          permits.with(Effect.andThen(Effect.sync(() => started.push(i)), Deferred.await(gate)))
        ))
      yield* Effect.yieldNow
      assert.deepStrictEqual(started, [0, 1])
      assert.isFalse(permits.available)
      yield* Deferred.succeed(gates[1]!, undefined)
      assert.deepStrictEqual(started, [0, 1, 2], "the oldest waiter runs within the release")
      yield* Deferred.succeed(gates[0]!, undefined)
      yield* Deferred.succeed(gates[2]!, undefined)
      assert.deepStrictEqual(started, [0, 1, 2, 3, 4])
      for (const gate of gates) yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(started, [0, 1, 2, 3, 4, 5])
      assert.isTrue(permits.available, "every permit came back")
    }))

  it.effect("a waiter interrupted in the queue leaves it; a holder interrupted returns its permit", () =>
    Effect.gen(function*() {
      const permits = new Permits(1)
      const gate = Deferred.makeUnsafe<void>()
      const started: Array<string> = []
      const run = (name: string, wait: Effect.Effect<void>) =>
        Effect.forkChild(permits.with(Effect.andThen(Effect.sync(() => started.push(name)), wait)))
      const holder = yield* run("holder", Effect.never)
      const leaver = yield* run("leaver", Effect.void)
      const last = yield* run("last", Deferred.await(gate))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(leaver)
      assert.deepStrictEqual(started, ["holder"])
      yield* Fiber.interrupt(holder)
      assert.deepStrictEqual(started, ["holder", "last"], "the interrupted waiter was skipped")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(last)
      assert.isTrue(permits.available)
    }))

  it.effect("a failing holder returns its permit too", () =>
    Effect.gen(function*() {
      const permits = new Permits(1)
      const error = yield* Effect.flip(permits.with(Effect.fail("boom")))
      assert.strictEqual(error, "boom")
      assert.isTrue(permits.available)
    }))

  it.effect("ten thousand waiters that finish at once are handed over in a loop, not a recursion", () =>
    Effect.gen(function*() {
      const permits = new Permits(1)
      const gate = Deferred.makeUnsafe<void>()
      const order: Array<number> = []
      const first = yield* Effect.forkChild(permits.with(Deferred.await(gate)))
      yield* Effect.yieldNow
      const rest = yield* Effect.forEach(
        Array.from({ length: 10_000 }, (_, i) => i),
        (i) => Effect.forkChild(permits.with(Effect.sync(() => order.push(i))), { startImmediately: true })
      )
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
      yield* Fiber.joinAll(rest)
      assert.strictEqual(order.length, 10_000)
      assert.isTrue(order.every((n, i) => n === i), "in arrival order")
      assert.isTrue(permits.available)
    }))
})

describe("RateWindow", () => {
  it.effect("at most `limit` starts in any window, each as soon as the oldest leaves it, in arrival order", () =>
    Effect.gen(function*() {
      const window = RateWindow.make(2, 1000, yield* Clock.Clock)
      const starts: Array<[number, number]> = []
      const fibers = yield* Effect.forEach([0, 1, 2, 3, 4], (i) =>
        Effect.forkChild(
          Effect.andThen(
            window.take,
            Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => starts.push([i, at])))
          ),
          { startImmediately: true }
        ))
      yield* TestClock.adjust(250)
      const late = yield* Effect.forkChild(
        Effect.andThen(
          window.take,
          Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => starts.push([5, at])))
        ),
        { startImmediately: true }
      )
      for (let i = 0; i < 8; i++) yield* TestClock.adjust(250)
      yield* Fiber.joinAll([...fibers, late])
      // A start hands the turn on before its caller resumes, so sort by caller to read each one's time.
      starts.sort((a, b) => a[0] - b[0])
      assert.deepStrictEqual(starts, [[0, 0], [1, 0], [2, 1000], [3, 1000], [4, 2000], [5, 2000]])
    }))

  it.effect("tryTake records a start only when one fits now and nobody waits; it never waits", () =>
    Effect.gen(function*() {
      const window = RateWindow.make(2, 1000, yield* Clock.Clock)
      assert.deepStrictEqual([window.tryTake(), window.tryTake(), window.tryTake()], [true, true, false])
      const waiter = yield* Effect.forkChild(window.take, { startImmediately: true })
      yield* TestClock.adjust(999)
      assert.isFalse(window.tryTake())
      yield* TestClock.adjust(1)
      yield* Fiber.join(waiter)
      // Both starts at 0 left the window: the waiter took one slot, a try gets the other.
      assert.deepStrictEqual([window.tryTake(), window.tryTake()], [true, false])
      assert.isTrue(RateWindow.unlimited.tryTake())
    }))

  it.effect("an infinite limit never waits", () =>
    Effect.gen(function*() {
      const window = RateWindow.make(Number.POSITIVE_INFINITY, 1000, yield* Clock.Clock)
      for (let i = 0; i < 1000; i++) yield* window.take
      assert.strictEqual(yield* Clock.currentTimeMillis, 0)
    }))
})
