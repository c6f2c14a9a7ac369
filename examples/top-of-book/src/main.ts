/**
 * Top of book: the best bid and ask of OKX (`books`), Bybit (`orderbook.50`)
 * and Kraken (`book`, depth 10), and the Binance trade tape
 * (`btcusdt@trade` on the combined-stream endpoint), on the local simulator,
 * each through a `Feed` of `@kharbranth/exchanges`, kept correct while the
 * simulator injects a sequence gap into every book, forced-disconnect
 * notices (OKX 64008, Kraken maintenance, Binance `!serverShutdown` in its
 * combined envelope), a cut of every book connection, a silenced stream, an
 * OKX `seqId` reset and a scheduled rotation; and while Kraken rejects one
 * of the two pairs the program asks for.
 *
 * What keeps each book and the tape right:
 * - OKX and Bybit number their book messages (`Okx.sequence`,
 *   `Bybit.sequence`): the feed finds a gap, withholds what was built on it
 *   and restarts the session; the new session's snapshot rebuilds the book.
 * - OKX may restart its numbering (after maintenance): an update chained on
 *   the last `seqId` but carrying a lower one. The feed delivers it and
 *   reports `SequenceReset`; `Okx.applyVerified` keeps the checksum matching.
 * - Kraken has no sequence but a CRC32 checksum after every message
 *   (`Kraken.applyVerified`, like `Okx.applyVerified`): a mismatch makes the
 *   program call `feed.resubscribe(topic)` for a fresh snapshot.
 * - Kraken answers each pair of a subscribe on its own: `XBT/USD` (not a
 *   pair it lists) fails the call with a typed `SubscriptionError`
 *   (`permanent: true`, naming that pair only) while `BTC/USD` subscribes.
 * - Binance trade ids go up by one: `Binance.sequence` lets the feed drop
 *   the copies a rotation's overlap brings; the program checks every id.
 * - Notices and `feed.rotate()` rotate make-before-break: the new session's
 *   frames take over only once it overlaps the old one (OKX, Bybit, Binance:
 *   by sequence; Kraken: from its snapshot), so nothing goes back in time.
 * - A drop reconnects by the schedule and the feed replays the subscription
 *   (not the rejected pair: it is `failed` in the registry).
 * - A stream quiet past its cadence gets a targeted resubscribe.
 *
 * After 11 seconds it prints a summary; exit code 0 only if every book is
 * consistent (synced, checksum matching where the venue sends one, bid
 * below ask), the tape has every trade once, and every fault was seen and
 * recovered from.
 *
 *   pnpm top-of-book
 */
import { ReconnectPolicy } from "@kharbranth/core"
import type { Frame } from "@kharbranth/core"
import { Binance, Bybit, Feed, Kraken, Okx } from "@kharbranth/exchanges"
import type { Venue } from "@kharbranth/exchanges"
import { NodeTransport } from "@kharbranth/node"
import { Simulator } from "@kharbranth/simulator"
import type { Fault } from "@kharbranth/simulator"
import { Console, Effect, type Scope, Stream } from "effect"
import { binanceTape, type Book, bybitBook, krakenBook, okxBook, quote, type Tape } from "./books.ts"

const onBookFrame = (book: Book, frame: Frame.Frame): Effect.Effect<void> => {
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
        Effect.andThen(
          book.feed === undefined ? Effect.void : Effect.forkDetach(Effect.ignore(book.feed.resubscribe(book.topic)))
        )
      )
    })
  )
}

const onFrame = (view: Book | Tape, frame: Frame.Frame): Effect.Effect<void> =>
  view.kind === "book" ? onBookFrame(view, frame) : frame._tag === "Text" ? view.apply(frame.data) : Effect.void

const onEvent = (view: Book | Tape, event: Feed.FeedEvent): Effect.Effect<void> => {
  switch (event._tag) {
    case "GapDetected":
      view.gaps += 1
      return Console.log(
        `${view.venue}: gap on ${event.stream}: expected ${event.expected}, got ${event.got} (${event.action})`
      )
    case "SequenceReset":
      view.resets += 1
      return Console.log(
        `${view.venue}: ${event.stream} numbering reset from ${event.from} to ${event.to} (update delivered)`
      )
    case "SubscribeFailed":
      if (event.permanent) view.refused.push(...event.topics)
      return Effect.void
    case "RotationStarted":
      return Console.log(`${view.venue}: rotating (${event.reason})`)
    case "Rotated":
      view.rotations += 1
      if (view.kind === "tape") view.tradesAtRotation = view.trades
      return Console.log(`${view.venue}: rotated to session generation ${event.generation} in ${event.took} ms`)
    case "Replayed":
      view.replays += 1
      return Console.log(`${view.venue}: replayed ${event.confirmed} subscription(s) on session ${event.session}`)
    case "Stale":
      view.stale += 1
      return Console.log(`${view.venue}: ${event.topic} quiet for ${event.quietFor} ms (${event.action})`)
    case "Connection":
      return event.event._tag === "Disconnected"
        ? Console.log(`${view.venue}: ${event.connection} lost (${event.event.error._tag}), reconnecting`)
        : Effect.void
    default:
      return Effect.void
  }
}

