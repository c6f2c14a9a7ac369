/**
 * Reconnection as a `Schedule`. The connection steps the schedule after each
 * failure (a failed dial, or a session that ended) with the error as input;
 * each step's delay is how long to wait before the next dial, and a schedule
 * that ends stops the connection. The attempt count (and the schedule) start
 * again once a session has stayed up for `minUptime`. Any `Schedule` of the
 * user's own works.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type { ConnectionError } from "./ConnectionError.ts"

/**
 * A reconnect schedule: stepped with the error that ended each attempt.
 *
 * @category models
 * @since 0.1.0
 */
export type ReconnectSchedule = Schedule.Schedule<unknown, ConnectionError>

/**
 * Options of the exponential policy.
 *
 * @category models
 * @since 0.1.0
 */
export interface ExponentialOptions {
  /** First delay (default 500 ms). */
  readonly base?: Duration.Input | undefined
  /** Growth per attempt (default 2). */
  readonly factor?: number | undefined
  /** Cap on any delay, jitter included (default 30 s). */
  readonly max?: Duration.Input | undefined
  /**
   * Randomise each delay so that many connections do not redial in lockstep
   * (default true): uniformly over 80–120% of the nominal delay, never above
   * `max`. At the cap, delays spread over 80–100% of `max`.
   */
  readonly jitter?: boolean | undefined
  /**
   * At most this many dials in a row, the first dial included (default:
   * never give up); then the connection closes. The count starts again once
   * a session stays up `minUptime`, and after `restart`. A whole number ≥ 1
   * (or `Infinity`); anything else throws a `RangeError` here.
   */
  readonly maxAttempts?: number | undefined
}

/**
 * Exponential backoff, capped and jittered. The nominal delay before the
 * n-th redial is base × factor^(n−1), capped at `max`; with jitter, the delay
 * is drawn uniformly from 80–120% of it and never exceeds `max`, so delays at
 * the cap still differ from connection to connection (80–100% of `max`).
 * With `maxAttempts`, a connection dials at most that many times in a row:
 * the first dial included, and counted again from one after a restart or a
 * session that lasted `minUptime`.
 *
 * **Gotchas**: the connection counts the dials itself, for the policy as
 * made here (see `maxDials`). A schedule composed from it (`Schedule.addDelay`,
 * `Schedule.while`, …) is a new schedule: it keeps only the policy's own
 * stop, which counts steps and so allows one dial more.
 *
 * @category constructors
 * @since 0.1.0
 */
export const exponential = (options: ExponentialOptions = {}): ReconnectSchedule => {
  const maxAttempts = options.maxAttempts
  if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 1) && maxAttempts !== Infinity) {
    throw new RangeError(`ReconnectPolicy.exponential: maxAttempts must be a whole number ≥ 1, got ${maxAttempts}`)
  }
  const max = Duration.toMillis(Duration.fromInputUnsafe(options.max ?? "30 seconds"))
  const jitter = options.jitter ?? true
  // The base delay is capped first and jittered after, within the cap: a cap
  // applied after the jitter would turn every jittered delay past it into
  // exactly `max`, and connections at the cap would redial in lockstep.
  const schedule: Schedule.Schedule<unknown> = Schedule.modifyDelay(
    Schedule.exponential(options.base ?? "500 millis", options.factor ?? 2),
    ({ duration }) => {
      const nominal = Math.min(Duration.toMillis(duration), max)
      if (!jitter) return Effect.succeed(Duration.millis(nominal))
      const low = nominal * 0.8
      const high = Math.min(nominal * 1.2, max)
      return Effect.map(Random.next, (r) => Duration.millis(low + (high - low) * r))
    }
  )
  if (maxAttempts === undefined || maxAttempts === Infinity) return schedule
  const limited = Schedule.upTo(schedule, { times: maxAttempts })
  dialLimits.set(limited, maxAttempts)
  return limited
}

const dialLimits = new WeakMap<ReconnectSchedule, number>()

/**
 * How many dials in a row a policy made by `exponential` allows (its
 * `maxAttempts`), or undefined for any other schedule. A connection reads it
 * and stops after that many dials since the last reset; the schedule's own
 * stop (`Schedule.upTo`, which counts the steps between dials) is the
 * fallback for schedules composed from the policy.
 *
 * @category combinators
 * @since 0.2.0
 */
export const maxDials = (schedule: ReconnectSchedule): number | undefined => dialLimits.get(schedule)

/**
 * The default policy: exponential from 500 ms, factor 2, capped at 30 s,
 * jittered, forever.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultSchedule: ReconnectSchedule = exponential()
