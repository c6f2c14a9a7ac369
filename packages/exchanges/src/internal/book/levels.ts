/**
 * One side of a local order book, built for the per-update path: prices and
 * sizes in two parallel `Float64Array`s kept sorted so that the best level
 * is the last one (bids ascending, asks descending), with optional parallel
 * texts as received (for checksums computed over the venue's own strings:
 * a pool of text slots that never move, reached through a slot index that
 * moves with its level). A change near the top of the book, where
 * nearly all of them land, moves only the few levels above it; a change to
 * an existing level moves nothing. Nothing is allocated per change: the
 * arrays grow by doubling, and only when a side holds more levels than ever
 * before.
 */

const POWERS = [
  1,
  10,
  100,
  1e3,
  1e4,
  1e5,
  1e6,
  1e7,
  1e8,
  1e9,
  1e10,
  1e11,
  1e12,
  1e13,
  1e14,
  1e15,
  1e16,
  1e17,
  1e18,
  1e19,
  1e20,
  1e21,
  1e22
]

/**
 * Reads a plain decimal (`123.4500`: no sign, no exponent) into `out[at]`
 * without the engine's string-to-number builtin or a returned number, both
 * of which box the result: digits into an integer below 10^15 (exact),
 * divided by an exact power of ten, which IEEE division rounds correctly,
 * so the value equals `Number(text)`. Anything else (longer, signed, an
 * exponent) goes to `Number`.
 */
const decimalInto = (text: string, out: Float64Array, at: number): void => {
  let mantissa = 0
  let scale = -1
  const n = text.length
  if (n === 0 || n > 15) {
    out[at] = Number(text)
    return
  }
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48)
      if (scale >= 0) scale++
    } else if (c === 46 && scale < 0) {
      scale = 0
    } else {
      out[at] = Number(text)
      return
    }
  }
  out[at] = scale <= 0 ? mantissa : mantissa / POWERS[scale]!
}

/** `Number(text)` for the texts `decimalInto` reads (exported for tests). */
export const decimal = (text: string): number => {
  const out = new Float64Array(1)
  decimalInto(text, out, 0)
  return out[0]!
}

/** Finds `scratch[2]` among `length` ascending keys: its index, or `-(insertion point) - 1`. */
const search = (keys: Float64Array, length: number, scratch: Float64Array): number => {
  const key = scratch[2]!
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
  /** With `keepText`: each level's slot in the text pool (moves with the level; the texts never move). */
  private slots: Int32Array | undefined
  private priceTexts: Array<string> | undefined
  private sizeTexts: Array<string> | undefined
  /** Free slots of the text pool, a stack. */
  private free: Int32Array | undefined
  private freeCount = 0
  /** Levels held. */
  length = 0
  readonly bids: boolean

  constructor(bids: boolean, keepText = false, capacity = 64) {
    this.bids = bids
    this.keys = new Float64Array(capacity)
    this.sizes = new Float64Array(capacity)
    if (keepText) {
      this.slots = new Int32Array(capacity)
      this.priceTexts = new Array<string>(capacity).fill("")
      this.sizeTexts = new Array<string>(capacity).fill("")
      this.free = new Int32Array(capacity)
      for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i
      this.freeCount = capacity
    }
  }

  /** Removes every level. */
  clear(): void {
    if (this.slots !== undefined) {
      for (let i = 0; i < this.length; i++) this.free![this.freeCount++] = this.slots[i]!
    }
    this.length = 0
  }

  /**
   * Sets a level: size 0 (or less) removes it. Texts are kept when the side
   * was made with `keepText`. Returns the level's rank from the best (0 for
   * the top) before or after the change, or -1 when nothing changed.
   */
  set(price: number, size: number, priceText = "", sizeText = ""): number {
    this.scratch[0] = price
    this.scratch[1] = size
    return this.put(priceText, sizeText)
  }

  /**
   * `set` from the texts as received: the numbers are read here, so no
   * number crosses a call boundary (where the engine would box it) on the
   * per-level path.
   */
  setText(priceText: string, sizeText: string): number {
    decimalInto(priceText, this.scratch, 0)
    decimalInto(sizeText, this.scratch, 1)
    return this.put(priceText, sizeText)
  }

  /** Price, size and key travel in `scratch`: numbers passed between functions would be boxed. */
  private readonly scratch = new Float64Array(3)

  private put(priceText: string, sizeText: string): number {
    const scratch = this.scratch
    const size = scratch[1]!
    const key = this.bids ? scratch[0]! : -scratch[0]!
    scratch[2] = key
    const at = search(this.keys, this.length, scratch)
    if (at >= 0) {
      if (size > 0) {
        this.sizes[at] = size
        if (this.slots !== undefined) {
          const slot = this.slots[at]!
          this.sizeTexts![slot] = sizeText
          this.priceTexts![slot] = priceText
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
      if (this.slots !== undefined) this.slots.copyWithin(insert + 1, insert, this.length)
    }
    this.keys[insert] = key
    this.sizes[insert] = size
    if (this.slots !== undefined) {
      const slot = this.free![--this.freeCount]!
      this.slots[insert] = slot
      this.sizeTexts![slot] = sizeText
      this.priceTexts![slot] = priceText
    }
    this.length++
    return this.length - 1 - insert
  }

  private removeAt(at: number): void {
    if (this.slots !== undefined) this.free![this.freeCount++] = this.slots[at]!
    const next = at + 1
    if (next < this.length) {
      this.keys.copyWithin(at, next, this.length)
      this.sizes.copyWithin(at, next, this.length)
      if (this.slots !== undefined) this.slots.copyWithin(at, next, this.length)
    }
    this.length--
  }

  private grow(): void {
    const capacity = Math.max(16, this.keys.length * 2)
    const keys = new Float64Array(capacity)
    keys.set(this.keys)
    const sizes = new Float64Array(capacity)
    sizes.set(this.sizes)
    const old = this.keys.length
    this.keys = keys
    this.sizes = sizes
    if (this.slots !== undefined) {
      const slots = new Int32Array(capacity)
      slots.set(this.slots)
      this.slots = slots
      // Every slot is in use when the side is full: the new ones are free.
      const free = new Int32Array(capacity)
      this.freeCount = 0
      for (let i = capacity - 1; i >= old; i--) free[this.freeCount++] = i
      this.free = free
      for (let i = old; i < capacity; i++) {
        this.sizeTexts!.push("")
        this.priceTexts!.push("")
      }
    }
  }

  /** Keeps the best `depth` levels, dropping the rest. */
  truncate(depth: number): void {
    if (this.length <= depth) return
    const drop = this.length - depth
    if (this.slots !== undefined) {
      for (let i = 0; i < drop; i++) this.free![this.freeCount++] = this.slots[i]!
      this.slots.copyWithin(0, drop, this.length)
    }
    this.keys.copyWithin(0, drop, this.length)
    this.sizes.copyWithin(0, drop, this.length)
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
    return this.slots === undefined
      ? String(this.price(rank))
      : this.priceTexts![this.slots[this.length - 1 - rank]!]!
  }

  /** The size text of the `rank`-th best level, as received (with `keepText`). */
  sizeText(rank: number): string {
    return this.slots === undefined
      ? String(this.size(rank))
      : this.sizeTexts![this.slots[this.length - 1 - rank]!]!
  }

  /** The best `depth` levels, best first, as `[price, size]` pairs (a copy). */
  top(depth: number): Array<readonly [price: number, size: number]> {
    const n = Math.min(depth, this.length)
    const out = new Array<readonly [number, number]>(n)
    for (let i = 0; i < n; i++) out[i] = [this.price(i), this.size(i)]
    return out
  }
}
