/**
 * The true order book of one venue's instrument and the random process that changes it. Prices and sizes
 * are integers (ticks and lots), formatted only at the edge. Each side keeps its prices sorted best first
 * (binary search, so a change costs O(log n) plus a short array move), and each `next` applies one update
 * of a random number of level changes: sizes changed, levels inserted and deleted at random depths (biased
 * toward the top), the best level taken away or improved so the top of book moves. Every update gets the
 * next range of update ids (Binance `U`..`u`) and the next message sequence (`seq`).
 *
 * `DepthView` is what a depth-limited subscription sees: after each update it works out which levels of
 * its top `depth` changed, left or entered, so depth-limited venues can send exactly that.
 */
import type { Instrument, Rng } from "./Market.ts"
import { basePrice } from "./Market.ts"

/** One price level change: `qty` 0 removes the level. */
export type LevelChange = readonly [price: number, qty: number]

/** One side of a book, best first: bids high to low, asks low to high. */
export class Side {
  readonly bid: boolean
  /** Prices, best first. */
  readonly prices: Array<number> = []
  readonly sizes = new Map<number, number>()

  constructor(bid: boolean) {
    this.bid = bid
  }

  /** Whether price `a` is strictly better than `b` on this side. */
  better(a: number, b: number): boolean {
    return this.bid ? a > b : a < b
  }

