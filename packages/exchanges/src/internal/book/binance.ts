/**
 * Binance diff-depth books, spot and USD-M, as "How to manage a local order
 * book correctly" says: buffer the stream, fetch the REST snapshot, drop
 * every buffered event with `u` ≤ `lastUpdateId`, check that the first event
 * left bridges the snapshot (spot: `U` ≤ `lastUpdateId` + 1; USD-M: its
 * `pu` ≤ `lastUpdateId`), then chain each event on the last (spot: `U` =
 * previous `u` + 1; USD-M: `pu` = previous `u`); a break resyncs from a
 * new snapshot. A snapshot older than the stream's buffer (first event
 * starts past it) is fetched again (`stale`). After a reconnect or rotation
 * the first event decides: if it bridges the book's last id, the book is
 * live again at once with no REST request; else a snapshot is fetched.
 */
import * as Binance from "../../Binance.ts"
import type * as Venue from "../../Venue.ts"
import { type Adapter, type ApplyContext, type DepthSnapshot, field, parseJson, setLevels } from "./adapter.ts"
import type { RestSpec } from "./rest.ts"
import type { BookState } from "./state.ts"

/** A diff-depth event as parsed. */
export interface DepthEvent {
  readonly s: string
  readonly U: number
  readonly u: number
  readonly pu?: number | undefined
  readonly b: ReadonlyArray<ReadonlyArray<string>>
  readonly a: ReadonlyArray<ReadonlyArray<string>>
}

/** Events kept per book while its snapshot is on its way; older ones are dropped (the snapshot then reads stale and is fetched again). */
const BUFFER_LIMIT = 10_000

const isDepth = (value: unknown): value is DepthEvent =>
  field(value, "e") === "depthUpdate" && typeof field(value, "s") === "string" &&
  typeof field(value, "U") === "number" && typeof field(value, "u") === "number"

const parse = (text: string): DepthEvent | undefined => {
  const msg = parseJson(text)
  const data = field(msg, "data")
  const event = data === undefined ? msg : data
  return isDepth(event) ? event : undefined
}

/** Applies one event to a book that has a snapshot. */
const onEvent = (book: BookState, ev: DepthEvent, futures: boolean, ctx: ApplyContext): void => {
  if (book.status._tag === "Failed") return
  if (book.buffering) {
    if (book.buffer.length >= BUFFER_LIMIT) book.buffer.shift()
    book.buffer.push(ev)
    return
  }
  const seq = book.seq
  if (ev.u <= seq) return // already in the book (the snapshot, or a rotation's overlap)
  if (book.awaitFirst) {
    // The first event after a snapshot or a reconnect must bridge the book's last id.
    const bridges = futures ? (ev.pu !== undefined && ev.pu <= seq) || ev.U <= seq : ev.U <= seq + 1
    if (!bridges) {
      if (book.fromRest) ctx.staleSnapshot(book, seq, futures ? (ev.pu ?? ev.U) : ev.U)
      return book.resync(book.fromRest ? "stale" : "gap")
    }
    book.awaitFirst = false
  } else {
    const continues = futures ? ev.pu === seq : ev.U === seq + 1
    if (!continues) return book.resync("gap")
  }
  setLevels(book.bids, ev.b, false)
  setLevels(book.asks, ev.a, false)
  book.seq = ev.u
  book.settle(true)
}

const make = (
  venue: "binance-spot" | "binance-usdm",
  profile: Venue.Profile,
  futures: boolean,
  rest: RestSpec,
  speed: "100ms" | "1000ms"
): Adapter<unknown> => ({
  venue,
  profile,
  keepText: false,
  topic: (symbol) => Binance.depth(symbol, speed),
  key: (symbol) => symbol.toUpperCase(),
  parse,
  dispatch: (ev, books, ctx) => {
    if (!isDepth(ev)) return
    const book = books.get(ev.s)
    if (book !== undefined) onEvent(book, ev, futures, ctx)
  },
  repair: "rest",
  rest,
  onRestSnapshot: (book: BookState, snapshot: DepthSnapshot, ctx: ApplyContext) => {
    book.clear()
    setLevels(book.bids, snapshot.bids, false)
    setLevels(book.asks, snapshot.asks, false)
    book.seq = snapshot.lastUpdateId
    book.buffering = false
    book.awaitFirst = true
    book.fromRest = true
    const buffered = book.buffer
    book.buffer = []
    const generation = book.generation
    for (let i = 0; i < buffered.length && book.generation === generation; i++) {
      const ev = buffered[i]
      if (isDepth(ev)) onEvent(book, ev, futures, ctx)
    }
  }
})

/** Binance spot diff depth. */
export const spot = (rest: RestSpec, speed: "100ms" | "1000ms" = "100ms", profile: Venue.Profile = Binance.spot) =>
  make("binance-spot", profile, false, rest, speed)

/** Binance USD-M futures diff depth. */
export const usdm = (rest: RestSpec, speed: "100ms" | "1000ms" = "100ms", profile: Venue.Profile = Binance.usdm) =>
  make("binance-usdm", profile, true, rest, speed)
