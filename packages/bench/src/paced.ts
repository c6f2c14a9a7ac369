/**
 * One fixed-rate measurement of one client, run by hand:
 * `node src/paced.ts <client> [connections] [windowMs]` prints the
 * fixed-rate scenario's metrics for it as JSON (CPU per message; added,
 * from-read and end-to-end latency; the cold window's end-to-end latency
 * and GC pauses). With `BENCH_CLIENT_NODE_FLAGS=--trace-gc-nvp` the client
 * prints every collection (stderr); with `BENCH_HEAP_SAMPLE=<file>` it
 * writes a sampling heap profile of the cold window to `<file>` (open it in
 * Chrome's DevTools: what was allocated then and is still held, collected
 * garbage left out).
 */
import { isClientKind } from "./protocol.ts"
import { measurePaced } from "./scenarios/fixedRate.ts"

const [kind, connections = "1", windowMs = "2000"] = process.argv.slice(2)
if (!isClientKind(kind)) {
  console.error("usage: node src/paced.ts <client> [connections] [windowMs]")
  process.exit(2)
}
const result = await measurePaced(kind, Number(connections), 1000, Number(windowMs))
console.log(JSON.stringify(result, null, 1))
process.exit(0)
