/**
 * The simulator in a process of its own, for `measure.ts`: starts it with
 * the options given as JSON in the first argument, prints its endpoints as
 * one JSON line, and closes when stdin ends (its parent is gone) or on
 * SIGTERM/SIGINT. So the measuring process does not share its event loop
 * with the venue it measures.
 */
import { startSimulator } from "@kharbranth/simulator"
import type { Options } from "@kharbranth/simulator/Options"

const options = JSON.parse(process.argv[2] ?? "{}") as Options
const sim = await startSimulator(options)
process.stdout.write(`${JSON.stringify({ endpoints: sim.endpoints })}\n`)
let closing = false
const stop = () => {
  if (closing) return
  closing = true
  void sim.close().finally(() => process.exit(0))
}
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
process.stdin.on("end", stop)
process.stdin.resume()
