/**
 * Books of venues that send their snapshots on the socket: OKX `books`
 * (`seqId`/`prevSeqId` chaining with the documented reset, CRC32 over the
 * texts), Bybit `orderbook.N` (`u` + 1 per delta, a `u` = 1 snapshot after a
 * service restart, depth kept to N), Kraken v2 `book` (CRC32 with the pair's
 * precision, depth kept to the subscribed depth), Coinbase `level2` /
 * `level2_batch` (per-product `sequence` when the messages carry it) and
 * Hyperliquid `l2Book` (every message a whole snapshot). A broken book is
 * mended by a resubscribe, which brings a fresh snapshot.
 */
import * as Bybit from "../../Bybit.ts"
import * as Coinbase from "../../Coinbase.ts"
import * as Hyperliquid from "../../Hyperliquid.ts"
import * as Kraken from "../../Kraken.ts"
import * as Okx from "../../Okx.ts"
import type * as Venue from "../../Venue.ts"
import {
  type Adapter,
  applySnapshot,
  applyUpdate,
  field,
  numberField,
  parseJson,
  setLevels,
  stringField
} from "./adapter.ts"
import * as Checksum from "./checksum.ts"
import type { BookState } from "./state.ts"

const yes = () => true

const okxApply = (book: BookState, d: unknown): void => {
  setLevels(book.bids, field(d, "bids"), true)
  setLevels(book.asks, field(d, "asks"), true)
}

const okxVerify = (book: BookState, d: unknown): boolean => {
  const expected = numberField(d, "checksum")
  return Number.isNaN(expected) || Checksum.okx(book.bids, book.asks) === expected
}

/** OKX `books` (or `books-l2-tbt`, `books50-l2-tbt`): snapshot + updates, chained by `prevSeqId`, CRC32 checked. */
export const okx = (channel = "books", profile: Venue.Profile = Okx.publicProfile): Adapter<unknown> => ({
  venue: "okx",
  profile,
  keepText: true,
  topic: (symbol) => Okx.topic(channel, symbol),
  key: (symbol) => symbol,
  parse: parseJson,
  dispatch: (msg, books, ctx) => {
    const instId = stringField(field(msg, "arg"), "instId")
    const data = field(msg, "data")
    const book = instId === undefined ? undefined : books.get(instId)
    if (book === undefined || !Array.isArray(data)) return
    const snapshot = field(msg, "action") === "snapshot"
    for (let i = 0; i < data.length; i++) {
      const d: unknown = data[i]
      const seqId = numberField(d, "seqId")
      const prev = numberField(d, "prevSeqId")
      if (snapshot || prev < 0) applySnapshot(book, seqId, okxApply, okxVerify, d)
      else {
        const from = book.seq
        applyUpdate(book, seqId, seqId, prev, okxApply, okxVerify, d)
        // OKX's documented reset: chained on the last id, numbered lower.
        if (book.live && book.seq === seqId && seqId < prev && prev === from) ctx.reset(book, from, seqId)
      }
    }
  },
  repair: "resubscribe"
})

/** Bybit `orderbook.{depth}.{symbol}`: snapshot + deltas, `u` + 1 per delta, a `u` = 1 snapshot on a restart. */
export const bybit = (depth: 1 | 50 | 200 | 1000 = 50, profile: Venue.Profile = Bybit.spot): Adapter<unknown> => {
  const apply = (book: BookState, data: unknown): void => {
    setLevels(book.bids, field(data, "b"), false)
    setLevels(book.asks, field(data, "a"), false)
    book.bids.truncate(depth)
    book.asks.truncate(depth)
  }
  return {
    venue: profile.venue,
    profile,
    keepText: false,
    topic: (symbol) => Bybit.orderbook(symbol, depth),
    key: (symbol) => symbol.toUpperCase(),
    parse: parseJson,
    dispatch: (msg, books) => {
      const data = field(msg, "data")
      const s = stringField(data, "s")
      const book = s === undefined ? undefined : books.get(s)
      if (book === undefined) return
      const u = numberField(data, "u")
      if (field(msg, "type") === "snapshot") {
        // A `u` = 1 snapshot on a book past 1: the venue restarted the stream.
        if (u === 1 && book.seq > 1 && book.live) book.resync("restart", false)
        applySnapshot(book, u, apply, yes, data)
      } else {
        applyUpdate(book, u, u, Number.NaN, apply, yes, data)
      }
    },
    repair: "resubscribe"
  }
}

