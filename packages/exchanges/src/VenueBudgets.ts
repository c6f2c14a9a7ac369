/**
 * The limits a venue counts per IP, shared by every shard of every feed of
 * that venue in the process: requests and messages per window (paced: a
 * caller waits for room), and hard caps on subscriptions, connections and
 * connections per topic (a caller beyond one is refused, and the request is
 * never sent). Venues count per IP; a client knows the host it dials, so
 * budgets are kept per venue and host.
 *
 * The default instance is process-wide and needs no wiring (a
 * `Context.Reference`); each `Clock` gets its own budgets, so tests on
 * `TestClock` never share them. Provide `VenueBudgets.layer()` for a fresh
 * set, e.g. to give a group of feeds budgets of their own.
 *
 * @since 0.1.0
 */
import { RateWindow } from "@kharbranth/core"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import type * as Venue from "./Venue.ts"

/**
 * A hard cap: `take` admits up to `limit` held at once and refuses beyond.
 *
 * @category models
 * @since 0.1.0
 */
export interface Cap {
  readonly limit: number
  readonly held: number
  /** Takes `n` if they fit, and says whether they did. */
  readonly take: (n?: number) => boolean
  readonly release: (n?: number) => void
}

/**
 * The shared budgets of one venue and host.
 *
 * @category models
 * @since 0.1.0
 */
export interface Budget {
  readonly key: string
  /** Subscribe/unsubscribe requests per window, across every connection (`Limits.requestsPerIp`). */
  readonly requests: RateWindow.RateWindow
  /**
   * Messages of any kind per window, across every connection
   * (`Limits.messagesPerIp`, or `messagesPerSecond` counted per IP), less
   * what the heartbeats of `connectionsPerIp` connections send in a window.
   */
  readonly messages: RateWindow.RateWindow
  /** Subscriptions held at once (`Limits.subscriptionsPerIp`). */
  readonly subscriptions: Cap
  /** Connections held open at once (`Limits.connectionsPerIp`). */
  readonly connections: Cap
  /** Connections holding a topic at once, per topic (`Limits.subscribersPerTopic`). */
  readonly topic: (topic: string) => Cap
}

/**
 * The budgets of a process (or of whatever scope provides them).
 *
 * @category models
 * @since 0.1.0
 */
export interface Shape {
  /** The budget of `profile`'s venue for `url`'s host, made on first use with `clock`. */
  readonly budget: (profile: Venue.Profile, url: string, clock: Clock.Clock) => Budget
}

const unlimitedCap: Cap = { limit: Number.POSITIVE_INFINITY, held: 0, take: () => true, release: () => {} }

/**
 * A hard cap of `limit`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const cap = (limit: number | undefined): Cap => {
  if (limit === undefined || !Number.isFinite(limit)) return unlimitedCap
  const state = {
    limit,
    held: 0,
    take: (n = 1) => {
      if (state.held + n > limit) return false
      state.held += n
      return true
    },
    release: (n = 1) => {
      state.held = Math.max(0, state.held - n)
    }
  }
  return state
}

const millis = (input: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(input))

/**
 * A venue counts on arrival: a window is kept 100 ms longer than the
 * venue's, so a message delayed in transit more than the ones after it
 * cannot share the venue's window with one too many.
 */
const TRANSIT_MARGIN_MS = 100

const windowOf = (spec: Venue.Window | undefined, clock: Clock.Clock, reserve = 0): RateWindow.RateWindow =>
  spec === undefined
    ? RateWindow.unlimited
    : RateWindow.make(Math.max(1, spec.count - reserve), millis(spec.window) + TRANSIT_MARGIN_MS, clock)

/**
 * What the heartbeats of every connection the venue allows send in one
 * window of `spec` (a ping each interval; one connection when the venue
 * sets no `connectionsPerIp`): kept out of a per-IP message budget.
 */
const heartbeatReserve = (profile: Venue.Profile, spec: Venue.Window | undefined): number => {
  const heartbeat = profile.heartbeat
  if (spec === undefined || heartbeat._tag === "None") return 0
  const perConnection = Math.ceil(millis(spec.window) / Math.max(1, millis(heartbeat.interval)))
  return perConnection * (profile.limits.connectionsPerIp ?? 1)
}

const hostOf = (url: string): string => (URL.canParse(url) ? new URL(url).host : url)

/**
 * A fresh set of budgets.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (): Shape => {
  const byClock = new WeakMap<Clock.Clock, Map<string, Budget>>()
  return {
    budget: (profile, url, clock) => {
      let budgets = byClock.get(clock)
      if (budgets === undefined) {
        budgets = new Map()
        byClock.set(clock, budgets)
      }
      const key = `${profile.venue} ${hostOf(url)}`
      const found = budgets.get(key)
      if (found !== undefined) return found
      const limits = profile.limits
      const messagesPerIp = limits.messagesPerIp ??
        (limits.messagesScope === "ip" && limits.messagesPerSecond !== undefined
          ? { count: limits.messagesPerSecond, window: "1 second" }
          : undefined)
      const topics = new Map<string, Cap>()
      const budget: Budget = {
        key,
        requests: windowOf(limits.requestsPerIp, clock),
        messages: windowOf(messagesPerIp, clock, heartbeatReserve(profile, messagesPerIp)),
        subscriptions: cap(limits.subscriptionsPerIp),
        connections: cap(limits.connectionsPerIp),
        topic: (topic) => {
          if (limits.subscribersPerTopic === undefined) return unlimitedCap
          let held = topics.get(topic)
          if (held === undefined) {
            held = cap(limits.subscribersPerTopic)
            topics.set(topic, held)
          }
          return held
        }
      }
      budgets.set(key, budget)
      return budget
    }
  }
}

/**
 * The budgets feeds use: process-wide by default.
 *
 * @category services
 * @since 0.1.0
 */
export const VenueBudgets = Context.Reference<Shape>("@kharbranth/exchanges/VenueBudgets", { defaultValue: make })

/**
 * A layer with a fresh set of budgets, for feeds that should not share the
 * process's.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (): Layer.Layer<never> => Layer.succeed(VenueBudgets, make())
