/**
 * Allocation per connection opened, by hand: `node src/alloc.ts <client>
 * [connections]` opens that many idle connections to the bench's feed
 * server with the bench's own adapter (same options as the memory scenario)
 * while V8's sampling heap profiler records every allocation, garbage
 * included, then prints the KB allocated per connection opened and the
 * functions that allocated most. Short-lived garbage counts: allocation
 * while connections open sets how far V8 grows its young generation, which
 * idle RSS at 10,000 connections follows (FINDINGS.md). `BENCH_TOP=N` prints
 * the N sites that allocated most (20 by default).
 */
import * as inspector from "node:inspector/promises"
import { loadAdapter } from "./clients/load.ts"
import { openIdle, startServer } from "./harness.ts"
import { isClientKind } from "./protocol.ts"

const [kind, count] = process.argv.slice(2)
if (!isClientKind(kind)) {
  console.error("usage: node src/alloc.ts <client> [connections]")
  process.exit(2)
}
const connections = Number(count ?? 3000)

interface Node {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly selfSize: number
  readonly children: ReadonlyArray<Node>
}

const adapter = await loadAdapter(kind)
const server = await startServer()
const session = new inspector.Session()
session.connect()
await session.post("HeapProfiler.startSampling", {
  samplingInterval: 512,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true
})
const running = await openIdle(adapter, kind, connections, server.port)
const { profile } = await session.post("HeapProfiler.stopSampling")
await running.stop()
server.child.kill()

const bySite = new Map<string, number>()
let total = 0
const walk = (node: Node): void => {
  const frame = node.callFrame
  const site = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").slice(-2).join("/")}:${
    frame.lineNumber + 1
  }`
  bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
  total += node.selfSize
  for (const child of node.children) walk(child)
}
walk(profile.head as Node)
console.log(
  `${kind}: ${(total / connections / 1024).toFixed(1)} KB allocated per connection opened (${connections} connections)`
)
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.BENCH_TOP ?? 20))) {
  console.log(`${(bytes / connections).toFixed(0).padStart(7)} B  ${site}`)
}
process.exit(0)
