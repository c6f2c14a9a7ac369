/**
 * Applying order-book updates, by hand: `node --expose-gc src/book.ts
 * [--updates N] [--runs R] [--json]` (`pnpm --filter @kharbranth/bench
 * book`; defaults 100,000 10-level and 10,000 100-level updates per run, 7
 * runs, about 20 s). A book of
 * 1,000 levels (500 a side) takes Binance `depthUpdate` and OKX `books`
 * updates of 10 and 100 levels each (mostly near the top, as real books
 * change: size changes, new levels and removed levels in a ratio that keeps
 * the book at about 1,000 levels), already parsed (both sides of the
 * comparison are handed the same `JSON.parse` output; parsing is not
 * timed). Two implementations, run alternately on the same messages:
 * `book` is the library's (the venue adapter applying to its `Side`s, with
 * its sequence checks), `reference` a straightforward one written here (a
 * sorted array of `{price, size}` levels per side, best first, binary search
 * + `splice`, the same sequence checks; OKX levels keep their texts in both).
 * OKX checksums are left out of both (the messages carry none), then timed
 * for the library alone as `book+checksum`. Prints the median updates per
 * second of one core per case, the ratio, and the growth of the used heap
 * over a run per update (after a full GC before it; a GC during the run
 * would hide allocation, so it is a lower bound: the library's should stay
 * near zero, a few bytes per update of per-run overhead).
 *
 * The library's internals are imported by path (`../../exchanges/src/
 * internal/book/`): the hot path is the adapter, below the public API's
 * streams.
 */
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import type { Adapter, ApplyContext } from "../../exchanges/src/internal/book/adapter.ts"
import * as BinanceBooks from "../../exchanges/src/internal/book/binance.ts"
import * as Checksum from "../../exchanges/src/internal/book/checksum.ts"
import type { Status } from "../../exchanges/src/internal/book/model.ts"
import * as Rest from "../../exchanges/src/internal/book/rest.ts"
import { BookState, type Host } from "../../exchanges/src/internal/book/state.ts"
import * as Streams from "../../exchanges/src/internal/book/streams.ts"

const argv = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const at = argv.indexOf(name)
  if (at < 0) return fallback
  const value = Number(argv[at + 1])
  if (!Number.isInteger(value) || value < 1) {
    console.error("usage: node --expose-gc src/book.ts [--updates N] [--runs R] [--json]")
    process.exit(2)
  }
  return value
}
const UPDATES = option("--updates", 100_000)
const RUNS = option("--runs", 7)
const json = argv.includes("--json")
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

/** A small seeded generator (mulberry32). */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const TICK = 0.01
const MID = 50_000
const SIDE_LEVELS = 500

/** Price text of tick `i` below (bids) or above (asks) the mid. */
const priceOf = (bid: boolean, i: number): string => (bid ? MID - (i + 1) * TICK : MID + (i + 1) * TICK).toFixed(2)

/** Messages: level changes near the top, keeping ~500 levels a side. */
const makeUpdates = (levels: number, count: number, seed: number) => {
  const next = random(seed)
  const held = [new Set<number>(), new Set<number>()]
  for (let i = 0; i < SIDE_LEVELS; i++) {
    held[0]!.add(i * 2)
    held[1]!.add(i * 2)
  }
  const out: Array<{ bids: Array<[string, string]>; asks: Array<[string, string]> }> = []
  for (let m = 0; m < count; m++) {
    const bids: Array<[string, string]> = []
    const asks: Array<[string, string]> = []
    for (let l = 0; l < levels; l++) {
      const side = next() < 0.5 ? 0 : 1
      // Distance from the top: mostly the first few dozen ticks.
      const tick = Math.min(1999, Math.floor(-Math.log(1 - next()) * 40))
      const set = held[side]!
      const has = set.has(tick)
      const roll = next()
      let size: string
      if (has && (roll < 0.15 || set.size > SIDE_LEVELS + 20)) {
        size = "0"
        set.delete(tick)
      } else {
        size = (0.001 + next() * 5).toFixed(3)
        set.add(tick)
      }
      ;(side === 0 ? bids : asks).push([priceOf(side === 0, tick), size])
    }
    out.push({ bids, asks })
  }
  return out
}

const initialLevels = (bid: boolean): Array<[string, string]> =>
  Array.from({ length: SIDE_LEVELS }, (_, i) => [priceOf(bid, i * 2), "1.000"])

// ---- the reference: sorted arrays of level objects, best first, binary search + splice ----

interface RefLevel {
  price: number
  size: number
  priceText: string
  sizeText: string
}