/** Kraken v2 `book`: snapshot + updates, depth kept to `depth`, CRC32 with the pair's precision. */
export const kraken = (
  precision: (symbol: string) => Kraken.Precision,
  depth = 10,
  profile: Venue.Profile = Kraken.spot
): Adapter<unknown> => {
  const apply = (book: BookState, d: unknown): void => {
    krakenLevels(book, field(d, "bids"), true)
    krakenLevels(book, field(d, "asks"), false)
    book.bids.truncate(depth)
    book.asks.truncate(depth)
  }
  const verify = (book: BookState, d: unknown): boolean => {
    const expected = numberField(d, "checksum")
    return Number.isNaN(expected) || Checksum.kraken(book.bids, book.asks, precision(book.symbol)) === expected
  }
  return {
    venue: "kraken",
    profile,
    keepText: false,
    topic: (symbol) => Kraken.topic("book", symbol),
    key: (symbol) => symbol,
    parse: (text) => text.startsWith('{"channel":"book"') ? parseJson(text) : undefined,
    dispatch: (msg, books) => {
      const data = field(msg, "data")
      if (!Array.isArray(data)) return
      const snapshot = field(msg, "type") === "snapshot"
      for (let i = 0; i < data.length; i++) {
        const d: unknown = data[i]
        const symbol = stringField(d, "symbol")
        const book = symbol === undefined ? undefined : books.get(symbol)
        if (book === undefined) continue
        if (snapshot) applySnapshot(book, Number.NaN, apply, verify, d)
        else applyUpdate(book, Number.NaN, Number.NaN, Number.NaN, apply, verify, d)
      }
    },
    repair: "resubscribe"
  }
}

const krakenLevels = (book: BookState, levels: unknown, bids: boolean): void => {
  if (!Array.isArray(levels)) return
  const side = bids ? book.bids : book.asks
  for (let i = 0; i < levels.length; i++) {
    const level: unknown = levels[i]
    const price = numberField(level, "price")
    const qty = numberField(level, "qty")
    if (!Number.isNaN(price) && !Number.isNaN(qty)) side.set(price, qty)
  }
}

/**
 * Coinbase Exchange `level2_batch` (public) or `level2`: a `snapshot`, then
 * `l2update`s of `[side, price, size]` changes; where the messages carry a
 * per-product `sequence`, it must go up by one.
 */
export const coinbase = (channel = "level2_batch", profile: Venue.Profile = Coinbase.exchange): Adapter<unknown> => ({
  venue: "coinbase",
  profile,
  keepText: false,
  topic: (symbol) => Coinbase.topic(channel, symbol),
  key: (symbol) => symbol,
  parse: (text) =>
    text.includes('"type":"l2update"') || text.includes('"type":"snapshot"') ? parseJson(text) : undefined,
  dispatch: (msg, books) => {
    const product = stringField(msg, "product_id")
    const book = product === undefined ? undefined : books.get(product)
    if (book === undefined) return
    const sequence = numberField(msg, "sequence")
    if (field(msg, "type") === "snapshot") return applySnapshot(book, sequence, coinbaseSnapshot, yes, msg)
    applyUpdate(book, sequence, sequence, Number.NaN, coinbaseChanges, yes, msg)
  },
  repair: "resubscribe"
})

const coinbaseSnapshot = (book: BookState, msg: unknown): void => {
  setLevels(book.bids, field(msg, "bids"), false)
  setLevels(book.asks, field(msg, "asks"), false)
}

const coinbaseChanges = (book: BookState, msg: unknown): void => {
  const changes = field(msg, "changes")
  if (!Array.isArray(changes)) return
  for (let i = 0; i < changes.length; i++) {
    const change: unknown = changes[i]
    if (!Array.isArray(change)) continue
    const side: unknown = change[0]
    const p: unknown = change[1]
    const s: unknown = change[2]
    if (typeof p !== "string" || typeof s !== "string") continue
    ;(side === "buy" ? book.bids : book.asks).set(Number(p), Number(s))
  }
}

/** Hyperliquid `l2Book`: every message replaces the book. */
export const hyperliquid = (profile: Venue.Profile = Hyperliquid.mainnet): Adapter<unknown> => ({
  venue: "hyperliquid",
  profile,
  keepText: false,
  topic: (symbol) => Hyperliquid.topic("l2Book", symbol),
  key: (symbol) => symbol,
  parse: (text) => text.startsWith('{"channel":"l2Book"') ? parseJson(text) : undefined,
  dispatch: (msg, books) => {
    const data = field(msg, "data")
    const coin = stringField(data, "coin")
    const book = coin === undefined ? undefined : books.get(coin)
    const levels = field(data, "levels")
    if (book === undefined || !Array.isArray(levels)) return
    applySnapshot(book, numberField(data, "time"), hyperliquidApply, yes, levels)
  },
  repair: "resubscribe"
})

const hyperliquidApply = (book: BookState, levels: ReadonlyArray<unknown>): void => {
  hyperliquidLevels(book, levels[0], true)
  hyperliquidLevels(book, levels[1], false)
}

const hyperliquidLevels = (book: BookState, levels: unknown, bids: boolean): void => {
  if (!Array.isArray(levels)) return
  const side = bids ? book.bids : book.asks
  for (let i = 0; i < levels.length; i++) {
    const level: unknown = levels[i]
    const px = stringField(level, "px")
    const sz = stringField(level, "sz")
    if (px !== undefined && sz !== undefined) side.set(Number(px), Number(sz))
  }
}
