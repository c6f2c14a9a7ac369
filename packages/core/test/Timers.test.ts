import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import * as Internal from "../src/internal/timers.ts"
import * as Timers from "../src/Timers.ts"
import { countFibers, settle } from "./utils/harness.ts"

describe("Timers", () => {
  it.effect("runs each timer once at its time, in time order, added in any order; a cancelled one never runs", () =>
    Effect.gen(function*() {
      const timers = Timers.forClock(yield* Clock.Clock)
      const ran: Array<string> = []
      const log = (name: string) => () => void ran.push(name)
      yield* timers.add(500, log("a500"))
      yield* timers.add(300, log("b300"))
      const c = yield* timers.add(400, log("c400"))
      yield* timers.add(600, log("d600"))
      timers.cancel(c)
      yield* TestClock.adjust(299)
      yield* settle
      assert.deepStrictEqual(ran, [])
      yield* TestClock.adjust(1)
      yield* settle
      assert.deepStrictEqual(ran, ["b300"])
      yield* TestClock.adjust(300)
      yield* settle
      assert.deepStrictEqual(ran, ["b300", "a500", "d600"])
      yield* TestClock.adjust(10_000)
      yield* settle
      assert.deepStrictEqual(ran, ["b300", "a500", "d600"], "a timer runs once")
    }))

  it.effect("one clock, one keeper; it ends as soon as no timer waits, and starts again for the next", () => {
    const fibers = countFibers()
    return Effect.gen(function*() {
      const clock = yield* Clock.Clock
      assert.strictEqual(Timers.forClock(clock), Timers.forClock(clock))
      const timers = Timers.forClock(clock)
      const before = fibers.live()
      const many = []
      for (let i = 0; i < 100; i++) many.push(yield* timers.add(1000 + i, () => {}))
      yield* settle
      assert.strictEqual(fibers.live(), before + 1, "a hundred timers, one sleeping fiber")
      for (const timer of many) timers.cancel(timer)
      yield* settle
      assert.strictEqual(fibers.live(), before, "no timer waits: the keeper ended")
      let fired = 0
      yield* timers.add(50, () => void fired++)
      yield* TestClock.adjust(50)
      yield* settle
      assert.strictEqual(fired, 1)
      assert.strictEqual(fibers.live(), before, "the last timer ran: the keeper ended")
    }).pipe(fibers.counting)
  })

  it.effect("a timer added while others run goes in order, and what runs may cancel what waits", () =>
    Effect.gen(function*() {
      const timers = Timers.forClock(yield* Clock.Clock)
      const ran: Array<string> = []
      let later: Timers.Timer | undefined
      yield* timers.add(100, () => {
        ran.push("first")
        timers.cancel(later!)
      })
      later = yield* timers.add(200, () => void ran.push("cancelled"))
      yield* timers.add(300, () => void ran.push("third"))
      yield* TestClock.adjust(1000)
      yield* settle
      assert.deepStrictEqual(ran, ["first", "third"])
    }))
})

describe("Timers, from a timer's callback", () => {
  it.effect("a callback adds the next timer with no effect and no fork; the one keeper runs it in time", () => {
    const fibers = countFibers()
    return Effect.gen(function*() {
      const timers = Internal.forClock(yield* Clock.Clock)
      const ran: Array<number> = []
      const every = (n: number) => () => {
        ran.push(n)
        if (n < 3) timers.addFromCallback(1000, every(n + 1))
      }
      const before = fibers.live()
      yield* timers.add(1000, every(1))
      for (let second = 1; second <= 3; second++) {
        yield* TestClock.adjust(999)
        yield* settle
        assert.strictEqual(ran.length, second - 1)
        yield* TestClock.adjust(1)
        yield* settle
        assert.deepStrictEqual(ran.length, second)
        assert.isAtMost(fibers.live(), before + 1, "one keeper at most")
      }
      assert.deepStrictEqual(ran, [1, 2, 3])
      assert.strictEqual(fibers.live(), before, "nothing waits: the keeper ended")
    }).pipe(fibers.counting)
  })
})
