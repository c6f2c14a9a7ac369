/**
 * Unit tests of ratio computation as reported: the headline line picks the
 * worse Kharbranth variant by the metric's direction, pairs runs, and is
 * printed as `<scenario>: kharbranth/ws = <ratio>`; targets are judged
 * from the same numbers.
 */
import { describe, expect, it } from "vitest"
import type { ClientKind } from "../src/protocol.ts"
import { formatHeadline, markdown, verdicts } from "../src/report.ts"
import { headlineOf, type Metric, plans, type Sample } from "../src/scenario.ts"

const sample = (
  scenario: string,
  config: string,
  client: ClientKind,
  run: number,
  metrics: Record<string, number>
): Sample => ({
  scenario,
  config,
  client,
  run,
  metrics
})

const throughput: Metric = {
  key: "msgsPerSec",
  label: "msgs/s",
  unit: "msg/s",
  better: "higher",
  headline: "throughput"
}
const cpu: Metric = { key: "cpuPerMsg", label: "CPU/msg", unit: "µs", better: "lower", headline: "cpu" }

const samples: Array<Sample> = [
  sample("throughput", "1000", "ws", 1, { msgsPerSec: 100 }),
  sample("throughput", "1000", "kharbranth-stream", 1, { msgsPerSec: 90 }),
  sample("throughput", "1000", "kharbranth-hooks", 1, { msgsPerSec: 110 }),
  sample("throughput", "1000", "ws", 2, { msgsPerSec: 200 }),
  sample("throughput", "1000", "kharbranth-stream", 2, { msgsPerSec: 190 }),
  sample("throughput", "1000", "kharbranth-hooks", 2, { msgsPerSec: 210 }),
  sample("fixed-rate", "1000", "ws", 1, { cpuPerMsg: 2, addedP99: 1 }),
  sample("fixed-rate", "1000", "kharbranth-stream", 1, { cpuPerMsg: 3, addedP99: 40 }),
  sample("fixed-rate", "1000", "kharbranth-hooks", 1, { cpuPerMsg: 2.2, addedP99: 20 })
]

describe("headlineOf", () => {
  it("takes the lower throughput ratio, paired run by run", () => {
    const h = headlineOf(samples, "throughput", "1000", throughput)!
    expect(h.line).toBe("throughput-1000")
    expect(h.worst.median).toBeCloseTo((0.9 + 0.95) / 2)
    expect(h.worst.min).toBeCloseTo(0.9)
    expect(h.variants.map((v) => v.client)).toEqual(["kharbranth-stream", "kharbranth-hooks"])
  })

  it("takes the higher CPU ratio", () => {
    const h = headlineOf(samples, "fixed-rate", "1000", cpu)!
    expect(h.worst.median).toBeCloseTo(1.5)
  })

  it("is undefined for a metric without headline or an unmeasured case", () => {
    expect(headlineOf(samples, "throughput", "1000", { ...throughput, headline: undefined })).toBeUndefined()
    expect(headlineOf(samples, "throughput", "1", throughput)).toBeUndefined()
  })
})

describe("formatHeadline", () => {
  it("prints the scenario line the issue asks for", () => {
    const line = formatHeadline(headlineOf(samples, "throughput", "1000", throughput)!)
    expect(line).toMatch(
      /^throughput-1000: kharbranth\/ws = 0\.93 {2}\(stream 0\.93, hooks 1\.0[78]; min–max 0\.90–0\.95 over 2 runs\)$/
    )
  })
})

describe("verdicts", () => {
  it("judges measured targets and says what was not measured", () => {
    const v = verdicts(samples)
    const added = v.find((x) => x.target.startsWith("Added latency"))!
    expect(added.met).toBe(true)
    expect(added.evidence).toContain("40")
    const cpuTarget = v.find((x) => x.target.startsWith("CPU per message"))!
    expect(cpuTarget.met).toBe(false)
    expect(v.find((x) => x.target.startsWith("Storm peak"))!.met).toBeUndefined()
  })
})

describe("markdown", () => {
  it("reports the run's own end time and load average, so a rewrite does not restamp it", () => {
    const text = markdown({
      plan: plans.full,
      scenarios: [],
      samples,
      elapsedSeconds: 1512,
      finishedAt: new Date("2026-11-26T02:05:00Z"),
      loadAverage: [0.51, 0.88, 0.93],
      chartsDir: "/nonexistent",
      chartsLink: "results",
      findings: ""
    }, [])
    expect(text).toContain("on 2026-11-26 02:05 UTC in 1512 s")
    expect(text).toContain("load average at the end 0.51 / 0.88 / 0.93")
  })
})
