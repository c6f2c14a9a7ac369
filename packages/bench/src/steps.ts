/**
 * What the memory scenario's heap per connection is made of, by hand:
 * `node --expose-gc src/steps.ts <client> [connections]` measures the heap
 * in use (after four `gc()`s) after the client's library is imported, then
 * after each of three starts of the client in this process: one connection
 * (the first run of the library's code), one connection again (what a start
 * costs once its code has run), and `connections` (1,000 by default). The
 * memory scenario opens its connections in one start and divides
 * everything after the import by them, so what a first start costs once
 * and the code V8 compiles and optimizes as the connections open count per
 * connection there;
 * `src/heap.ts` (N against 2N connections) leaves them out. Connections are
 * left open to the end (the harness stops the feed server on exit).
 */
import { loadAdapter } from "./clients/load.ts"
import { openIdle, startServer } from "./harness.ts"
import { canCollect, settledMemory } from "./memory.ts"
import { isClientKind } from "./protocol.ts"

const [kind, count] = process.argv.slice(2)
if (!isClientKind(kind) || !canCollect) {
  console.error("usage: node --expose-gc src/steps.ts <client> [connections]")
  process.exit(2)
}
const connections = Number(count ?? 1000)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Heap in use once the last start has settled, taken as the memory scenario takes it. */
const settled = async (): Promise<number> => {
  await sleep(300)
  return (await settledMemory()).heapUsed
}

const adapter = await loadAdapter(kind)
const server = await startServer()
const imported = await settled()
await openIdle(adapter, kind, 1, server.port)
const first = await settled()
await openIdle(adapter, kind, 1, server.port)
const second = await settled()
await openIdle(adapter, kind, connections, server.port)
const many = await settled()
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`
console.log(
  `${kind}: heap ${(imported / 1048576).toFixed(2)} MB after the import; a first start with one connection ` +
    `${kb(first - imported)}, a second ${kb(second - first)}, a start with ${connections} connections ` +
    `${kb(many - second)} (${((many - second) / connections / 1024).toFixed(2)} KB each); everything after the ` +
    `import over ${connections} connections: ${((many - imported) / connections / 1024).toFixed(2)} KB each`
)
process.exit(0)
