/**
 * Timers shared by everything on one `Clock`, kept by one sleeping fiber: a
 * timer waiting here is an entry in an array, not a sleeping fiber of its
 * own (a fiber, its stack and its sleep: about 2.5 KB each). A session's
 * heartbeat waits for its next round here, and the Node transport's dials
 * for their connect deadline. They run on the Effect clock, so `TestClock`
 * drives them. For transports and other code that keeps a timer per
 * connection.
 *
 * ```ts
 * import { Timers } from "@kharbranth/core"
 * import { Clock, Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const timers = Timers.forClock(yield* Clock.Clock)
 *   const timer = yield* timers.add(5_000, () => console.log("five seconds"))
 *   timers.cancel(timer) // changed our mind: it never runs
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import type * as Effect from "effect/Effect"
import * as internal from "./internal/timers.ts"

/**
 * A timer added to `Timers`: its callback runs once at `at` (the clock's
 * milliseconds), unless it is cancelled first.
 *
 * @category models
 * @since 0.1.0
 */
export interface Timer {
  readonly at: number
}

/**
 * The timers of one clock. The keeper fiber sleeps until the earliest
 * timer, runs those that are due, and ends as soon as none waits, so it
 * never keeps a process alive. A callback runs on the keeper's fiber,
 * synchronously: it must not throw, and it forks whatever it needs to run
 * as an effect.
 *
 * @category models
 * @since 0.1.0
 */
export interface Timers {
  /**
   * Calls `run` `delay` ms from now. Run it on a fiber with this clock: when
   * the timer is the earliest, the keeper is forked from it (detached).
   *
   * @since 0.1.0
   */
  add(delay: number, run: () => void): Effect.Effect<Timer>
  /**
   * Forgets `timer` if it has not run yet; the last one waiting stops the
   * keeper.
   *
   * @since 0.1.0
   */
  cancel(timer: Timer): void
}

/**
 * The timers of `clock`: one `Timers` per clock, made on first use (tests
 * that run on their own `TestClock` get their own).
 *
 * @category constructors
 * @since 0.1.0
 */
export const forClock: (clock: Clock.Clock) => Timers = internal.forClock
