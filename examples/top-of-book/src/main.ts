/**
 * Top of book: the best bid and ask of OKX (`books`), Bybit (`orderbook.50`)
 * and Kraken (`book`, depth 10) on the local simulator, each through a
 * `Feed` of `@kharbranth/exchanges`, kept correct while the simulator
 * injects a sequence gap into every venue, forced-disconnect notices (OKX
 * 64008, Kraken maintenance), a cut of every connection, a silenced stream
 * and a scheduled rotation.
 *
 * What keeps each book right:
 * - OKX and Bybit number their book messages (`Okx.sequence`,
 *   `Bybit.sequence`): the feed finds a gap, withholds what was built on it
 *   and restarts the session; the new session's snapshot rebuilds the book.
 * - Kraken has no sequence but a CRC32 checksum after every message
 *   (`Kraken.applyVerified`, like `Okx.applyVerified`): a mismatch makes the
 *   program call `feed.resubscribe(topic)` for a fresh snapshot.
 * - Notices and `feed.rotate()` rotate make-before-break: the new session's
 *   frames take over only once it overlaps the old one (OKX, Bybit: by
 *   sequence; Kraken: from its snapshot), so no book goes back in time.
 * - A drop reconnects by the schedule and the feed replays the subscription.
 * - A stream quiet past its cadence gets a targeted resubscribe.
 *
 * After about 9 seconds it prints a summary; exit code 0 only if every book
 * is consistent (synced, checksum matching where the venue sends one, bid
 * below ask) and every fault was seen and recovered from.
 *
 *   pnpm top-of-book
 */
import { ReconnectPolicy } from "@kharbranth/core"
import type { Frame } from "@kharbranth/core"
import { Bybit, Feed, Kraken, Okx } from "@kharbranth/exchanges"
import type { Venue } from "@kharbranth/exchanges"
import { NodeTransport } from "@kharbranth/node"
import { Simulator } from "@kharbranth/simulator"
import type { Fault } from "@kharbranth/simulator"
import { Console, Effect, Option, Stream } from "effect"

/** What the program knows about one venue's book. */
interface Book {
  readonly venue: "okx" | "bybit" | "kraken"
  readonly topic: string
  feed: Feed.Feed | undefined
  /** A snapshot arrived and every message since applied cleanly. */
  synced: boolean
  snapshots: number
  updates: number
  gaps: number
  checksumFailures: number
  checksumOk: boolean | undefined
  rotations: number
  replays: number
  stale: number
  /** Applies one text message; fails with the reason the book is wrong. */
  readonly apply: (text: string) => Effect.Effect<"snapshot" | "update" | undefined, string>
  readonly best: () => { readonly bid: number | undefined; readonly ask: number | undefined }
}

const bestOf = (bids: Iterable<number>, asks: Iterable<number>) => {
  let bid: number | undefined
  let ask: number | undefined
  for (const price of bids) if (bid === undefined || price > bid) bid = price
  for (const price of asks) if (ask === undefined || price < ask) ask = price
  return { bid, ask }
}

const okxBook = (topic: string): Book => {
  const book = Okx.makeBook("BTC-USDT")
  const self: Book = {
    ...counters("okx", topic),
    apply: (text) =>
      Effect.gen(function*() {
        const msg = yield* Effect.option(Okx.decodeBook(text))
        if (Option.isNone(msg)) return undefined
        for (const data of msg.value.data) {
          yield* Okx.applyVerified(book, msg.value.action, data).pipe(
            Effect.mapError((e) => `checksum ${e.actual} is not the venue's ${e.expected}`)
          )
        }
        return msg.value.action === "snapshot" ? "snapshot" : "update"
      }),
    best: () => bestOf(book.bids.keys(), book.asks.keys())
  }
  return self
}

const bybitBook = (topic: string): Book => {
  const bids = new Map<number, number>()
  const asks = new Map<number, number>()
  const update = (side: Map<number, number>, levels: ReadonlyArray<readonly [string, string]>) => {
    for (const [price, qty] of levels) {
      if (Number(qty) === 0) side.delete(Number(price))
      else side.set(Number(price), Number(qty))
    }
  }
  return {
    ...counters("bybit", topic),
    apply: (text) =>
      Effect.gen(function*() {
        const msg = yield* Effect.option(Bybit.decodeBook(text))
        if (Option.isNone(msg)) return undefined
        if (msg.value.type === "snapshot") {
          bids.clear()
          asks.clear()
        }
        update(bids, msg.value.data.b)
        update(asks, msg.value.data.a)
        return msg.value.type === "snapshot" ? "snapshot" : "update"
      }),
    best: () => bestOf(bids.keys(), asks.keys())
  }
}

