/**
 * Top of book: three venues of the local simulator (OKX `books`, Bybit
 * `orderbook.50`, Kraken v2 `book`) through one `WSManager`, each with the
 * heartbeat its venue wants. The program keeps a local order book per venue
 * from the snapshot and updates of the current session, prints the best bid
 * and ask every second, and checks every update: a sequence gap (OKX
 * `prevSeqId`, Bybit `u`) or a wrong checksum (OKX, Kraken) means the local
 * book is wrong, so it calls `manager.restart(name, reason)`: a new session
 * at once, `onOpen` resubscribes, a fresh snapshot rebuilds the book.
 *
 * It injects a gap into each venue's feed and then cuts every connection,
 * shows each book recovered, and ends after about 6 seconds: exit code 0
 * only if every book is consistent at the end and every gap was caught.
 *
 *   pnpm --filter @kharbranth/example-top-of-book start
 */
import { ReconnectPolicy, WSManager } from "@kharbranth/core"
import type { ConnectionEvent, Frame } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Simulator } from "@kharbranth/simulator"
import type { Fault } from "@kharbranth/simulator"
import { Console, Effect, Stream } from "effect"
import { type BookMessage, type Feed, feeds, type Sides, top } from "./venues.ts"

/** A local book and what is known about it. */
interface Book extends Sides {
  readonly feed: Feed
  /** The session the book was built on (0: none yet). */
  session: number
  /** A snapshot arrived on this session and every update since followed it. */
  synced: boolean
  seq: number | undefined
  /** Sessions up to this one were restarted: frames they still deliver are ignored. */
  abandoned: number
  snapshots: number
  updates: number
  gaps: number
  checksumOk: boolean | undefined
}

const bestOf = (book: Book) => ({ bid: top(book.bids, true, 1)[0]?.[0], ask: top(book.asks, false, 1)[0]?.[0] })

const quote = (book: Book): string => {
  const { ask, bid } = bestOf(book)
  return book.synced ? `${bid ?? "-"} / ${ask ?? "-"}` : "(resyncing)"
}

/** Applies levels (quantity 0 removes a level) and keeps the subscribed depth. */
const apply = (book: Book, message: BookMessage): void => {
  const sides = [[book.bids, message.bids, true], [book.asks, message.asks, false]] as const
  for (const [side, levels, isBid] of sides) {
    for (const [price, qty] of levels) {
      if (Number(qty) === 0) side.delete(price)
      else side.set(price, qty)
    }
    if (side.size > book.feed.depth) {
      const keep = new Set(top(side, isBid, book.feed.depth).map(([price]) => price))
      for (const price of side.keys()) if (!keep.has(price)) side.delete(price)
    }
  }
}

/** Why the local book does not match the venue's checksum, or undefined when it does (or there is none). */
const checksumProblem = (book: Book, message: BookMessage): string | undefined => {
  if (book.feed.checksum === undefined || message.checksum === undefined) return undefined
  const local = book.feed.checksum(book)
  book.checksumOk = local === message.checksum
  return book.checksumOk ? undefined : `missed update: checksum ${local} is not the venue's ${message.checksum}`
}