/** A feed to open: what it feeds, where, and the topics of its one `subscribe` call. */
interface Spec {
  readonly view: Book | Tape
  readonly profile: Venue.Profile
  readonly url: string
  readonly options: Feed.FeedOptions
  readonly topics: ReadonlyArray<string>
  /** Topics the venue is expected to reject for good. */
  readonly rejects: ReadonlyArray<string>
}

const program = Effect.gen(function*() {
  const sim = yield* Simulator.make({ rate: 20 })
  const okx = okxBook(Okx.topic("books", "BTC-USDT"), "BTC-USDT")
  const bybit = bybitBook(Bybit.orderbook("BTCUSDT", 50))
  const kraken = krakenBook(Kraken.topic("book", "BTC/USD"), "BTC/USD")
  const binance = binanceTape(Binance.trade("BTCUSDT"))
  // Kraken spells bitcoin BTC in its v2 API; `XBT/USD` is not a pair it lists.
  const unknownPair = Kraken.topic("book", "XBT/USD")
  const specs: ReadonlyArray<Spec> = [
    {
      view: okx,
      profile: Okx.publicProfile,
      url: sim.endpoints.okx,
      options: { sequence: Okx.sequence },
      topics: [okx.topic],
      rejects: []
    },
    {
      view: bybit,
      profile: Bybit.spot,
      url: sim.endpoints.bybit,
      options: { sequence: Bybit.sequence },
      topics: [bybit.topic],
      rejects: []
    },
    {
      view: kraken,
      profile: Kraken.spot,
      url: sim.endpoints.kraken,
      options: { cadence: () => "1 second" },
      topics: [kraken.topic, unknownPair],
      rejects: [unknownPair]
    },
    {
      view: binance,
      profile: Binance.spot,
      url: sim.endpoints.binanceCombined,
      options: { sequence: Binance.sequence },
      topics: [binance.topic],
      rejects: []
    }
  ]

  for (const { options, profile, topics, url, view } of specs) {
    const feed = yield* Feed.make(view.venue, profile, {
      url,
      reconnect: ReconnectPolicy.exponential({ base: "100 millis", max: "2 seconds" }),
      // The simulator runs on 127.0.0.1: its connection limits are not the venue's.
      connectionLimit: { count: 20, window: "1 second" },
      ...options
    })
    view.feed = feed
    yield* Effect.forkScoped(Stream.runForEach(feed.frames, (frame) => onFrame(view, frame)))
    yield* Effect.forkScoped(Stream.runForEach(feed.events, (event) => onEvent(view, event)))
    yield* feed.subscribe(topics).pipe(
      Effect.catchTag("SubscriptionError", (error) => {
        // The other topics of the call are subscribed; only these are not.
        view.rejection = error
        return Console.log(
          `${view.venue}: SubscriptionError (permanent: ${error.permanent}) for ${
            error.topics.join(", ")
          }: ${error.reason}`
        )
      })
    )
  }

  const inject = (...planned: ReadonlyArray<Fault.FaultSpec>) =>
    Effect.forEach(planned, (fault) => Effect.orDie(sim.fault(fault)), { discard: true })
  const faults: ReadonlyArray<readonly [string, Effect.Effect<void, never, Scope.Scope>]> = [
    ["fault: OKX skips 3 book updates", inject({ kind: "gap", target: { venue: "okx" }, skip: 3 })],
    ["fault: Bybit skips 3 book updates", inject({ kind: "gap", target: { venue: "bybit" }, skip: 3 })],
    ["fault: Kraken skips 3 book updates", inject({ kind: "gap", target: { venue: "kraken" }, skip: 3 })],
    [
      "fault: OKX announces a service upgrade (64008), closes in 2 s",
      inject({ kind: "notice", target: { venue: "okx" }, closeAfter: "2 seconds" })
    ],
    [
      "fault: Kraken announces maintenance, closes in 2 s",
      inject({ kind: "notice", target: { venue: "kraken" }, closeAfter: "2 seconds" })
    ],
    [
      "fault: Binance sends !serverShutdown on the combined stream, closes in 2 s",
      inject({ kind: "notice", target: { venue: "binance" }, closeAfter: "2 seconds" })
    ],
    ["scheduled: rotate Bybit now (feed.rotate())", Effect.asVoid(Effect.forkScoped(bybit.feed!.rotate("scheduled")))],
    [
      // Not the tape: trades sent while no connection is up are gone for good (no snapshot brings them back).
      "fault: every book connection is cut (TCP destroyed, no close frame)",
      inject(
        ...(["okx", "bybit", "kraken"] as const).map((venue): Fault.FaultSpec => ({ kind: "drop", target: { venue } }))
      )
    ],
    [
      "fault: Kraken silently stops the book stream",
      inject({ kind: "mute", target: { venue: "kraken" }, stream: kraken.topic })
    ],
    [
      "fault: OKX restarts the book's seqId numbering at 1 (as after maintenance)",
      inject({ kind: "seqReset", target: { venue: "okx" }, stream: okx.topic, seqId: 1 })
    ]
  ]
  const seconds = 11
  for (let second = 1; second <= seconds; second++) {
    yield* Effect.sleep("1 second")
    yield* Console.log(`t=${second}s  ${specs.map(({ view }) => `${view.venue} ${quote(view)}`).join("   ")}`)
    const planned = faults[second - 1]
    if (planned === undefined) continue
    yield* Console.log(planned[0])
    yield* planned[1]
  }

  yield* Console.log("")
  let consistent = 0
  let recovered = 0
  for (const spec of specs) {
    const [ok, answered] = yield* report(spec)
    if (ok) consistent += 1
    if (answered) recovered += 1
  }
  yield* Console.log(
    `consistent: ${consistent}/${specs.length} books and tapes, every fault answered: ${recovered}/${specs.length} venues`
  )
  return consistent === specs.length && recovered === specs.length
})

