/**
 * Half-open detection: the server stops reading (so pings go unanswered)
 * and stops sending, without closing anything: a dead peer behind a live
 * TCP connection. Measured: time from the server going silent to each
 * connection being reported gone, against the configured deadline
 * (interval + timeout). Raw `ws` runs the usual hand-written heartbeat
 * (ping every interval, terminate when the pong is later than the timeout);
 * partysocket and reconnecting-websocket have no heartbeat at all.
 */
import { clientConfig, withClient, withServer } from "../harness.ts"
import type { ClientKind } from "../protocol.ts"
import type { Case, Plan, Scenario } from "../scenario.ts"
import { percentiles } from "../stats.ts"

const CONNECTIONS = 10

/** The heartbeat of the plan: shorter for `--quick`. */
export const heartbeatOf = (plan: Plan) =>
  plan.quick ? { intervalMs: 500, timeoutMs: 250 } : { intervalMs: 1000, timeoutMs: 500 }

/** One half-open measurement of one client. */
export const measureHalfOpen = (
  kind: ClientKind,
  heartbeat: { readonly intervalMs: number; readonly timeoutMs: number }
): Promise<Record<string, number>> =>
  withServer((server, port) =>
    withClient(clientConfig({ kind, connections: CONNECTIONS, port, heartbeat }), async (client, opened) => {
      if (opened < CONNECTIONS) throw new Error(`only ${opened} of ${CONNECTIONS} connections opened`)
      const deadline = heartbeat.intervalMs + heartbeat.timeoutMs
      client.send({ type: "watch-close", timeoutMs: 3 * deadline })
      const silenced = await server.request({ type: "silence" }, "silenced", 5000)
      const times = await client.next("times", 3 * deadline + 10_000)
      const delays = times.at.filter(Number.isFinite).map((at) => (at - silenced.at) / 1000)
      const p = percentiles(delays)
      return { p50: p.p50, max: p.max, detected: delays.length, deadline, maxOverDeadline: p.max / deadline }
    })
  )

/** The half-open scenario. */
export const scenario: Scenario = {
  name: "half-open",
  title: "Half-open detection",
  method: `${CONNECTIONS} connections with a protocol heartbeat (quick: ping every 500 ms, pong within 250 ms; ` +
    "full: 1 s and 500 ms). The server stops reading and sending on every socket without closing it. Per " +
    "connection: time from then until the client reports it gone (Kharbranth: the `Disconnected` event; `ws`: " +
    "`close` after its heartbeat terminates the socket). Target: every connection within 1.1 × (interval + timeout).",
  metrics: [
    { key: "p50", label: "p50", unit: "ms", better: "lower", headline: "halfopen-p50", digits: 0 },
    { key: "max", label: "max", unit: "ms", better: "lower", headline: "halfopen-max", digits: 0 },
    { key: "deadline", label: "deadline", unit: "ms", better: "lower", digits: 0 },
    { key: "maxOverDeadline", label: "max / deadline", unit: "×", better: "lower", digits: 2 },
    { key: "detected", label: "detected", unit: "conn", better: "higher", digits: 0 }
  ],
  cases: (plan: Plan): ReadonlyArray<Case> => [{
    config: String(CONNECTIONS),
    label: `${CONNECTIONS} conn`,
    clients: ["ws", "kharbranth-stream", "kharbranth-hooks"],
    measure: (client: ClientKind) => measureHalfOpen(client, heartbeatOf(plan))
  }]
}
