/**
 * Top of book: the best bid and ask of OKX (`books`), Bybit
 * (`orderbook.50`), Kraken (`book`, depth 10) and Binance spot (diff depth
 * started from the REST snapshot), on the local simulator, each kept by
 * `OrderBook` of `@kharbranth/exchanges` while the simulator breaks them:
 * a dropped update on every book, checksum faults (OKX, Kraken), a crossed
 * message (Bybit), OKX's documented `seqId` reset, a Bybit service restart
 * (a `u` = 1 snapshot), a cut of every connection, a rotation of every
 * feed, and for Binance a refused (429) and a stale REST snapshot.
 *
 * What keeps each book right is the venue's own rule, applied by the book:
 * OKX chains `prevSeqId` and checks a CRC32 of the top 25 levels; Bybit
 * chains `u` and treats a `u` = 1 snapshot as a restart; Kraken checks a
 * CRC32 of the top 10 with the pair's precision and truncates to the depth;
 * Binance buffers the stream, fetches `GET /api/v3/depth`, drops what the
 * snapshot holds and chains `U`/`u`. A broken book goes `Resyncing` (with
 * the reason) until a fresh snapshot (a resubscribe, or REST for Binance)
 * makes it `Live` again; a reconnect or rotation goes `Resyncing`
 * (`reconnect`) until the venue's data proves the book whole. Every
 * transition is printed; every read carries the book's status.
 *
 * After 12 seconds it prints each book against the simulator's true book;
 * exit code 0 only if every book is live and equal to the truth and every
 * fault was answered by a resync.
 *
 *   pnpm top-of-book
 */
import { OrderBook } from "@kharbranth/exchanges"
import { NodeTransport } from "@kharbranth/node"
import { Simulator } from "@kharbranth/simulator"
import type { Fault } from "@kharbranth/simulator"
import { Console, Effect, Schedule, Stream } from "effect"
import { FetchHttpClient } from "effect/http"

/** One venue's books and what the program shows of them. */
interface Tracked {
  readonly venue: "okx" | "bybit" | "kraken" | "binance"
  readonly symbol: string
  /** The depth the client's stream carries, for the comparison with the truth (undefined: whole book). */
  readonly depth: number | undefined
  readonly books: OrderBook.OrderBooks
  readonly book: OrderBook.OrderBook
  readonly resyncs: Array<string>
}

const describe = (status: OrderBook.Status): string =>
  status._tag === "Resyncing" || status._tag === "Failed" ? `${status._tag}(${status.reason})` : status._tag

const quote = (top: OrderBook.Top): string =>
  `${top.bid?.price ?? "-"} / ${top.ask?.price ?? "-"} ${top.status._tag === "Live" ? "" : `[${describe(top.status)}]`}`
    .trim()