const program = Effect.gen(function*() {
  const sim = yield* Simulator.make()
  // The dial governor's default (3 dials per second per host) suits OKX; 127.0.0.1 is ours.
  const manager = yield* WSManager.make({ dialsPerSecond: 20 })
  const books = new Map<string, Book>()

  const restart = (book: Book, session: number, reason: string) => {
    book.synced = false
    book.abandoned = session
    book.gaps += 1
    return Console.log(`${book.feed.name}: ${reason} on session ${session}, restarting`).pipe(
      Effect.andThen(manager.restart(book.feed.name, reason)),
      Effect.catchTags({
        ConnectionNotFound: (error) => Console.log(`restart failed: ${error.message}`),
        ConnectionStopped: (error) => Console.log(`restart failed: ${error.message}`)
      })
    )
  }

  const onFrame = (book: Book, frame: Frame.Frame): Effect.Effect<void> => {
    if (frame._tag !== "Text" || frame.session <= book.abandoned) return Effect.void
    const message = book.feed.parse(frame.data)
    if (message === undefined) return Effect.void
    if (frame.session !== book.session) {
      // A new session: what was built on the old one is stale until its snapshot arrives.
      book.session = frame.session
      book.synced = false
      book.seq = undefined
    }
    if (message.type === "snapshot") {
      book.bids.clear()
      book.asks.clear()
      apply(book, message)
      book.seq = message.seq
      book.synced = true
      book.snapshots += 1
      const problem = checksumProblem(book, message)
      if (problem !== undefined) return restart(book, frame.session, problem)
      return Console.log(
        `${book.feed.name}: session ${frame.session} snapshot, ${book.bids.size} bids, ${book.asks.size} asks, best ${quote(book)}`
      )
    }
    if (!book.synced) return Effect.void
    const gap = book.feed.gap(book.seq, message)
    if (gap !== undefined) return restart(book, frame.session, `sequence gap: ${gap}`)
    apply(book, message)
    book.seq = message.seq
    book.updates += 1
    const problem = checksumProblem(book, message)
    return problem === undefined ? Effect.void : restart(book, frame.session, problem)
  }

  const onEvent = (connection: string, event: ConnectionEvent.ConnectionEvent): Effect.Effect<void> => {
    switch (event._tag) {
      case "Disconnected":
        return event.error._tag === "Closed" && event.error.code === 1006
          ? Console.log(`${connection}: session ${event.session} lost (1006, no close frame), reconnecting`)
          : Effect.void
      case "Opened":
        return event.session > 1 ? Console.log(`${connection}: session ${event.session} open, resubscribing`) : Effect.void
      default:
        return Effect.void
    }
  }

  // Subscribe to the merged streams first: nothing of any session is missed.
  yield* Effect.forkScoped(Stream.runForEach(manager.frames, ({ connection, frame }) => {
    const book = books.get(connection)
    return book === undefined ? Effect.void : onFrame(book, frame)
  }))
  yield* Effect.forkScoped(Stream.runForEach(manager.events, ({ connection, event }) => onEvent(connection, event)))

  for (const feed of feeds(sim.endpoints)) {
    books.set(feed.name, {
      feed,
      bids: new Map(),
      asks: new Map(),
      session: 0,
      synced: false,
      seq: undefined,
      abandoned: 0,
      snapshots: 0,
      updates: 0,
      gaps: 0,
      checksumOk: undefined
    })
    yield* manager.add(feed.name, {
      url: feed.url,
      reconnect: ReconnectPolicy.exponential({ base: "100 millis", max: "2 seconds" }),
      ...feed.config
    }, {
      onOpen: ({ send }) => send(feed.subscribe)
    })
  }

  const status = (second: number) =>
    Console.log(`t=${second}s  ${[...books.values()].map((book) => `${book.feed.venue} ${quote(book)}`).join("   ")}`)
  const faults: ReadonlyArray<readonly [string, Fault.FaultSpec]> = [
    ["fault: OKX skips 3 book updates", { kind: "gap", target: { venue: "okx" }, skip: 3 }],
    ["fault: Bybit skips 3 book updates", { kind: "gap", target: { venue: "bybit" }, skip: 3 }],
    ["fault: Kraken skips 3 book updates", { kind: "gap", target: { venue: "kraken" }, skip: 3 }],
    ["fault: every connection is cut (TCP destroyed, no close frame)", { kind: "drop", target: "all" }]
  ]
  for (let second = 1; second <= 6; second++) {
    yield* Effect.sleep("1 second")
    yield* status(second)
    const planned = faults[second - 1]
    if (planned !== undefined) {
      yield* Console.log(planned[0])
      yield* Effect.orDie(sim.fault(planned[1]))
    }
  }

  const states = yield* manager.states
  const injectedGaps = faults.filter(([, spec]) => spec.kind === "gap").length
  let consistent = 0
  let detected = 0
  yield* Console.log("")
  for (const book of books.values()) {
    const { ask, bid } = bestOf(book)
    const open = states.get(book.feed.name)?._tag === "Open"
    const ok = open && book.synced && bid !== undefined && ask !== undefined && Number(bid) < Number(ask) &&
      book.checksumOk !== false
    if (ok) consistent += 1
    detected += Math.min(book.gaps, 1)
    yield* Console.log(
      `${book.feed.name.padEnd(15)} best ${quote(book).padEnd(22)} session ${book.session}, ${book.snapshots} snapshots, ${book.updates} updates, ${book.gaps} gap(s) caught, checksum ${
        book.checksumOk === undefined ? "n/a" : book.checksumOk ? "ok" : "WRONG"
      }: ${ok ? "consistent" : "NOT consistent"}`
    )
  }
  yield* Console.log(`consistent: ${consistent}/${books.size} books, gaps caught: ${detected}/${injectedGaps}`)
  return consistent === books.size && detected === injectedGaps
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(NodeTransport.layer()))).then(
  (ok) => {
    process.exitCode = ok ? 0 : 1
  },
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
