/**
 * One symbol's book and its lifecycle: the two sides, the last update id
 * applied, the status with its guarded transitions (`Syncing` → `Live` →
 * `Resyncing{reason}` → `Live`, or `Failed`), the crossed-book check after
 * every message, and the hand-off of top-of-book changes to whoever
 * listens. The venue rules (what a message means, what repairs a book) live
 * in the adapters; this module knows none of them. All of it runs
 * synchronously on the set's one reader fiber or a snapshot fiber, so no
 * lock is needed: each call completes before another can start.
 */
import { Hub } from "@kharbranth/core"
import * as PubSub from "effect/PubSub"
import { Side } from "./levels.ts"
import { BookEvent, type Level, type ResyncReason, type Snapshot, Status, type Top } from "./model.ts"

/** What a book needs from the set it belongs to. */
export interface Host {
  readonly now: () => number
  readonly emit: (event: BookEvent) => void
  /** Starts the adapter's repair for `book` (a REST snapshot, a resubscribe). */
  readonly repair: (book: BookState, reason: ResyncReason) => void
}

/** One symbol's book. */
export class BookState {
  readonly symbol: string
  readonly topic: string
  readonly bids: Side
  readonly asks: Side
  /** Last venue update id applied; NaN when none (or the venue sends none). */
  seq = Number.NaN
  status: Status
  /** When the current repair began (for `Resynced.took`). */
  private troubleSince: number
  /** Bumped by every repair: answers to an older one are ignored. */
  generation = 0
  /** Time of the last change. */
  at: number
  /** Adapter-owned scratch: a buffered stream while a REST snapshot is on its way. */
  buffer: Array<unknown> = []
  /** Adapter-owned flag: the next message must prove it continues the book (after a reconnect, or a REST snapshot). */
  awaitFirst = false
  /** Adapter-owned flag: the book came from a REST snapshot not yet bridged by an event. */
  fromRest = false
  /** Adapter-owned flag: messages are buffered while a REST snapshot is on its way. */
  buffering = false
  /** Updates are ignored until a snapshot arrives on the socket (at start, and after a repair by resubscribe). */
  awaitSnapshot = true
  /** Top-of-book changes, for `changes` (fed only while someone listens). */
  readonly tops = new Hub.Hub<Top>(64, "sliding", 0)
  /** A tick per applied message, for full-book streams (fed only while someone listens). */
  readonly applied = new Hub.Hub<number>(64, "sliding", 0)
  /** Status transitions; replays the current one to each new subscriber. */
  readonly statuses: PubSub.PubSub<Status>
  private lastBid = Number.NaN
  private lastBidSize = Number.NaN
  private lastAsk = Number.NaN
  private lastAskSize = Number.NaN
  private readonly host: Host

  constructor(
    symbol: string,
    topic: string,
    host: Host,
    keepText: boolean,
    statuses: PubSub.PubSub<Status>
  ) {
    this.symbol = symbol
    this.topic = topic
    this.host = host
    this.bids = new Side(true, keepText)
    this.asks = new Side(false, keepText)
    this.at = host.now()
    this.troubleSince = this.at
    this.status = Status.Syncing({ since: this.at })
    this.statuses = statuses
    PubSub.publishUnsafe(statuses, this.status)
  }

  get live(): boolean {
    return this.status._tag === "Live"
  }

  private transition(to: Status): void {
    const from = this.status
    this.status = to
    PubSub.publishUnsafe(this.statuses, to)
    this.host.emit(BookEvent.StatusChanged({ at: this.host.now(), symbol: this.symbol, from, to }))
  }

  /** The book is whole again: `Live`, with a `Resynced` event if it was resyncing. */
  goLive(): void {
    const from = this.status
    if (from._tag === "Live" || from._tag === "Failed") return
    const now = this.host.now()
    this.transition(Status.Live({ since: now }))
    if (from._tag === "Resyncing") {
      this.host.emit(
        BookEvent.Resynced({ at: now, symbol: this.symbol, reason: from.reason, took: now - this.troubleSince })
      )
    }
  }

  /**
   * The book is wrong or unproven: leaves `Live` (a book never live stays
   * `Syncing`) and, when `repair` is set, starts the adapter's repair.
   * A book already resyncing keeps its first reason.
   */
  resync(reason: ResyncReason, repair = true): void {
    if (this.status._tag === "Failed") return
    this.generation++
    if (this.status._tag === "Live") {
      this.troubleSince = this.host.now()
      this.transition(Status.Resyncing({ reason, since: this.troubleSince }))
    }
    if (repair) this.host.repair(this, reason)
  }

  /** Only this book is broken for good (an unknown symbol). */
  fail(reason: string): void {
    if (this.status._tag === "Failed") return
    this.generation++
    this.transition(Status.Failed({ reason, since: this.host.now() }))
  }

  /** Starts over (a `Failed` book asked to resync by its user). */
  restart(): void {
    if (this.status._tag !== "Failed") return
    this.troubleSince = this.host.now()
    this.transition(Status.Syncing({ since: this.troubleSince }))
  }

  /** Empties both sides. */
  clear(): void {
    this.bids.clear()
    this.asks.clear()
  }

  /** Whether the best bid is at or above the best ask. */
  get crossed(): boolean {
    return this.bids.length > 0 && this.asks.length > 0 && this.bids.price(0) >= this.asks.price(0)
  }

  /**
   * After a message was applied: a crossed book resyncs; otherwise it goes
   * `Live` when `proven` (and was not), and listeners hear of it (a
   * top-of-book change, an applied tick). Returns false when the book was
   * found crossed.
   */
  settle(proven: boolean): boolean {
    this.at = this.host.now()
    if (this.crossed) {
      this.resync("crossed")
      return false
    }
    if (proven && this.status._tag !== "Live") this.goLive()
    if (this.applied.wanted) this.applied.publish([this.seq])
    if (!this.tops.wanted) return true
    const bid = this.bids.price(0)
    const bidSize = this.bids.size(0)
    const ask = this.asks.price(0)
    const askSize = this.asks.size(0)
    if (
      same(bid, this.lastBid) && same(bidSize, this.lastBidSize) && same(ask, this.lastAsk) &&
      same(askSize, this.lastAskSize)
    ) return true
    this.lastBid = bid
    this.lastBidSize = bidSize
    this.lastAsk = ask
    this.lastAskSize = askSize
    // A sliding hub never suspends: the batch is placed before `publish` returns.
    this.tops.publish([this.top()])
    return true
  }

  /** The top of the book now. */
  top(): Top {
    return {
      symbol: this.symbol,
      status: this.status,
      bid: level(this.bids, 0),
      ask: level(this.asks, 0),
      updateId: this.seq,
      at: this.at
    }
  }

  /** A copy of the best `depth` levels of each side now. */
  snapshot(depth: number): Snapshot {
    return {
      symbol: this.symbol,
      status: this.status,
      bids: levels(this.bids, depth),
      asks: levels(this.asks, depth),
      updateId: this.seq,
      at: this.at
    }
  }
}

const same = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b))

const level = (side: Side, rank: number): Level | undefined =>
  rank < side.length ? { price: side.price(rank), size: side.size(rank) } : undefined

const levels = (side: Side, depth: number): Array<Level> => {
  const n = Math.min(depth, side.length)
  const out = new Array<Level>(n)
  for (let i = 0; i < n; i++) out[i] = { price: side.price(i), size: side.size(i) }
  return out
}