const program = Effect.gen(function*() {
  const sim = yield* Simulator.make({ rate: 20 })
  const feed = (url: string): OrderBook.Options["feed"] => ({
    url,
    reconnect: Schedule.spaced("200 millis"),
    // The simulator runs on 127.0.0.1: its connection limits are not the venue's.
    connectionLimit: { count: 20, window: "1 second" }
  })
  const rest = `http://127.0.0.1:${sim.port}/binance`
  const specs = [
    {
      venue: "okx",
      symbol: "BTC-USDT",
      depth: 400,
      make: OrderBook.make(OrderBook.okx(), { feed: feed(sim.endpoints.okx) })
    },
    {
      venue: "bybit",
      symbol: "BTCUSDT",
      depth: 50,
      make: OrderBook.make(OrderBook.bybit({ depth: 50 }), { feed: feed(sim.endpoints.bybit) })
    },
    {
      venue: "kraken",
      symbol: "BTC/USD",
      depth: 10,
      // BTC/USD on the simulator: prices with 1 decimal, quantities with 8 (Kraken's `instrument` channel tells).
      make: OrderBook.make(OrderBook.kraken({ precision: () => ({ price: 1, qty: 8 }), depth: 10 }), {
        feed: feed(sim.endpoints.kraken)
      })
    },
    {
      venue: "binance",
      symbol: "BTCUSDT",
      depth: undefined,
      make: OrderBook.make(OrderBook.binanceSpot({ baseUrl: rest, limit: 1000 }), { feed: feed(sim.endpoints.binance) })
    }
  ] as const
  const tracked: Array<Tracked> = []
  for (const spec of specs) {
    const books = yield* spec.make
    const book = yield* books.book(spec.symbol)
    const view: Tracked = { venue: spec.venue, symbol: spec.symbol, depth: spec.depth, books, book, resyncs: [] }
    tracked.push(view)
    yield* Effect.forkScoped(Stream.runForEach(books.events, (event) => {
      switch (event._tag) {
        case "StatusChanged":
          return Console.log(`${view.venue}: ${event.symbol} ${describe(event.from)} -> ${describe(event.to)}`)
        case "Resynced":
          view.resyncs.push(event.reason)
          return Console.log(`${view.venue}: ${event.symbol} live again after ${event.reason} in ${event.took} ms`)
        case "Throttled":
          return Console.log(
            `${view.venue}: REST answered ${event.status}, every snapshot waits ${event.retryAfter} ms`
          )
        case "SequenceReset":
          return Console.log(
            `${view.venue}: ${event.symbol} numbering reset from ${event.from} to ${event.to} (book stays live)`
          )
        case "SnapshotRequested":
          return Console.log(
            `${view.venue}: REST snapshot of ${event.symbol} (weight ${event.weight}, waited ${event.waited} ms)`
          )
        default:
          return Effect.void
      }
    }))
  }

  const inject = (...planned: ReadonlyArray<Fault.FaultSpec>) =>
    Effect.forEach(planned, (fault) => Effect.orDie(sim.fault(fault)), { discard: true })
  const faults: ReadonlyArray<readonly [string, Effect.Effect<void>]> = [
    [
      "fault: one book update dropped on every venue",
      inject(
        ...(["okx", "bybit", "kraken", "binance"] as const).map((venue): Fault.FaultSpec => ({
          kind: "bookGap",
          target: { venue }
        }))
      )
    ],
    [
      "fault: a wrong checksum on OKX and Kraken",
      inject({ kind: "badChecksum", target: { venue: "okx" } }, { kind: "badChecksum", target: { venue: "kraken" } })
    ],
    ["fault: a crossed message on Bybit", inject({ kind: "crossed", target: { venue: "bybit" } })],
    [
      "fault: OKX restarts its seqId numbering (as after maintenance)",
      inject({ kind: "seqReset", target: { venue: "okx" } })
    ],
    ["fault: Bybit restarts (a u = 1 snapshot)", inject({ kind: "bookRestart", target: { venue: "bybit" } })],
    [
      "fault: every connection is cut (TCP destroyed, no close frame)",
      inject(
        ...(["okx", "bybit", "kraken", "binance"] as const).map((venue): Fault.FaultSpec => ({
          kind: "drop",
          target: { venue }
        }))
      )
    ],
    [
      "scheduled: every feed rotates (make-before-break)",
      Effect.forEach(tracked, (t) => Effect.forkDetach(t.books.feed.rotate("scheduled")), { discard: true })
    ],
    [
      "fault: Binance REST answers 429 (Retry-After 1 s), then a dropped update",
      inject(
        { kind: "restRefuse", target: { venue: "binance" }, status: 429, retryAfter: 1 },
        { kind: "bookGap", target: { venue: "binance" } }
      )
    ],
    [
      "fault: Binance REST serves a stale snapshot, then a dropped update",
      inject(
        { kind: "staleSnapshot", target: { venue: "binance" }, behind: 20 },
        { kind: "bookGap", target: { venue: "binance" } }
      )
    ]
  ]
  const seconds = 12
  for (let second = 1; second <= seconds; second++) {
    yield* Effect.sleep("1 second")
    const tops = yield* Effect.forEach(tracked, (t) => t.book.top)
    yield* Console.log(`t=${second}s  ${tracked.map((t, i) => `${t.venue} ${quote(tops[i]!)}`).join("   ")}`)
    const planned = faults[second - 1]
    if (planned === undefined) continue
    yield* Console.log(planned[0])
    yield* planned[1]
  }

  // The end: every book live and equal to the simulator's true book (paused, so both stand still).
  yield* sim.pause
  yield* Effect.sleep("500 millis")
  yield* Console.log("")
  let consistent = 0
  let answered = 0
  for (const t of tracked) {
    const snap = yield* t.book.snapshot(t.depth ?? Number.POSITIVE_INFINITY)
    const truth = yield* sim.trueBook(t.venue, t.symbol, t.depth)
    const same = (side: ReadonlyArray<OrderBook.Level>, levels: ReadonlyArray<readonly [number, number]>) =>
      side.length === levels.length && side.every((l, i) => l.price === levels[i]![0] && l.size === levels[i]![1])
    const ok = snap.status._tag === "Live" && truth !== undefined && same(snap.bids, truth.bids) &&
      same(snap.asks, truth.asks)
    const expected = t.venue === "okx"
      ? ["gap", "checksum", "reconnect"]
      : t.venue === "kraken"
      ? ["checksum", "reconnect"]
      : ["gap", "reconnect"]
    const allAnswered = expected.every((r) => t.resyncs.includes(r))
    if (ok) consistent += 1
    if (allAnswered) answered += 1
    yield* Console.log(
      `${t.venue.padEnd(7)} ${t.symbol.padEnd(8)} ${describe(snap.status)}, best ${snap.bids[0]?.price} / ${
        snap.asks[0]?.price
      }, ` +
        `${snap.bids.length}+${snap.asks.length} levels, ${t.resyncs.length} resync(s) (${
          [...new Set(t.resyncs)].join(", ")
        }): ` +
        `${ok ? "equal to the true book" : "NOT equal to the true book"}`
    )
  }
  yield* Console.log(
    `consistent: ${consistent}/${tracked.length} books, every fault answered: ${answered}/${tracked.length} venues`
  )
  return consistent === tracked.length && answered === tracked.length
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide([NodeTransport.layer(), FetchHttpClient.layer]))).then(
  (ok) => {
    process.exitCode = ok ? 0 : 1
  },
  (error: unknown) => {
    console.error(error)
    process.exitCode = 1
  }
)
