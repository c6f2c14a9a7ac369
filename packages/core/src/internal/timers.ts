/**
 * The implementation of `Timers` (src/Timers.ts): one sleeping fiber per
 * clock keeps every timer on it.
 */
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"

/** A timer: its callback runs once at `at` (the clock's milliseconds), unless it is cancelled first. */
export interface Timer {
  readonly at: number
}

interface Entry extends Timer {
  /** Cleared when the timer fires or is cancelled. */
  run: (() => void) | undefined
}

/**
 * The timers of one clock, kept by one sleeping fiber for all of them. The
 * keeper sleeps until the earliest timer, runs those that are due, and ends,
 * interrupted, as soon as none waits, so it never keeps a process alive.
 * Timers that share one delay arrive in order, so adding one is almost
 * always a push.
 */
export class Timers {
  /** In `at` order from `head` on; cancelled entries are skipped. */
  private queue: Array<Entry> = []
  private head = 0
  /** Entries neither cancelled nor fired. */
  private waiting = 0
  private sleeper: Fiber.Fiber<void> | undefined = undefined
  /** When the sleeper wakes. */
  private wakeAt = Number.POSITIVE_INFINITY
  private readonly clock: Clock.Clock

  constructor(clock: Clock.Clock) {
    this.clock = clock
  }

  /**
   * Calls `run` `delay` ms from now. Run it on a fiber with this clock: when
   * the timer is the earliest, the keeper is forked from it (detached).
   */
  add(delay: number, run: () => void): Effect.Effect<Timer> {
    return Effect.suspend(() => {
      const timer = this.insert(delay, run)
      if (timer.at >= this.wakeAt) return Effect.succeed(timer)
      this.sleeper?.interruptUnsafe()
      this.wakeAt = timer.at
      return Effect.map(
        Effect.forkDetach(this.sleep(delay), { startImmediately: true }),
        (fiber) => {
          this.sleeper = fiber
          return timer
        }
      )
    })
  }

  /**
   * As `add`, from the callback of a timer of these `Timers` only: the
   * keeper is running then and sleeps next until its earliest timer, this
   * one included, so nothing is forked and no effect is needed.
   */
  addFromCallback(delay: number, run: () => void): Timer {
    return this.insert(delay, run)
  }

  private insert(delay: number, run: () => void): Entry {
    const timer: Entry = { at: this.clock.currentTimeMillisUnsafe() + delay, run }
    const queue = this.queue
    let i = queue.length
    while (i > this.head && queue[i - 1]!.at > timer.at) i--
    if (i === queue.length) queue.push(timer)
    else queue.splice(i, 0, timer)
    this.waiting++
    return timer
  }

  /** Forgets `timer` if it has not run; the last one waiting stops the keeper. */
  cancel(timer: Timer): void {
    const entry = timer as Entry
    if (entry.run === undefined) return
    entry.run = undefined
    if (--this.waiting === 0) this.reset()
  }

  private reset(): void {
    const sleeper = this.sleeper
    this.sleeper = undefined
    this.queue = []
    this.head = 0
    this.wakeAt = Number.POSITIVE_INFINITY
    sleeper?.interruptUnsafe()
  }

  private sleep(ms: number): Effect.Effect<void> {
    return Effect.andThen(Effect.sleep(Duration.millis(Math.max(0, ms))), Effect.suspend(() => this.fire()))
  }

  /** Runs every timer that is due, then sleeps until the next one, or ends. */
  private fire(): Effect.Effect<void> {
    const now = this.clock.currentTimeMillisUnsafe()
    const queue = this.queue
    while (this.head < queue.length) {
      const timer = queue[this.head]!
      if (timer.run !== undefined && timer.at > now) break
      this.head++
      const run = timer.run
      if (run === undefined) continue
      timer.run = undefined
      this.waiting--
      run()
      // What ran may have cancelled the last timer: `reset` then ended this keeper's round.
      if (this.queue !== queue) return Effect.void
    }
    if (this.waiting === 0) {
      this.sleeper = undefined
      this.reset()
      return Effect.void
    }
    if (this.head > 1024 && this.head * 2 > queue.length) {
      this.queue = queue.slice(this.head)
      this.head = 0
    }
    // Timers added while these ran (a push, in order) are in `this.queue`.
    const next = this.queue[this.head]!
    this.wakeAt = next.at
    return this.sleep(next.at - now)
  }
}

/** One keeper per clock (tests run connections on their own `TestClock`s). */
const keepers = new WeakMap<Clock.Clock, Timers>()

/** The timers of `clock`: one `Timers` per clock, made on first use. */
export const forClock = (clock: Clock.Clock): Timers => {
  let keeper = keepers.get(clock)
  if (keeper === undefined) keepers.set(clock, keeper = new Timers(clock))
  return keeper
}

/**
 * What a session keeps of one of its timed duties (the heartbeat, the idle
 * timer): the timer while it waits, the fiber while its work runs. Ended
 * with `end` when the session's scope closes.
 */
export interface Duty {
  timer: Timer | undefined
  fiber: Fiber.Fiber<void> | undefined
}

/**
 * Runs a duty's work on a fiber of its own, in `services`, kept by the duty
 * only while it runs (work that ends at once is not kept): an idle duty
 * holds no finished fiber.
 */
export const runDuty = <R>(services: Context.Context<R>, duty: Duty, work: Effect.Effect<void, never, R>): void => {
  const fiber = Effect.runForkWith(services)(Effect.ensuring(
    work,
    Effect.sync(() => {
      duty.fiber = undefined
    })
  ))
  duty.fiber = fiber.pollUnsafe() === undefined ? fiber : undefined
}

/** Ends a duty: cancels its timer on `clock`'s timers and interrupts its work, if any. */
export const endDuty = (clock: Clock.Clock, duty: Duty): void => {
  if (duty.timer !== undefined) forClock(clock).cancel(duty.timer)
  duty.timer = undefined
  duty.fiber?.interruptUnsafe()
  duty.fiber = undefined
}
