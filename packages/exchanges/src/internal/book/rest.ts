/**
 * REST depth snapshots through Effect's `HttpClient`, paced by a request
 * weight budget that every book of a venue and host in the process shares
 * (Binance counts weight per minute per IP; a depth request's weight
 * depends on its `limit`), which also takes in the weight the venue reports
 * as used (`X-MBX-USED-WEIGHT-1M`) beyond its own count. Requests queue in
 * arrival order; a 429 or 418
 * answer blocks the whole budget for its `Retry-After` and the request is
 * sent again; an unknown symbol (400, code -1121) is final for its book
 * only. The budgets are a `Context.Reference` made per `Clock`, so tests on
 * `TestClock` never share them.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import type { DepthSnapshot } from "./adapter.ts"
import { BookEvent, SnapshotError } from "./model.ts"

/** A REST depth endpoint and its budget. */
export interface RestSpec {
  /** Budget key: books of the same venue and base URL share one budget. */
  readonly venue: string
  /** Base URL, e.g. `https://api.binance.com` or `http://127.0.0.1:PORT/binance`. */
  readonly baseUrl: string
  /** Path of the depth endpoint, e.g. `/api/v3/depth`. */
  readonly path: string
  /** The `limit` asked for (levels per side). */
  readonly limit: number
  /** The weight one request with that limit costs. */
  readonly weight: number
  /** Weight allowed per window. */
  readonly budget: number
  /** The budget's window (Binance: one minute). */
  readonly windowMs: number
  /** Attempts per snapshot before its book fails (429/418 waits do not count). */
  readonly attempts: number
}

/** One shared weight budget. */
export class WeightBudget {
  private readonly times: Array<number> = []
  private readonly weights: Array<number> = []
  private used = 0
  /** No request leaves before this time (a 429/418's `Retry-After`). */
  blockedUntil = 0
  private readonly turn = Semaphore.makeUnsafe(1)
  readonly limit: number
  readonly windowMs: number

  constructor(limit: number, windowMs: number) {
    this.limit = limit
    this.windowMs = windowMs
  }

  /** Weight counted in the window ending now. */
  usedAt(now: number): number {
    while (this.times.length > 0 && this.times[0]! <= now - this.windowMs) {
      this.times.shift()
      this.used -= this.weights.shift()!
    }
    return this.used
  }

  /**
   * What the venue says this IP used in its current window (Binance's
   * `X-MBX-USED-WEIGHT-1M`): weight beyond what this budget counted (other
   * processes on the same IP, or requests this process sent elsewhere) is
   * recorded now, so later requests wait for it too. Never lowers the count.
   */
  observe(now: number, used: number): void {
    const counted = this.usedAt(now)
    if (!(used > counted)) return
    this.times.push(now)
    this.weights.push(used - counted)
    this.used += used - counted
  }

  /** How long until `weight` fits (0: it was taken now). */
  private admit(now: number, weight: number): number {
    if (now < this.blockedUntil) return this.blockedUntil - now
    if (this.usedAt(now) + weight <= this.limit || this.times.length === 0) {
      this.times.push(now)
      this.weights.push(weight)
      this.used += weight
      return 0
    }
    // Wait until enough of the oldest requests leave the window.
    let freed = this.limit - this.used
    for (let i = 0; i < this.times.length; i++) {
      freed += this.weights[i]!
      if (freed >= weight) return this.times[i]! + this.windowMs - now
    }
    return this.windowMs
  }

  /** Waits (in arrival order) until `weight` fits the window, and takes it. */
  take(weight: number): Effect.Effect<void> {
    const wait: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const ms = this.admit(now, weight)
      return ms === 0 ? Effect.void : Effect.andThen(Effect.sleep(Duration.millis(ms)), wait)
    })
    return this.turn.withPermits(1)(wait)
  }
}

/** The budgets of a process, per `Clock`. */
export interface Budgets {
  readonly get: (spec: RestSpec, clock: Clock.Clock) => WeightBudget
}

/** A fresh set of budgets. */
export const makeBudgets = (): Budgets => {
  const byClock = new WeakMap<Clock.Clock, Map<string, WeightBudget>>()
  return {
    get: (spec, clock) => {
      let budgets = byClock.get(clock)
      if (budgets === undefined) {
        budgets = new Map()
        byClock.set(clock, budgets)
      }
      const key = `${spec.venue} ${spec.baseUrl}`
      let budget = budgets.get(key)
      if (budget === undefined) {
        budget = new WeightBudget(spec.budget, spec.windowMs)
        budgets.set(key, budget)
      }
      return budget
    }
  }
}

/** The process-wide REST budgets (one per venue, base URL and `Clock`). */
export const RestBudgets = Context.Reference<Budgets>("@kharbranth/exchanges/OrderBook/RestBudgets", {
  defaultValue: makeBudgets
})

const Level = Schema.Array(Schema.String)
const Depth = Schema.Struct({
  lastUpdateId: Schema.Number,
  bids: Schema.Array(Level),
  asks: Schema.Array(Level)
})
const decodeDepth = Schema.decodeUnknownEffect(Depth)
const ErrorBody = Schema.Struct({ code: Schema.Number, msg: Schema.String })
const decodeError = Schema.decodeUnknownEffect(ErrorBody)

