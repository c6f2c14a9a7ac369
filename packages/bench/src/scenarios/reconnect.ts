/**
 * Reconnect: time from the server coming back to the first frame delivered.
 * The server drops all 100 connections, then holds every new upgrade for
 * one second ("down"), then completes them all at once ("back") and sends a
 * frame on each right after its upgrade. Every client reconnects after the
 * same fixed 50 ms delay, so the dial is already waiting when the server
 * comes back and what is measured is the library's own path from the
 * upgrade response to the user's handler, not its backoff policy.
 */
import { clientConfig, withClient, withServer } from "../harness.ts"
import { type ClientKind, CONNECTION_CLIENTS } from "../protocol.ts"
import type { Case, Plan, Scenario } from "../scenario.ts"
import { percentiles } from "../stats.ts"

const CONNECTIONS = 100
const DOWN_MS = 1000

/** One reconnect measurement of one client. */
export const measureReconnect = (kind: ClientKind): Promise<Record<string, number>> =>
  withServer(async (server, port) => {
    await server.request({ type: "greet", on: true }, "ack", 5000)
    const config = clientConfig({ kind, connections: CONNECTIONS, port, reconnect: { kind: "fixed", delayMs: 50 } })
    return withClient(config, async (client, opened) => {
      if (opened < CONNECTIONS) throw new Error(`only ${opened} of ${CONNECTIONS} connections opened`)
      client.send({ type: "watch-reconnect", timeoutMs: DOWN_MS + 10_000 })
      const dropped = await server.request(
        { type: "drop", holdMs: DOWN_MS, expect: 0, timeoutMs: 0 },
        "dropped",
        DOWN_MS + 10_000
      )
      const times = await client.next("times", DOWN_MS + 15_000)
      const delays = times.at.filter(Number.isFinite).map((at) => (at - dropped.backAt) / 1000)
      const p = percentiles(delays)
      return { p50: p.p50, p99: p.p99, max: p.max, recovered: delays.length }
    })
  })

/** The reconnect scenario. */
export const scenario: Scenario = {
  name: "reconnect",
  title: "Reconnect: server back → first frame delivered",
  method: `${CONNECTIONS} connections; the server drops them all and holds new upgrades for ${DOWN_MS} ms, then ` +
    "answers them all at once and sends one frame on each. Every client redials after the same fixed 50 ms " +
    "delay (no jitter), so each is already waiting when the server comes back. Per connection: time from the " +
    "server completing the upgrades (monotonic clock) to that connection's first frame reaching the handler; " +
    "p50, p99 and max over the connections.",
  metrics: [
    { key: "p50", label: "p50", unit: "ms", better: "lower", headline: "reconnect-p50", digits: 1 },
    { key: "p99", label: "p99", unit: "ms", better: "lower", digits: 1 },
    { key: "max", label: "max", unit: "ms", better: "lower", digits: 1 },
    { key: "recovered", label: "recovered", unit: "conn", better: "higher", digits: 0 }
  ],
  cases: (_plan: Plan): ReadonlyArray<Case> => [{
    config: String(CONNECTIONS),
    label: `${CONNECTIONS} conn`,
    clients: CONNECTION_CLIENTS,
    measure: (client: ClientKind) => measureReconnect(client)
  }]
}
