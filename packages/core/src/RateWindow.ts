/**
 * A sliding-window limiter: at most `limit` starts in any window of
 * `windowMs`, on the Effect `Clock` (so `TestClock` drives it). Callers take
 * their turn in arrival order; a caller that finds the window full sleeps
 * until the oldest start leaves it. The check and the record happen
 * together, on actual start times, so a late timer never squeezes one start
 * too many into a window. Stricter than a token bucket of the same rate,
 * which lets a full bucket and its refill land in one window. The
 * `WSManager`'s dial governor keeps one per host; exchange feeds pace their
 * requests and dials with it.
 *
 * @example
 * ```ts
 * import { RateWindow } from "@kharbranth/core"
 * import { Clock, Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const window = RateWindow.make(5, 1000, yield* Clock.Clock)
 *   for (let i = 0; i < 12; i++) yield* window.take // at most 5 in any second
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { Permits } from "./internal/permits.ts"

/**
 * A limiter.
 *
 * @category models
 * @since 0.1.0
 */
export interface RateWindow {
  /** Waits for a slot in the window and records a start in it. */
  readonly take: Effect.Effect<void>
  /**
   * Records a start now if the window has room and nobody is waiting, and
   * says whether it did; never waits. `false` means `take` would wait.
   */
  readonly tryTake: () => boolean
}

/**
 * A limiter that never waits.
 *
 * @category constructors
 * @since 0.1.0
 */
export const unlimited: RateWindow = { take: Effect.void, tryTake: () => true }

/**
 * At most `limit` starts in any `windowMs`; an infinite `limit` never waits.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (limit: number, windowMs: number, clock: Clock.Clock): RateWindow => {
  if (!Number.isFinite(limit)) return unlimited
  const starts: Array<number> = []
  const turn = new Permits(1)
  /** Records a start now and returns 0, or returns how long until a slot frees. */
  const admit = (): number => {
    const now = clock.currentTimeMillisUnsafe()
    while (starts.length > 0 && starts[0]! <= now - windowMs) starts.shift()
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
  const queued = turn.with(wait)
  // With nobody ahead, a start that fits the window is recorded at once.
  const tryTake = () => turn.available && admit() === 0
  return { take: Effect.suspend(() => tryTake() ? Effect.void : queued), tryTake }
}
