/**
 * Reconnect storm: 1,000 connections dropped at once by a server that stays
 * up. The server counts dial attempts (TCP connections accepted) per 100 ms
 * and the time until all 1,000 are open again. Each client reconnects by its
 * own policy: Kharbranth its default (500 ms, ×2, jittered) through the
 * manager's dial governor; raw `ws` the usual `setTimeout(connect, 1000)`;
 * partysocket and reconnecting-websocket their defaults.
 */
import { clientConfig, withClient, withServer } from "../harness.ts"
import { type ClientKind, CONNECTION_CLIENTS } from "../protocol.ts"
import type { Case, Plan, Scenario } from "../scenario.ts"
import { bucketize, peak } from "../stats.ts"

const CONNECTIONS = 1000
/** The manager's governor for this scenario (a local host: well above the 3/s default meant for venues). */
export const STORM_GOVERNOR = { maxConcurrentDials: 64, dialsPerSecond: 200 }

/** One storm measurement of one client; also returns the attempts per 100 ms, for the report. */
export const measureStorm = (kind: ClientKind, timeoutMs: number): Promise<Record<string, number>> =>
  withServer((server, port) => {
    const config = clientConfig({
      kind,
      connections: CONNECTIONS,
      port,
      dialConcurrency: STORM_GOVERNOR.maxConcurrentDials,
      dialsPerSecond: STORM_GOVERNOR.dialsPerSecond
    })
    return withClient(config, async (_client, opened) => {
      if (opened < CONNECTIONS) throw new Error(`only ${opened} of ${CONNECTIONS} connections opened`)
      const dropped = await server.request(
        { type: "drop", holdMs: 0, expect: CONNECTIONS, timeoutMs },
        "dropped",
        timeoutMs + 10_000
      )
      const buckets = bucketize(dropped.attempts, dropped.droppedAt, 100_000)
      return {
        peak: peak(buckets),
        reopenSeconds: (dropped.reopenedAt - dropped.droppedAt) / 1e6,
        attempts: dropped.attempts.length,
        reopened: dropped.reopened,
        ...Object.fromEntries(buckets.map((count, i) => [`b${i}`, count]))
      }
    })
  })

/** The storm scenario. */
export const scenario: Scenario = {
  name: "storm",
  title: "Reconnect storm (1,000 connections)",
  method: `${CONNECTIONS} connections are dropped at once (the server terminates them and keeps accepting). ` +
    "Attempts = TCP connections the server accepts, counted per 100 ms from the drop; reopen = time until all " +
    `${CONNECTIONS} are open again. Kharbranth uses its default reconnect policy and a manager with ` +
    `\`maxConcurrentDials: ${STORM_GOVERNOR.maxConcurrentDials}, dialsPerSecond: ${STORM_GOVERNOR.dialsPerSecond}\` ` +
    "(the defaults, 8 and 3/s, are meant for public venues and would take minutes for 1,000 dials to one host); raw " +
    "`ws` reconnects with the usual `setTimeout(connect, 1000)`; the wrappers use their defaults. " +
    "Targets: peak ≤ 200 attempts per 100 ms, all reopened within 10 s.",
  metrics: [
    { key: "peak", label: "peak attempts/100 ms", unit: "", better: "lower", headline: "storm-peak", digits: 0 },
    { key: "reopenSeconds", label: "all reopened", unit: "s", better: "lower", headline: "storm-reopen", digits: 2 },
    { key: "attempts", label: "attempts", unit: "", better: "lower", digits: 0 },
    { key: "reopened", label: "reopened", unit: "conn", better: "higher", digits: 0 }
  ],
  cases: (plan: Plan): ReadonlyArray<Case> => [{
    config: String(CONNECTIONS),
    label: `${CONNECTIONS.toLocaleString("en-US")} conn`,
    clients: plan.quick ? ["ws", "kharbranth-hooks"] : CONNECTION_CLIENTS,
    measure: (client: ClientKind) => measureStorm(client, 20_000)
  }]
}
