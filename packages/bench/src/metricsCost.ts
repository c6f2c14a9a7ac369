/**
 * What the library's metrics cost: for each case where a `+metrics` client
 * ran, its headline figures (and the fixed-rate scenario's added latency)
 * divided by the same client's with metrics off, paired run by run, as
 * `metrics-cost <metric>-<case>: stream+metrics/stream = …, hooks+metrics/hooks = …`
 * lines beside the headlines. A ratio of 1 is no cost; for throughput,
 * below 1 is a cost; for CPU and latency, above 1.
 */
import { METRICS_CLIENTS } from "./protocol.ts"
import type { Plan, Sample, Scenario } from "./scenario.ts"
import { valuesOf } from "./scenario.ts"
import { fmt, pairedRatio } from "./stats.ts"

/** The figures compared: each scenario's headline metrics, and the added latency of the fixed-rate one. */
const EXTRA: Readonly<Record<string, ReadonlyArray<string>>> = { "fixed-rate": ["addedP50", "addedP99"] }

export const metricsCostLines = (
  scenarios: ReadonlyArray<Scenario>,
  plan: Plan,
  samples: ReadonlyArray<Sample>
): Array<string> => {
  const lines: Array<string> = []
  for (const scenario of scenarios) {
    const keys = [
      ...scenario.metrics.filter((m) => m.headline !== undefined).map((m) => m.key),
      ...(EXTRA[scenario.name] ?? [])
    ]
    for (const c of scenario.cases(plan)) {
      for (const key of keys) {
        const parts: Array<string> = []
        for (const client of METRICS_CLIENTS) {
          const off = client.replace("+metrics", "") as Sample["client"]
          const on = valuesOf(samples, scenario.name, c.config, client, key)
          if (on.length === 0) continue
          const ratio = pairedRatio(on, valuesOf(samples, scenario.name, c.config, off, key))
          const range = ratio.n > 1 ? ` [${fmt(ratio.min)}–${fmt(ratio.max)}]` : ""
          parts.push(
            `${client.replace("kharbranth-", "")}/${off.replace("kharbranth-", "")} = ${fmt(ratio.median)}${range}`
          )
        }
        if (parts.length > 0) lines.push(`metrics-cost ${scenario.name} ${key}-${c.config}: ${parts.join(", ")}`)
      }
    }
  }
  return lines
}
