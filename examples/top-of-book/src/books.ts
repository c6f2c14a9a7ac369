/**
 * What the top-of-book program keeps of each feed: the local books of OKX,
 * Bybit and Kraken (each applying its venue's messages, checked against the
 * venue's checksum where it sends one) and the Binance trade tape (each
 * trade id checked to follow the last one by exactly one), with the counters
 * the summary reports. `main.ts` hands them frames and events.
 */
import { Binance, Bybit, Kraken, Okx } from "@kharbranth/exchanges"
import type { Feed } from "@kharbranth/exchanges"
import { Effect, Option } from "effect"

/** What a feed's events told about one venue, counted for the summary. */
export interface Tracked {
  readonly venue: "okx" | "bybit" | "kraken" | "binance"
  /** The topic the program reads. */
  readonly topic: string
  feed: Feed.Feed | undefined
  gaps: number
  rotations: number
  replays: number
  stale: number
  /** `SequenceReset` events: the venue restarted the stream's numbering. */
  resets: number
  /** Topics a `SubscribeFailed` event marked `permanent`. */
  readonly refused: Array<string>
  /** The typed failure of the program's own `subscribe` call, if the venue rejected any topic of it. */
  rejection: Feed.SubscriptionError | undefined
}

/** A venue's local book. */
export interface Book extends Tracked {
  readonly kind: "book"
  readonly venue: "okx" | "bybit" | "kraken"
  /** A snapshot arrived and every message since applied cleanly. */
  synced: boolean
  snapshots: number
  updates: number
  checksumFailures: number
  checksumOk: boolean | undefined
  /** Updates applied whose `seqId` is below their `prevSeqId` (OKX's numbering reset), checksum matching. */
  resetUpdates: number
  /** Applies one text message; fails with the reason the book is wrong. */
  readonly apply: (text: string) => Effect.Effect<"snapshot" | "update" | undefined, string>
  readonly best: () => { readonly bid: number | undefined; readonly ask: number | undefined }
}

/** A venue's trade tape: every trade id must follow the last one by one. */
export interface Tape extends Tracked {
  readonly kind: "tape"
  readonly venue: "binance"
  trades: number
  firstId: number | undefined
  lastId: number | undefined
  lastPrice: string | undefined
  /** Trade ids skipped (a trade never delivered). */
  missed: number
  /** Trades delivered twice or out of order. */
  repeated: number
  /** `trades` when the last rotation switched sessions. */
  tradesAtRotation: number
  /** Applies one text message (a combined-stream envelope); anything but a trade is ignored. */
  readonly apply: (text: string) => Effect.Effect<void>
}

const tracked = <V extends Tracked["venue"]>(venue: V, topic: string) => ({
  venue,
  topic,
  feed: undefined,
  gaps: 0,
  rotations: 0,
  replays: 0,
  stale: 0,
  resets: 0,
  refused: [],
  rejection: undefined
})

const bookCounters = <V extends Book["venue"]>(venue: V, topic: string) => ({
  ...tracked(venue, topic),
  kind: "book" as const,
  synced: false,
  snapshots: 0,
  updates: 0,
  checksumFailures: 0,
  checksumOk: undefined,
  resetUpdates: 0
})

const bestOf = (bids: Iterable<number>, asks: Iterable<number>) => {
  let bid: number | undefined
  let ask: number | undefined
  for (const price of bids) if (bid === undefined || price > bid) bid = price
  for (const price of asks) if (ask === undefined || price < ask) ask = price
  return { bid, ask }
}

/** OKX `books`: snapshot then updates, a CRC32 of the top 25 levels after each (`Okx.applyVerified`). */
export const okxBook = (topic: string, instId: string): Book => {
  const book = Okx.makeBook(instId)
  const self: Book = {
    ...bookCounters("okx", topic),
    apply: (text) =>
      Effect.gen(function*() {
        const msg = yield* Effect.option(Okx.decodeBook(text))
        if (Option.isNone(msg)) return undefined
        for (const data of msg.value.data) {
          yield* Okx.applyVerified(book, msg.value.action, data).pipe(
            Effect.mapError((e) => `checksum ${e.actual} is not the venue's ${e.expected}`)
          )
          // OKX's numbering reset: this update chains on the last `seqId` but carries a lower one.
          if (msg.value.action === "update" && data.seqId < data.prevSeqId) self.resetUpdates += 1
        }
        return msg.value.action === "snapshot" ? "snapshot" : "update"
      }),
    best: () => bestOf(book.bids.keys(), book.asks.keys())
  }
  return self
}

/** Bybit `orderbook.50`: snapshot then deltas; no checksum (the feed's `Bybit.sequence` finds gaps). */
export const bybitBook = (topic: string): Book => {
  const bids = new Map<number, number>()
  const asks = new Map<number, number>()
  const update = (side: Map<number, number>, levels: ReadonlyArray<readonly [string, string]>) => {
    for (const [price, qty] of levels) {
      if (Number(qty) === 0) side.delete(Number(price))
      else side.set(Number(price), Number(qty))
    }
  }
  return {
    ...bookCounters("bybit", topic),
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

/** Kraken `book` (depth 10): no sequence, a CRC32 after every message (`Kraken.applyVerified`). */
export const krakenBook = (topic: string, symbol: string): Book => {
  const book = Kraken.makeBook(symbol)
  return {
    ...bookCounters("kraken", topic),
    apply: (text) =>
      Effect.gen(function*() {
        const msg = yield* Effect.option(Kraken.decodeBook(text))
        if (Option.isNone(msg)) return undefined
        for (const data of msg.value.data) {
          if (data.symbol !== symbol) continue
          yield* Kraken.applyVerified(book, msg.value.type, data, krakenPrecision).pipe(
            Effect.mapError((e) => `checksum ${e.actual} is not the venue's ${e.expected}`)
          )
        }
        return msg.value.type
      }),
    best: () => bestOf(book.bids.keys(), book.asks.keys())
  }
}

/** Binance `<symbol>@trade` on a combined-stream connection: trade ids go up by one. */
export const binanceTape = (topic: string): Tape => {
  const self: Tape = {
    ...tracked("binance", topic),
    kind: "tape",
    trades: 0,
    firstId: undefined,
    lastId: undefined,
    lastPrice: undefined,
    missed: 0,
    repeated: 0,
    tradesAtRotation: 0,
    apply: (text) =>
      Effect.gen(function*() {
        const msg = yield* Effect.option(Binance.decodeCombined(text))
        if (Option.isNone(msg) || msg.value.stream !== topic || msg.value.data.e !== "trade") return
        const { p, t } = msg.value.data
        self.trades += 1
        self.lastPrice = p
        if (self.lastId === undefined) self.firstId = t
        else if (t <= self.lastId) self.repeated += 1
        else if (t > self.lastId + 1) self.missed += t - self.lastId - 1
        if (self.lastId === undefined || t > self.lastId) self.lastId = t
      })
  }
  return self
}

/** The status-line quote of a book or tape. */
export const quote = (view: Book | Tape): string => {
  if (view.kind === "tape") return view.lastId === undefined ? "(no trade yet)" : `${view.lastPrice} #${view.lastId}`
  const { ask, bid } = view.best()
  return view.synced ? `${bid ?? "-"} / ${ask ?? "-"}` : "(resyncing)"
}
