/**
 * `pnpm bench` / `pnpm bench --quick`: runs every scenario, each case for
 * every client, interleaved run by run (A B C A B C …), prints progress on
 * stderr and one `<scenario>: kharbranth/ws = <ratio>` line per scenario on
 * stdout, and writes BENCHMARKS.md (at the workspace root), the SVG charts
 * and the raw samples (packages/bench/results/).
 *
 * Options: `--quick` (one run, short windows, under two minutes), `--runs N`,
 * `--only throughput,storm`, `--no-write` (print only), `--tables` (also
 * print each scenario's table), `--save FILE` (also write the samples as
 * JSON to FILE, for comparing two trees), `--rewrite` (measure
 * nothing: rebuild BENCHMARKS.md and the charts from results/samples.json,
 * for example after editing FINDINGS.md).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { metricsCostLines } from "./metricsCost.ts"
import { formatHeadline, headlines, markdown, scenarioTable, writeCharts } from "./report.ts"
import { type Plan, plans, type Sample, type Scenario } from "./scenario.ts"
import * as fixedRate from "./scenarios/fixedRate.ts"
import * as halfOpen from "./scenarios/halfOpen.ts"
import * as memory from "./scenarios/memory.ts"
import * as reconnect from "./scenarios/reconnect.ts"
import * as storm from "./scenarios/storm.ts"
import * as throughput from "./scenarios/throughput.ts"

/** Every scenario, in the order they run. */
export const SCENARIOS: ReadonlyArray<Scenario> = [
  throughput.scenario,
  fixedRate.scenario,
  memory.scenario,
  reconnect.scenario,
  halfOpen.scenario,
  storm.scenario
]

/** Reads the command line. */
export const parseArgs = (argv: ReadonlyArray<string>): { plan: Plan; write: boolean } => {
  const quick = argv.includes("--quick")
  let plan: Plan = quick ? plans.quick : plans.full
  const runs = argv.indexOf("--runs")
  if (runs >= 0) plan = { ...plan, runs: Math.max(1, Number(argv[runs + 1])) }
  const only = argv.indexOf("--only")
  if (only >= 0) plan = { ...plan, only: (argv[only + 1] ?? "").split(",").filter((s) => s.length > 0) }
  return { plan, write: !argv.includes("--no-write") }
}

const progress = (text: string) => process.stderr.write(`${text}\n`)

/** Runs the scenarios of the plan; returns every sample (failed runs included, with their error). */
export const runAll = async (plan: Plan, scenarios: ReadonlyArray<Scenario>): Promise<Array<Sample>> => {
  const samples: Array<Sample> = []
  const chosen = scenarios.filter((s) => plan.only.length === 0 || plan.only.includes(s.name))
  for (const [si, scenario] of chosen.entries()) {
    for (const c of scenario.cases(plan)) {
      for (let run = 1; run <= plan.runs; run++) {
        for (const client of c.clients) {
          const started = performance.now()
          progress(`[${si + 1}/${chosen.length} ${scenario.name}] ${c.label} · run ${run}/${plan.runs} · ${client} …`)
          try {
            const metrics = await c.measure(client, run)
            samples.push({ scenario: scenario.name, config: c.config, client, run, metrics })
            progress(`    done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error)
            samples.push({ scenario: scenario.name, config: c.config, client, run, metrics: {}, error: message })
            progress(`    FAILED: ${message}`)
          }
        }
      }
    }
  }
  return samples
}

const main = async () => {
  const benchDir = path.join(import.meta.dirname, "..")
  const resultsDir = path.join(benchDir, "results")
  const samplesFile = path.join(resultsDir, "samples.json")
  const rewrite = process.argv.includes("--rewrite")
  let { plan, write } = parseArgs(process.argv.slice(2))
  const started = performance.now()
  let samples: Array<Sample>
  let elapsedSeconds: number
  let finishedAt: Date | undefined
  let loadAverage: Array<number> | undefined
  if (rewrite) {
    const saved = JSON.parse(fs.readFileSync(samplesFile, "utf8")) as {
      plan: Plan
      samples: Array<Sample>
      elapsedSeconds?: number
      finishedAt?: string
      loadAverage?: Array<number>
    }
    plan = saved.plan
    samples = saved.samples.map((s) => ({
      ...s,
      metrics: Object.fromEntries(Object.entries(s.metrics).map(([k, v]) => [k, v ?? Number.NaN]))
    }))
    elapsedSeconds = saved.elapsedSeconds ?? Number.NaN
    finishedAt = saved.finishedAt === undefined ? undefined : new Date(saved.finishedAt)
    loadAverage = saved.loadAverage
    write = true
  } else {
    progress(
      `Kharbranth bench: ${plan.quick ? "quick" : "full"}, ${plan.runs} run(s) per case, window ${plan.windowMs} ms`
    )
    samples = await runAll(plan, SCENARIOS)
    elapsedSeconds = (performance.now() - started) / 1000
    finishedAt = new Date()
    loadAverage = os.loadavg()
  }
  const scenarios = SCENARIOS.filter((s) => plan.only.length === 0 || plan.only.includes(s.name))
  for (const h of headlines(scenarios, plan, samples)) process.stdout.write(`${formatHeadline(h)}\n`)
  for (const line of metricsCostLines(scenarios, plan, samples)) process.stdout.write(`${line}\n`)
  if (process.argv.includes("--tables")) {
    for (const scenario of scenarios) process.stdout.write(`\n${scenarioTable(scenario, plan, samples)}\n`)
  }
  const save = process.argv.indexOf("--save")
  if (save >= 0 && !rewrite) {
    fs.writeFileSync(process.argv[save + 1] ?? "samples.json", JSON.stringify({ plan, samples }, null, 1))
  }
  progress(`finished in ${elapsedSeconds.toFixed(0)} s`)
  if (!write) return
  const root = path.join(benchDir, "..", "..")
  const charts = writeCharts(resultsDir, plan, samples)
  if (!rewrite) {
    fs.writeFileSync(samplesFile, JSON.stringify({ plan, samples, elapsedSeconds, finishedAt, loadAverage }, null, 1))
  }
  const findingsFile = path.join(benchDir, "FINDINGS.md")
  const findings = fs.existsSync(findingsFile) ? fs.readFileSync(findingsFile, "utf8") : ""
  const text = markdown(
    {
      plan,
      scenarios,
      samples,
      elapsedSeconds,
      finishedAt,
      loadAverage,
      chartsDir: resultsDir,
      chartsLink: "packages/bench/results",
      findings
    },
    charts
  )
  fs.writeFileSync(path.join(root, "BENCHMARKS.md"), text)
  progress(`wrote ${path.join(root, "BENCHMARKS.md")} and ${resultsDir}/`)
}

if (import.meta.main) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
