/**
 * A feed cluster on this machine, in three terminals (from the repository root):
 *
 *   pnpm cluster:db            # a throwaway PostgreSQL on 127.0.0.1:25432, removed on Ctrl-C
 *   pnpm cluster:runners 2     # two kharbranth-runner processes on 127.0.0.1:25101, 25102
 *   pnpm cluster:demo          # the simulator as the venue, and a client: a feed, its slices, live
 *
 * `cluster:demo` adds the feed `demo-trades` (8 simulator trade streams, 2 per slice) and prints,
 * every second, where each slice runs, its activation and its frames, and the frames per second
 * its `FeedCluster.frames` consumer receives; kill a runner (`kill -9 <pid>`) and watch its slices
 * come back on the other, marked `SliceMoved`. Everything is on 127.0.0.1 and stops by itself
 * (`--duration`, default 120 s) or on Ctrl-C.
 */
import { Binance } from "@kharbranth/exchanges"
import { startSimulator } from "@kharbranth/simulator"
import { startPostgres } from "@kharbranth/test-utils/postgres"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as FeedCluster from "../src/FeedCluster.ts"

const defaultUrl = "postgres://postgres@127.0.0.1:25432/postgres"
const url = process.env.KHARBRANTH_PG_URL ?? defaultUrl
const [command = "help", ...rest] = process.argv.slice(2)

const option = (name: string, fallback: number) => {
  const at = rest.indexOf(`--${name}`)
  const value = at >= 0 ? Number(rest[at + 1]) : fallback
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`)
  return value
}

/** Resolves on Ctrl-C or SIGTERM; keeps the process alive until then. */
const untilSignal = () =>
  new Promise<void>((resolve) => {
    const alive = setInterval(() => {}, 60_000)
    const done = () => {
      clearInterval(alive)
      resolve()
    }
    process.once("SIGINT", done)
    process.once("SIGTERM", done)
  })

const db = async () => {
  const server = await startPostgres({ port: 25432 })
  console.log(`PostgreSQL ${server.url} (Ctrl-C stops it and removes its data)`)
  console.log(`export KHARBRANTH_PG_URL=${server.url}`)
  await untilSignal()
  await server.stop()
  console.log("stopped")
}

const runners = async () => {
  const count = Number(rest.find((a) => /^\d+$/.test(a)) ?? 2)
  const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))
  const children = Array.from({ length: count }, (_, i) => {
    const port = 25101 + i
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, KHARBRANTH_PG_URL: url, KHARBRANTH_RUNNER_PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const prefix = `[runner ${port} pid ${child.pid}] `
    const print = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) if (line.length > 0) console.log(prefix + line)
    }
    child.stdout.on("data", print)
    child.stderr.on("data", print)
    const exited = new Promise<void>((resolve) =>
      child.once("exit", (code, signal) => {
        console.log(`${prefix}exited (${signal ?? code})`)
        resolve()
      })
    )
    return { child, exited }
  })
  console.log(`${count} runners on ${url} (Ctrl-C stops them gracefully: each hands its slices over)`)
  await untilSignal()
  for (const { child } of children) child.kill("SIGTERM")
  // A runner killed by hand before Ctrl-C has already exited: its promise is settled.
  await Promise.all(children.map((c) => c.exited))
}

const demo = async () => {
  const duration = option("duration", 120)
  const sim = await startSimulator({ rate: 5 })
  const runtime = ManagedRuntime.make(FeedCluster.layerPg({ url, runner: "client" }))
  const feed = "demo-trades"
  const symbols = ["btcusdt", "ethusdt", "solusdt", "xrpusdt", "dogeusdt", "adausdt", "ltcusdt", "bnbusdt"]
  try {
    let frames = 0
    const moves: Array<string> = []
    await runtime.runPromise(Effect.gen(function*() {
      const cluster = yield* FeedCluster.FeedCluster
      yield* cluster.addFeed({ name: feed, kind: "binance-spot", url: sim.endpoints.binance, sliceSize: 2 })
      yield* cluster.subscribe(feed, symbols.map((s) => Binance.trade(s)))
    }))
    const consumer = runtime.runFork(
      Effect.flatMap(
        FeedCluster.FeedCluster,
        (cluster) =>
          cluster.frames(feed).pipe(Stream.runForEach((item) =>
            Effect.sync(() => {
              if (item._tag === "Frame") {
                frames++
              } else moves.push(`slice ${item.slice} moved: activation ${item.from} → ${item.to}`)
            })
          ))
      )
    )
    const stopAt = Date.now() + duration * 1000
    let stopped = false
    const stop = () => (stopped = true)
    process.once("SIGINT", stop)
    while (!stopped && Date.now() < stopAt) {
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const slices = await runtime.runPromise(
        Effect.flatMap(FeedCluster.FeedCluster, (cluster) => cluster.status(feed)).pipe(Effect.timeout("3 seconds"))
      ).catch(() => undefined)
      const lines = slices === undefined
        ? ["(a slice did not answer: its runner is gone; the cluster is moving it)"]
        : slices.map((s) =>
          `  ${s.entityId.padEnd(14)} runner ${s.runner.padEnd(16)} pid ${String(s.pid).padEnd(7)} activation ${
            String(s.activation).padEnd(3)
          } ${s.state} ${
            s.topics.filter((t) => t.state === "confirmed").length
          }/${s.topics.length} confirmed, ${s.frames} frames`
        )
      console.log(`${new Date().toISOString()} ${frames} frames/s to this consumer`)
      for (const line of [...lines, ...moves.splice(0)]) console.log(line)
      frames = 0
    }
    await Effect.runPromise(Fiber.interrupt(consumer))
    await runtime.runPromise(Effect.flatMap(FeedCluster.FeedCluster, (cluster) => cluster.removeFeed(feed)))
  } finally {
    await runtime.dispose()
    await sim.close()
  }
}

const commands: Record<string, () => Promise<void>> = { db, runners, demo }
const run = commands[command]
if (run === undefined) {
  console.log("usage: node scripts/local.ts db | runners [N] | demo [--duration SECONDS]")
  process.exitCode = command === "help" ? 0 : 2
} else {
  await run()
}
