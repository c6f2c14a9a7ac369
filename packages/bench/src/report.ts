/**
 * Turns the samples of a run into what people read: the
 * `<scenario>: kharbranth/ws = <ratio>` lines, the verdict on each target,
 * and `BENCHMARKS.md` (machine, versions, method, one table per scenario
 * with medians, min–max and ratios to raw `ws`, the SVG charts, and what
 * was found where a target is missed).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { CLIENT_KINDS, type ClientKind } from "./protocol.ts"
import {
  type Headline,
  headlineOf,
  KHARBRANTH,
  type Plan,
  ratioOf,
  type Sample,
  type Scenario,
  summaryOf
} from "./scenario.ts"
import { fmt, type Summary } from "./stats.ts"
import { barChart } from "./svg.ts"

/** A headline line: `throughput-1000: kharbranth/ws = 0.97  (stream 0.97, hooks 1.02)`. */
export const formatHeadline = (headline: Headline): string => {
  const detail = headline.variants
    .map((v) => `${v.client.replace("kharbranth-", "")} ${fmt(v.ratio.median)}`)
    .join(", ")
  const range = headline.worst.n > 1
    ? `; min–max ${fmt(headline.worst.min)}–${fmt(headline.worst.max)} over ${headline.worst.n} runs`
    : ""
  return `${headline.line}: kharbranth/ws = ${fmt(headline.worst.median)}  (${detail}${range})`
}

/** Every headline of every scenario, in order. */
export const headlines = (scenarios: ReadonlyArray<Scenario>, plan: Plan, samples: ReadonlyArray<Sample>) =>
  scenarios.flatMap((scenario) =>
    scenario.cases(plan).flatMap((c) =>
      scenario.metrics.flatMap((metric) => {
        const h = headlineOf(samples, scenario.name, c.config, metric)
        return h === undefined ? [] : [h]
      })
    )
  )

/** A target's verdict. */
export interface Verdict {
  readonly target: string
  readonly met: boolean | undefined
  readonly evidence: string
}

const worstKh = (
  samples: ReadonlyArray<Sample>,
  scenario: string,
  config: string,
  metric: string,
  better: "higher" | "lower",
  useRatio: boolean
): { value: number; client: ClientKind } | undefined => {
  const values = KHARBRANTH.map((client) => ({
    client,
    value: (useRatio
      ? ratioOf(samples, scenario, config, client, metric)
      : summaryOf(samples, scenario, config, client, metric)).median
  })).filter((v) => Number.isFinite(v.value))
  if (values.length === 0) return undefined
  return values.reduce((a, b) => (better === "higher" ? (b.value < a.value ? b : a) : (b.value > a.value ? b : a)))
}

/** Judges every target the issue sets, from the samples. */
export const verdicts = (samples: ReadonlyArray<Sample>): Array<Verdict> => {
  const out: Array<Verdict> = []
  const check = (
    target: string,
    items: ReadonlyArray<
      { label: string; scenario: string; config: string; metric: string; better: "higher" | "lower"; ratio: boolean }
    >,
    ok: (value: number) => boolean,
    unit = "×"
  ) => {
    const found = items.map((i) => ({ i, w: worstKh(samples, i.scenario, i.config, i.metric, i.better, i.ratio) }))
    const measured = found.filter((f) => f.w !== undefined)
    if (measured.length === 0) return out.push({ target, met: undefined, evidence: "not measured" })
    const met = measured.every((f) => ok(f.w!.value)) && measured.length === items.length
    const evidence = found
      .map((f) =>
        f.w === undefined
          ? `${f.i.label}: not measured`
          : `${f.i.label}: ${fmt(f.w.value)}${unit === "×" ? "×" : ` ${unit}`} (${f.w.client})`
      )
      .join("; ")
    out.push({ target, met, evidence })
  }
  check(
    "Throughput ≥ 0.95× raw `ws` at every connection count",
    ["1", "100", "1000"].map((c) => ({
      label: `${c} conn`,
      scenario: "throughput",
      config: c,
      metric: "msgsPerSec",
      better: "higher" as const,
      ratio: true
    })),
    (v) => v >= 0.95
  )
  check(
    "CPU per message ≤ 1.2× raw `ws` (10k msg/s)",
    ["1", "100", "1000"].map((c) => ({
      label: `${c} conn`,
      scenario: "fixed-rate",
      config: c,
      metric: "cpuPerMsg",
      better: "lower" as const,
      ratio: true
    })),
    (v) => v <= 1.2
  )
  check(
    "Added latency p99 ≤ 50 µs at 1,000 connections",
    [{
      label: "1,000 conn",
      scenario: "fixed-rate",
      config: "1000",
      metric: "addedP99",
      better: "lower",
      ratio: false
    }],
    (v) => v <= 50,
    "µs"
  )
  check(
    "Idle memory (RSS) ≤ 1.5× raw `ws` per connection",
    ["1000", "10000"].map((c) => ({
      label: `${c} conn`,
      scenario: "memory",
      config: c,
      metric: "rssPerConn",
      better: "lower" as const,
      ratio: true
    })),
    (v) => v <= 1.5
  )
  check(
    "10,000 connections held",
    [{ label: "held", scenario: "memory", config: "10000", metric: "held", better: "higher", ratio: false }],
    (v) => v >= 10_000,
    "conn"
  )
  check(
    "Half-open detected within interval + timeout + 10%",
    [{
      label: "slowest connection / deadline",
      scenario: "half-open",
      config: "10",
      metric: "maxOverDeadline",
      better: "lower",
      ratio: false
    }],
    (v) => v <= 1.1
  )
  check(
    "Storm peak ≤ 200 attempts per 100 ms",
    [{ label: "peak", scenario: "storm", config: "1000", metric: "peak", better: "lower", ratio: false }],
    (v) => v <= 200,
    "attempts"
  )
  check(
    "Storm: all 1,000 reopened within 10 s",
    [{ label: "reopen", scenario: "storm", config: "1000", metric: "reopenSeconds", better: "lower", ratio: false }],
    (v) => v <= 10,
    "s"
  )
  return out
}

