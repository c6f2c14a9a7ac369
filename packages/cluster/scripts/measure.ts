/**
 * Measurements of `FeedCluster.layerPg` with real runner processes:
 *
 *   pnpm --filter @kharbranth/cluster measure [--runs 5] [--only kill,sigterm,join,freeze,frames,thousand] [--out FILE]
 *     [--frames-tick MS] [--frames-sim child|inprocess]
 *
 * Starts its own throwaway PostgreSQL and, per run, a fresh database, a
 * simulator and `kharbranth-runner` processes (test/utils/runners.ts);
 * this process is a client-only member. Prints progress lines, a summary
 * table, and writes the numbers as JSON (default `measure-results.json`
 * beside package.json). Everything it starts is stopped at the end, on
 * failure too. Every wait is bounded.
 */
import { Binance } from "@kharbranth/exchanges"
import { type SimulatorHandle, startSimulator } from "@kharbranth/simulator"
import type { Options as SimulatorOptions } from "@kharbranth/simulator/Options"
import { knownAssets } from "@kharbranth/simulator/Options"
import { createDatabase, dropDatabase, type Postgres, startPostgres } from "@kharbranth/test-utils/postgres"
import type * as Sharding from "effect/cluster/Sharding"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import * as FeedCluster from "../src/FeedCluster.ts"
import {
  binancePairs,
  byRunner,
  type ConnectionLog,
  connectionsOfTopic,
  healthy,
  recordConnections,
  registeredRunners,
  sliceStatuses,
  topics300,
  waitFor
} from "../test/utils/cluster.ts"
import { definitions } from "../test/utils/definitions.ts"
import { type Runner, startRunner, stopAll } from "../test/utils/runners.ts"

// ---------------------------------------------------------------------------------------------------------------------
// Output

