/**
 * CI smoke run: the harness end to end through the real process layout
 * (a forked feed server and a forked client per measurement): flood
 * throughput over one connection for about a second, for raw `ws` and for
 * Kharbranth, then the headline line computed from those samples.
 */
import { describe, expect, it } from "vitest"
import { formatHeadline } from "../src/report.ts"
import { headlineOf, type Sample } from "../src/scenario.ts"
import { measurePaced } from "../src/scenarios/fixedRate.ts"
import { measureFlood, scenario } from "../src/scenarios/throughput.ts"

describe("smoke", () => {
  it("measures flood throughput of ws and kharbranth over one connection", async () => {
    const samples: Array<Sample> = []
    for (const client of ["ws", "kharbranth-hooks"] as const) {
      const metrics = await measureFlood(client, 1, true, 200, 800)
      samples.push({ scenario: "throughput", config: "1", client, run: 1, metrics })
      // Sane: tens of thousands of msgs/s at least, a plausible CPU per message, a server far from saturated.
      expect(metrics.msgsPerSec).toBeGreaterThan(20_000)
      expect(metrics.msgsPerSec).toBeLessThan(10_000_000)
      expect(metrics.cpuPerMsg).toBeGreaterThan(0.05)
      expect(metrics.cpuPerMsg).toBeLessThan(100)
      expect(metrics.serverCpu).toBeLessThan(90)
    }
    const metric = scenario.metrics.find((m) => m.key === "msgsPerSec")!
    const line = formatHeadline(headlineOf(samples, "throughput", "1", metric)!)
    expect(line).toMatch(/^throughput-1: kharbranth\/ws = \d+\.\d\d {2}\(hooks \d+\.\d\d\)$/)
  }, 20_000)
  it("the Effect-stream control reads every message of the fixed rate through its stream consumer", async () => {
    const metrics = await measurePaced("ws+effect-stream", 1, 200, 1500)
    // 10,000 msg/s are sent; a control that lost messages, or whose consumer stalled, would fall short
    // (the margin leaves room for a busy machine's stalls at the window's edges, not for a lost half).
    expect(metrics.msgsPerSec).toBeGreaterThan(8_500)
    expect(metrics.msgsPerSec).toBeLessThan(11_500)
    expect(metrics.addedP50).toBeGreaterThan(0)
    expect(metrics.addedP50).toBeLessThan(1_000)
  }, 20_000)
})