const cell = (s: Summary, digits: number) =>
  s.n === 0
    ? "—"
    : s.n === 1
    ? fmt(s.median, digits)
    : `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`

/** The markdown table of one scenario. */
export const scenarioTable = (scenario: Scenario, plan: Plan, samples: ReadonlyArray<Sample>): string => {
  const lines: Array<string> = []
  // Only what was measured: samples saved by an older harness lack its newer metrics and clients.
  const own = samples.filter((s) => s.scenario === scenario.name)
  const metrics = scenario.metrics.filter((m) => own.some((s) => s.metrics[m.key] !== undefined) || own.length === 0)
  const ratioMetrics = metrics.filter((m) => m.headline !== undefined)
  const header = [
    "case",
    "client",
    ...metrics.map((m) => `${m.label}${m.unit === "" ? "" : ` (${m.unit})`}`),
    ...ratioMetrics.map((m) => `${m.label} ÷ ws`)
  ]
  lines.push(`| ${header.join(" | ")} |`)
  lines.push(`|${header.map(() => "---").join("|")}|`)
  for (const c of scenario.cases(plan)) {
    for (const client of c.clients) {
      if (own.length > 0 && !own.some((s) => s.config === c.config && s.client === client)) continue
      const errors = samples.filter((s) =>
        s.scenario === scenario.name && s.config === c.config && s.client === client && s.error !== undefined
      )
      const row = [
        c.label,
        errors.length > 0 ? `${client} ⚠︎ ${errors.length} failed` : client,
        ...metrics.map((m) => cell(summaryOf(samples, scenario.name, c.config, client, m.key), m.digits ?? 2)),
        ...ratioMetrics.map((m) =>
          client === "ws" ? "1" : cell(ratioOf(samples, scenario.name, c.config, client, m.key), 2)
        )
      ]
      lines.push(`| ${row.join(" | ")} |`)
    }
  }
  return lines.join("\n")
}

const version = (name: string): string => {
  const candidates = [
    path.join(import.meta.dirname, "..", "node_modules", name, "package.json"),
    path.join(import.meta.dirname, "..", "..", "..", "node_modules", name, "package.json")
  ]
  for (const file of candidates) {
    try {
      return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version
    } catch {
      // try the next place
    }
  }
  return "?"
}

/** The machine and the versions, as markdown; `loadAverage` is the run's, taken as it ended. */
export const machine = (loadAverage: ReadonlyArray<number> = os.loadavg()): string => {
  const cpus = os.cpus()
  return [
    `- CPU: ${cpus[0]?.model ?? "?"} × ${cpus.length} (${os.arch()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM`,
    `- OS: ${os.type()} ${os.release()}; load average at the end ${loadAverage.map((l) => l.toFixed(2)).join(" / ")}`,
    `- Node ${process.version}; ws ${version("ws")}, effect ${version("effect")}, partysocket ${
      version("partysocket")
    }, ` +
    `reconnecting-websocket ${version("reconnecting-websocket")}, @kharbranth/core ${version("@kharbranth/core")}`
  ].join("\n")
}