const t0 = Date.now()
const say = (line: string) =>
  void process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`)
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const median = (xs: ReadonlyArray<number>) => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const quantile = (xs: ReadonlyArray<number>, q: number) => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}
const max = (xs: ReadonlyArray<number>) => xs.length === 0 ? Number.NaN : xs.reduce((a, b) => Math.max(a, b), -Infinity)
const round = (x: number, digits = 1) => Number.isFinite(x) ? Number(x.toFixed(digits)) : x

// ---------------------------------------------------------------------------------------------------------------------
// Arguments

const scenarios = ["kill", "sigterm", "join", "freeze", "frames", "thousand"] as const
type Scenario = typeof scenarios[number]

const args = parseArgs({
  args: process.argv.slice(2),
  options: {
    runs: { type: "string", default: "5" },
    only: { type: "string" },
    out: { type: "string" },
    "frames-tick": { type: "string" },
    "frames-sim": { type: "string", default: "child" }
  }
})
const runsPerScenario = Number(args.values.runs)
if (!Number.isInteger(runsPerScenario) || runsPerScenario < 1 || runsPerScenario > 50) {
  throw new Error(`--runs: an integer 1..50, not ${args.values.runs}`)
}
const selected: ReadonlyArray<Scenario> = args.values.only === undefined ? scenarios : args.values.only.split(",").map(
  (s) => {
    const name = s.trim()
    if (!(scenarios as ReadonlyArray<string>).includes(name)) {
      throw new Error(`--only: unknown scenario "${name}" (known: ${scenarios.join(", ")})`)
    }
    return name as Scenario
  }
)
/** The simulator's timer period in the frames scenario, ms (default the simulator's 25 ms: each stream's messages of a tick go out together). */
const framesTick = args.values["frames-tick"] === undefined ? undefined : Number(args.values["frames-tick"])
if (framesTick !== undefined && !(Number.isInteger(framesTick) && framesTick >= 1 && framesTick <= 1000)) {
  throw new Error(`--frames-tick: an integer 1..1000 (ms), not ${args.values["frames-tick"]}`)
}
/** Where the frames scenario's simulator runs: a child process (default), or this process (it then shares the consumer's event loop). */
const framesSim = args.values["frames-sim"]
if (framesSim !== "child" && framesSim !== "inprocess") {
  throw new Error(`--frames-sim: child or inprocess, not ${framesSim}`)
}
const outFile = args.values.out ?? fileURLToPath(new URL("../measure-results.json", import.meta.url))

// ---------------------------------------------------------------------------------------------------------------------
// Topics

/** 1,000 distinct Binance streams: trades of the first 500 pairs over every known asset, and their depth streams. */
const topics1000 = (() => {
  const pairs = binancePairs(knownAssets).slice(0, 500)
  return [...pairs.map((p) => Binance.trade(p)), ...pairs.map((p) => Binance.depth(p))]
})()
/** 12 slices × 2 topics: trade and depth of 12 pairs. */
const topicsFast = (() => {
  const pairs = binancePairs(["btc", "eth", "sol", "xrp"]).slice(0, 12)
  return pairs.flatMap((p) => [Binance.trade(p), Binance.depth(p)])
})()

// ---------------------------------------------------------------------------------------------------------------------
// Resources: everything started is registered here and stopped at the end, whatever happens

let postgres: Postgres | undefined
const liveRunners = new Set<Runner>()
process.on("exit", () => {
  for (const child of simChildren) child.kill("SIGKILL")
  for (const r of liveRunners) {
    r.signal("SIGCONT")
    r.signal("SIGKILL")
  }
})

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer()
    server.once("error", () => resolve(false))
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)))
  })

/** Four runner ports, free now: 26101.. first, another block of four if one is taken. */
const pickPorts = async (): Promise<ReadonlyArray<number>> => {
  for (let base = 26100; base < 26400; base += 10) {
    const ports = [base + 1, base + 2, base + 3, base + 4]
    const free = await Promise.all(ports.map(portFree))
    if (free.every(Boolean)) return ports
  }
  throw new Error("no four free runner ports in 26101..26400")
}

// ---------------------------------------------------------------------------------------------------------------------
// One run's cluster: database, simulator with its connection log, runners, a client-only member

type Client = FeedCluster.FeedCluster | Sharding.Sharding

interface Cluster {
  readonly url: string
  readonly database: string
  readonly sim: Sim
  readonly log: Map<number, ConnectionLog>
  readonly refused: { count: number }
  readonly runners: Array<Runner>
  readonly ports: ReadonlyArray<number>
  readonly runtime: ManagedRuntime.ManagedRuntime<Client, unknown>
  readonly run: <A, E>(effect: Effect.Effect<A, E, Client>) => Promise<A>
  readonly sampler: Sampler
}

let databaseSeq = 0

const withTimeout = <A>(what: string, promise: Promise<A>, ms: number): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)
    promise.then((a) => {
      clearTimeout(timer)
      resolve(a)
    }, (error: unknown) => {
      clearTimeout(timer)
      reject(error instanceof Error ? error : new Error(String(error)))
    })
  })

const spawnRunner = (cluster: { url: string; runners: Array<Runner>; sampler: Sampler }, port: number) => {
  const runner = startRunner({ url: cluster.url, port })
  liveRunners.add(runner)
  void runner.exited.then(() => liveRunners.delete(runner))
  cluster.runners.push(runner)
  cluster.sampler.watch(runner.address, runner.pid)
  return runner
}

/** The simulator a run's feeds dial: in this process (with its event log) or in a child process (no log). */
interface Sim {
  readonly binanceUrl: string
  readonly pid: number
  readonly close: () => Promise<void>
}

const simChildren = new Set<ChildProcess>()
const simulatorChild = fileURLToPath(new URL("./simulator-child.ts", import.meta.url))

const startSimulatorChild = async (options: SimulatorOptions): Promise<Sim> => {
  const child = spawn(process.execPath, [simulatorChild, JSON.stringify(options)], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  simChildren.add(child)
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  void exited.then(() => simChildren.delete(child))
  const line = await withTimeout(
    "simulator child start",
    new Promise<string>((resolve, reject) => {
      let text = ""
      child.stdout!.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8")
        const end = text.indexOf("\n")
        if (end >= 0) resolve(text.slice(0, end))
      })
      child.once("exit", (code) => reject(new Error(`simulator child exited (${code})`)))
    }),
    15_000
  ).catch((error: unknown) => {
    child.kill("SIGKILL")
    throw error
  })
  const { endpoints } = JSON.parse(line) as { readonly endpoints: SimulatorHandle["endpoints"] }
  return {
    binanceUrl: endpoints.binance,
    pid: child.pid!,
    close: async () => {
      child.kill("SIGTERM")
      await withTimeout("simulator child exit", exited, 5000).catch(() => {
        child.kill("SIGKILL")
        return exited
      })
    }
  }
}

const openCluster = async (
  runnerCount: number,
  simOptions: SimulatorOptions,
  simInChild: boolean
): Promise<Cluster> => {
  if (postgres === undefined) throw new Error("postgres not started")
  const database = `kh_measure_${process.pid}_${++databaseSeq}`
  const url = await createDatabase(postgres.adminUrl, database)
  let log = new Map<number, ConnectionLog>()
  let refused = { count: 0 }
  const sampler = makeSampler()
  let sim: Sim
  if (simInChild) {
    sim = await startSimulatorChild(simOptions)
    sampler.watch("simulator", sim.pid)
  } else {
    const handle = await startSimulator(simOptions)
    sim = { binanceUrl: handle.endpoints.binance, pid: process.pid, close: handle.close }
    const recorded = recordConnections(handle)
    log = recorded.log
    refused = recorded.refused
  }
  const ports = await pickPorts()
  const partial = { url, runners: [] as Array<Runner>, sampler }
  const runtime = ManagedRuntime.make(FeedCluster.layerPg({ url, runner: "client", definitions }))
  const cluster: Cluster = {
    url,
    database,
    sim,
    log,
    refused,
    runners: partial.runners,
    ports,
    runtime,
    run: (effect) => runtime.runPromise(effect),
    sampler
  }
  openClusters.add(cluster)
  for (const port of ports.slice(0, runnerCount)) spawnRunner(partial, port)
  await waitFor(
    `${runnerCount} runners registered`,
    async () => (await registeredRunners(url)) === runnerCount,
    45_000,
    250
  )
  return cluster
}

const openClusters = new Set<Cluster>()

const closeCluster = async (cluster: Cluster) => {
  openClusters.delete(cluster)
  cluster.sampler.stop()
  await withTimeout("client runtime dispose", cluster.runtime.dispose(), 15_000).catch((error: unknown) =>
    say(`  (cleanup) ${String(error)}`)
  )
  await withTimeout("runners exit", stopAll(cluster.runners), 15_000).catch((error: unknown) =>
    say(`  (cleanup) ${String(error)}`)
  )
  await withTimeout("simulator close", cluster.sim.close(), 10_000).catch((error: unknown) =>
    say(`  (cleanup) ${String(error)}`)
  )
  if (postgres !== undefined) {
    await dropDatabase(postgres.adminUrl, cluster.database).catch((error: unknown) =>
      say(`  (cleanup) ${String(error)}`)
    )
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Resource sampling of the runners and this process: RSS and CPU from /proc, once a second

interface Sampler {
  readonly watch: (name: string, pid: number) => void
  readonly stop: () => void
  /** Per process: max RSS in MiB and mean CPU % (of one core) over the time it was watched. */
  readonly report: () => Record<string, { readonly maxRssMiB: number; readonly cpuPercent: number }>
}

const clockTicks = 100

const readProc = (pid: number): { readonly rssKiB: number; readonly cpuTicks: number } | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const cpuTicks = Number(fields[11]) + Number(fields[12])
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
    return { rssKiB, cpuTicks }
  } catch {
    return undefined
  }
}

const makeSampler = (): Sampler => {
  const watched = new Map<
    string,
    { pid: number; maxRssKiB: number; firstTicks: number; lastTicks: number; firstAt: number; lastAt: number }
  >()
  const watch = (name: string, pid: number) => {
    const now = readProc(pid)
    watched.set(name, {
      pid,
      maxRssKiB: now?.rssKiB ?? 0,
      firstTicks: now?.cpuTicks ?? 0,
      lastTicks: now?.cpuTicks ?? 0,
      firstAt: Date.now(),
      lastAt: Date.now()
    })
  }
  watch("client", process.pid)
  const timer = setInterval(() => {
    for (const w of watched.values()) {
      const now = readProc(w.pid)
      if (now === undefined) continue
      w.maxRssKiB = Math.max(w.maxRssKiB, now.rssKiB)
      w.lastTicks = now.cpuTicks
      w.lastAt = Date.now()
    }
  }, 1000)
  return {
    watch,
    stop: () => clearInterval(timer),
    report: () =>
      Object.fromEntries(
        [...watched].map(([name, w]) => [name, {
          maxRssMiB: round(w.maxRssKiB / 1024),
          cpuPercent: round(
            w.lastAt > w.firstAt
              ? ((w.lastTicks - w.firstTicks) / clockTicks) / ((w.lastAt - w.firstAt) / 1000) * 100
              : 0
          )
        }])
      )
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Slices

/** Each slice's status, asked one by one with a short timeout: undefined where the slice does not answer. */
const statuses = (
  cluster: Cluster,
  feed: string,
  slices: ReadonlyArray<number>,
  timeout?: Duration.Input
) => sliceStatuses(cluster.run, feed, slices, timeout)

interface Loaded {
  readonly feed: string
  readonly slices: ReadonlyArray<number>
  /** Slice → its topics. */
  readonly topicsOf: Map<number, ReadonlyArray<string>>
  readonly subscribeMs: number
  readonly healthyMs: number
}

/** Adds a feed, subscribes its topics (in batches), waits until every slice is live with data. */
const loadFeed = async (
  cluster: Cluster,
  spec: {
    readonly feed: string
    readonly topics: ReadonlyArray<string>
    readonly sliceSize: number
    readonly batch: number
  },
  healthyTimeoutMs: number
): Promise<Loaded> => {
  const started = Date.now()
  const topicsOf = new Map<number, ReadonlyArray<string>>()
  await cluster.run(Effect.gen(function*() {
    const service = yield* FeedCluster.FeedCluster
    yield* service.addFeed({
      name: spec.feed,
      kind: "sim-binance",
      url: cluster.sim.binanceUrl,
      sliceSize: spec.sliceSize
    })
    for (let i = 0; i < spec.topics.length; i += spec.batch) {
      const synced = yield* service.subscribe(spec.feed, spec.topics.slice(i, i + spec.batch))
      for (const s of synced) topicsOf.set(s.slice, s.topics.map((t) => t.topic))
    }
  }))
  const subscribeMs = Date.now() - started
  const slices = [...topicsOf.keys()].sort((a, b) => a - b)
  await waitFor(
    `${slices.length} slices live with data`,
    async () => {
      const all = await statuses(cluster, spec.feed, slices, "2 seconds")
      return all.every((s) => healthy(s))
    },
    healthyTimeoutMs,
    500
  )
  return { feed: spec.feed, slices, topicsOf, subscribeMs, healthyMs: Date.now() - started }
}

/** Waits until every one of `slices` is healthy on a runner other than `notOn`, with data after `since`: ms from `since` per slice. */
const waitBack = async (
  cluster: Cluster,
  feed: string,
  slices: ReadonlyArray<number>,
  notOn: string,
  since: number,
  timeoutMs: number
): Promise<{ readonly back: Map<number, number>; readonly missing: ReadonlyArray<number> }> => {
  const back = new Map<number, number>()
  const until = Date.now() + timeoutMs
  while (back.size < slices.length && Date.now() < until) {
    const pending = slices.filter((s) => !back.has(s))
    const now = await statuses(cluster, feed, pending, "500 millis")
    const at = Date.now()
    now.forEach((s, i) => {
      if (healthy(s, notOn, since)) back.set(pending[i]!, at - since)
    })
    if (back.size < slices.length) await sleep(100)
  }
  return { back, missing: slices.filter((s) => !back.has(s)) }
}

/**
 * For each slice (its first topic): the connection live at `at` (opened before, not closed by then), and the next
 * connection of the topic opened after it. Gap: the old connection's close → the new one's subscribe (negative: an
 * overlap).
 */
const handovers = (
  log: Map<number, ConnectionLog>,
  topicsOf: Map<number, ReadonlyArray<string>>,
  slices: ReadonlyArray<number>,
  at: number
) =>
  slices.map((slice) => {
    const conns = connectionsOfTopic(log, topicsOf.get(slice)![0]!)
    let old: ConnectionLog | undefined
    for (const c of conns) if (c.openedAt <= at && (c.closedAt === undefined || c.closedAt >= at)) old = c
    const next = old === undefined ? undefined : conns.find((c) => c !== old && c.openedAt >= old.openedAt)
    const gap = old?.closedAt === undefined || next?.subscribedAt === undefined
      ? undefined
      : next.subscribedAt - old.closedAt
    return { slice, old, next, gap }
  })

/** The longest time two connections of one topic were open together, over every topic, counting connections opened since `since`. */
const overlapMax = (log: Map<number, ConnectionLog>, topics: ReadonlyArray<string>, since: number, now: number) => {
  const byTopic = new Map<string, Array<ConnectionLog>>()
  const wanted = new Set(topics)
  for (const c of log.values()) {
    for (const t of c.topics) {
      if (!wanted.has(t)) continue
      const list = byTopic.get(t) ?? []
      list.push(c)
      byTopic.set(t, list)
    }
  }
  let worst = 0
  let topicWorst = ""
  for (const [topic, conns] of byTopic) {
    conns.sort((a, b) => a.openedAt - b.openedAt)
    for (let i = 1; i < conns.length; i++) {
      const next = conns[i]!
      if (next.openedAt < since) continue
      for (let j = 0; j < i; j++) {
        const prev = conns[j]!
        const overlap = Math.min(prev.closedAt ?? now, next.closedAt ?? now) - next.openedAt
        if (overlap > worst) {
          worst = overlap
          topicWorst = topic
        }
      }
    }
  }
  return { worst, topic: topicWorst }
}

const spreadText = (spread: Map<string, Array<number>>) =>
  [...spread].map(([r, s]) => `${r.split(":")[1]}:${s.length}`).join(" ")

const timeStatus = async (cluster: Cluster, feed: string, expected: number) => {
  const call = async () => {
    const started = performance.now()
    const all = await cluster.run(Effect.flatMap(FeedCluster.FeedCluster, (c) => c.status(feed)))
    if (all.length !== expected) throw new Error(`status(${feed}): ${all.length} slices, expected ${expected}`)
    return performance.now() - started
  }
  await call()
  await call()
  const times: Array<number> = []
  for (let i = 0; i < 5; i++) times.push(await call())
  return { times: times.map((t) => round(t)), median: round(median(times)) }
}

// ---------------------------------------------------------------------------------------------------------------------
// Scenarios: each returns one run's numbers

type Numbers = Record<string, unknown>

const spreadOf = async (cluster: Cluster, loaded: Loaded) => {
  const all = await statuses(cluster, loaded.feed, loaded.slices, "2 seconds")
  return byRunner(all)
}

const mostLoaded = (cluster: Cluster, spread: Map<string, Array<number>>) => {
  const [address, held] = [...spread].sort((a, b) => b[1].length - a[1].length)[0]!
  const runner = cluster.runners.find((r) => r.address === address)
  if (runner === undefined) throw new Error(`no runner process at ${address}`)
  return { runner, held }
}

const killScenario = async (cluster: Cluster): Promise<Numbers> => {
  const loaded = await loadFeed(cluster, { feed: "spread", topics: topics300, sliceSize: 1, batch: 300 }, 60_000)
  say(`  300 slices live: subscribe ${loaded.subscribeMs} ms, all live with data ${loaded.healthyMs} ms`)
  const spread = await spreadOf(cluster, loaded)
  const shares = [...spread.values()].map((s) => s.length / loaded.slices.length)
  const status = await timeStatus(cluster, loaded.feed, loaded.slices.length)
  say(`  spread ${spreadText(spread)}; status(300) ms ${status.times.join(", ")} (median ${status.median})`)
  const { runner: victim, held } = mostLoaded(cluster, spread)
  const killedAt = Date.now()
  victim.signal("SIGKILL")
  await victim.exited
  const { back, missing } = await waitBack(cluster, loaded.feed, held, victim.address, killedAt, 30_000)
  const takeover = max([...back.values()])
  say(
    `  kill -9 ${victim.address} (${held.length} slices): back ${back.size}/${held.length}, worst ${takeover} ms, median ${
      median([...back.values()])
    } ms`
  )
  return {
    spread: Object.fromEntries([...spread].map(([r, s]) => [r, s.length])),
    minShare: round(Math.min(...shares) * 100),
    spreadOk: spread.size === 3 && shares.every((s) => s >= 0.2),
    statusMs: status.times,
    statusMedianMs: status.median,
    victimSlices: held.length,
    takeoverMaxMs: missing.length > 0 ? null : takeover,
    takeoverMedianMs: median([...back.values()]),
    missing: missing.length,
    subscribeMs: loaded.subscribeMs
  }
}

const sigtermScenario = async (cluster: Cluster): Promise<Numbers> => {
  const loaded = await loadFeed(cluster, { feed: "spread", topics: topics300, sliceSize: 1, batch: 300 }, 60_000)
  const spread = await spreadOf(cluster, loaded)
  say(`  300 slices live in ${loaded.healthyMs} ms; spread ${spreadText(spread)}`)
  const { runner: victim, held } = mostLoaded(cluster, spread)
  const sentAt = Date.now()
  victim.signal("SIGTERM")
  const exit = await withTimeout("SIGTERM exit", victim.exited, 30_000).catch(() => undefined)
  const exitMs = exit === undefined ? null : exit.at - sentAt
  const { back, missing } = await waitBack(cluster, loaded.feed, held, victim.address, sentAt, 30_000)
  await sleep(500)
  const hs = handovers(cluster.log, loaded.topicsOf, held, sentAt)
  const gaps = hs.flatMap((h) => h.gap === undefined ? [] : [h.gap])
  say(
    `  SIGTERM ${victim.address} (${held.length} slices): exit ${exitMs} ms (code ${exit?.code}, signal ${exit?.signal}); ` +
      `back ${back.size}/${held.length} worst ${max([...back.values()])} ms; gap max ${max(gaps)} ms median ${
        median(gaps)
      } ms (${gaps.length} measured)`
  )
  return {
    victimSlices: held.length,
    exitMs,
    exitCode: exit?.code ?? null,
    backMaxMs: missing.length > 0 ? null : max([...back.values()]),
    missing: missing.length,
    gapMaxMs: max(gaps),
    gapMedianMs: median(gaps),
    gapsMeasured: gaps.length,
    negativeGaps: gaps.filter((g) => g < 0).length
  }
}

const joinScenario = async (cluster: Cluster): Promise<Numbers> => {
  const loaded = await loadFeed(cluster, { feed: "spread", topics: topics300, sliceSize: 1, batch: 300 }, 60_000)
  const before = await spreadOf(cluster, loaded)
  say(`  300 slices live in ${loaded.healthyMs} ms; spread ${spreadText(before)}`)
  const joinedAt = Date.now()
  const newcomer = spawnRunner(cluster, cluster.ports[3]!)
  await waitFor("4 runners registered", async () => (await registeredRunners(cluster.url)) === 4, 45_000, 250)
  const registeredMs = Date.now() - joinedAt
  // The rebalance is done when the newcomer holds slices, every slice is healthy, and the spread held still for 3 s.
  let spread = new Map<string, Array<number>>()
  let stableSince = 0
  let lastKey = ""
  await waitFor(
    "the rebalance to settle",
    async () => {
      const all = await statuses(cluster, loaded.feed, loaded.slices, "2 seconds")
      spread = byRunner(all)
      const key = spreadText(spread)
      const ok = (spread.get(newcomer.address)?.length ?? 0) > 0 && all.every((s) => healthy(s))
      if (!ok || key !== lastKey) {
        lastKey = key
        stableSince = Date.now()
        return false
      }
      return Date.now() - stableSince >= 3000
    },
    60_000,
    500
  )
  const settledMs = stableSince - joinedAt
  const moved = spread.get(newcomer.address)!
  const hs = handovers(cluster.log, loaded.topicsOf, moved, joinedAt)
  const gaps = hs.flatMap((h) => h.gap === undefined ? [] : [h.gap])
  const overlap = overlapMax(cluster.log, topics300, joinedAt - 1000, Date.now())
  say(
    `  join ${newcomer.address}: registered ${registeredMs} ms, settled ${settledMs} ms, spread ${
      spreadText(spread)
    }; ` +
      `${moved.length} moved, gap max ${max(gaps)} ms median ${
        median(gaps)
      } ms (${gaps.length} measured); overlap max ${overlap.worst} ms ${overlap.topic}`
  )
  return {
    registeredMs,
    settledMs,
    moved: moved.length,
    spreadAfter: Object.fromEntries([...spread].map(([r, s]) => [r, s.length])),
    gapMaxMs: max(gaps),
    gapMedianMs: median(gaps),
    gapsMeasured: gaps.length,
    overlapMaxMs: overlap.worst,
    overlapTopic: overlap.topic
  }
}

/** A consumer of `frames(feed)` in this process: per slice, an item of an older activation after a newer one is a violation. */
const startConsumer = (cluster: Cluster, feed: string) => {
  const state = {
    frames: 0,
    moved: [] as Array<{ slice: number; from: number; to: number; at: number }>,
    violations: 0,
    latest: new Map<number, number>(),
    lastFrameAt: new Map<number, number>(),
    firstFrameOfActivation: new Map<string, number>(),
    latencies: [] as Array<number>,
    recordLatency: false,
    ended: undefined as string | undefined
  }
  const fiber = cluster.runtime.runFork(
    Effect.flatMap(
      FeedCluster.FeedCluster,
      (c) =>
        c.frames(feed).pipe(Stream.runForEachArray((items) =>
          Effect.sync(() => {
            const now = Date.now()
            for (const item of items) {
              const latest = state.latest.get(item.slice) ?? 0
              const activation = item._tag === "Frame" ? item.activation : item.to
              if (activation < latest) state.violations++
              else state.latest.set(item.slice, activation)
              if (item._tag === "SliceMoved") {
                state.moved.push({ slice: item.slice, from: item.from, to: item.to, at: now })
                continue
              }
              state.frames++
              state.lastFrameAt.set(item.slice, now)
              const key = `${item.slice}/${item.activation}`
              if (!state.firstFrameOfActivation.has(key)) state.firstFrameOfActivation.set(key, now)
              if (state.recordLatency) state.latencies.push(now - item.receivedAt)
            }
          })
        ))
    )
  )
  fiber.addObserver((exit) => {
    state.ended = Exit.isSuccess(exit)
      ? "ended"
      : Exit.hasInterrupts(exit)
      ? "interrupted"
      : `failed: ${String(exit.cause)}`
  })
  return { state, stop: () => cluster.runtime.runPromise(Fiber.interrupt(fiber)) }
}

const freezeScenario = async (cluster: Cluster): Promise<Numbers> => {
  const loaded = await loadFeed(cluster, { feed: "spread", topics: topics300, sliceSize: 1, batch: 300 }, 60_000)
  const spread = await spreadOf(cluster, loaded)
  say(`  300 slices live in ${loaded.healthyMs} ms; spread ${spreadText(spread)}`)
  const consumer = startConsumer(cluster, loaded.feed)
  try {
    await waitFor("frames before the freeze", () => consumer.state.frames > 200, 15_000)
    const { runner: victim, held } = mostLoaded(cluster, spread)
    const heldTopics = held.flatMap((s) => loaded.topicsOf.get(s)!)
    const stoppedAt = Date.now()
    victim.signal("SIGSTOP")
    const oldConns = [...cluster.log.values()].filter((c) =>
      c.openedAt <= stoppedAt && (c.closedAt === undefined || c.closedAt > stoppedAt) &&
      c.topics.some((t) => heldTopics.includes(t))
    )
    const { back, missing } = await waitBack(cluster, loaded.feed, held, victim.address, stoppedAt, 15_000)
    const takeover = missing.length > 0 ? null : max([...back.values()])
    say(
      `  SIGSTOP ${victim.address} (${held.length} slices, ${oldConns.length} connections): back ${back.size}/${held.length}, worst ${takeover} ms`
    )
    await sleep(Math.max(0, stoppedAt + 15_000 - Date.now()))
    const contAt = Date.now()
    victim.signal("SIGCONT")
    const closedWithin = await (async () => {
      const until = contAt + 15_000
      while (Date.now() < until) {
        if (oldConns.every((c) => c.closedAt !== undefined)) break
        await sleep(50)
      }
      const closed = oldConns.filter((c) => c.closedAt !== undefined)
      return {
        // Closed while frozen count as 0.
        worst: closed.length === 0 ? null : max(closed.map((c) => Math.max(0, c.closedAt! - contAt))),
        closedWhileFrozen: closed.filter((c) => c.closedAt! < contAt).length,
        stillOpen: oldConns.length - closed.length
      }
    })()
    // Let the consumer see the resumed copies, if any reach it.
    await sleep(3000)
    const victimExit = await withTimeout("frozen runner", victim.exited, 1).catch(() => undefined)
    const moves = consumer.state.moved.filter((m) => held.includes(m.slice))
    say(
      `  SIGCONT: old copies gone after ${closedWithin.worst} ms (${closedWithin.closedWhileFrozen} closed while frozen, ${closedWithin.stillOpen} still open); ` +
        `consumer ${consumer.state.frames} frames, ${moves.length} SliceMoved, ${consumer.state.violations} violations; ` +
        `frozen runner ${
          victimExit === undefined ? "still running" : `exited (${victimExit.code ?? victimExit.signal})`
        }; stream ${consumer.state.ended ?? "running"}`
    )
    return {
      victimSlices: held.length,
      takeoverMs: takeover,
      missing: missing.length,
      oldConnections: oldConns.length,
      oldGoneAfterContMs: closedWithin.worst,
      closedWhileFrozen: closedWithin.closedWhileFrozen,
      stillOpen: closedWithin.stillOpen,
      violations: consumer.state.violations,
      sliceMoved: moves.length,
      movedSlices: new Set(moves.map((m) => m.slice)).size,
      framesConsumed: consumer.state.frames,
      streamEnded: consumer.state.ended ?? null,
      frozenRunnerExited: victimExit !== undefined
    }
  } finally {
    await consumer.stop()
  }
}

const framesScenario = async (cluster: Cluster): Promise<Numbers> => {
  const loaded = await loadFeed(cluster, { feed: "fast", topics: topicsFast, sliceSize: 2, batch: 100 }, 60_000)
  const spread = await spreadOf(cluster, loaded)
  say(
    `  ${loaded.slices.length} slices × 2 topics at rate 250 live in ${loaded.healthyMs} ms; spread ${
      spreadText(spread)
    }`
  )
  const consumer = startConsumer(cluster, loaded.feed)
  try {
    await waitFor("frames flowing", () => consumer.state.frames > 5000, 15_000)
    await sleep(2000)
    const startFrames = consumer.state.frames
    consumer.state.recordLatency = true
    const started = performance.now()
    await sleep(10_000)
    consumer.state.recordLatency = false
    const seconds = (performance.now() - started) / 1000
    const rate = (consumer.state.frames - startFrames) / seconds
    const lat = consumer.state.latencies
    const p50 = quantile(lat, 0.5)
    const p99 = quantile(lat, 0.99)
    say(
      `  delivered ${round(rate, 0)} msg/s over ${round(seconds)} s; added latency p50 ${p50} ms p99 ${p99} ms max ${
        max(lat)
      } ms`
    )
    // kill -9 while consuming
    const { runner: victim, held } = mostLoaded(cluster, spread)
    const lastBefore = new Map(held.map((s) => [s, consumer.state.lastFrameAt.get(s) ?? 0]))
    const framesAtKill = consumer.state.frames
    const killedAt = Date.now()
    victim.signal("SIGKILL")
    await victim.exited
    const movedAll = () => held.every((s) => consumer.state.moved.some((m) => m.slice === s && m.at >= killedAt))
    await waitFor("SliceMoved for every moved slice", movedAll, 30_000).catch(() => undefined)
    await sleep(1000)
    const pauses = held.flatMap((s) => {
      const move = consumer.state.moved.find((m) => m.slice === s && m.at >= killedAt)
      const first = move === undefined ? undefined : consumer.state.firstFrameOfActivation.get(`${s}/${move.to}`)
      return first === undefined ? [] : [first - lastBefore.get(s)!]
    })
    const fromKill = held.flatMap((s) => {
      const move = consumer.state.moved.find((m) => m.slice === s && m.at >= killedAt)
      const first = move === undefined ? undefined : consumer.state.firstFrameOfActivation.get(`${s}/${move.to}`)
      return first === undefined ? [] : [first - killedAt]
    })
    const movedSlices = held.filter((s) => consumer.state.moved.some((m) => m.slice === s && m.at >= killedAt))
    say(
      `  kill -9 ${victim.address} (${held.length} slices): SliceMoved for ${movedSlices.length}/${held.length}; ` +
        `pause (last frame → first frame of the new activation) max ${max(pauses)} ms, kill → resumed max ${
          max(fromKill)
        } ms; ` +
        `${consumer.state.frames - framesAtKill} frames since the kill; stream ${
          consumer.state.ended ?? "running"
        }; violations ${consumer.state.violations}`
    )
    return {
      msgPerSec: round(rate, 0),
      latencyP50Ms: p50,
      latencyP99Ms: p99,
      latencyMaxMs: max(lat),
      samples: lat.length,
      victimSlices: held.length,
      sliceMovedFor: movedSlices.length,
      pauseMaxMs: max(pauses),
      pauseMedianMs: median(pauses),
      killToResumedMaxMs: max(fromKill),
      streamEnded: consumer.state.ended ?? null,
      violations: consumer.state.violations
    }
  } finally {
    await consumer.stop()
  }
}

const thousandScenario = async (cluster: Cluster): Promise<Numbers> => {
  const loaded = await loadFeed(cluster, { feed: "thousand", topics: topics1000, sliceSize: 1, batch: 100 }, 120_000)
  const spread = await spreadOf(cluster, loaded)
  say(
    `  1000 slices: subscribe ${loaded.subscribeMs} ms, all live ${loaded.healthyMs} ms; spread ${
      spreadText(spread)
    }; refused ${cluster.refused.count}`
  )
  const status = await timeStatus(cluster, loaded.feed, loaded.slices.length)
  const resources = cluster.sampler.report()
  say(
    `  status(1000) median ${status.median} ms; ${
      Object.entries(resources).map(([n, r]) => `${n} ${r.maxRssMiB} MiB ${r.cpuPercent}%`).join(", ")
    }`
  )
  const { runner: victim, held } = mostLoaded(cluster, spread)
  const killedAt = Date.now()
  victim.signal("SIGKILL")
  await victim.exited
  const { back, missing } = await waitBack(cluster, loaded.feed, held, victim.address, killedAt, 30_000)
  const takeover = missing.length > 0 ? null : max([...back.values()])
  say(
    `  kill -9 ${victim.address} (${held.length} slices): back ${back.size}/${held.length}, worst ${
      max([...back.values()])
    } ms; refused ${cluster.refused.count}`
  )
  return {
    slices: loaded.slices.length,
    subscribeMs: loaded.subscribeMs,
    liveMs: loaded.healthyMs,
    spread: Object.fromEntries([...spread].map(([r, s]) => [r, s.length])),
    statusMedianMs: status.median,
    victimSlices: held.length,
    takeoverMaxMs: takeover,
    takeoverBackCount: back.size,
    takeoverWorstSeenMs: max([...back.values()]),
    missing: missing.length,
    refused: cluster.refused.count,
    resourcesBeforeKill: resources
  }
}

interface ScenarioSpec {
  readonly run: (cluster: Cluster) => Promise<Numbers>
  readonly sim: SimulatorOptions
  /** Run the simulator in a child process (no connection log: the scenario must not need it). */
  readonly simInChild?: boolean
  readonly runners: number
  /** Summary rows: label, field, target check. */
  readonly rows: ReadonlyArray<
    {
      readonly label: string
      readonly field: string
      readonly target: string
      readonly ok: (median: number, max: number, values: ReadonlyArray<number>) => boolean
    }
  >
}

const specs: Record<Scenario, ScenarioSpec> = {
  kill: {
    run: killScenario,
    sim: { rate: 2 },
    runners: 3,
    rows: [
      { label: "min share %", field: "minShare", target: "≥ 20", ok: (_m, _x, values) => values.every((v) => v >= 20) },
      { label: "takeover ms", field: "takeoverMaxMs", target: "max ≤ 8000", ok: (_m, x) => x <= 8000 },
      { label: "status(300) ms", field: "statusMedianMs", target: "each run ≤ 100", ok: (_m, x) => x <= 100 }
    ]
  },
  sigterm: {
    run: sigtermScenario,
    sim: { rate: 2 },
    runners: 3,
    rows: [
      { label: "exit ms", field: "exitMs", target: "≤ 5000", ok: (_m, x) => x <= 5000 },
      { label: "gap max ms", field: "gapMaxMs", target: "≤ 2000", ok: (_m, x) => x <= 2000 }
    ]
  },
  join: {
    run: joinScenario,
    sim: { rate: 2 },
    runners: 3,
    rows: [
      { label: "gap max ms", field: "gapMaxMs", target: "≤ 2000", ok: (_m, x) => x <= 2000 },
      { label: "overlap max ms", field: "overlapMaxMs", target: "≤ 1000", ok: (_m, x) => x <= 1000 },
      { label: "settled ms", field: "settledMs", target: "(info)", ok: () => true }
    ]
  },
  freeze: {
    run: freezeScenario,
    sim: { rate: 2 },
    runners: 3,
    rows: [
      { label: "takeover ms", field: "takeoverMs", target: "≤ 8000", ok: (_m, x) => x <= 8000 },
      { label: "old gone after SIGCONT ms", field: "oldGoneAfterContMs", target: "≤ 1000", ok: (_m, x) => x <= 1000 },
      { label: "activation violations", field: "violations", target: "0", ok: (_m, x) => x === 0 }
    ]
  },
  frames: {
    run: framesScenario,
    sim: { rate: 250, ...(framesTick === undefined ? {} : { tickInterval: framesTick }) },
    simInChild: framesSim === "child",
    runners: 3,
    rows: [
      {
        label: "msg/s",
        field: "msgPerSec",
        target: "each run ≥ 5000",
        ok: (_m, _x, values) => values.every((v) => v >= 5000)
      },
      { label: "latency p50 ms", field: "latencyP50Ms", target: "each run ≤ 5", ok: (_m, x) => x <= 5 },
      { label: "latency p99 ms", field: "latencyP99Ms", target: "each run ≤ 20", ok: (_m, x) => x <= 20 },
      { label: "pause after kill ms", field: "pauseMaxMs", target: "(info)", ok: () => true }
    ]
  },
  thousand: {
    run: thousandScenario,
    sim: { rate: 2 },
    runners: 3,
    rows: [
      { label: "takeover ms", field: "takeoverMaxMs", target: "≤ 15000", ok: (_m, x) => x <= 15000 },
      { label: "refused", field: "refused", target: "0", ok: (_m, x) => x === 0 },
      { label: "status(1000) ms", field: "statusMedianMs", target: "(info)", ok: () => true }
    ]
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Main

interface ScenarioResult {
  readonly runs: Array<
    Numbers & { readonly run: number; readonly wallMs: number; readonly error?: string; readonly resources?: unknown }
  >
  wallMs: number
  summary: Record<string, { median: number; max: number; target: string; met: boolean | null }>
}

const results: Partial<Record<Scenario, ScenarioResult>> = {}

const writeResults = () =>
  writeFileSync(
    outFile,
    JSON.stringify(
      {
        startedAt: new Date(t0).toISOString(),
        runsPerScenario,
        framesTick: framesTick ?? null,
        framesSim,
        scenarios: selected,
        results
      },
      null,
      2
    ) +
      "\n"
  )

const summarize = (name: Scenario, result: ScenarioResult) => {
  for (const row of specs[name].rows) {
    const values = result.runs.flatMap((r) => {
      const v = r[row.field]
      return typeof v === "number" ? [v] : []
    })
    const missingRuns = result.runs.length - values.length
    const m = median(values)
    const x = max(values)
    result.summary[row.label] = {
      median: round(m),
      max: round(x),
      target: row.target,
      met: values.length === 0 ? null : missingRuns === 0 && row.ok(m, x, values)
    }
  }
}

const printTable = () => {
  const lines = [
    "",
    "scenario  | measure                    | per run                                  | median   | max      | target       | met"
  ]
  lines.push("-".repeat(lines[1]!.length))
  for (const name of selected) {
    const result = results[name]
    if (result === undefined) continue
    for (const row of specs[name].rows) {
      const s = result.summary[row.label]
      const per = result.runs.map((r) => r.error !== undefined ? "ERR" : String(r[row.field] ?? "-")).join(", ")
      lines.push(
        `${name.padEnd(9)} | ${row.label.padEnd(26)} | ${per.padEnd(40)} | ${String(s?.median ?? "-").padEnd(8)} | ${
          String(s?.max ?? "-").padEnd(8)
        } | ${row.target.padEnd(12)} | ${s?.met === null || s === undefined ? "n/a" : s.met ? "yes" : "NO"}`
      )
    }
    lines.push(
      `${name.padEnd(9)} | wall time ${round(result.wallMs / 1000)} s, ${
        result.runs.filter((r) => r.error !== undefined).length
      } failed run(s)`
    )
  }
  process.stdout.write(lines.join("\n") + "\n")
}

const main = async () => {
  say(`measure: ${selected.join(", ")}; ${runsPerScenario} run(s) each; results → ${outFile}`)
  postgres = await startPostgres()
  say(`postgres on port ${postgres.port}`)
  for (const name of selected) {
    const spec = specs[name]
    const result: ScenarioResult = { runs: [], wallMs: 0, summary: {} }
    results[name] = result
    const started = Date.now()
    for (let run = 1; run <= runsPerScenario; run++) {
      say(`${name} run ${run}/${runsPerScenario}`)
      const runStarted = Date.now()
      let cluster: Cluster | undefined
      try {
        cluster = await openCluster(spec.runners, spec.sim, spec.simInChild ?? false)
        const numbers = await withTimeout(`${name} run ${run}`, spec.run(cluster), 240_000)
        result.runs.push({ run, wallMs: Date.now() - runStarted, ...numbers, resources: cluster.sampler.report() })
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        say(`  FAILED: ${message}`)
        for (const r of cluster?.runners ?? []) {
          const tail = r.output.slice(-5)
          if (tail.length > 0) say(`  ${r.address} last output:\n    ${tail.join("\n    ")}`)
        }
        result.runs.push({ run, wallMs: Date.now() - runStarted, error: message })
      } finally {
        if (cluster !== undefined) await closeCluster(cluster)
      }
      writeResults()
    }
    result.wallMs = Date.now() - started
    summarize(name, result)
    writeResults()
    say(`${name}: done in ${round(result.wallMs / 1000)} s`)
  }
}

const shutdown = async () => {
  for (const cluster of [...openClusters]) await closeCluster(cluster)
  for (const r of liveRunners) {
    r.signal("SIGCONT")
    r.signal("SIGKILL")
  }
  await postgres?.stop()
}

let interrupted = false
const onSignal = () => {
  if (interrupted) return
  interrupted = true
  say("interrupted: stopping everything")
  void shutdown().finally(() => process.exit(130))
}
process.once("SIGINT", onSignal)
process.once("SIGTERM", onSignal)

let code = 0
try {
  await main()
} catch (error) {
  say(`measure failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
  code = 1
} finally {
  await shutdown()
  writeResults()
  printTable()
  say(`total ${round((Date.now() - t0) / 1000)} s`)
}
process.exit(code)
