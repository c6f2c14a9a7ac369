/**
 * What an exchange `Feed` adds per message over its connection's own
 * delivery, by hand: `node --expose-gc src/feed.ts [--messages N] [--runs R]
 * [--warmup W] [--batch B] [--json]` (`pnpm --filter @kharbranth/bench feed`;
 * defaults 500,000 messages, 9 runs, 2 warm-up rounds, 100 per read, about
 * 10 s) pushes N Binance trade messages (`{"e":"trade",...}`, 134 bytes with
 * Binance's field widths, trade ids going up by one) from a `MemoryTransport`
 * server, B per server send (one socket read), and times, on the real clock,
 * until the consumer has counted them all with `Stream.runForEachArray`.
 * Three cases, each a fresh server and client per run, interleaved run by
 * run (the order rotating), after W warm-up rounds: `connection` reads a core
 * `Connection` made with `Venue.connect` for `Binance.spot` and one trade
 * topic (the config and subscribe request a feed makes); `feed` reads
 * `Feed.make` for `Binance.spot` subscribed to that topic; `feed+sequence`
 * the same with `sequence: Binance.sequence`. It prints the median ns per
 * message of each case (wall time, and this process's CPU) and what the
 * feed adds over the connection (µs per message); `--json` prints that and
 * every run as JSON. No sockets: the time is the client's plus the memory
 * server's sends (the same in every case), all in this one thread, so the
 * differences are the feed's.
 */
import { Connection, type Frame, MemoryTransport } from "@kharbranth/core"
import { Binance, Feed, Venue } from "@kharbranth/exchanges"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as os from "node:os"

const CASES = ["connection", "feed", "feed+sequence"] as const
type Case = (typeof CASES)[number]

const argv = process.argv.slice(2)
const option = (name: string, fallback: number, least = 1): number => {
  const at = argv.indexOf(name)
  if (at < 0) return fallback
  const value = Number(argv[at + 1])
  if (!Number.isInteger(value) || value < least) {
    console.error(`usage: node --expose-gc src/feed.ts [--messages N] [--runs R] [--warmup W] [--batch B] [--json]`)
    process.exit(2)
  }
  return value
}
const messages = option("--messages", 500_000)
const runs = option("--runs", 9)
const warmup = option("--warmup", 2, 0)
const batchSize = option("--batch", 100)
const json = argv.includes("--json")

const URL = "ws://binance.memory/ws"
const TOPIC = Binance.trade("BTCUSDT")
/** Trade ids start here (10 digits, as Binance's BTCUSDT ids are); every run starts again at the same id on a new feed. */
const FIRST_ID = 5_021_000_000
/** Messages sent and counted before the clock starts: the session is up and every fiber of the path has run. */
const PRIMER = 10 * batchSize

const tradeText = (id: number): string => {
  const at = 1_735_689_600_000 + Math.floor(id / 16)
  const price = (97_000 + (id % 1000) / 100).toFixed(8)
  const quantity = (0.00001 * (1 + (id % 997))).toFixed(8)
  return `{"e":"trade","E":${
    at + 1
  },"s":"BTCUSDT","t":${id},"p":"${price}","q":"${quantity}","T":${at},"m":true,"M":true}`
}

/** The messages of a run, already cut into server sends: the primer's, then the timed ones. */
const cut = (from: number, count: number): Array<Array<string>> => {
  const sends: Array<Array<string>> = []
  for (let i = 0; i < count; i += batchSize) {
    const send: Array<string> = []
    for (let j = i; j < Math.min(count, i + batchSize); j++) send.push(tradeText(FIRST_ID + from + j))
    sends.push(send)
  }
  return sends
}
const primerSends = cut(0, PRIMER)
const timedSends = cut(PRIMER, messages)
const messageBytes = primerSends[0]![0]!.length

/** The memory server's answer to `SUBSCRIBE`, as Binance gives it. */
const reply = (text: string): string | undefined => {
  const request = JSON.parse(text) as { method?: string; id?: number }
  return request.method === "SUBSCRIBE" ? JSON.stringify({ result: null, id: request.id }) : undefined
}

interface Run {
  readonly case: Case
  readonly run: number
  readonly warmup: boolean
  readonly nsPerMessage: number
  /** This process's CPU (user + system, GC threads included) per message: less moved than wall time by other processes. */
  readonly cpuNsPerMessage: number
  /** Trade messages per array the consumer got: how the reads were batched on the way. */
  readonly perArray: number
}

