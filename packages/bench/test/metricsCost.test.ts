/**
 * The metrics-cost lines: each `+metrics` client over the same client with
 * metrics off, paired run by run, for the scenario's headline figures.
 */
import { describe, expect, it } from "vitest"
import { metricsCostLines } from "../src/metricsCost.ts"
import type { ClientKind } from "../src/protocol.ts"
import { plans, type Sample, type Scenario } from "../src/scenario.ts"

const sample = (client: ClientKind, run: number, msgsPerSec: number): Sample => ({
  scenario: "throughput",
  config: "100",
  client,
  run,
  metrics: { msgsPerSec }
})

const scenario: Scenario = {
  name: "throughput",
  title: "Flood throughput",
  method: "",
  metrics: [{ key: "msgsPerSec", label: "msgs/s", unit: "msg/s", better: "higher", headline: "throughput" }],
  cases: () => [{ config: "100", label: "100 conn", clients: [], measure: () => Promise.reject(new Error("unused")) }]
}

describe("metricsCostLines", () => {
  it("divides each +metrics client by the same client off, run by run", () => {
    const samples = [
      sample("kharbranth-hooks", 1, 100),
      sample("kharbranth-hooks+metrics", 1, 99),
      sample("kharbranth-hooks", 2, 200),
      sample("kharbranth-hooks+metrics", 2, 202),
      sample("kharbranth-stream", 1, 100),
      sample("kharbranth-stream+metrics", 1, 100)
    ]
    expect(metricsCostLines([scenario], plans.quick, samples)).toEqual([
      "metrics-cost throughput msgsPerSec-100: stream+metrics/stream = 1.00, hooks+metrics/hooks = 1.00 [0.99–1.01]"
    ])
  })

  it("prints nothing where no +metrics client ran", () => {
    expect(metricsCostLines([scenario], plans.quick, [sample("kharbranth-hooks", 1, 100)])).toEqual([])
  })
})