class RefSide {
  readonly levels: Array<RefLevel> = []
  readonly bids: boolean
  constructor(bids: boolean) {
    this.bids = bids
  }
  set(priceText: string, sizeText: string): void {
    const price = Number(priceText)
    const size = Number(sizeText)
    const levels = this.levels
    let low = 0
    let high = levels.length - 1
    while (low <= high) {
      const mid = (low + high) >>> 1
      const p = levels[mid]!.price
      if (p === price) {
        if (size === 0) levels.splice(mid, 1)
        else {
          levels[mid]!.size = size
          levels[mid]!.sizeText = sizeText
        }
        return
      }
      if (this.bids ? p > price : p < price) low = mid + 1
      else high = mid - 1
    }
    if (size !== 0) levels.splice(low, 0, { price, size, priceText, sizeText })
  }
}

class RefBook {
  readonly bids = new RefSide(true)
  readonly asks = new RefSide(false)
  seq = 0
}

const refApply = (_book: RefBook, levels: ReadonlyArray<ReadonlyArray<string>>, side: RefSide): void => {
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!
    side.set(l[0]!, l[1]!)
  }
}

// ---- cases ----

type Venue = "binance" | "okx"

/** Updates per run of a case: `--updates` for 10-level ones, a tenth of it for 100-level ones (the same level changes). */
const countFor = (levels: number): number => Math.max(1000, Math.round((UPDATES * 10) / levels))

const messagesFor = (venue: Venue, levels: number) => {
  const raw = makeUpdates(levels, countFor(levels), levels * 31 + (venue === "okx" ? 7 : 0))
  return raw.map((u, i) => {
    const seq = 1001 + i
    const text = venue === "binance"
      ? JSON.stringify({ e: "depthUpdate", E: 1, s: "BTCUSDT", U: seq, u: seq, b: u.bids, a: u.asks })
      : JSON.stringify({
        arg: { channel: "books", instId: "BTC-USDT" },
        action: "update",
        data: [{
          asks: u.asks.map(([p, s]) => [p, s, "0", "1"]),
          bids: u.bids.map(([p, s]) => [p, s, "0", "1"]),
          ts: "1",
          prevSeqId: seq - 1,
          seqId: seq
        }]
      })
    return JSON.parse(text) as unknown
  })
}

const host: Host = { now: () => 0, emit: () => {}, repair: () => {} }
const ctx: ApplyContext = { now: () => 0, reset: () => {}, staleSnapshot: () => {} }
const statuses = Effect.runSync(PubSub.unbounded<Status>({ replay: 1 }))

const adapterFor = (venue: Venue): Adapter<unknown> =>
  venue === "binance"
    ? BinanceBooks.spot({
      venue: "bench",
      baseUrl: "",
      path: "",
      limit: 1000,
      weight: Rest.spotWeight(1000),
      budget: 6000,
      windowMs: 60_000,
      attempts: 1
    })
    : Streams.okx()

/** A library book loaded with the initial 1,000 levels, live at update id 1000. */
const libraryBook = (venue: Venue, adapter: Adapter<unknown>) => {
  const symbol = venue === "binance" ? "BTCUSDT" : "BTC-USDT"
  const book = new BookState(symbol, symbol, host, adapter.keepText, statuses)
  const books = new Map([[symbol, book]])
  if (venue === "binance") {
    book.buffering = true
    adapter.onRestSnapshot!(book, { lastUpdateId: 1000, bids: initialLevels(true), asks: initialLevels(false) }, ctx)
    book.awaitFirst = false
    book.fromRest = false
  } else {
    adapter.dispatch(
      {
        arg: { channel: "books", instId: symbol },
        action: "snapshot",
        data: [{
          bids: initialLevels(true).map(([p, s]) => [p, s, "0", "1"]),
          asks: initialLevels(false).map(([p, s]) => [p, s, "0", "1"]),
          ts: "1",
          prevSeqId: -1,
          seqId: 1000
        }]
      },
      books,
      ctx
    )
  }
  return { book, books }
}

const referenceBook = () => {
  const book = new RefBook()
  refApply(book, initialLevels(true), book.bids)
  refApply(book, initialLevels(false), book.asks)
  book.seq = 1000
  return book
}

interface Sample {
  readonly perSecond: number
  readonly heapDelta: number
}

const measure = (count: number, run: () => void): Sample => {
  gc()
  const heap = process.memoryUsage().heapUsed
  const start = process.hrtime.bigint()
  run()
  const ns = Number(process.hrtime.bigint() - start)
  return {
    perSecond: count / (ns / 1e9),
    heapDelta: (process.memoryUsage().heapUsed - heap) / count
  }
}

