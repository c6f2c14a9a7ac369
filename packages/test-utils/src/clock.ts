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
