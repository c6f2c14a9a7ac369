/**
 * One side of a local order book, built for the per-update path: prices and
 * sizes in two parallel `Float64Array`s kept sorted so that the best level
 * is the last one (bids ascending, asks descending), with optional parallel
 * arrays of the price and size texts as received (for checksums computed
 * over the venue's own strings). A change near the top of the book, where
 * nearly all of them land, moves only the few levels above it; a change to
 * an existing level moves nothing. Nothing is allocated per change: the
 * arrays grow by doubling, and only when a side holds more levels than ever
 * before.
 */

/** Finds `key` among `length` ascending keys: its index, or `-(insertion point) - 1`. */
const search = (keys: Float64Array, length: number, key: number): number => {
  // Most changes land near the top (the end): try the last slots first.
  let high = length - 1
  if (high < 0 || keys[high]! < key) return -(length + 1)
  if (keys[high] === key) return high
  let low = 0
  while (low <= high) {
    const mid = (low + high) >>> 1
    const k = keys[mid]!
    if (k < key) low = mid + 1
    else if (k > key) high = mid - 1
    else return mid
  }
  return -(low + 1)
}

/** A side of a book; `bids` says which (best = highest price, or lowest). */
export class Side {
  /** Sort keys: the price for bids, minus the price for asks; ascending, best last. */
  private keys: Float64Array
  private sizes: Float64Array
  private priceTexts: Array<string> | undefined
  private sizeTexts: Array<string> | undefined
  /** Levels held. */
  length = 0
  readonly bids: boolean

  constructor(bids: boolean, keepText = false, capacity = 64) {
    this.bids = bids
    this.keys = new Float64Array(capacity)
    this.sizes = new Float64Array(capacity)
    if (keepText) {
      this.priceTexts = new Array<string>(capacity).fill("")
      this.sizeTexts = new Array<string>(capacity).fill("")
    }
  }

  /** Removes every level. */
  clear(): void {
    this.length = 0
  }

  /**
   * Sets a level: size 0 (or less) removes it. Texts are kept when the side
   * was made with `keepText`. Returns the level's rank from the best (0 for
   * the top) before or after the change, or -1 when nothing changed.
   */
  set(price: number, size: number, priceText = "", sizeText = ""): number {
    const key = this.bids ? price : -price
    const at = search(this.keys, this.length, key)
    if (at >= 0) {
      if (size > 0) {
        this.sizes[at] = size
        if (this.sizeTexts !== undefined) {
          this.sizeTexts[at] = sizeText
          this.priceTexts![at] = priceText
        }
      } else {
        this.removeAt(at)
      }
      return this.length - at - (size > 0 ? 1 : 0)
    }
    if (size <= 0) return -1
    const insert = -at - 1
    if (this.length === this.keys.length) this.grow()
    const tail = this.length - insert
    if (tail > 0) {
      this.keys.copyWithin(insert + 1, insert, this.length)
      this.sizes.copyWithin(insert + 1, insert, this.length)
      if (this.sizeTexts !== undefined) {
        this.sizeTexts.copyWithin(insert + 1, insert, this.length)
        this.priceTexts!.copyWithin(insert + 1, insert, this.length)
      }
    }
    this.keys[insert] = key
    this.sizes[insert] = size
    if (this.sizeTexts !== undefined) {
      this.sizeTexts[insert] = sizeText
      this.priceTexts![insert] = priceText
    }
    this.length++
    return this.length - 1 - insert
  }

  private removeAt(at: number): void {
    const next = at + 1
    if (next < this.length) {
      this.keys.copyWithin(at, next, this.length)
      this.sizes.copyWithin(at, next, this.length)
      if (this.sizeTexts !== undefined) {
        this.sizeTexts.copyWithin(at, next, this.length)
        this.priceTexts!.copyWithin(at, next, this.length)
      }
    }
    this.length--
  }

  private grow(): void {
    const capacity = Math.max(16, this.keys.length * 2)
    const keys = new Float64Array(capacity)
    keys.set(this.keys)
    const sizes = new Float64Array(capacity)
    sizes.set(this.sizes)
    this.keys = keys
    this.sizes = sizes
    if (this.sizeTexts !== undefined) {
      for (let i = this.sizeTexts.length; i < capacity; i++) {
        this.sizeTexts.push("")
        this.priceTexts!.push("")
      }
    }
  }

  /** Keeps the best `depth` levels, dropping the rest. */
  truncate(depth: number): void {
    if (this.length <= depth) return
    const drop = this.length - depth
    this.keys.copyWithin(0, drop, this.length)
    this.sizes.copyWithin(0, drop, this.length)
    if (this.sizeTexts !== undefined) {
      this.sizeTexts.copyWithin(0, drop, this.length)
      this.priceTexts!.copyWithin(0, drop, this.length)
    }
    this.length = depth
  }

  /** The price of the `rank`-th best level (0 = best); NaN past the end. */
  price(rank: number): number {
    if (rank >= this.length) return Number.NaN
    const key = this.keys[this.length - 1 - rank]!
    return this.bids ? key : -key
  }

  /** The size of the `rank`-th best level (0 = best); NaN past the end. */
  size(rank: number): number {
    return rank >= this.length ? Number.NaN : this.sizes[this.length - 1 - rank]!
  }

  /** The price text of the `rank`-th best level, as received (with `keepText`). */
  priceText(rank: number): string {
    return this.priceTexts?.[this.length - 1 - rank] ?? String(this.price(rank))
  }

  /** The size text of the `rank`-th best level, as received (with `keepText`). */
  sizeText(rank: number): string {
    return this.sizeTexts?.[this.length - 1 - rank] ?? String(this.size(rank))
  }

  /** The best `depth` levels, best first, as `[price, size]` pairs (a copy). */
  top(depth: number): Array<readonly [price: number, size: number]> {
    const n = Math.min(depth, this.length)
    const out = new Array<readonly [number, number]>(n)
    for (let i = 0; i < n; i++) out[i] = [this.price(i), this.size(i)]
    return out
  }
}
