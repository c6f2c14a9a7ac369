/**
 * What a venue adapter is to the book set: how a text message is read (one
 * `JSON.parse`, nothing else allocated before the levels are applied), how
 * it is applied to the books it names under the venue's sync rules, and
 * what repairs a broken book (the venue's REST snapshot, or a resubscribe
 * that brings a fresh snapshot on the socket). Helpers shared by the
 * adapters: applying `[price, size]` string levels and the sequence rules
 * of venues that number their messages.
 */
import type * as Venue from "../../Venue.ts"
import type { Side } from "./levels.ts"
import type { ResyncReason } from "./model.ts"
import type { RestSpec } from "./rest.ts"
import type { BookState } from "./state.ts"

/** What an adapter may ask of the set while applying a message. */
export interface ApplyContext {
  readonly now: () => number
  /** The venue restarted a book's numbering as it documents; the book stays live. */
  readonly reset: (book: BookState, from: number, to: number) => void
  /** A REST snapshot was older than the stream: `first` is where the stream went on past `lastUpdateId` + 1. */
  readonly staleSnapshot: (book: BookState, lastUpdateId: number, first: number) => void
}

/** A venue's book rules. `M` is one parsed message. */
export interface Adapter<M> {
  readonly venue: string
  readonly profile: Venue.Profile
  /** Whether sides keep the texts as received (checksums over the venue's strings). */
  readonly keepText: boolean
  /** The feed topic of a symbol's book. */
  readonly topic: (symbol: string) => string
  /** The key a symbol's messages name it by (the map key of its book). */
  readonly key: (symbol: string) => string
  readonly parse: (text: string) => M | undefined
  /** Applies a message to the books it names (looked up by key). */
  readonly dispatch: (msg: M, books: ReadonlyMap<string, BookState>, ctx: ApplyContext) => void
  /** What mends a book: the venue's REST snapshot, or a fresh snapshot on the socket. */
  readonly repair: "rest" | "resubscribe"
  /** The REST snapshot endpoint, for `repair: "rest"`. */
  readonly rest?: RestSpec | undefined
  /** After a REST snapshot: apply it, then replay what was buffered meanwhile. */
  readonly onRestSnapshot?: ((book: BookState, snapshot: DepthSnapshot, ctx: ApplyContext) => void) | undefined
}

/** A REST depth snapshot: `lastUpdateId` and string levels, best first. */
export interface DepthSnapshot {
  readonly lastUpdateId: number
  readonly bids: ReadonlyArray<ReadonlyArray<string>>
  readonly asks: ReadonlyArray<ReadonlyArray<string>>
}

/** Sets `[price, size, ...]` string levels on a side (size 0 removes). */
export const setLevels = (side: Side, levels: unknown, _keepText: boolean): void => {
  if (!Array.isArray(levels)) return
  for (let i = 0; i < levels.length; i++) {
    const level: unknown = levels[i]
    if (!Array.isArray(level)) continue
    const p: unknown = level[0]
    const s: unknown = level[1]
    if (typeof p !== "string" || typeof s !== "string") continue
    side.setText(p, s)
  }
}

/** A record field, or undefined. */
export const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Readonly<Record<string, unknown>>)[key] : undefined

/** A number field, or NaN. */
export const numberField = (value: unknown, key: string): number => {
  const n = field(value, key)
  return typeof n === "number" ? n : Number.NaN
}

/** A string field, or undefined. */
export const stringField = (value: unknown, key: string): string | undefined => {
  const s = field(value, key)
  return typeof s === "string" ? s : undefined
}

/** Parses a JSON object, or undefined. */
export const parseJson = (text: string): unknown => {
  if (text.length === 0 || text.charCodeAt(0) !== 123) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * Where an update of a numbered stream stands against a book: it `applies`
 * (continues the book), is a `duplicate` (already applied: a rotation's
 * overlap, a repeat), or is a `gap`. `prev` chains by the previous number
 * (OKX `prevSeqId`); without it numbers go up by one per message.
 */
export const judge = (seq: number, first: number, last: number, prev: number): "applies" | "duplicate" | "gap" => {
  if (Number.isNaN(seq)) return "applies"
  if (!Number.isNaN(prev)) {
    if (prev === seq) return "applies"
    return last <= seq && prev < seq ? "duplicate" : "gap"
  }
  if (first === seq + 1 || (first <= seq + 1 && last > seq)) return "applies"
  return last <= seq ? "duplicate" : "gap"
}

/**
 * The common path of a venue that sends its snapshots on the socket: an
 * update to a book waiting for its snapshot is ignored; one that does not
 * continue it resyncs it (`gap`); after `apply`, `verify` (a checksum) may
 * resync it (`checksum`); a crossed book resyncs; a book resyncing after a
 * reconnect is live again as soon as an update proves it continues.
 */
export const applyUpdate = <A>(
  book: BookState,
  first: number,
  last: number,
  prev: number,
  apply: (book: BookState, data: A) => void,
  verify: (book: BookState, data: A) => boolean,
  data: A
): void => {
  if (book.status._tag === "Failed" || book.awaitSnapshot) return
  const verdict = judge(book.seq, first, last, prev)
  if (verdict === "duplicate") return
  if (verdict === "gap") return resync(book, "gap")
  apply(book, data)
  if (!Number.isNaN(last)) book.seq = last
  if (!verify(book, data)) return resync(book, "checksum")
  book.settle(true)
}

/** A snapshot on the socket: replaces the book; live unless its checksum or a crossed book says otherwise. */
export const applySnapshot = <A>(
  book: BookState,
  seq: number,
  apply: (book: BookState, data: A) => void,
  verify: (book: BookState, data: A) => boolean,
  data: A
): void => {
  if (book.status._tag === "Failed") return
  book.clear()
  apply(book, data)
  book.seq = seq
  book.awaitSnapshot = false
  if (!verify(book, data)) return resync(book, "checksum")
  book.settle(true)
}

const resync = (book: BookState, reason: ResyncReason): void => book.resync(reason)
