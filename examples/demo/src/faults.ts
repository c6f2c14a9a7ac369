/**
 * The demo's fault schedule: every connection-level fault kind the simulator
 * knows (all but `mute`, one silent stream, which per-topic staleness in
 * `@kharbranth/exchanges`' `Feed` handles: see `examples/top-of-book`), each
 * aimed at one venue, spread over the first 60% of the run so that every
 * connection has time to recover before the summary. `disrupts` says
 * whether the fault must end the session (drop, close, half-open…) or only
 * degrade it (slow, latency), which is how recovery is judged.
 */
import type { Fault } from "@kharbranth/simulator"
import type { Venue } from "./venues.ts"

export interface PlannedFault {
  /** Seconds from the start. */
  readonly at: number
  readonly venue: Venue
  readonly label: string
  readonly spec: Fault.FaultSpec
  /** Ends the session (recovered = data on a newer session) or only degrades it (recovered = data after it heals). */
  readonly disrupts: boolean
  /** How long a degrading fault lasts, in ms. */
  readonly lasts: number
}

export const schedule = (durationSeconds: number): ReadonlyArray<PlannedFault> => {
  const plan: Array<Omit<PlannedFault, "at">> = [
    {
      venue: "binance",
      label: "drop (TCP cut, 1006)",
      spec: { kind: "drop", target: { venue: "binance" } },
      disrupts: true,
      lasts: 0
    },
    {
      venue: "bybit",
      label: "half-open (silence, no pongs)",
      spec: { kind: "halfOpen", target: { venue: "bybit" }, duration: "3 seconds" },
      disrupts: true,
      lasts: 0
    },
    {
      venue: "hyperliquid",
      label: "stall (data stops, pongs go on)",
      spec: { kind: "stall", target: { venue: "hyperliquid" }, duration: "3 seconds" },
      disrupts: true,
      lasts: 0
    },
    {
      venue: "okx",
      label: "refuse 429 Retry-After 1 s",
      spec: { kind: "refuse", target: { venue: "okx" }, status: 429, retryAfter: 1, count: 1 },
      disrupts: true,
      lasts: 0
    },
    {
      venue: "okx",
      label: "close 4000",
      spec: { kind: "close", target: { venue: "okx" }, code: 4000, reason: "demo" },
      disrupts: true,
      lasts: 0
    },
    {
      venue: "coinbase",
      label: "sequence gap",
      spec: { kind: "gap", target: { venue: "coinbase" }, skip: 3 },
      disrupts: true,
      lasts: 0
    },
    {
      venue: "kraken",
      label: "slow (2 KB/s)",
      spec: { kind: "slow", target: { venue: "kraken" }, bytesPerSecond: 2048, duration: "1500 millis" },
      disrupts: false,
      lasts: 1500
    },
    {
      venue: "binance",
      label: "latency 300 ms",
      spec: { kind: "latency", target: { venue: "binance" }, latency: "300 millis", duration: "1500 millis" },
      disrupts: false,
      lasts: 1500
    },
    {
      venue: "binance",
      label: "notice (serverShutdown)",
      spec: { kind: "notice", target: { venue: "binance" }, closeAfter: "500 millis" },
      disrupts: true,
      lasts: 0
    }
  ]
  const first = durationSeconds * 0.12
  const last = durationSeconds * 0.6
  const step = (last - first) / (plan.length - 1)
  return plan.map((fault, i) => ({ ...fault, at: first + i * step }))
}
