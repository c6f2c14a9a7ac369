/**
 * The connect deadlines of the Node transport's dials: one sleeping fiber
 * per clock keeps all of them, and fails a handshake that reached its
 * deadline through `timedOut`.
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"

/** A dial whose handshake can time out. */
export interface Expiring {
  timedOut(timeout: number): void
}

export interface Pending {
  readonly at: number
  readonly timeout: number
  /** Cleared when the handshake settles or the deadline fires. */
  session: Expiring | undefined
}

/**
 * The connect deadlines of the dials on one clock, kept by one sleeping
 * fiber for all of them. A dial adds its deadline and cancels it when its
 * handshake settles, which costs no fiber, timer or interruption of its own
 * (a fiber per dial cost about 5 KB and 15 µs per connection opened). The
 * keeper sleeps until the earliest deadline, fails the handshakes that
 * reached theirs, and ends, interrupted, as soon as no dial waits, so it
 * never keeps a process alive.
 */
export class Deadlines {
  /** In deadline order from `head` on; cancelled entries are skipped. */
  private queue: Array<Pending> = []
  private head = 0
  /** Entries not yet cancelled or fired. */
  private waiting = 0
  private sleeper: Fiber.Fiber<void> | undefined = undefined
  /** When the sleeper wakes. */
  private wakeAt = Number.POSITIVE_INFINITY
  private readonly clock: Clock.Clock

  constructor(clock: Clock.Clock) {
    this.clock = clock
  }

  /** Adds a deadline `timeout` ms from now; forks the sleeper when it is the earliest. Runs on a fiber with this clock. */
  add(session: Expiring, timeout: number): Effect.Effect<Pending> {
    return Effect.suspend(() => {
      const pending: Pending = { at: this.clock.currentTimeMillisUnsafe() + timeout, timeout, session }
      const queue = this.queue
      // Dials share one timeout, so deadlines arrive in order: almost always a push.
      let i = queue.length
      while (i > this.head && queue[i - 1]!.at > pending.at) i--
      if (i === queue.length) queue.push(pending)
      else queue.splice(i, 0, pending)
      this.waiting++
      if (pending.at >= this.wakeAt) return Effect.succeed(pending)
      this.sleeper?.interruptUnsafe()
      this.wakeAt = pending.at
      return Effect.map(
        Effect.forkDetach(this.sleep(pending.at - this.clock.currentTimeMillisUnsafe()), { startImmediately: true }),
        (fiber) => {
          this.sleeper = fiber
          return pending
        }
      )
    })
  }

  /** The handshake settled: forgets its deadline; the last one stops the sleeper. */
  cancel(pending: Pending): void {
    if (pending.session === undefined) return
    pending.session = undefined
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

  /** Fails every handshake whose deadline has come, then sleeps until the next one, or ends. */
  private fire(): Effect.Effect<void> {
    const now = this.clock.currentTimeMillisUnsafe()
    const queue = this.queue
    while (this.head < queue.length) {
      const pending = queue[this.head]!
      if (pending.session !== undefined && pending.at > now) break
      this.head++
      const session = pending.session
      if (session === undefined) continue
      pending.session = undefined
      this.waiting--
      session.timedOut(pending.timeout)
      // The failed dial ran on: if it left no deadline waiting, `reset` ended this keeper's round.
      if (this.queue !== queue) return Effect.void
    }
    if (this.head >= queue.length) {
      this.sleeper = undefined
      this.reset()
      return Effect.void
    }
    if (this.head > 1024 && this.head * 2 > queue.length) {
      this.queue = queue.slice(this.head)
      this.head = 0
    }
    this.wakeAt = this.queue[this.head]!.at
    return this.sleep(this.wakeAt - now)
  }
}

/** One keeper per clock (tests run dials on their own `TestClock`s). */
const deadlines = new WeakMap<Clock.Clock, Deadlines>()
export const deadlinesOf = (clock: Clock.Clock): Deadlines => {
  let keeper = deadlines.get(clock)
  if (keeper === undefined) deadlines.set(clock, keeper = new Deadlines(clock))
  return keeper
}