const CHART_CLIENTS = CLIENT_KINDS

/** Writes the charts; returns their file names (relative to `dir`). */
export const writeCharts = (dir: string, plan: Plan, samples: ReadonlyArray<Sample>): Array<string> => {
  fs.mkdirSync(dir, { recursive: true })
  const written: Array<string> = []
  const present = (scenario: string, config: string, client: ClientKind) =>
    samples.some((s) => s.scenario === scenario && s.config === config && s.client === client)
  const counts = ["1", "100", "1000"]
  if (samples.some((s) => s.scenario === "throughput")) {
    const series = CHART_CLIENTS.filter((client) => counts.some((c) => present("throughput", c, client))).map((
      client
    ) => ({
      name: client,
      values: counts.map((c) => summaryOf(samples, "throughput", c, client, "msgsPerSec").median / 1000)
    }))
    fs.writeFileSync(
      path.join(dir, "throughput.svg"),
      barChart({
        title: "Flood throughput, JSON.parse per message (higher is better)",
        subtitle: `thousand msgs/s, median of ${plan.runs} run(s); groups: connections`,
        groups: counts.map((c) => `${Number(c).toLocaleString("en-US")} conn`),
        series,
        unit: "k msgs/s",
        format: (v) => fmt(v, 0)
      })
    )
    written.push("throughput.svg")
  }
  if (samples.some((s) => s.scenario === "fixed-rate")) {
    for (
      const [file, prefix, title] of [
        ["latency-added.svg", "added", "Added latency at 1,000 connections: socket event → handler (lower is better)"],
        ["latency-e2e.svg", "e2e", "End-to-end latency at 1,000 connections: server send → handler (lower is better)"]
      ] as const
    ) {
      const keys = [`${prefix}P50`, `${prefix}P99`, `${prefix}P999`]
      const series = CHART_CLIENTS.filter((client) => present("fixed-rate", "1000", client)).map((client) => ({
        name: client,
        values: keys.map((k) => summaryOf(samples, "fixed-rate", "1000", client, k).median)
      }))
      fs.writeFileSync(
        path.join(dir, file),
        barChart({
          title,
          subtitle: `µs, 10,000 msg/s over 1,000 connections, median of ${plan.runs} run(s)`,
          groups: ["p50", "p99", "p99.9"],
          series,
          unit: "µs",
          format: (v) => fmt(v, 1),
          reference: prefix === "added" ? { value: 50, label: "target p99 ≤ 50 µs" } : undefined
        })
      )
      written.push(file)
    }
  }
  return written
}

/** Everything needed to write BENCHMARKS.md. */
export interface ReportInput {
  readonly plan: Plan
  readonly scenarios: ReadonlyArray<Scenario>
  readonly samples: ReadonlyArray<Sample>
  readonly elapsedSeconds: number
  /** When the run ended and the load average then (kept in samples.json, so `--rewrite` reports the run, not the rewrite). */
  readonly finishedAt?: Date | undefined
  readonly loadAverage?: ReadonlyArray<number> | undefined
  readonly chartsDir: string
  /** Markdown path of the charts directory relative to BENCHMARKS.md. */
  readonly chartsLink: string
  /** Hand-written findings kept across runs (profiling notes), markdown. */
  readonly findings: string
}

