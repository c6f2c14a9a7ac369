/**
 * A real Prometheus (Debian's `prometheus` package) scrapes the demo's
 * `--metrics` endpoint every second, and answers PromQL for the number of
 * open connections and the reconnect rate; the answers are compared with
 * what the demo itself prints and with the numbers its browser dashboard
 * shows (`--web`: `/api/snapshot`), which must agree at one moment. Both processes run on 127.0.0.1 and are
 * killed by PID whatever the outcome. Prometheus missing is a failure that
 * says how to install it, not a skip.
 */
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"

/** Debian's binary, else the first `prometheus` on PATH. */
const prometheusBinary = (): string | undefined => {
  if (existsSync("/usr/bin/prometheus")) return "/usr/bin/prometheus"
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "prometheus")
    if (dir !== "" && existsSync(candidate)) return candidate
  }
  return undefined
}

/** Whether `port` can be bound on 127.0.0.1 now. */
const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/** A free port below 32768 (outside Linux's ephemeral range, so no outgoing socket takes it meanwhile). */
const freePort = async (): Promise<number> => {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000)
    if (await isFree(port)) return port
  }
  throw new Error("no free port below 32768")
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** One instant PromQL query: the first sample's value, or undefined when the result is empty. */
const query = async (prometheus: string, promql: string): Promise<number | undefined> => {
  const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(promql)}`)
  const body = await response.json() as {
    readonly status: string
    readonly data?: { readonly result: ReadonlyArray<{ readonly value: readonly [number, string] }> }
  }
  if (body.status !== "success") throw new Error(`query failed: ${JSON.stringify(body)}`)
  const first = body.data?.result[0]
  return first === undefined ? undefined : Number(first.value[1])
}

interface Snapshot {
  readonly totals: { readonly open: number; readonly reconnects: number }
}

/** The browser dashboard's JSON snapshot (`/api/snapshot`), or undefined while it is not up. */
const snapshot = (port: number): Promise<Snapshot | undefined> =>
  fetch(`http://127.0.0.1:${port}/api/snapshot`).then((r) => r.json() as Promise<Snapshot>).catch(() => undefined)

/** Kills a child by its PID and waits for it to exit (at most 5 s). */
const kill = (child: ChildProcess | undefined) =>
  new Promise<void>((resolve) => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(resolve, 5000)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    if (child.pid !== undefined) process.kill(child.pid, "SIGKILL")
  })

/** The demo's last progress line (`t=12s open 9/9 msgs/s 1234 reconnects 7`): open connections and reconnects. */
const lastProgress = (out: string) => {
  const match = [...out.matchAll(/^t=\d+s open (\d)\/9 msgs\/s \S+ reconnects (\d+)/gm)].at(-1)
  return match === undefined ? undefined : { open: Number(match[1]), reconnects: Number(match[2]) }
}

