/**
 * Idle memory: the client opens 1,000 or 10,000 connections that receive
 * nothing, waits, runs the GC, and reports RSS and heap per connection
 * (after minus before the connections, divided by their number; the library's
 * one-time import cost is in "before"). 10,000 connections means 20,000
 * file descriptors over the two processes, each within its own limit.
 */
import { clientConfig, withClient, withServer } from "../harness.ts"
import { type ClientKind, CONNECTION_CLIENTS } from "../protocol.ts"
import type { Case, Plan, Scenario } from "../scenario.ts"

/** One idle-memory measurement of one client. */
export const measureIdle = (kind: ClientKind, connections: number, settleMs: number): Promise<Record<string, number>> =>
  withServer((server, port) =>
    withClient(clientConfig({ kind, connections, port, readyTimeoutMs: 120_000 }), async (client, opened, openMs) => {
      const r = await client.request({ type: "measure-memory", settleMs }, "memory-result", settleMs + 60_000)
      const serverSide = await server.request({ type: "count" }, "count", 10_000)
      return {
        rssPerConn: (r.after.rss - r.base.rss) / connections / 1024,
        heapPerConn: (r.after.heapUsed - r.base.heapUsed) / connections / 1024,
        baseRss: r.base.rss / 1024 / 1024,
        held: Math.min(r.held, serverSide.open, opened),
        openSeconds: openMs / 1000
      }
    })
  )

/** The idle-memory scenario. */
export const scenario: Scenario = {
  name: "memory",
  title: "Idle memory per connection",
  method: "The client opens N connections that receive nothing (no heartbeat for any client), waits, runs `gc()` " +
    'four times, and reports (RSS after − RSS before) / N and the same for the V8 heap. "Before" is taken after ' +
    "the library is imported, so its one-time cost (shown as base RSS) is not spread over the connections. " +
    '"Held" is the number of connections open on both sides at the end.',
  metrics: [
    { key: "rssPerConn", label: "RSS/conn", unit: "KB", better: "lower", headline: "memory-idle", digits: 1 },
    { key: "heapPerConn", label: "heap/conn", unit: "KB", better: "lower", headline: "heap-idle", digits: 1 },
    { key: "held", label: "held", unit: "conn", better: "higher", digits: 0 },
    { key: "baseRss", label: "base RSS", unit: "MB", better: "lower", digits: 0 },
    { key: "openSeconds", label: "open all", unit: "s", better: "lower", digits: 1 }
  ],
  cases: (plan: Plan): ReadonlyArray<Case> => [
    {
      config: "1000",
      label: "1,000 conn",
      clients: CONNECTION_CLIENTS,
      measure: (client: ClientKind) => measureIdle(client, 1000, plan.quick ? 300 : 1000)
    },
    {
      config: "10000",
      label: "10,000 conn",
      clients: plan.quick ? ["ws", "kharbranth-hooks"] : CONNECTION_CLIENTS,
      measure: (client: ClientKind) => measureIdle(client, 10_000, plan.quick ? 300 : 1000)
    }
  ]
}
