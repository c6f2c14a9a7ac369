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
 * With `maxAttempts`, the connection dials at most that many times in a row.
 *
 * **Gotchas**
 *
 * `maxAttempts` is counted by the schedule. The connection steps it after
 * every failed dial and every session that ended, once also after a session
 * that lasted `minUptime` (for the delay before the first redial; the count
 * started again at that session's end). The schedule cannot see how long a
 * session lasted, so a session's end is not counted when it is the first
 * step. One case overshoots by one: when the first dial after the start (or
 * a `restart`) opens a session that ends before `minUptime` and every dial
 * after it fails, the connection dials `maxAttempts` + 1 times.
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
  return maxAttempts === undefined || maxAttempts === Infinity ? schedule : upToDials(schedule, maxAttempts)
}

/** A failure of the dial itself; any other error ended a session that had opened. */
const isDialFailure = (error: ConnectionError): boolean => error._tag === "ConnectFailed" || error._tag === "ConnectTimeout"

/**
 * Ends `schedule` at the step after the `maxAttempts`-th dial. Each step
 * follows a dial, except a first step that follows a session's end: then the
 * session lasted `minUptime` and the count started again when it ended (or,
 * the documented exception, it was the first dial's short session). Its
 * state is made afresh for every run of the schedule.
 */
const upToDials = (schedule: Schedule.Schedule<unknown>, maxAttempts: number): ReconnectSchedule =>
  Schedule.fromStep(Effect.suspend(() => {
    let afterSession = false
    return Schedule.toStep(Schedule.while(schedule, ({ attempt, input }: Schedule.Metadata<unknown, ConnectionError>) => {
      if (attempt === 1) afterSession = !isDialFailure(input)
      const dials = afterSession ? attempt - 1 : attempt
      return dials < maxAttempts
    }))
  }))

/**
 * The default policy: exponential from 500 ms, factor 2, capped at 30 s,
 * jittered, forever.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultSchedule: ReconnectSchedule = exponential()
