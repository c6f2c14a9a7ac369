/**
 * A sliding-window limiter: at most `limit` starts in any window of
 * `windowMs`, on the Effect `Clock` (so `TestClock` drives it). Callers take
 * their turn in arrival order; a caller that finds the window full sleeps
 * until the oldest start leaves it. The check and the record happen together
 * on actual start times, so a late timer never squeezes one start too many
 * into a window. Stricter than a token bucket of the same rate, which lets a
 * full bucket and a refill land in one window.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Semaphore from "effect/Semaphore"

export interface Window {
  /** Waits for a slot and records a start in it. */
  readonly take: Effect.Effect<void>
  /** Starts recorded in the current window. */
  readonly inWindow: () => number
}

export const unlimited: Window = { take: Effect.void, inWindow: () => 0 }

export const make = (limit: number, windowMs: number, clock: Clock.Clock): Window => {
  if (!Number.isFinite(limit)) return unlimited
  const starts: Array<number> = []
  const turn = Semaphore.makeUnsafe(1)
  const prune = (now: number) => {
    while (starts.length > 0 && starts[0]! <= now - windowMs) starts.shift()
  }
  const admit = (): number => {
    const now = clock.currentTimeMillisUnsafe()
    prune(now)
    if (starts.length < limit) {
      starts.push(now)
      return 0
    }
    return starts[0]! + windowMs - now
  }
  const wait: Effect.Effect<void> = Effect.suspend(() => {
    const ms = admit()
    return ms === 0 ? Effect.void : Effect.andThen(Effect.sleep(Duration.millis(ms)), wait)
  })
  return {
    take: turn.withPermits(1)(wait),
    inWindow: () => {
      prune(clock.currentTimeMillisUnsafe())
      return starts.length
    }
  }
}
