/**
 * Stepping virtual time in tests on `TestClock`: `settle` lets every
 * runnable fiber, queue wake-up and microtask run without moving the clock;
 * `advance` moves it in steps and settles after each, so timers that fire
 * along the way see the effects of the ones before them.
 */
import { Effect } from "effect"
import { TestClock } from "effect/testing"

/** Lets every runnable fiber, queue wake-up and microtask run (no virtual time passes). */
export const settle: Effect.Effect<void> = Effect.gen(function*() {
  for (let i = 0; i < 5; i++) {
    yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
  }
  yield* TestClock.adjust(0)
})

/** Advances virtual time by `millis` in steps of `step`, settling after each. */
export const advance = (millis: number, step = millis): Effect.Effect<void> =>
  Effect.gen(function*() {
    let left = millis
    while (left > 0) {
      const by = Math.min(step, left)
      yield* TestClock.adjust(by)
      yield* settle
      left -= by
    }
  })

/** The most entries of `times` in any window [t, t + windowMs): how many starts a rate limit saw at once. */
export const busiestWindow = (times: ReadonlyArray<number>, windowMs: number): number => {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let i = 0; i < sorted.length; i++) {
    let j = i
    while (j < sorted.length && sorted[j]! < sorted[i]! + windowMs) j++
    most = Math.max(most, j - i)
  }
  return most
}
