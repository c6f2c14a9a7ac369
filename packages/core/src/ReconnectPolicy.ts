/**
 * Reconnection as a `Schedule`. The schedule is stepped once per failed
 * attempt with the error as input; each step's delay is how long to wait
 * before the next dial, and a schedule that ends stops the connection. The
 * attempt count (and the schedule) start again once a session has stayed up
 * for `minUptime`. Any `Schedule` of the user's own works.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
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
  /** Cap on any delay (default 30 s). */
  readonly max?: Duration.Input | undefined
  /** Randomise each delay to 80–120% so many connections do not redial in lockstep (default true). */
  readonly jitter?: boolean | undefined
  /** Give up after this many attempts (default: never). */
  readonly maxAttempts?: number | undefined
}

/**
 * Exponential backoff, capped and jittered: base × factor^(attempt−1), at
 * most `max`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const exponential = (options: ExponentialOptions = {}): ReconnectSchedule => {
  const max = Duration.fromInputUnsafe(options.max ?? "30 seconds")
  let schedule: Schedule.Schedule<unknown> = Schedule.exponential(options.base ?? "500 millis", options.factor ?? 2)
  if (options.jitter ?? true) schedule = Schedule.jittered(schedule)
  // The cap applies after the jitter, so no delay ever exceeds `max`.
  schedule = Schedule.modifyDelay(schedule, ({ duration }) => Effect.succeed(Duration.min(duration, max)))
  if (options.maxAttempts !== undefined) schedule = Schedule.upTo(schedule, { times: options.maxAttempts })
  return schedule
}

/**
 * The default policy: exponential from 500 ms, factor 2, capped at 30 s,
 * jittered, forever.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultSchedule: ReconnectSchedule = exponential()