/** BTC/USD on the simulator: prices with 1 decimal, quantities with 8. */
const krakenPrecision: Kraken.Precision = { price: 1, qty: 8 }

const krakenBook = (topic: string): Book => {
  const book = Kraken.makeBook("BTC/USD")
  return {
    ...counters("kraken", topic),
    apply: (text) =>
      Effect.gen(function*() {
        const msg = yield* Effect.option(Kraken.decodeBook(text))
        if (Option.isNone(msg)) return undefined
        for (const data of msg.value.data) {
          yield* Kraken.applyVerified(book, msg.value.type, data, krakenPrecision).pipe(
            Effect.mapError((e) => `checksum ${e.actual} is not the venue's ${e.expected}`)
          )
        }
        return msg.value.type
      }),
    best: () => bestOf(book.bids.keys(), book.asks.keys())
  }
}

const counters = (venue: Book["venue"], topic: string) => ({
  venue,
  topic,
  feed: undefined,
  synced: false,
  snapshots: 0,
  updates: 0,
  gaps: 0,
  checksumFailures: 0,
  checksumOk: undefined,
  rotations: 0,
  replays: 0,
  stale: 0
})

const quote = (book: Book): string => {
  const { ask, bid } = book.best()
  return book.synced ? `${bid ?? "-"} / ${ask ?? "-"}` : "(resyncing)"
}

const onFrame = (book: Book, frame: Frame.Frame): Effect.Effect<void> => {
  if (frame._tag !== "Text") return Effect.void
  return book.apply(frame.data).pipe(
    Effect.flatMap((kind) =>
      Effect.sync(() => {
        if (kind === "snapshot") {
          book.synced = true
          book.snapshots += 1
        } else if (kind === "update" && book.synced) {
          book.updates += 1
        }
        if (kind !== undefined && book.venue !== "bybit") book.checksumOk = true
      })
    ),
    Effect.catch((problem) => {
      // The local book no longer matches the venue's: ask for a fresh snapshot.
      const wasSynced = book.synced
      book.synced = false
      book.checksumOk = false
      if (!wasSynced) return Effect.void
      book.checksumFailures += 1
      return Console.log(`${book.venue}: ${problem}, resubscribing for a fresh snapshot`).pipe(
        Effect.andThen(book.feed === undefined ? Effect.void : Effect.forkDetach(Effect.ignore(book.feed.resubscribe(book.topic))))
      )
    })
  )
}

const onEvent = (book: Book, event: Feed.FeedEvent): Effect.Effect<void> => {
  switch (event._tag) {
    case "GapDetected":
      book.gaps += 1
      return Console.log(`${book.venue}: gap on ${event.stream}: expected ${event.expected}, got ${event.got} (${event.action})`)
    case "RotationStarted":
      return Console.log(`${book.venue}: rotating (${event.reason})`)
    case "Rotated":
      book.rotations += 1
      return Console.log(`${book.venue}: rotated to session generation ${event.generation} in ${event.took} ms`)
    case "Replayed":
      book.replays += 1
      return Console.log(`${book.venue}: replayed ${event.confirmed} subscription(s) on session ${event.session}`)
    case "Stale":
      book.stale += 1
      return Console.log(`${book.venue}: ${event.topic} quiet for ${event.quietFor} ms (${event.action})`)
    case "Connection":
      return event.event._tag === "Disconnected"
        ? Console.log(`${book.venue}: ${event.connection} lost (${event.event.error._tag}), reconnecting`)
        : Effect.void
    default:
      return Effect.void
  }
}

