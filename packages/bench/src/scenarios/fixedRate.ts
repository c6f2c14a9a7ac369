/**
 * Fixed rate: the server paces 10,000 msg/s in total, spread round-robin
 * over 1, 100 or 1,000 connections, each message stamped with its send time
 * on the monotonic clock. The client measures CPU per message over one
 * window (no probe installed), then latency over a second window: the time
 * from the `ws` socket's `message` event to the user's handler ("added",
 * what the library adds), from the first `message` event of the same socket
 * read ("from read") and from the server's send to the handler
 * ("end-to-end"), at p50, p99 and p99.9. Before both, a cold window from
 * the first message on, with no warm-up: end-to-end percentiles and GC
 * pauses (a `PerformanceObserver` on `gc`) of a process that just started.
 */
import { clientConfig, withClient, withServer } from "../harness.ts"
import { type ClientKind, CONNECTION_CLIENTS, CONTROL_CLIENTS, METRICS_CLIENTS } from "../protocol.ts"
import type { Case, Plan, Scenario } from "../scenario.ts"

/** The paced rate, messages per second over all connections. */
export const RATE = 10_000

/** One fixed-rate measurement of one client. */
export const measurePaced = (
  kind: ClientKind,
  connections: number,
  warmupMs: number,
  windowMs: number
): Promise<Record<string, number>> =>
  withServer((server, port) =>
    withClient(clientConfig({ kind, connections, port }), async (client, opened) => {
      if (opened < connections) throw new Error(`only ${opened} of ${connections} connections opened`)
      client.send({ type: "measure-paced", warmupMs, windowMs })
      await server.request({ type: "pace", rate: RATE }, "ack", 10_000)
      const r = await client.next("paced-result", warmupMs + 3 * windowMs + 30_000)
      const s = await server.request({ type: "stop" }, "server-stats", 10_000)
      return {
        msgsPerSec: r.messages / (r.elapsedMs / 1000),
        cpuPerMsg: r.cpuMicros / r.messages,
        addedP50: r.added.p50,
        addedP99: r.added.p99,
        addedP999: r.added.p999,
        readP50: r.addedRead.p50,
        readP99: r.addedRead.p99,
        e2eP50: r.endToEnd.p50,
        e2eP99: r.endToEnd.p99,
        e2eP999: r.endToEnd.p999,
        coldP99: r.coldEndToEnd.p99,
        coldP999: r.coldEndToEnd.p999,
        coldMinorGcP50: r.coldMinorGc.p50,
        coldMinorGcP99: r.coldMinorGc.p99,
        coldMajorGcs: r.coldMajorGc.count,
        coldMajorGcMax: r.coldMajorGc.max,
        minorGcP50: r.minorGc.p50,
        majorGcs: r.majorGc.count,
        samples: r.added.count,
        serverCpu: (100 * s.cpuMicros) / (s.elapsedMs * 1000)
      }
    })
  )

const COUNTS = [1, 100, 1000]

/** The fixed-rate scenario. */
export const scenario: Scenario = {
  name: "fixed-rate",
  title: "Fixed rate (10,000 msg/s): CPU per message and latency",
  method: `The server sends ${RATE.toLocaleString("en-US")} msg/s in total from a 1 ms timer, round-robin over the ` +
    "connections, each message stamped with its send time (monotonic clock, µs). Each client `JSON.parse`s every " +
    "message. CPU per message is user+system CPU over the first window divided by messages handled, with nothing " +
    "instrumented. Latency is taken over a second window with a probe on the `emit` of `ws`'s frame parser " +
    "(`Receiver`; every client here reads through `ws`): *added* = the parser's `message` event, which `ws` " +
    "turns into the socket's → the user's handler; *end-to-end* = server send → handler; *from read* = the " +
    "first `message` event of the same socket read → handler. " +
    "Before both, a *cold* window of the same length from the first message, with no warm-up: end-to-end " +
    "percentiles and GC pauses (`PerformanceObserver` on `gc`; minor = scavenge, major = mark-compact). " +
    "`ws-batched` is raw `ws` handing each read's frames to the handler in one microtask after the read: " +
    "the latency of batching per read, with no library. `ws+kharbranth-import` is raw `ws` in a process that " +
    "has imported `@kharbranth/core` and `@kharbranth/node` and never uses them: what loading the library and " +
    "`effect` does to GC pauses and the cold window, with none of the library's work per frame. " +
    "`ws+effect-stream` is raw `ws` read by one `Stream.runForEach` through the thinnest pull Effect allows " +
    "(a fiber parked in `Effect.callback`, resumed per message): what an effect per frame costs in the Effect " +
    "runtime itself, beside `kharbranth-stream`.",
  metrics: [
    { key: "cpuPerMsg", label: "CPU/msg", unit: "µs", better: "lower", headline: "cpu", digits: 2 },
    { key: "e2eP99", label: "e2e p99", unit: "µs", better: "lower", headline: "latency-p99", digits: 0 },
    { key: "addedP50", label: "added p50", unit: "µs", better: "lower", digits: 1 },
    { key: "addedP99", label: "added p99", unit: "µs", better: "lower", digits: 1 },
    { key: "addedP999", label: "added p99.9", unit: "µs", better: "lower", digits: 1 },
    { key: "e2eP50", label: "e2e p50", unit: "µs", better: "lower", digits: 0 },
    { key: "e2eP999", label: "e2e p99.9", unit: "µs", better: "lower", digits: 0 },
    { key: "readP50", label: "from read p50", unit: "µs", better: "lower", digits: 1 },
    { key: "readP99", label: "from read p99", unit: "µs", better: "lower", digits: 1 },
    { key: "coldP99", label: "cold e2e p99", unit: "µs", better: "lower", digits: 0 },
    { key: "coldP999", label: "cold e2e p99.9", unit: "µs", better: "lower", digits: 0 },
    { key: "coldMinorGcP50", label: "cold minor GC p50", unit: "ms", better: "lower", digits: 2 },
    { key: "coldMinorGcP99", label: "cold minor GC p99", unit: "ms", better: "lower", digits: 2 },
    { key: "coldMajorGcs", label: "cold major GCs", unit: "", better: "lower", digits: 0 },
    { key: "coldMajorGcMax", label: "cold major GC max", unit: "ms", better: "lower", digits: 2 },
    { key: "minorGcP50", label: "minor GC p50", unit: "ms", better: "lower", digits: 2 },
    { key: "majorGcs", label: "major GCs", unit: "", better: "lower", digits: 0 },
    { key: "msgsPerSec", label: "msgs/s", unit: "msg/s", better: "higher", digits: 0 }
  ],
  cases: (plan: Plan): ReadonlyArray<Case> =>
    COUNTS.map((count) => ({
      config: String(count),
      label: `${count.toLocaleString("en-US")} conn`,
      clients: plan.quick
        ? ["ws", ...CONTROL_CLIENTS, "kharbranth-stream", "kharbranth-hooks", ...METRICS_CLIENTS]
        : ["ws", ...CONTROL_CLIENTS, ...CONNECTION_CLIENTS.filter((kind) => kind !== "ws"), ...METRICS_CLIENTS],
      measure: (client: ClientKind) => measurePaced(client, count, plan.warmupMs, plan.windowMs)
    }))
}