  /** The index of `price` in `prices`, or where it would be inserted. */
  position(price: number): number {
    let lo = 0
    let hi = this.prices.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const p = this.prices[mid] as number
      if (this.better(p, price)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Sets a level's size (0 removes it); returns the previous size (0 when absent). */
  set(price: number, qty: number): number {
    const prev = this.sizes.get(price) ?? 0
    if (qty === 0) {
      if (prev === 0) return 0
      this.sizes.delete(price)
      this.prices.splice(this.position(price), 1)
      return prev
    }
    if (prev === 0) this.prices.splice(this.position(price), 0, price)
    this.sizes.set(price, qty)
    return prev
  }

  /** The best `n` levels. */
  top(n: number): Array<LevelChange> {
    const out: Array<LevelChange> = []
    const end = Math.min(n, this.prices.length)
    for (let i = 0; i < end; i++) {
      const p = this.prices[i] as number
      out.push([p, this.sizes.get(p) ?? 0])
    }
    return out
  }
}

/** The changes of one book update (final size of each touched level), with its update ids and sequence. */
export interface BookChange {
  readonly bids: ReadonlyArray<LevelChange>
  readonly asks: ReadonlyArray<LevelChange>
  /** Size of each touched bid level before the update (0: it did not exist), index-aligned with `bids`. */
  readonly bidsBefore: ReadonlyArray<number>
  readonly asksBefore: ReadonlyArray<number>
  /** First update id in this change (Binance `U`). */
  readonly first: number
  /** Last update id in this change (Binance `u`). */
  readonly last: number
  /** Message sequence: previous change's `seq` plus one. */
  readonly seq: number
  readonly time: number
}

/**
 * How a book moves: `levels` per side at the start (it then settles near 0.8 times that and never grows past
 * 1.25 times it) and the most level changes in one update.
 */
export interface Shape {
  readonly levels: number
  readonly maxChanges: number
}

interface Undo {
  readonly lastUpdateId: number
  readonly bids: ReadonlyArray<LevelChange>
  readonly asks: ReadonlyArray<LevelChange>
}

/** How many past updates a book can undo (for stale snapshots). */
export const history = 256

/** A book state in the past: its last update id and its levels, best first. */
export interface PastBook {
  readonly lastUpdateId: number
  readonly bids: ReadonlyArray<LevelChange>
  readonly asks: ReadonlyArray<LevelChange>
}

/** The true book of one instrument. */
export class OrderBook {
  readonly instrument: Instrument
  readonly shape: Shape
  readonly random: Rng
  readonly step: number
  readonly bids = new Side(true)
  readonly asks = new Side(false)
  /** The last update id applied (Binance `lastUpdateId`). */
  lastUpdateId: number
  /** The last message sequence (OKX `seqId`); a `seqReset` sets it lower. */
  seq: number
  /** Depth → view, for depth-limited streams. */
  readonly views = new Map<number, DepthView>()
  /** The last `history` updates' undo records, a ring: the newest at `undoNext - 1`. */
  private readonly undo: Array<Undo | undefined> = new Array(history)
  private undoNext = 0
  private undoCount = 0

  constructor(symbol: string, instrument: Instrument, shape: Shape, random: Rng, firstId: number) {
    this.instrument = instrument
    this.shape = shape
    this.random = random
    this.step = 10 ** Math.max(0, instrument.priceDecimals - 1)
    const mid = basePrice(symbol) * 10 ** instrument.priceDecimals
    this.lastUpdateId = firstId - 1
    this.seq = firstId - 1
    for (let k = 1; k <= shape.levels; k++) {
      this.bids.set(mid - k * this.step, this.randomQty())
      this.asks.set(mid + k * this.step, this.randomQty())
    }
  }

  private randomQty(): number {
    return (1 + Math.floor(this.random() * 5000)) * 10 ** Math.max(0, this.instrument.qtyDecimals - 4)
  }

  /** A random index into a side of `n` levels, biased toward the top. */
  private randomIndex(n: number): number {
    return Math.min(n - 1, Math.floor(this.random() ** 2 * n))
  }

  /** A price not on `side`, that does not cross the other side; undefined after a few misses. */
  private freshPrice(side: Side, other: Side, improve: boolean): number | undefined {
    const best = side.prices[0]
    const opposite = other.prices[0]
    for (let tries = 0; tries < 8; tries++) {
      let price: number
      if (improve || best === undefined) {
        const anchor = best ?? (opposite !== undefined ? opposite + (side.bid ? -2 : 2) * this.step : 0)
        price = anchor + (side.bid ? 1 : -1) * this.step * (1 + Math.floor(this.random() * 2))
      } else {
        const k = Math.floor(this.random() ** 2 * (side.prices.length + 10))
        price = best + (side.bid ? -k : k) * this.step
      }
      if (price <= 0 || side.sizes.has(price)) continue
      if (opposite !== undefined && (side.bid ? price >= opposite : price <= opposite)) continue
      return price
    }
    return undefined
  }

  /** Applies and returns the next update: 1 to `maxChanges` level changes on distinct prices. */
  next(now: number): BookChange {
    const bids: Array<LevelChange> = []
    const asks: Array<LevelChange> = []
    const bidsBefore: Array<number> = []
    const asksBefore: Array<number> = []
    const count = 1 + Math.floor(this.random() * this.shape.maxChanges)
    for (let i = 0; i < count; i++) {
      const isBid = this.random() < 0.5
      const side = isBid ? this.bids : this.asks
      const other = isBid ? this.asks : this.bids
      const out = isBid ? bids : asks
      const before = isBid ? bidsBefore : asksBefore
      const n = side.prices.length
      const r = this.random()
      const fill = n / this.shape.levels
      let price: number | undefined
      let qty = 0
      if (n > 1 && r < 0.05) {
        price = side.prices[0] // the best level goes away
      } else if (r < 0.1 || n === 0) {
        price = this.freshPrice(side, other, true) // a new best level
        qty = this.randomQty()
      } else if (r < 0.1 + 0.2 * fill && n > 1) {
        price = side.prices[this.randomIndex(n)] // a level deleted
      } else if (r < 0.3 + 0.1 / fill) {
        price = this.freshPrice(side, other, false) // a level inserted
        qty = this.randomQty()
      } else {
        price = side.prices[this.randomIndex(n)] // a size changed
        qty = this.randomQty()
      }
      if (price === undefined || out.some((l) => l[0] === price)) continue
      // a side never grows past 1.25 times `levels`: a REST snapshot of that many levels holds it all
      if (qty > 0 && n >= this.shape.levels * 1.25 && !side.sizes.has(price)) continue
      before.push(side.set(price, qty))
      out.push([price, qty])
    }
    if (bids.length + asks.length === 0) {
      const price = this.bids.prices[0] ?? this.freshPrice(this.bids, this.asks, true) ?? this.step
      const qty = this.randomQty()
      bidsBefore.push(this.bids.set(price, qty))
      bids.push([price, qty])
    }
    const first = this.lastUpdateId + 1
    this.lastUpdateId += bids.length + asks.length + Math.floor(this.random() * 3)
    this.seq += 1
    this.undo[this.undoNext] = {
      lastUpdateId: first - 1,
      bids: bids.map((l, i) => [l[0], bidsBefore[i] ?? 0]),
      asks: asks.map((l, i) => [l[0], asksBefore[i] ?? 0])
    }
    this.undoNext = (this.undoNext + 1) % history
    this.undoCount = Math.min(this.undoCount + 1, history)
    const change: BookChange = {
      bids,
      asks,
      bidsBefore,
      asksBefore,
      first,
      last: this.lastUpdateId,
      seq: this.seq,
      time: now
    }
    for (const view of this.views.values()) view.update(change)
    return change
  }

  /** The best `n` levels of a side: bids high to low, asks low to high. */
  top(side: "bids" | "asks", n: number): Array<LevelChange> {
    return (side === "bids" ? this.bids : this.asks).top(n)
  }

  /** A level that crosses the book: a bid one step above the best ask, never applied to the book. */
  crossingBid(): LevelChange {
    const ask = this.asks.prices[0] ?? this.bids.prices[0] ?? this.step
    return [ask + this.step, 10 ** this.instrument.qtyDecimals]
  }

  /** The view of the top `depth` levels (created on first use); `explicitOut` as in `DepthView`. */
  view(depth: number, explicitOut: boolean): DepthView {
    let view = this.views.get(depth)
    if (view === undefined) {
      view = new DepthView(this, depth, explicitOut)
      this.views.set(depth, view)
    }
    return view
  }

  /** How many updates back `past` can go. */
  get undoable(): number {
    return this.undoCount
  }

  /** The book `behind` updates ago (at most `history`), or undefined when not that many updates happened. */
  past(behind: number): PastBook | undefined {
    if (behind < 1 || behind > this.undoCount) return undefined
    const bids = new Map(this.bids.sizes)
    const asks = new Map(this.asks.sizes)
    let lastUpdateId = this.lastUpdateId
    for (let k = 1; k <= behind; k++) {
      const u = this.undo[(this.undoNext - k + history) % history] as Undo
      for (const [p, q] of u.bids) restore(bids, p, q)
      for (const [p, q] of u.asks) restore(asks, p, q)
      lastUpdateId = u.lastUpdateId
    }
    return {
      lastUpdateId,
      bids: [...bids].sort((a, b) => b[0] - a[0]),
      asks: [...asks].sort((a, b) => a[0] - b[0])
    }
  }
}

const restore = (side: Map<number, number>, price: number, qty: number): void => {
  if (qty === 0) side.delete(price)
  else side.set(price, qty)
}

/**
 * The top `depth` levels of a book as a subscription of that depth sees them. After each update `last`
 * holds the levels to send: touched levels now within the depth (with their size), touched levels that
 * were within it and are gone or fell out (size 0), and untouched levels that entered it because levels
 * above them went away. Untouched levels pushed out by new levels above them are sent as deletions when
 * `explicitOut` (OKX, Bybit); Kraken sends none and its clients truncate to the depth, as its guide asks.
 * `seq` and `restart` are the venue's own per-view state (Bybit's `u`).
 */
export class DepthView {
  readonly book: OrderBook
  readonly depth: number
  readonly explicitOut: boolean
  /** The levels to send for the latest update; both empty when nothing within the depth changed. */
  last: { readonly bids: ReadonlyArray<LevelChange>; readonly asks: ReadonlyArray<LevelChange> } = {
    bids: [],
    asks: []
  }
  /** The venue's message counter for this view (Bybit `u`). */
  seq: number
  /** A restart is pending: the next message is a snapshot numbered 1 (Bybit after a service restart). */
  restart = false
  private bidEdge: number | undefined
  private askEdge: number | undefined

  constructor(book: OrderBook, depth: number, explicitOut: boolean) {
    this.book = book
    this.depth = depth
    this.explicitOut = explicitOut
    this.seq = book.seq
    this.bidEdge = book.bids.prices[depth - 1]
    this.askEdge = book.asks.prices[depth - 1]
  }

  /** Whether this update changed anything within the depth. */
  get changed(): boolean {
    return this.last.bids.length + this.last.asks.length > 0
  }

  /** Works out `last` for an update just applied to the book. */
  update(change: BookChange): void {
    const bids = this.side(this.book.bids, change.bids, change.bidsBefore, this.bidEdge)
    const asks = this.side(this.book.asks, change.asks, change.asksBefore, this.askEdge)
    this.bidEdge = this.book.bids.prices[this.depth - 1]
    this.askEdge = this.book.asks.prices[this.depth - 1]
    this.last = { bids, asks }
  }

  private side(
    side: Side,
    touched: ReadonlyArray<LevelChange>,
    before: ReadonlyArray<number>,
    oldEdge: number | undefined
  ): Array<LevelChange> {
    const out: Array<LevelChange> = []
    const newEdge = side.prices[this.depth - 1]
    const within = (p: number, edge: number | undefined) => edge === undefined || !side.better(edge, p)
    const isTouched = (p: number) => touched.some((l) => l[0] === p)
    for (let i = 0; i < touched.length; i++) {
      const [p, q] = touched[i] as LevelChange
      const inNew = q > 0 && within(p, newEdge)
      const inOld = (before[i] ?? 0) > 0 && within(p, oldEdge)
      if (inNew) out.push([p, q])
      else if (inOld && (q === 0 || this.explicitOut)) out.push([p, 0])
    }
    // untouched levels that entered: within the new depth, beyond the old edge
    if (oldEdge !== undefined) {
      for (let i = Math.min(this.depth, side.prices.length) - 1; i >= 0; i--) {
        const p = side.prices[i] as number
        if (!side.better(oldEdge, p)) break
        if (!isTouched(p)) out.push([p, side.sizes.get(p) ?? 0])
      }
    }
    // untouched levels pushed out: beyond the new depth, within the old edge
    if (this.explicitOut && newEdge !== undefined) {
      for (let i = this.depth; i < side.prices.length; i++) {
        const p = side.prices[i] as number
        if (!within(p, oldEdge)) break
        if (!isTouched(p)) out.push([p, 0])
      }
    }
    return out
  }
}