/** Prints one venue's summary; returns whether its book or tape is consistent and whether every fault aimed at it was answered. */
const report = Effect.fnUntraced(function*({ rejects, view }: Spec) {
  const feed = view.feed!
  const shards = yield* feed.shards
  const open = shards.every((s) => s.open)
  // Only the expected topics were rejected, for good, and the registry agrees.
  const subscriptions = yield* feed.subscriptions
  const stateOf = (topic: string) => subscriptions.find((s) => s.topic === topic)?.state
  const rejected = view.rejection?.topics ?? []
  const rejectionsOk = rejected.length === rejects.length && rejects.every((t) => rejected.includes(t)) &&
    (rejects.length === 0 || view.rejection?.permanent === true) &&
    rejects.every((t) => view.refused.includes(t) && stateOf(t) === "failed") && stateOf(view.topic) === "confirmed"
  const rejection = rejects.length === 0 ? "" : `\n${" ".repeat(8)}` +
    `${rejects.join(", ")} ${
      rejected.length === 0 ? "NOT rejected" : `rejected (permanent: ${view.rejection?.permanent})`
    }, ` +
    `registry: ${rejects.map(stateOf).join(", ")}; ${view.topic} ${stateOf(view.topic)}`

  if (view.kind === "tape") {
    const stats = yield* feed.stats
    const since = view.trades - view.tradesAtRotation
    const ok = open && view.trades > 0 && view.missed === 0 && view.repeated === 0 && since > 0
    const answered = view.rotations > 0 && rejectionsOk
    yield* Console.log(
      `${view.venue.padEnd(7)} tape ${view.topic}  ${view.trades} trades, ids ${view.firstId}..${view.lastId}: ` +
        `${view.missed} missed, ${view.repeated} repeated; ${view.rotations} rotation(s) (${stats.duplicates} overlap ` +
        `duplicate(s) dropped by the feed), ${since} trades since: ${ok ? "consistent" : "NOT consistent"}${rejection}`
    )
    return [ok, answered] as const
  }

  const { ask, bid } = view.best()
  const ok = view.synced && open && bid !== undefined && ask !== undefined && bid < ask && view.checksumOk !== false
  // Every fault aimed at this venue was seen and answered.
  const gapCaught = view.venue === "kraken" ? view.checksumFailures > 0 : view.gaps > 0
  const answered = gapCaught && view.rotations > 0 && view.replays > 0 && rejectionsOk &&
    (view.venue !== "kraken" || view.stale > 0) &&
    (view.venue !== "okx" || (view.resets > 0 && view.resetUpdates > 0))
  const reset = view.venue !== "okx"
    ? ""
    : `\n${
      " ".repeat(8)
    }${view.resets} seqId reset(s) reported, ${view.resetUpdates} reset update(s) applied, checksum ${
      view.checksumOk ? "ok" : "WRONG"
    } after`
  yield* Console.log(
    `${view.venue.padEnd(7)} best ${quote(view).padEnd(22)} ${view.snapshots} snapshots, ${view.updates} updates, ` +
      `${view.gaps} gap(s), ${view.checksumFailures} checksum failure(s), ${view.rotations} rotation(s), ` +
      `${view.replays} replay(s), ${view.stale} stale, checksum ${
        view.checksumOk === undefined ? "n/a" : view.checksumOk ? "ok" : "WRONG"
      }: ${ok ? "consistent" : "NOT consistent"}${reset}${rejection}`
  )
  return [ok, answered] as const
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