/** The full BENCHMARKS.md text. */
export const markdown = (input: ReportInput, charts: ReadonlyArray<string>): string => {
  const { plan, samples, scenarios } = input
  const out: Array<string> = []
  out.push("# Kharbranth benchmarks")
  out.push("")
  out.push(
    `Generated by \`pnpm bench${plan.quick ? " --quick" : ""}\` (packages/bench) on ${
      (input.finishedAt ?? new Date()).toISOString().slice(0, 16).replace("T", " ")
    } UTC ` +
      `in ${Math.round(input.elapsedSeconds)} s: ${plan.runs} interleaved run(s) per case${
        plan.quick ? " (quick mode: one run, short windows — indicative only)" : ""
      }. ` +
      "Every ratio is Kharbranth ÷ raw `ws`, paired run by run (each Kharbranth run is divided by the `ws` run measured next to it), " +
      "shown as the median with min–max over runs."
  )
  out.push("")
  out.push("## Machine and versions")
  out.push("")
  out.push(machine(input.loadAverage))
  out.push("")
  out.push("## Summary")
  out.push("")
  out.push("```")
  for (const h of headlines(scenarios, plan, samples)) out.push(formatHeadline(h))
  out.push("```")
  out.push("")
  out.push(
    "Each line shows the worst Kharbranth variant, then each (`stream`: `manager.frames` read with `Stream.runForEach`, " +
      "an effect per frame; `arrays`: the same stream read with `Stream.runForEachArray`, an effect per array of frames, " +
      "throughput only; `hooks`: an `onText` hook per connection, a plain function)."
  )
  out.push("")
  out.push("## Targets")
  out.push("")
  out.push("| target | met? | evidence (worst Kharbranth variant, median) |")
  out.push("|---|---|---|")
  for (const v of verdicts(samples)) {
    out.push(
      `| ${v.target} | ${v.met === undefined ? "not measured" : v.met ? "✅ met" : "❌ missed"} | ${v.evidence} |`
    )
  }
  out.push("")
  if (charts.length > 0) {
    out.push("## Charts")
    out.push("")
    for (const chart of charts) out.push(`![${chart}](${input.chartsLink}/${chart})`)
    out.push("")
  }
  out.push("## Method")
  out.push("")
  out.push(
    "- **Process layout.** The orchestrator (`src/main.ts`) forks a fresh feed server (`src/server.ts`) and one client " +
      "process (`src/client.ts`) per measurement, on the same Node, over 127.0.0.1; both are killed afterwards. Clients run " +
      "one after another, interleaved run by run (ws, kharbranth-stream, kharbranth-arrays, kharbranth-hooks, partysocket, " +
      "reconnecting-websocket, ws, …), never side by side. `kharbranth-arrays` (the stream read an array at a time) runs " +
      "in the throughput scenario only: elsewhere it is the same client as `kharbranth-stream`. `kharbranth-stream+metrics` " +
      "and `kharbranth-hooks+metrics` are those clients with the library's metrics on (`Metrics.layer`, the Prometheus " +
      "text built once a second), in the throughput and fixed-rate scenarios; the `metrics-cost` lines divide each by " +
      "the same client with metrics off, run by run."
  )
  out.push(
    "- **Same work.** Every client runs the same handler (`src/client.ts`): count the message, then `JSON.parse` the string " +
      "its library hands over (the no-parse set only counts). Same payloads (1,000 deterministic Binance-like trades, " +
      "150–300 bytes), same server, same process flags (`--expose-gc`), no compression. partysocket and reconnecting-websocket " +
      "get `ws` as their `WebSocket`. Kharbranth runs with `Heartbeat.none` except in the half-open scenario, and a " +
      "`WSManager` whose governor is raised for a local host (256 concurrent dials, 100,000/s) except in the storm."
  )
  out.push(
    "- **Clocks.** Windows and rates use `performance.now()`; cross-process times (send stamps, drop/back/silence times) " +
      "use the system-wide monotonic clock (`process.hrtime` base). CPU is `process.cpuUsage()` (user + system)."
  )
  out.push("")
  for (const scenario of scenarios) {
    if (!samples.some((s) => s.scenario === scenario.name)) continue
    out.push(`## ${scenario.title}`)
    out.push("")
    out.push(scenario.method)
    out.push("")
    out.push(scenarioTable(scenario, plan, samples))
    out.push("")
    if (scenario.name === "storm") {
      out.push("Attempts per 100 ms after the drop (median run):")
      out.push("")
      out.push("```")
      for (const client of CLIENT_KINDS) {
        const runs = samples.filter((s) => s.scenario === "storm" && s.client === client && s.error === undefined)
        if (runs.length === 0) continue
        const run = runs[Math.floor(runs.length / 2)]!
        const buckets = Object.keys(run.metrics).filter((k) => /^b\d+$/.test(k)).sort((a, b) =>
          Number(a.slice(1)) - Number(b.slice(1))
        )
        out.push(`${client.padEnd(24)} ${buckets.map((k) => run.metrics[k]).join(" ")}`)
      }
      out.push("```")
      out.push("")
    }
  }
  const failures = samples.filter((s) => s.error !== undefined)
  if (failures.length > 0) {
    out.push("## Failed measurements")
    out.push("")
    for (const f of failures) out.push(`- ${f.scenario} ${f.config} ${f.client} run ${f.run}: ${f.error}`)
    out.push("")
  }
  out.push(input.findings.trim())
  out.push("")
  return out.join("\n")
}