describe("pnpm demo --metrics with a real Prometheus", () => {
  it(
    "Prometheus scrapes the demo: 9 open connections once recovered, a reconnect rate above zero, as the demo reports and its dashboard shows",
    async () => {
      const binary = prometheusBinary()
      if (binary === undefined) {
        assert.fail(
          "prometheus is not installed: this test runs a real Prometheus server. Install it with " +
            "`sudo apt-get install -y prometheus` (Debian/Ubuntu; .ci/run does this), or put a prometheus binary on PATH"
        )
      }
      const dir = mkdtempSync(join(tmpdir(), "kharbranth-prometheus-"))
      let demo: ChildProcess | undefined
      let prometheus: ChildProcess | undefined
      try {
        const metricsPort = await freePort()
        const dashboardPort = await freePort()
        const webPort = await freePort()
        const base = `http://127.0.0.1:${webPort}`
        writeFileSync(
          join(dir, "prometheus.yml"),
          [
            "global:",
            "  scrape_interval: 1s",
            "  evaluation_interval: 1s",
            "scrape_configs:",
            "  - job_name: demo",
            "    static_configs:",
            `      - targets: ["127.0.0.1:${metricsPort}"]`,
            ""
          ].join("\n")
        )
        let demoOut = ""
        demo = spawn(process.execPath, [
          "src/main.ts",
          "--duration",
          "25",
          "--metrics",
          String(metricsPort),
          "--web",
          String(dashboardPort)
        ], {
          cwd: new URL("..", import.meta.url).pathname,
          stdio: ["ignore", "pipe", "pipe"]
        })
        demo.stdout!.setEncoding("utf8").on("data", (chunk: string) => demoOut += chunk)
        demo.stderr!.setEncoding("utf8").on("data", (chunk: string) => demoOut += chunk)
        const demoExited = new Promise<number | null>((resolve) => demo!.once("exit", (code) => resolve(code)))
        let prometheusOut = ""
        prometheus = spawn(binary, [
          `--config.file=${join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${webPort}`
        ], { stdio: ["ignore", "pipe", "pipe"] })
        prometheus.stdout!.setEncoding("utf8").on("data", (chunk: string) => prometheusOut += chunk)
        prometheus.stderr!.setEncoding("utf8").on("data", (chunk: string) => prometheusOut += chunk)

        // Prometheus is ready, and has scraped the demo at least once.
        const started = performance.now()
        for (;;) {
          const up = await query(base, 'up{job="demo"}').catch(() => undefined)
          if (up === 1) break
          if (performance.now() - started > 30_000) {
            throw new Error(`Prometheus never scraped the demo\n${prometheusOut.slice(-2000)}\n${demoOut.slice(-2000)}`)
          }
          await sleep(250)
        }

        // Poll until the faults have made connections reconnect, all nine are open again, and the browser
        // dashboard shows the same open connections and reconnects as Prometheus.
        let open: number | undefined
        let rate: number | undefined
        let reconnects: number | undefined
        let dashboard: Snapshot | undefined
        for (;;) {
          open = await query(base, 'sum(kharbranth_connections{state="Open"})')
          rate = await query(base, "sum(rate(kharbranth_reconnects_total[1m]))")
          reconnects = await query(base, "sum(kharbranth_reconnects_total)")
          const shown = lastProgress(demoOut)
          dashboard = await snapshot(dashboardPort)
          if (
            open === 9 && shown?.open === 9 && rate !== undefined && rate > 0 && reconnects !== undefined &&
            reconnects >= 5 && dashboard?.totals.open === open && dashboard.totals.reconnects === reconnects
          ) break
          if (demo.exitCode !== null || performance.now() - started > 60_000) {
            throw new Error(
              `open ${open}, reconnect rate ${rate}, reconnects ${reconnects}, dashboard ${
                JSON.stringify(dashboard?.totals)
              }\n${demoOut.slice(-3000)}`
            )
          }
          await sleep(500)
        }

        // What the demo reports: its progress line agreed with Prometheus above; then its summary.
        assert.strictEqual(
          lastProgress(demoOut)?.open,
          open,
          "open connections: Prometheus and the demo's progress line"
        )
        const code = await demoExited
        const lines = demoOut.trim().split("\n")
        assert.strictEqual(lines.at(-1), "recovered: 9/9 connections, 9/9 faults", demoOut)
        assert.strictEqual(code, 0)
        // The summary's reconnects column, against Prometheus's last scrape of the run.
        const table = [...demoOut.matchAll(/^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s/gm)]
        const demoReconnects = table.reduce((sum, row) => sum + Number(row[3]), 0)
        const last = await query(base, "max_over_time(sum(kharbranth_reconnects_total)[2m:1s])")
        assert.strictEqual(last, demoReconnects, `Prometheus's reconnect count and the demo's summary\n${demoOut}`)
        assert.isAbove(rate!, 0)
      } finally {
        await kill(demo)
        await kill(prometheus)
        rmSync(dir, { recursive: true, force: true })
      }
    },
    110_000
  )
})
