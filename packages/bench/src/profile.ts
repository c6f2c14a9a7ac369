/**
 * Profiles one client in one scenario by hand, for finding where time goes
 * when a target is missed: `BENCH_CLIENT_NODE_FLAGS="--cpu-prof --cpu-prof-dir=prof"
 * node src/profile.ts flood|paced <client> <connections>` runs one flood or
 * fixed-rate measurement, prints it, and leaves the client's `.cpuprofile`
 * in `prof/` (open it in Chrome DevTools, or sum self time per function).
 * With `BENCH_NO_PARSE=1` the flood runs without `JSON.parse` (the no-parse set).
 */
import { isClientKind } from "./protocol.ts"
import { measurePaced } from "./scenarios/fixedRate.ts"
import { measureFlood } from "./scenarios/throughput.ts"

const [what, kind, count] = process.argv.slice(2)
if (!isClientKind(kind) || (what !== "flood" && what !== "paced")) {
  console.error("usage: node src/profile.ts flood|paced <client> <connections>")
  process.exit(2)
}
const connections = Number(count ?? 1)
console.log(
  what === "flood"
    ? await measureFlood(kind, connections, process.env.BENCH_NO_PARSE === undefined, 500, 3000)
    : await measurePaced(kind, connections, 500, 3000)
)
process.exit(0)
