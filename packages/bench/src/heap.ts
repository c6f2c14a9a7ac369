/**
 * What an idle connection holds, counted per constructor, by hand:
 * `node --expose-gc src/heap.ts <client> [connections]` opens N and then 2N
 * idle connections (two processes, so nothing is shared but the code), takes
 * a heap snapshot of each after four `gc()`s, and prints what the second N
 * connections added, per connection: bytes and objects by V8 node type and
 * constructor name (closures by the variables of their context, the only
 * name an anonymous function has), largest first. The fixed costs (code,
 * module sources, the runtime) cancel out. Run it for `ws` and for a
 * Kharbranth client to see what a connection costs beyond the socket. With
 * `BENCH_HEARTBEAT=1` every connection keeps a protocol heartbeat. With
 * `BENCH_IN_FLIGHT=1` the connections dial a server that accepts and never
 * answers the upgrade, all at once: what a dial in flight holds (a manager
 * holds up to its `maxConcurrentDials` of them at a time).
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as v8 from "node:v8"
import type { Adapter } from "./clients/Adapter.ts"
import { loadAdapter } from "./clients/load.ts"
import { clientConfig, openIdle, startServer, startSilentServer } from "./harness.ts"
import { isClientKind } from "./protocol.ts"

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: ReadonlyArray<string>
      readonly node_types: readonly [ReadonlyArray<string>]
      readonly edge_fields: ReadonlyArray<string>
      readonly edge_types: readonly [ReadonlyArray<string>]
    }
  }
  readonly nodes: ReadonlyArray<number>
  readonly edges: ReadonlyArray<number>
  readonly strings: ReadonlyArray<string>
}

/**
 * Bytes and count per `type name` of a heap snapshot file; with `traced`,
 * also who holds each node of those labels (the holder's label and the
 * edge's name), counted, so that an object can be traced to its owner.
 */
const census = (
  file: string,
  traced: ReadonlySet<string> = new Set()
): { sizes: Map<string, { bytes: number; count: number }>; holders: Map<string, Map<string, Set<number>>> } => {
  const snap = JSON.parse(fs.readFileSync(file, "utf8")) as Snapshot
  const { edge_fields, edge_types, node_fields, node_types } = snap.snapshot.meta
  const { edges, nodes, strings } = snap
  const w = node_fields.length
  const ew = edge_fields.length
  const [type, name, size, edgeCount] = ["type", "name", "self_size", "edge_count"].map((f) => node_fields.indexOf(f))
  const [edgeType, edgeName, edgeTo] = ["type", "name_or_index", "to_node"].map((f) => edge_fields.indexOf(f))
  const firstEdge = new Uint32Array(nodes.length / w)
  for (let k = 0, e = 0; k < firstEdge.length; k++) {
    firstEdge[k] = e
    e += nodes[k * w + edgeCount!]! * ew
  }
  const edgesOf = function*(k: number) {
    const start = firstEdge[k]!
    for (let j = start; j < start + nodes[k * w + edgeCount!]! * ew; j += ew) {
      yield { type: edge_types[0][edges[j + edgeType!]!]!, name: edges[j + edgeName!]!, to: edges[j + edgeTo!]! / w }
    }
  }
  // Out-of-object property stores have no name of their own: each is named
  // by the object that holds it (its owner's label), so they can be traced.
  const owner = new Map<number, number>()
  for (let k = 0; k < firstEdge.length; k++) {
    for (const e of edgesOf(k)) {
      if (e.type === "internal" && strings[e.name] === "properties") owner.set(e.to, k)
    }
  }
  const labelOf = (k: number): string => {
    const t = node_types[0][nodes[k * w + type!]!]!
    const named = strings[nodes[k * w + name!]!]!
    if (t.includes("string") || t === "code" || t === "number") return t
    const held = owner.get(k)
    if (held !== undefined) return `properties of ${labelOf(held)}`
    if (t === "closure" && named === "") {
      for (const e of edgesOf(k)) {
        if (e.type !== "internal" || strings[e.name] !== "context") continue
        const vars = [...edgesOf(e.to)].filter((c) => c.type === "context").map((c) => strings[c.name]).slice(0, 6)
        return `closure (context: ${vars.join(", ")})`
      }
    }
    if (t === "object" && named === "Object") {
      // A plain object is named by its properties (the first five, sorted so
      // that the order they were added in does not split a kind), the only
      // name it has.
      const props = [...edgesOf(k)].filter((e) => e.type === "property" && strings[e.name] !== "__proto__")
        .map((e) => strings[e.name]!).sort().slice(0, 5)
      return `object {${props.join(", ")}}`
    }
    if (t === "object" && named === "system / Context") {
      const vars = [...edgesOf(k)].filter((e) => e.type === "context").map((e) => strings[e.name]).slice(0, 5)
      return `context (${vars.join(", ")})`
    }
    return `${t} ${named}`
  }
  const out = new Map<string, { bytes: number; count: number }>()
  const holders = new Map<string, Map<string, Set<number>>>()
  for (let k = 0; k < firstEdge.length; k++) {
    const label = labelOf(k)
    const entry = out.get(label) ?? { bytes: 0, count: 0 }
    entry.bytes += nodes[k * w + size!]!
    entry.count += 1
    out.set(label, entry)
    if (traced.size === 0) continue
    for (const e of edgesOf(k)) {
      const held = labelOf(e.to)
      if (!traced.has(held) || e.type === "weak") continue
      const by = holders.get(held) ?? new Map<string, Set<number>>()
      const edge = e.type === "element" || e.type === "hidden" ? `[${e.name}]` : `.${strings[e.name]}`
      const key = `${label} ${edge}`
      // Distinct nodes held so: one shared object held by a thousand counts once.
      const distinct = by.get(key) ?? new Set<number>()
      distinct.add(e.to)
      by.set(key, distinct)
      holders.set(held, by)
    }
  }
  return { sizes: out, holders }
}