const runLibrary = (venue: Venue, adapter: Adapter<unknown>, msgs: ReadonlyArray<unknown>) => {
  const { book, books } = libraryBook(venue, adapter)
  return measure(msgs.length, () => {
    for (let i = 0; i < msgs.length; i++) adapter.dispatch(msgs[i], books, ctx)
    if (book.status._tag !== "Live" || book.seq !== 1000 + msgs.length) {
      throw new Error(`${venue}: the library book ended ${book.status._tag} at ${book.seq}`)
    }
  })
}

const runReference = (venue: Venue, messages: ReadonlyArray<unknown>) => {
  const book = referenceBook()
  return measure(messages.length, () => {
    for (let i = 0; i < messages.length; i++) {
      const msg = messages[i] as Record<string, unknown>
      if (venue === "binance") {
        const ev = msg as { U: number; u: number; b: Array<Array<string>>; a: Array<Array<string>> }
        if (ev.u <= book.seq) continue
        if (ev.U !== book.seq + 1) throw new Error("reference: gap")
        refApply(book, ev.b, book.bids)
        refApply(book, ev.a, book.asks)
        book.seq = ev.u
      } else {
        const d = (msg["data"] as Array<
          { seqId: number; prevSeqId: number; bids: Array<Array<string>>; asks: Array<Array<string>> }
        >)[0]!
        if (d.prevSeqId !== book.seq) throw new Error("reference: gap")
        refApply(book, d.bids, book.bids)
        refApply(book, d.asks, book.asks)
        book.seq = d.seqId
      }
    }
  })
}

/** OKX messages with the checksum of the book after each, computed once with the library itself. */
const withChecksums = (messages: ReadonlyArray<unknown>): Array<unknown> => {
  const adapter = Streams.okx()
  const { book, books } = libraryBook("okx", adapter)
  return messages.map((msg) => {
    adapter.dispatch(msg, books, ctx)
    const m = msg as { arg: unknown; action: string; data: Array<Record<string, unknown>> }
    return { ...m, data: [{ ...m.data[0], checksum: Checksum.okx(book.bids, book.asks) }] }
  })
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const results: Array<Record<string, unknown>> = []
for (const venue of ["binance", "okx"] as const) {
  for (const levels of [10, 100]) {
    const messages = messagesFor(venue, levels)
    const adapter = adapterFor(venue)
    const lib: Array<Sample> = []
    const ref: Array<Sample> = []
    for (let r = 0; r < RUNS; r++) {
      if (r % 2 === 0) {
        lib.push(runLibrary(venue, adapter, messages))
        ref.push(runReference(venue, messages))
      } else {
        ref.push(runReference(venue, messages))
        lib.push(runLibrary(venue, adapter, messages))
      }
    }
    const row: Record<string, unknown> = {
      case: `${venue} ${levels}-level updates`,
      book: Math.round(median(lib.map((s) => s.perSecond))),
      reference: Math.round(median(ref.map((s) => s.perSecond))),
      ratio: Number((median(lib.map((s) => s.perSecond)) / median(ref.map((s) => s.perSecond))).toFixed(2)),
      updates: messages.length,
      bookHeapPerUpdate: Number(median(lib.map((s) => s.heapDelta)).toFixed(2)),
      referenceHeapPerUpdate: Number(median(ref.map((s) => s.heapDelta)).toFixed(2))
    }
    if (venue === "okx") {
      const checked = withChecksums(messages)
      const samples: Array<Sample> = []
      for (let r = 0; r < Math.max(1, Math.floor(RUNS / 2)); r++) samples.push(runLibrary(venue, adapter, checked))
      row["book+checksum"] = Math.round(median(samples.map((s) => s.perSecond)))
    }
    results.push(row)
  }
}

if (json) console.log(JSON.stringify({ updates: UPDATES, runs: RUNS, node: process.version, results }, null, 2))
else {
  console.log(
    `updates per second, one core (median of ${RUNS} runs on a 1,000-level book: ${UPDATES} 10-level and ${
      countFor(100)
    } 100-level updates a run; ${process.version})`
  )
  for (const r of results) {
    console.log(
      `${String(r["case"]).padEnd(26)} book ${String(r["book"]).padStart(9)}  reference ${
        String(r["reference"]).padStart(9)
      }  ratio ${String(r["ratio"]).padStart(5)}  heap growth/update book ${r["bookHeapPerUpdate"]} B, reference ${
        r["referenceHeapPerUpdate"]
      } B${r["book+checksum"] === undefined ? "" : `  book+checksum ${r["book+checksum"]}`}`
    )
  }
}
