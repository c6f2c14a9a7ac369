/**
 * The subscription registry of a feed: one entry per topic, each a small
 * state machine with named, guarded transitions (NautilusTrader's
 * `SubscriptionState` is the model):
 *
 * ```
 *            request            confirm
 *   (new) ──────────▶ Pending ──────────▶ Confirmed
 *                      │  ▲                  │
 *        reject        │  │ request          │ request (replay)
 *        (transient) / │  │ (retry, replay)  ▼
 *        timeout       ▼  │               Pending
 *                    Retrying
 *   Pending ── reject (permanent) ──▶ Failed   (final until subscribed again)
 * ```
 *
 * A topic is never abandoned because an answer was late, lost to a drop or
 * misattributed: only a rejection the venue documents as final fails it.
 * Waiters (`subscribe` calls) are settled by the transitions; the feed owns
 * sending and timing, and asks the registry which topics are due.
 */
import type { ConnectionError } from "@kharbranth/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { type AuthFailed, SubscriptionError } from "./errors.ts"

/** Where a topic stands. */
export type State = "pending" | "confirmed" | "retrying" | "failed"

/** What a `subscribe` caller waits on. */
export type Waiter = Deferred.Deferred<void, SubscriptionError | ConnectionError.ConnectionStopped | AuthFailed>

/** First retry after a transient failure; doubles per failure in a row, up to `RETRY_MAX_MS`. */
export const RETRY_BASE_MS = 1_000
export const RETRY_MAX_MS = 60_000

/** The delay before retry number `failures` (1 for the first). */
export const retryDelay = (failures: number): number =>
  Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, Math.min(failures - 1, 16)))

/** One topic. `S` is the feed's shard type: the registry only carries it. */
export interface Entry<S> {
  readonly topic: string
  state: State
  shard: S
  reason: string | undefined
  waiters: Array<Waiter>
  /** When the topic last delivered data (or was last confirmed), epoch ms. */
  lastData: number | undefined
  /** Staleness episode: 0 none, 1 resubscribed once. */
  quiet: number
  readonly cadence: number | undefined
  /** Transient failures in a row. */
  failures: number
  /** Retrying: when the next attempt is due. */
  retryAt: number | undefined
}

/** Makes a new entry in `pending`. */
export const make = <S>(topic: string, shard: S, cadence: number | undefined): Entry<S> => ({
  topic,
  state: "pending",
  shard,
  reason: undefined,
  waiters: [],
  lastData: undefined,
  quiet: 0,
  cadence,
  failures: 0,
  retryAt: undefined
})

/** Whether a topic is held by a session: everything but a final failure. */
export const isActive = (entry: Entry<unknown>): boolean => entry.state !== "failed"

/** A request for the topic goes out (first send, replay, retry): `pending`. Never from `failed`. */
export const request = (entry: Entry<unknown>): boolean => {
  if (entry.state === "failed") return false
  if (entry.state !== "confirmed") entry.retryAt = undefined
  if (entry.state === "retrying") entry.state = "pending"
  return true
}

/** A new session is replaying every active topic: all of them read `pending` until answered. */
export const replaying = (entry: Entry<unknown>): boolean => {
  if (entry.state === "failed") return false
  entry.state = "pending"
  entry.retryAt = undefined
  return true
}

/**
 * The venue confirmed the topic. Returns whether this settled a pending
 * topic (a confirmation of a confirmed topic, such as a repair's, does not
 * start a new silence count). Waiters succeed either way.
 */
export const confirm = (entry: Entry<unknown>, at: number): boolean => {
  const settled = entry.state === "pending" || entry.state === "retrying"
  if (entry.state === "failed") return false
  entry.state = "confirmed"
  entry.reason = undefined
  entry.failures = 0
  entry.retryAt = undefined
  if (settled) {
    entry.lastData = at
    entry.quiet = 0
  }
  settle(entry, Effect.void)
  return settled
}

/**
 * The venue rejected the topic, or did not answer in time. A permanent
 * rejection fails it for good; any other goes to `retrying` with backoff.
 * Waiters fail with a `SubscriptionError` that says which. Returns the new
 * state, or undefined when the entry was not waiting for an answer.
 */
export const reject = (
  entry: Entry<unknown>,
  feed: string,
  reason: string,
  permanent: boolean,
  at: number
): State | undefined => {
  if (entry.state === "failed") return undefined
  entry.reason = reason
  if (permanent) {
    entry.state = "failed"
    entry.retryAt = undefined
  } else {
    entry.failures += 1
    entry.state = "retrying"
    entry.retryAt = at + retryDelay(entry.failures)
  }
  const error = new SubscriptionError({ feed, op: "subscribe", topics: [entry.topic], reason, permanent })
  settle(entry, Effect.fail(error))
  return entry.state
}

/** Whether a retrying topic's next attempt is due. */
export const isDue = (entry: Entry<unknown>, at: number): boolean =>
  entry.state === "retrying" && entry.retryAt !== undefined && entry.retryAt <= at

/** Adds a waiter that the next confirmation or rejection settles. */
export const wait = (entry: Entry<unknown>): Waiter => {
  const waiter: Waiter = Deferred.makeUnsafe()
  entry.waiters.push(waiter)
  return waiter
}

/** Settles every waiter with `result`. */
export const settle = (
  entry: Entry<unknown>,
  result: Effect.Effect<void, SubscriptionError | ConnectionError.ConnectionStopped | AuthFailed>
): void => {
  const waiters = entry.waiters
  if (waiters.length === 0) return
  entry.waiters = []
  for (const waiter of waiters) Deferred.doneUnsafe(waiter, result)
}
