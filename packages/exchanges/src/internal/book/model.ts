/**
 * The public models of order books — status, reasons, levels, reads,
 * events, errors — in one module the book's parts share; `OrderBook`
 * re-exports every one.
 */
import * as Data from "effect/Data"
import * as Schema from "effect/Schema"

/**
 * Why a book left `Live`: a sequence `gap`, a `checksum` mismatch, a
 * `crossed` book (best bid at or above best ask), a `reconnect` or rotation
 * of its connection, a `stale` snapshot or a quiet stream, a venue
 * `restart` of the stream's numbering, or a `periodic` full resync.
 *
 * @category models
 * @since 0.1.0
 */
export type ResyncReason = "gap" | "checksum" | "crossed" | "reconnect" | "stale" | "restart" | "periodic"

/**
 * Where a book stands: `Syncing` (never live yet: waiting for its first
 * snapshot, or its REST snapshot's turn in the venue's budget), `Live`
 * (every message since the snapshot applied cleanly), `Resyncing` (it was
 * live; `reason` says what broke, and it is being rebuilt), or `Failed`
 * (the venue refused the symbol for good, or its snapshot could not be
 * fetched: `reason` says which; only this book is affected).
 *
 * @category models
 * @since 0.1.0
 */
export type Status = Data.TaggedEnum<{
  Syncing: { readonly since: number }
  Live: { readonly since: number }
  Resyncing: { readonly reason: ResyncReason; readonly since: number }
  Failed: { readonly reason: string; readonly since: number }
}>

/**
 * Constructors and matchers for `Status` (`Status.$is("Live")`, `Status.$match`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const Status = Data.taggedEnum<Status>()

/**
 * A price level: price and size as numbers.
 *
 * @category models
 * @since 0.1.0
 */
export interface Level {
  readonly price: number
  readonly size: number
}

/**
 * The top of a book when read: best bid and ask (undefined on an empty
 * side), the book's `status` at that moment (a read never hides that a book
 * is not live), the venue's last update id applied (NaN where the venue
 * sends none) and the `Clock` time of the last change, epoch ms.
 *
 * @category models
 * @since 0.1.0
 */
export interface Top {
  readonly symbol: string
  readonly status: Status
  readonly bid: Level | undefined
  readonly ask: Level | undefined
  readonly updateId: number
  readonly at: number
}

/**
 * A copy of a book's best levels when read (bids high to low, asks low to
 * high), with its `status`, last update id and time of the last change.
 *
 * @category models
 * @since 0.1.0
 */
export interface Snapshot {
  readonly symbol: string
  readonly status: Status
  readonly bids: ReadonlyArray<Level>
  readonly asks: ReadonlyArray<Level>
  readonly updateId: number
  readonly at: number
}

/**
 * What happened to books: `StatusChanged` (every transition), `Resynced`
 * (live again after `reason`, `took` ms), `SnapshotRequested` (a REST
 * snapshot left the budget queue: its `weight` and how long it `waited`),
 * `Throttled` (the venue answered 429 or 418: REST paused for `retryAfter`
 * ms), `SequenceReset` (the venue restarted a book's numbering as it
 * documents, e.g. OKX after maintenance; the book stays live),
 * `SnapshotStale` (a REST snapshot ended at `lastUpdateId` but the stream
 * went on from `first`, past it: it is fetched again) and `RestFailed` (a
 * snapshot request failed; it is retried). `at` is the
 * `Clock` time in epoch ms.
 *
 * @category models
 * @since 0.1.0
 */
export type BookEvent = Data.TaggedEnum<{
  StatusChanged: { readonly at: number; readonly symbol: string; readonly from: Status; readonly to: Status }
  Resynced: { readonly at: number; readonly symbol: string; readonly reason: ResyncReason; readonly took: number }
  SnapshotRequested: { readonly at: number; readonly symbol: string; readonly weight: number; readonly waited: number }
  Throttled: { readonly at: number; readonly venue: string; readonly status: number; readonly retryAfter: number }
  SequenceReset: { readonly at: number; readonly symbol: string; readonly from: number; readonly to: number }
  SnapshotStale: { readonly at: number; readonly symbol: string; readonly lastUpdateId: number; readonly first: number }
  RestFailed: { readonly at: number; readonly symbol: string; readonly reason: string; readonly attempt: number }
}>

/**
 * Constructors and matchers for `BookEvent`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const BookEvent = Data.taggedEnum<BookEvent>()

/**
 * A read that needs a live book found it in another state: `status` names
 * it (`Syncing`, `Resyncing` or `Failed`) and `reason` says why.
 *
 * @category errors
 * @since 0.1.0
 */
export class NotLive extends Schema.TaggedError<NotLive>()("NotLive", {
  symbol: Schema.String,
  status: Schema.Literals(["Syncing", "Resyncing", "Failed"]),
  reason: Schema.String
}) {
  /** A message a person can act on. */
  override get message(): string {
    return `book ${this.symbol} is not live (${this.status}: ${this.reason}); wait for it (OrderBook.awaitLive) or read with its status`
  }
}

/**
 * A REST snapshot could not be had: the venue refused the symbol (`status`
 * 400, Binance code -1121), answered something unreadable, or every retry
 * failed.
 *
 * @category errors
 * @since 0.1.0
 */
export class SnapshotError extends Schema.TaggedError<SnapshotError>()("SnapshotError", {
  symbol: Schema.String,
  status: Schema.optionalKey(Schema.Number),
  permanent: Schema.Boolean,
  reason: Schema.String
}) {
  /** A message a person can act on. */
  override get message(): string {
    return `snapshot of ${this.symbol} failed${
      this.status === undefined ? "" : ` (HTTP ${this.status})`
    }: ${this.reason}`
  }
}
