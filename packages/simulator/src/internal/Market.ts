/**
 * The synthetic market behind every venue: a seeded random generator (one stream per book and per tape,
 * derived from the `seed` and the instrument, so each is reproducible whatever else runs), a trade tape per
 * instrument (trade ids increase by one); the order books are in `OrderBook.ts`.
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

/** A generator for one named stream of the market: the same `seed` and `key` always give the same numbers. */
export const rngFor = (seed: number, key: string): Rng => {
  let h = 0x811c9dc5 ^ (seed >>> 0)
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return rng(h >>> 0)
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
