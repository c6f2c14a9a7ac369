/**
 * What a scenario is, for the orchestrator: a list of cases (one connection
 * count or setting each), each measured for every client run by run,
 * interleaved (A B C A B C …); the metrics it reports, which of them get a
 * `<metric>-<case>: kharbranth/ws = <ratio>` line; and the plan (quick or
 * full) that sets windows and run counts. Also the samples it produces and
 * their aggregation into medians, min–max and paired ratios.
 */
import type { ClientKind } from "./protocol.ts"
import { pairedRatio, summarize, type Summary } from "./stats.ts"

/** How long and how often: `--quick` or full. */
export interface Plan {
  readonly quick: boolean
  /** Interleaved runs per case. */
  readonly runs: number
  readonly warmupMs: number
  readonly windowMs: number
  /** Only these scenarios (all when empty). */
  readonly only: ReadonlyArray<string>
}

/** The quick plan (under two minutes) and the full one (≥5 interleaved runs). */
export const plans = {
  quick: { quick: true, runs: 1, warmupMs: 300, windowMs: 1000, only: [] },
  full: { quick: false, runs: 5, warmupMs: 1000, windowMs: 2500, only: [] }
} satisfies Record<string, Plan>

/** A reported metric. */
export interface Metric {
  readonly key: string
  readonly label: string
  readonly unit: string
  /** Which way is better, for the "worst Kharbranth variant" headline. */
  readonly better: "higher" | "lower"
  /** When set, each case prints `<headline>-<case.config>: kharbranth/ws = …`. */
  readonly headline?: string | undefined
  /** Digits after the point in tables. */
  readonly digits?: number | undefined
}

/** One setting of a scenario, measured once per client per run. */
export interface Case {
  /** Short id used in line names (`1000`, `noparse-100`). */
  readonly config: string
  /** For tables (`1,000 connections`). */
  readonly label: string
  readonly clients: ReadonlyArray<ClientKind>
  readonly measure: (client: ClientKind, run: number) => Promise<Record<string, number>>
}

/** A scenario. */
export interface Scenario {
  readonly name: string
  readonly title: string
  /** A markdown paragraph: how it is measured. */
  readonly method: string
  readonly metrics: ReadonlyArray<Metric>
  readonly cases: (plan: Plan) => ReadonlyArray<Case>
}

/** One measurement: a client, a case, a run. Failed runs carry `error` and no metrics. */
export interface Sample {
  readonly scenario: string
  readonly config: string
  readonly client: ClientKind
  readonly run: number
  readonly metrics: Readonly<Record<string, number>>
  readonly error?: string | undefined
}

/** The Kharbranth variants, which each get a ratio to `ws`. */
export const KHARBRANTH: ReadonlyArray<ClientKind> = ["kharbranth-stream", "kharbranth-arrays", "kharbranth-hooks"]

/** A metric's values over runs, in run order (NaN where a run failed). */
export const valuesOf = (
  samples: ReadonlyArray<Sample>,
  scenario: string,
  config: string,
  client: ClientKind,
  metric: string
): Array<number> =>
  samples
    .filter((s) => s.scenario === scenario && s.config === config && s.client === client)
    .sort((a, b) => a.run - b.run)
    .map((s) => s.metrics[metric] ?? Number.NaN)

/** Median and min–max of a metric over runs. */
export const summaryOf = (
  samples: ReadonlyArray<Sample>,
  scenario: string,
  config: string,
  client: ClientKind,
  metric: string
): Summary => summarize(valuesOf(samples, scenario, config, client, metric))

/** A client's metric divided by raw `ws`'s, paired run by run, summarized. */
export const ratioOf = (
  samples: ReadonlyArray<Sample>,
  scenario: string,
  config: string,
  client: ClientKind,
  metric: string
): Summary =>
  pairedRatio(valuesOf(samples, scenario, config, client, metric), valuesOf(samples, scenario, config, "ws", metric))

/** The headline ratio of a case: the worse Kharbranth variant's, with each variant's. */
export interface Headline {
  readonly line: string
  readonly worst: Summary
  readonly variants: ReadonlyArray<{ readonly client: ClientKind; readonly ratio: Summary }>
}

/** The headline of `metric` for `config`, or undefined when no Kharbranth variant was measured. */
export const headlineOf = (
  samples: ReadonlyArray<Sample>,
  scenario: string,
  config: string,
  metric: Metric
): Headline | undefined => {
  if (metric.headline === undefined) return undefined
  const variants = KHARBRANTH
    .filter((client) => samples.some((s) => s.scenario === scenario && s.config === config && s.client === client))
    .map((client) => ({ client, ratio: ratioOf(samples, scenario, config, client, metric.key) }))
  if (variants.length === 0) return undefined
  const finite = variants.filter((v) => Number.isFinite(v.ratio.median))
  const pick = finite.length === 0
    ? variants[0]!
    : finite.reduce((a, b) =>
      (metric.better === "higher" ? b.ratio.median < a.ratio.median : b.ratio.median > a.ratio.median) ? b : a
    )
  return { line: `${metric.headline}-${config}`, worst: pick.ratio, variants }
}
