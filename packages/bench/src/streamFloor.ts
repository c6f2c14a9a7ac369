/**
 * What handing one item to a parked `Stream.runForEach` consumer costs, by
 * hand: `node src/streamFloor.ts [items] [rounds]` publishes `items`
 * one-item batches to a Kharbranth `Hub` (the fan-out behind every
 * `frames` stream) with one consumer, and pushes as many items into the
 * thinnest Effect stream there is (`Pending` of `src/clients/wsEffect.ts`:
 * a buffer and the parked consumer's resume), rounds interleaved, and
 * prints nanoseconds per item for each. Each item resumes the consumer,
 * which runs an `Effect.sync` for it on the publisher's stack and parks
 * again, as a waiting stream consumer is fed while socket reads are small.
 * The difference is what the hub adds to the Effect runtime's own cost.
 * No sockets, one process: CPU time of the path alone.
 */
import { Hub } from "@kharbranth/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { Pending } from "./clients/wsEffect.ts"
import { summarize } from "./stats.ts"

const [itemsArg = "1000000", roundsArg = "7"] = process.argv.slice(2)
const items = Number(itemsArg)
const rounds = Number(roundsArg)
if (!Number.isInteger(items) || items < 1 || !Number.isInteger(rounds) || rounds < 1) {
  console.error("usage: node src/streamFloor.ts [items] [rounds]")
  process.exit(2)
}

interface Item {
  readonly n: number
}

let seen = 0
const consume = (stream: Stream.Stream<Item>) =>
  Effect.runFork(Stream.runForEach(stream, (item) => Effect.sync(() => void (seen += item.n))))

const hub = new Hub.Hub<Item>(16_384, "suspend", 0)
const pending = new Pending<Item>()
const fibers = [consume(hub.stream), consume(pending.stream)]
// Let both consumers subscribe and park.
await new Promise((resolve) => setTimeout(resolve, 20))

/** Nanoseconds per item over one round of `feed`. */
const round = (feed: () => void): number => {
  const before = seen
  const start = performance.now()
  for (let i = 0; i < items; i++) feed()
  const ns = ((performance.now() - start) * 1e6) / items
  if (seen - before !== items) throw new Error(`the consumer saw ${seen - before} of ${items} items`)
  return ns
}

const results = { hub: [] as Array<number>, floor: [] as Array<number> }
for (let r = 0; r < rounds; r++) {
  // A `suspend` hub never blocks here: its one subscriber takes each batch as it is published.
  results.hub.push(round(() => void hub.publish([{ n: 1 }])))
  results.floor.push(round(() => pending.push({ n: 1 })))
  process.stderr.write(
    `round ${r + 1}/${rounds}: hub ${results.hub[r]!.toFixed(0)} ns, floor ${results.floor[r]!.toFixed(0)} ns\n`
  )
}
const hubNs = summarize(results.hub).median
const floorNs = summarize(results.floor).median
console.log(
  `per item, median of ${rounds} rounds of ${items.toLocaleString("en-US")}: ` +
    `Hub → Stream.runForEach ${hubNs.toFixed(0)} ns; thinnest Effect stream ${floorNs.toFixed(0)} ns; ` +
    `the hub adds ${(hubNs - floorNs).toFixed(0)} ns (${(hubNs / floorNs).toFixed(2)}×)`
)
for (const fiber of fibers) await Effect.runPromise(Fiber.interrupt(fiber))