const program = Effect.gen(function*() {
  const sim = yield* Simulator.make({ rate: 20 })
  const books: ReadonlyArray<readonly [Book, Venue.Profile, string, Feed.FeedOptions]> = [
    [okxBook(Okx.topic("books", "BTC-USDT")), Okx.publicProfile, sim.endpoints.okx, { sequence: Okx.sequence }],
    [bybitBook(Bybit.orderbook("BTCUSDT", 50)), Bybit.spot, sim.endpoints.bybit, { sequence: Bybit.sequence }],
    [krakenBook(Kraken.topic("book", "BTC/USD")), Kraken.spot, sim.endpoints.kraken, { cadence: () => "1 second" }]
  ]

  for (const [book, profile, url, options] of books) {
    const feed = yield* Feed.make(book.venue, profile, {
      url,
      reconnect: ReconnectPolicy.exponential({ base: "100 millis", max: "2 seconds" }),
      // The simulator runs on 127.0.0.1: its connection limits are not the venue's.
      connectionLimit: { count: 20, window: "1 second" },
      ...options
    })
    book.feed = feed
    yield* Effect.forkScoped(Stream.runForEach(feed.frames, (frame) => onFrame(book, frame)))
    yield* Effect.forkScoped(Stream.runForEach(feed.events, (event) => onEvent(book, event)))
    yield* feed.subscribe(book.topic)
  }

  const status = (second: number) =>
    Console.log(`t=${second}s  ${books.map(([book]) => `${book.venue} ${quote(book)}`).join("   ")}`)
  const faults: ReadonlyArray<readonly [string, Fault.FaultSpec | "rotate-bybit"]> = [
    ["fault: OKX skips 3 book updates", { kind: "gap", target: { venue: "okx" }, skip: 3 }],
    ["fault: Bybit skips 3 book updates", { kind: "gap", target: { venue: "bybit" }, skip: 3 }],
    ["fault: Kraken skips 3 book updates", { kind: "gap", target: { venue: "kraken" }, skip: 3 }],
    ["fault: OKX announces a service upgrade (64008), closes in 2 s", { kind: "notice", target: { venue: "okx" }, closeAfter: "2 seconds" }],
    ["fault: Kraken announces maintenance, closes in 2 s", { kind: "notice", target: { venue: "kraken" }, closeAfter: "2 seconds" }],
    ["scheduled: rotate Bybit now (feed.rotate())", "rotate-bybit"],
    ["fault: every connection is cut (TCP destroyed, no close frame)", { kind: "drop", target: "all" }],
    ["fault: Kraken silently stops the book stream", { kind: "mute", target: { venue: "kraken" }, stream: Kraken.topic("book", "BTC/USD") }]
  ]
  const seconds = 11
  for (let second = 1; second <= seconds; second++) {
    yield* Effect.sleep("1 second")
    yield* status(second)
    const planned = faults[second - 1]
    if (planned === undefined) continue
    yield* Console.log(planned[0])
    if (planned[1] === "rotate-bybit") yield* Effect.forkScoped(books[1]![0].feed!.rotate("scheduled"))
    else yield* Effect.orDie(sim.fault(planned[1]))
  }

  yield* Console.log("")
  let consistent = 0
  let recovered = 0
  for (const [book] of books) {
    const { ask, bid } = book.best()
    const shards = yield* book.feed!.shards
    const ok = book.synced && shards.every((s) => s.open) && bid !== undefined && ask !== undefined && bid < ask &&
      book.checksumOk !== false
    if (ok) consistent += 1
    // Every fault aimed at this venue was seen and answered.
    const gapCaught = book.venue === "kraken" ? book.checksumFailures > 0 : book.gaps > 0
    const all = gapCaught && book.rotations > 0 && book.replays > 0 && (book.venue !== "kraken" || book.stale > 0)
    if (all) recovered += 1
    yield* Console.log(
      `${book.venue.padEnd(7)} best ${quote(book).padEnd(22)} ${book.snapshots} snapshots, ${book.updates} updates, ` +
        `${book.gaps} gap(s), ${book.checksumFailures} checksum failure(s), ${book.rotations} rotation(s), ` +
        `${book.replays} replay(s), ${book.stale} stale, checksum ${
          book.checksumOk === undefined ? "n/a" : book.checksumOk ? "ok" : "WRONG"
        }: ${ok ? "consistent" : "NOT consistent"}`
    )
  }
  yield* Console.log(`consistent: ${consistent}/${books.length} books, every fault answered: ${recovered}/${books.length} venues`)
  return consistent === books.length && recovered === books.length
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
