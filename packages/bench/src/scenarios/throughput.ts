/**
 * Flood throughput: the feed server writes pre-serialized trade frames to
 * every connection as fast as each socket drains, and the client handles
 * as many as it can (count + `JSON.parse`, or only count in the no-parse
 * set). Measured over a window after a warm-up, at 1, 100 and 1,000
 * connections. The server's own CPU is reported to show it is not the
 * bottleneck; the client's CPU shows it is (≈100% of a core).
 */
import { clientConfig, withClient, withServer } from "../harness.ts"
import { CLIENT_KINDS, type ClientKind, METRICS_CLIENTS } from "../protocol.ts"
import type { Case, Plan, Scenario } from "../scenario.ts"

/** One flood measurement of one client. */
export const measureFlood = (
  kind: ClientKind,
  connections: number,
  parse: boolean,
  warmupMs: number,
  windowMs: number
): Promise<Record<string, number>> =>
  withServer((server, port) =>
    withClient(clientConfig({ kind, connections, port, parse }), async (client, opened) => {
      if (opened < connections) throw new Error(`only ${opened} of ${connections} connections opened`)
      // Arm the client's window first: under a flood its event loop turns are long, and a command would wait.
      client.send({ type: "measure-flood", warmupMs, windowMs })
      await server.request({ type: "flood" }, "ack", 30_000)
      const r = await client.next("flood-result", warmupMs + windowMs + 60_000)
      const s = await server.request({ type: "stop" }, "server-stats", 10_000)
      return {
        msgsPerSec: r.messages / (r.elapsedMs / 1000),
        cpuPerMsg: r.cpuMicros / r.messages,
        // What the client would do with a whole core: robust when other processes take CPU.
        msgsPerCpuSec: r.messages / (r.cpuMicros / 1e6),
        clientCpu: (100 * r.cpuMicros) / (r.elapsedMs * 1000),
        serverCpu: (100 * s.cpuMicros) / (s.elapsedMs * 1000)
      }
    })
  )

const COUNTS = [1, 100, 1000]
const NO_PARSE: ReadonlyArray<ClientKind> = [
  "ws",
  "kharbranth-stream",
  "kharbranth-arrays",
  "kharbranth-hooks",
  ...METRICS_CLIENTS
]
/**
 * Every client but two controls of the fixed-rate scenario: the import
 * control (it tells GC pauses apart) and the Effect-stream control (it
 * resumes its consumer per message, which a flood's reads of hundreds of
 * frames would only penalize).
 */
const FLOOD_CLIENTS = CLIENT_KINDS.filter((kind) => kind !== "ws+kharbranth-import" && kind !== "ws+effect-stream")

/** The throughput scenario. */
export const scenario: Scenario = {
  name: "throughput",
  title: "Flood throughput",
  method:
    "The server writes ~200 KB chunks of pre-framed trade messages (1,000 distinct messages of 150–300 bytes) to " +
    "every connection, waiting for `drain`. Each client counts and `JSON.parse`s every message (the no-parse set " +
    "only counts). Messages handled per second over the window, after the warm-up; client and server CPU over the window. " +
    "On a shared machine the client may not get a whole core: *msgs/CPU-s* (messages ÷ client CPU seconds) is the " +
    "throughput it would reach with one, and is less sensitive to that noise.",
  metrics: [
    { key: "msgsPerSec", label: "msgs/s", unit: "msg/s", better: "higher", headline: "throughput", digits: 0 },
    {
      key: "msgsPerCpuSec",
      label: "msgs/CPU-s",
      unit: "msg/s",
      better: "higher",
      headline: "throughput-per-cpu",
      digits: 0
    },
    { key: "cpuPerMsg", label: "CPU/msg", unit: "µs", better: "lower", digits: 3 },
    { key: "clientCpu", label: "client CPU", unit: "%", better: "lower", digits: 0 },
    { key: "serverCpu", label: "server CPU", unit: "%", better: "lower", digits: 0 }
  ],
  cases: (plan: Plan): ReadonlyArray<Case> => [
    ...COUNTS.map((count) => ({
      config: String(count),
      label: `${count.toLocaleString("en-US")} conn, JSON.parse`,
      // Quick mode keeps the wrappers to the 100-connection case.
      clients: plan.quick && count !== 100 ? NO_PARSE : FLOOD_CLIENTS,
      measure: (client: ClientKind) => measureFlood(client, count, true, plan.warmupMs, plan.windowMs)
    })),
    ...(plan.quick ? [100] : COUNTS).map((count) => ({
      config: `noparse-${count}`,
      label: `${count.toLocaleString("en-US")} conn, no parse`,
      clients: NO_PARSE,
      measure: (client: ClientKind) => measureFlood(client, count, false, plan.warmupMs, plan.windowMs)
    }))
  ]
}
