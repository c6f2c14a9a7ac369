/**
 * The synthetic market behind every venue: a seeded random generator, a trade tape per instrument (trade
 * ids increase by one), and a small order book per instrument whose changes carry continuous update ids.
 * Prices and sizes are kept as integers (ticks and lots) and only formatted to decimal strings at the edge,
 * so checksums and sequence checks never meet floating-point noise.
 */

/** A deterministic pseudo-random generator (mulberry32) returning numbers in [0, 1). */
export type Rng = () => number

/** Creates a seeded generator, so a run can be reproduced with the same `seed`. */
export const rng = (seed: number): Rng => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** How an instrument's numbers are written: decimals of the price and of the quantity. */
export interface Instrument {
  readonly priceDecimals: number
  readonly qtyDecimals: number
}

/** Writes an integer count of the smallest unit as a fixed-point decimal string (`970001, 1` → `"97000.1"`). */
export const fixed = (units: number, decimals: number): string => {
  if (decimals === 0) return String(units)
  const digits = String(units).padStart(decimals + 1, "0")
  return `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`
}

/** A plausible reference price for a symbol, in whole quote units. */
export const basePrice = (symbol: string): number => {
  const s = symbol.toUpperCase()
  if (s.startsWith("BTC") || s.startsWith("XBT")) return 97000
  if (s.startsWith("ETH")) return 3500
  if (s.startsWith("SOL")) return 180
  return 100
}

/** One executed trade. */
export interface Trade {
  readonly id: number
  readonly price: number
  readonly qty: number
  readonly buy: boolean
  readonly time: number
}

/** A trade tape: each `next` is one trade whose id is the previous id plus one, at a random-walk price. */
export class Tape {
  readonly instrument: Instrument
  readonly random: Rng
  lastId: number
  price: number
  last: Trade | undefined = undefined

  constructor(symbol: string, instrument: Instrument, random: Rng, firstId: number) {
    this.instrument = instrument
    this.random = random
    this.lastId = firstId - 1
    this.price = basePrice(symbol) * 10 ** instrument.priceDecimals
  }

  /** Produces the next trade. */
  next(now: number): Trade {
    const step = Math.round((this.random() - 0.5) * 10)
    this.price = Math.max(1, this.price + step)
    this.lastId += 1
    const qty = (1 + Math.floor(this.random() * 1000)) * 10 ** Math.max(0, this.instrument.qtyDecimals - 3)
    this.last = { id: this.lastId, price: this.price, qty, buy: this.random() < 0.5, time: now }
    return this.last
  }
}

/** One price level change: `qty` 0 removes the level. */
export type LevelChange = readonly [price: number, qty: number]

/** The changes of one book update, with the range of update ids it covers and its message sequence. */
export interface BookChange {
  readonly bids: ReadonlyArray<LevelChange>
  readonly asks: ReadonlyArray<LevelChange>
  /** First update id in this change (Binance `U`). */
  readonly first: number
  /** Last update id in this change (Binance `u`). */
  readonly last: number
  /** Message sequence: previous change's `seq` plus one (OKX `seqId`, Bybit `u`). */
  readonly seq: number
  readonly time: number
}

/**
 * An order book with a fixed number of levels per side around a fixed mid price. Each `next` changes one
 * to three levels; a removed level is replaced in the same change, so every side always holds exactly
 * `depth` levels and a client that truncates to `depth` never loses a level it needs.
 */
export class Book {
  readonly instrument: Instrument
  readonly depth: number
  readonly random: Rng
  readonly mid: number
  readonly step: number
  readonly bids = new Map<number, number>()
  readonly asks = new Map<number, number>()
  lastUpdateId: number
  seq: number

  constructor(symbol: string, instrument: Instrument, depth: number, random: Rng, firstId: number) {
    this.instrument = instrument
    this.depth = depth
    this.random = random
    this.step = 10 ** Math.max(0, instrument.priceDecimals - 1)
    this.mid = basePrice(symbol) * 10 ** instrument.priceDecimals
    this.lastUpdateId = firstId - 1
    this.seq = firstId - 1
    for (let k = 1; k <= depth; k++) {
      this.bids.set(this.mid - k * this.step, this.randomQty())
      this.asks.set(this.mid + k * this.step, this.randomQty())
    }
  }

  private randomQty(): number {
    return (1 + Math.floor(this.random() * 5000)) * 10 ** Math.max(0, this.instrument.qtyDecimals - 4)
  }

  private pickLevel(side: Map<number, number>): number {
    const prices = [...side.keys()]
    return prices[Math.floor(this.random() * prices.length)] ?? 0
  }

  /** Applies and returns the next change. */
  next(now: number): BookChange {
    const bids: Array<LevelChange> = []
    const asks: Array<LevelChange> = []
    const count = 1 + Math.floor(this.random() * 3)
    let ids = 0
    for (let i = 0; i < count; i++) {
      const isBid = this.random() < 0.5
      const side = isBid ? this.bids : this.asks
      const out = isBid ? bids : asks
      const price = this.pickLevel(side)
      if (this.random() < 0.2) {
        side.delete(price)
        out.push([price, 0])
        let fresh = price
        for (let tries = 0; tries < 100 && (side.has(fresh) || fresh === price); tries++) {
          const k = 1 + Math.floor(this.random() * this.depth * 2)
          fresh = isBid ? this.mid - k * this.step : this.mid + k * this.step
        }
        const qty = this.randomQty()
        side.set(fresh, qty)
        out.push([fresh, qty])
        ids += 2
      } else {
        const qty = this.randomQty()
        side.set(price, qty)
        out.push([price, qty])
        ids += 1
      }
    }
    const first = this.lastUpdateId + 1
    this.lastUpdateId += ids
    this.seq += 1
    return { bids, asks, first, last: this.lastUpdateId, seq: this.seq, time: now }
  }

  /** The best `n` levels of a side: bids high to low, asks low to high. */
  top(side: "bids" | "asks", n: number): Array<LevelChange> {
    const entries = [...(side === "bids" ? this.bids : this.asks).entries()]
    entries.sort((a, b) => (side === "bids" ? b[0] - a[0] : a[0] - b[0]))
    return entries.slice(0, n)
  }
}