/** One timed pass of `kind`: a fresh server, client and consumer; the primer first, then `messages` timed. */
const measure = (kind: Case): Effect.Effect<Omit<Run, "case" | "run" | "warmup">> =>
  Effect.gen(function*() {
    const server = yield* MemoryTransport.MemoryServer
    let frames: Stream.Stream<Frame.Frame>
    let subscribe: Effect.Effect<unknown, unknown> = Effect.void
    if (kind === "connection") {
      const conn = yield* Connection.make("bench", ...Venue.connect(Binance.spot, [TOPIC], { url: URL }))
      frames = conn.frames
    } else {
      const feed = yield* Feed.make("bench", Binance.spot, {
        url: URL,
        ...(kind === "feed+sequence" ? { sequence: Binance.sequence } : {})
      })
      frames = feed.frames
      subscribe = feed.subscribe(TOPIC)
    }
    let seen = 0
    let arrays = 0
    // What the main fiber waits for: `seen` reaching `target`.
    let target = Number.POSITIVE_INFINITY
    let reached = Deferred.makeUnsafe<void>()
    yield* frames.pipe(
      Stream.runForEachArray((batch) => {
        let trades = 0
        for (const frame of batch) {
          if (frame._tag === "Text" && frame.data.startsWith('{"e":"trade"')) trades++
        }
        if (trades > 0) {
          seen += trades
          arrays++
        }
        if (seen >= target) Deferred.doneUnsafe(reached, Effect.void)
        return Effect.void
      }),
      Effect.forkScoped
    )
    yield* subscribe
    const peer = yield* server.accepted
    const push = (sends: ReadonlyArray<ReadonlyArray<string>>) =>
      Effect.gen(function*() {
        for (const send of sends) {
          yield* peer.send(...send)
          // Lets the client read this send before the next one, as sends from
          // a socket would arrive: a read is not merged with later ones.
          yield* Effect.yieldNow
        }
      })
    const until = (count: number) =>
      Effect.suspend(() => {
        target = count
        reached = Deferred.makeUnsafe<void>()
        return seen >= count ? Effect.void : Deferred.await(reached)
      })

    yield* push(primerSends)
    yield* until(PRIMER)
    const arraysBefore = arrays
    const started = performance.now()
    const cpu = process.cpuUsage()
    yield* push(timedSends)
    yield* until(PRIMER + messages)
    const elapsed = performance.now() - started
    const used = process.cpuUsage(cpu)
    return {
      nsPerMessage: (elapsed * 1e6) / messages,
      cpuNsPerMessage: ((used.user + used.system) * 1e3) / messages,
      perArray: messages / (arrays - arraysBefore)
    }
  }).pipe(Effect.orDie, Effect.scoped, Effect.provide(MemoryTransport.layer({ reply })))

const gc = (globalThis as { gc?: () => void }).gc

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const loadBefore = os.loadavg()
const results: Array<Run> = []
const startedAt = performance.now()
for (let round = 0; round < warmup + runs; round++) {
  // The order rotates run by run, so no case always runs first (or after the same one).
  for (let i = 0; i < CASES.length; i++) {
    const kind = CASES[(round + i) % CASES.length]!
    gc?.()
    const measured = await Effect.runPromise(measure(kind))
    const run = round < warmup ? round - warmup : round - warmup + 1
    results.push({ case: kind, run, warmup: round < warmup, ...measured })
    if (!json) {
      process.stderr.write(
        `${round < warmup ? "warm-up" : `run ${run}/${runs}`} ${kind}: ${measured.nsPerMessage.toFixed(0)} ns/msg, ${
          measured.cpuNsPerMessage.toFixed(0)
        } ns CPU/msg, ${measured.perArray.toFixed(0)} msgs/array\n`
      )
    }
  }
}
const seconds = (performance.now() - startedAt) / 1000
const loadAfter = os.loadavg()

const timed = (kind: Case) => results.filter((r) => r.case === kind && !r.warmup)
const summary = Object.fromEntries(CASES.map((kind) => {
  const ns = timed(kind).map((r) => r.nsPerMessage)
  return [kind, {
    median: median(ns),
    min: Math.min(...ns),
    max: Math.max(...ns),
    cpu: median(timed(kind).map((r) => r.cpuNsPerMessage)),
    perArray: median(timed(kind).map((r) => r.perArray))
  }]
})) as Record<Case, { median: number; min: number; max: number; cpu: number; perArray: number }>
/** What a feed case adds over `connection`, in µs per message: by wall time (medians), and by CPU. */
const addedOver = (kind: Case) => ({
  wall: (summary[kind].median - summary.connection.median) / 1000,
  cpu: (summary[kind].cpu - summary.connection.cpu) / 1000
})
const added = { feed: addedOver("feed"), "feed+sequence": addedOver("feed+sequence") }

if (json) {
  console.log(JSON.stringify(
    {
      node: process.version,
      cpus: os.cpus().length,
      loadBefore,
      loadAfter,
      messages,
      runs,
      warmup,
      batch: batchSize,
      messageBytes,
      gc: gc !== undefined,
      seconds,
      summary,
      addedMicrosPerMessage: added,
      results
    },
    null,
    1
  ))
} else {
  const fmt = (value: number, width: number) => value.toFixed(0).padStart(width)
  console.log(
    `${messages} trade messages of ${messageBytes} B, ${batchSize} per read; ${runs} runs after ${warmup} warm-up; ` +
      `node ${process.version}, ${os.cpus().length} CPUs, load ${loadBefore[0]!.toFixed(2)} → ${
        loadAfter[0]!.toFixed(2)
      }${gc === undefined ? ", no --expose-gc" : ""}; ${seconds.toFixed(0)} s`
  )
  console.log("case            ns/msg (median)   min    max   CPU ns/msg   msgs/array")
  for (const kind of CASES) {
    const s = summary[kind]
    console.log(
      `${kind.padEnd(15)} ${fmt(s.median, 15)} ${fmt(s.min, 6)} ${fmt(s.max, 6)} ${fmt(s.cpu, 12)} ${
        fmt(s.perArray, 12)
      }`
    )
  }
  for (const kind of ["feed", "feed+sequence"] as const) {
    console.log(
      `${`${kind} − connection:`.padEnd(28)}${added[kind].wall.toFixed(3)} µs/msg (CPU: ${added[kind].cpu.toFixed(3)})`
    )
  }
}
process.exit(0)