const [kind, count = "1000", child] = process.argv.slice(2)
if (!isClientKind(kind)) {
  console.error("usage: node --expose-gc src/heap.ts <client> [connections]")
  process.exit(2)
}
const n = Number(count)
// BENCH_IN_FLIGHT=1: what a dial in flight holds, rather than an open idle connection.
const inFlight = process.env.BENCH_IN_FLIGHT === "1"

/**
 * Starts `n` dials that stay in flight: to the silent server
 * (`src/silentServer.ts`, a process of its own), which accepts and never
 * answers the upgrade (the clients' connect timeout, 10 s, is far off when
 * the snapshot is taken, a second after the dials start). The server is
 * killed at stop.
 */
const startInFlight = async (adapter: Adapter): Promise<() => Promise<void>> => {
  const silent = await startSilentServer()
  await adapter.start(
    { ...clientConfig({ kind, connections: n, port: silent.port }), dialConcurrency: n },
    () => `ws://127.0.0.1:${silent.port}/`,
    { onMessage: () => {}, onOpen: () => {}, onClose: () => {} }
  )
  return () => {
    silent.child.kill()
    return Promise.resolve()
  }
}

/** Opens `n` idle connections to the feed server; the returned function stops them and the server. */
const startIdle = async (adapter: Adapter): Promise<() => Promise<void>> => {
  const server = await startServer()
  // With BENCH_HEARTBEAT=1, each connection keeps a protocol heartbeat (a ping every 30 s, none of
  // which is due while the snapshot is taken): what the heartbeat's timers hold while idle.
  const heartbeat = process.env.BENCH_HEARTBEAT === "1" ? { intervalMs: 30_000, timeoutMs: 10_000 } : undefined
  const running = await openIdle(adapter, kind, n, server.port, heartbeat)
  return async () => {
    await running.stop()
    server.child.kill()
  }
}

if (child !== undefined) {
  // One process: open (or dial), settle, collect, snapshot.
  const adapter = await loadAdapter(kind)
  const stop = await (inFlight ? startInFlight(adapter) : startIdle(adapter))
  await new Promise((resolve) => setTimeout(resolve, 1000))
  for (let i = 0; i < 4; i++) (globalThis as unknown as { gc: () => void }).gc()
  v8.writeHeapSnapshot(child)
  await stop()
  process.exit(0)
}

const files = [n, 2 * n].map((c) => {
  const file = `${fs.mkdtempSync("/tmp/kharbranth-heap-")}/${kind}-${c}.heapsnapshot`
  execFileSync(process.execPath, ["--expose-gc", import.meta.filename, kind, String(c), file], { stdio: "inherit" })
  return file
})
// BENCH_TRACE="label;label": who holds the nodes of those labels in the larger snapshot.
const traced = new Set((process.env.BENCH_TRACE ?? "").split(";").filter((l) => l !== ""))
const [small, large] = [census(files[0]!).sizes, census(files[1]!, traced)] as const
const rows = [...new Set([...small.keys(), ...large.sizes.keys()])].map((label) => {
  const a = small.get(label) ?? { bytes: 0, count: 0 }
  const b = large.sizes.get(label) ?? { bytes: 0, count: 0 }
  return { label, bytes: (b.bytes - a.bytes) / n, count: (b.count - a.count) / n }
}).sort((x, y) => y.bytes - x.bytes)
const total = rows.reduce((sum, r) => sum + r.bytes, 0)
console.log(
  `${kind}: ${total.toFixed(0)} B of heap per ${inFlight ? "dial in flight" : "idle connection"} ` +
    `(the ${n} more of ${2 * n} over ${n})`
)
for (const r of rows.filter((r) => Math.abs(r.bytes) >= (process.env.BENCH_ALL === "1" ? 1 : 16))) {
  console.log(`${r.bytes.toFixed(0).padStart(7)} B ${r.count.toFixed(2).padStart(6)} × ${r.label}`)
}
for (const [label, by] of large.holders) {
  console.log(`held: ${label}`)
  for (const [holder, nodes] of [...by].sort((x, y) => y[1].size - x[1].size).slice(0, 6)) {
    console.log(`${String(nodes.size).padStart(7)} × ${holder}`)
  }
}
for (const file of files) fs.rmSync(file)
