/**
 * What opening connections costs, by hand: `node src/open.ts <client>
 * [connections] [runs]` opens that many idle connections to the bench's
 * feed server with the bench's own adapter (same options as the memory
 * scenario) and prints the wall time until all are open and this process's
 * CPU per connection over it, then the same for the adapter's `stop`;
 * `runs` times, one after another in this process (later runs find the
 * code compiled). The stops differ in kind: Kharbranth's closes every
 * connection gracefully (close frame, the peer's answer, events), the
 * others call `close()` and return. What a dial costs sets how fast a
 * thousand connections come back after a venue restarts (the reconnect
 * scenario) and how fast a large manager starts.
 *
 * Run with `node --expose-gc`, it also prints RSS and heap per idle
 * connection, taken as the memory scenario takes them (a second after the
 * last open, after four `gc()`s; meaningful in the first run, in a fresh
 * process), so Node flags can be tried on it: at 10,000 connections RSS
 * is mostly V8's young generation, grown while the connections open, and
 * `--max-semi-space-size` caps it (FINDINGS.md). It also prints what each
 * V8 heap space has committed, before and after, to tell the young
 * generation's pages from the old space's.
 */
import * as v8 from "node:v8"
import type { Running } from "./clients/Adapter.ts"
import { loadAdapter } from "./clients/load.ts"
import { openIdle, startServer } from "./harness.ts"
import { canCollect, settledMemory } from "./memory.ts"
import { isClientKind } from "./protocol.ts"

const [kind, count, times] = process.argv.slice(2)
if (!isClientKind(kind)) {
  console.error("usage: node src/open.ts <client> [connections] [runs]")
  process.exit(2)
}
const connections = Number(count ?? 10_000)
const runs = Number(times ?? 1)

/** Runs `work`, returning its wall time (s) and this process's CPU per connection (µs). */
const measure = async (work: () => Promise<void>): Promise<{ readonly seconds: number; readonly cpu: number }> => {
  const started = performance.now()
  const cpu = process.cpuUsage()
  await work()
  const used = process.cpuUsage(cpu)
  return { seconds: (performance.now() - started) / 1000, cpu: (used.user + used.system) / connections }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Each V8 heap space's committed size (what RSS holds of it), in MB. */
const spaces = (): Map<string, number> =>
  new Map(v8.getHeapSpaceStatistics().map((space) => [space.space_name, space.physical_space_size / 1048576]))

/** Memory as the memory scenario takes it; nothing without `--expose-gc`. */
const memory = () => canCollect ? settledMemory() : Promise.resolve(undefined)

const adapter = await loadAdapter(kind)
const server = await startServer()
for (let run = 1; run <= runs; run++) {
  let running: Running | undefined
  const base = await memory()
  const spacesBefore = spaces()
  const open = await measure(async () => {
    running = await openIdle(adapter, kind, connections, server.port)
  })
  let idle = ""
  if (base !== undefined) {
    await sleep(1000)
    const after = (await memory())!
    const perConnection = (bytes: number) => (bytes / connections / 1024).toFixed(1)
    idle = `; idle: RSS ${perConnection(after.rss - base.rss)} KB, heap ${
      perConnection(after.heapUsed - base.heapUsed)
    } KB each`
    // Where the RSS went: each heap space's committed MB, before → after.
    const grown = [...spaces()].map(([name, mb]) =>
      `${name} ${(spacesBefore.get(name) ?? 0).toFixed(1)}→${mb.toFixed(1)}`
    )
    idle += `\n  committed MB: ${grown.join(", ")}`
  }
  const stop = await measure(() => running!.stop())
  console.log(
    `${kind} run ${run}/${runs}: ${connections} open in ${open.seconds.toFixed(2)} s, ${
      open.cpu.toFixed(0)
    } µs CPU each${idle}; ` +
      `stop in ${stop.seconds.toFixed(2)} s, ${stop.cpu.toFixed(0)} µs CPU each`
  )
  // Let the server see every close before the next run dials again.
  await sleep(500)
}
server.child.kill()
process.exit(0)