/** Seconds of a `Retry-After` header as milliseconds (default one minute). */
const retryAfter = (header: string | undefined): number => {
  const seconds = header === undefined ? Number.NaN : Number(header)
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds * 1000) : 60_000
}

type Outcome =
  | { readonly _tag: "Ok"; readonly snapshot: DepthSnapshot }
  | { readonly _tag: "Throttled"; readonly status: number; readonly waitMs: number }
  | { readonly _tag: "Retry"; readonly reason: string; readonly status?: number }
  | { readonly _tag: "Final"; readonly reason: string; readonly status: number }

/**
 * Fetches one symbol's depth snapshot: waits for the budget, sends the
 * request, honours 429/418 (`Retry-After` blocks the whole budget, then the
 * request goes again), retries other failures with backoff (1 s doubling to
 * 30 s) up to `spec.attempts`, and fails for good on a 400.
 */
export const fetchSnapshot = (
  client: HttpClient.HttpClient,
  spec: RestSpec,
  symbol: string,
  emit: (event: BookEvent) => void
): Effect.Effect<DepthSnapshot, SnapshotError> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const budget = (yield* RestBudgets).get(spec, clock)
    const url = `${spec.baseUrl}${spec.path}?symbol=${encodeURIComponent(symbol)}&limit=${spec.limit}`
    let failures = 0
    // Bounded: each pass either returns, fails, or counts a failure or a throttle (at most 100).
    for (let pass = 0; pass < spec.attempts + 100; pass++) {
      const queued = clock.currentTimeMillisUnsafe()
      yield* budget.take(spec.weight)
      const sent = clock.currentTimeMillisUnsafe()
      emit(BookEvent.SnapshotRequested({ at: sent, symbol, weight: spec.weight, waited: sent - queued }))
      const outcome: Outcome = yield* client.get(url).pipe(
        Effect.flatMap((response): Effect.Effect<Outcome> => {
          const status = response.status
          const used = Number(response.headers["x-mbx-used-weight-1m"])
          if (Number.isFinite(used) && used >= 0) budget.observe(clock.currentTimeMillisUnsafe(), used)
          if (status === 429 || status === 418) {
            return Effect.succeed({ _tag: "Throttled", status, waitMs: retryAfter(response.headers["retry-after"]) })
          }
          if (status === 200) {
            return response.json.pipe(
              Effect.flatMap(decodeDepth),
              Effect.map((snapshot): Outcome => ({ _tag: "Ok", snapshot })),
              Effect.catch((e) =>
                Effect.succeed<Outcome>({ _tag: "Retry", reason: `unreadable snapshot: ${e.message}` })
              )
            )
          }
          if (status >= 400 && status < 500) {
            return response.json.pipe(
              Effect.flatMap(decodeError),
              Effect.map((body): Outcome => ({ _tag: "Final", reason: `${body.code} ${body.msg}`, status })),
              Effect.catch(() => Effect.succeed<Outcome>({ _tag: "Final", reason: `HTTP ${status}`, status }))
            )
          }
          return Effect.succeed({ _tag: "Retry", reason: `HTTP ${status}`, status })
        }),
        Effect.catch((e) => Effect.succeed<Outcome>({ _tag: "Retry", reason: e.message }))
      )
      switch (outcome._tag) {
        case "Ok":
          return outcome.snapshot
        case "Final":
          return yield* new SnapshotError({ symbol, status: outcome.status, permanent: true, reason: outcome.reason })
        case "Throttled": {
          const now = clock.currentTimeMillisUnsafe()
          budget.blockedUntil = Math.max(budget.blockedUntil, now + outcome.waitMs)
          emit(BookEvent.Throttled({ at: now, venue: spec.venue, status: outcome.status, retryAfter: outcome.waitMs }))
          break
        }
        case "Retry": {
          failures++
          emit(
            BookEvent.RestFailed({
              at: clock.currentTimeMillisUnsafe(),
              symbol,
              reason: outcome.reason,
              attempt: failures
            })
          )
          if (failures >= spec.attempts) {
            return yield* new SnapshotError({
              symbol,
              permanent: false,
              reason: `${failures} attempts failed, the last: ${outcome.reason}`,
              ...(outcome.status === undefined ? {} : { status: outcome.status })
            })
          }
          yield* Effect.sleep(Duration.millis(Math.min(30_000, 1000 * 2 ** (failures - 1))))
          break
        }
      }
    }
    return yield* new SnapshotError({ symbol, permanent: false, reason: "throttled too many times" })
  })

/** Binance spot depth weight by `limit`: 1–100: 5, 101–500: 25, 501–1000: 50, 1001–5000: 250. */
export const spotWeight = (limit: number): number => limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250

/** Binance USD-M depth weight by `limit`: 5–50: 2, 100: 5, 500: 10, 1000: 20. */
export const usdmWeight = (limit: number): number => limit <= 50 ? 2 : limit <= 100 ? 5 : limit <= 500 ? 10 : 20
