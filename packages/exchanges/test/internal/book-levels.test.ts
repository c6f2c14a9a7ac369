/**
 * The book's price-level side against a plain model (a map sorted on read)
 * under a seeded random walk of sets and removals near and far from the
 * top, and the book checksums over it against the venues' published
 * examples (OKX −1881014294 and 831078360; Kraken 3310070434).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Checksum from "../../src/internal/book/checksum.ts"
import { decimal, Side } from "../../src/internal/book/levels.ts"

/** A small seeded generator (mulberry32). */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

describe("Side", () => {
  for (const bids of [true, false]) {
    it(`${bids ? "bids" : "asks"}: 20,000 random changes keep the same levels as a sorted map`, () => {
      const next = random(bids ? 7 : 11)
      const side = new Side(bids, true, 4)
      const model = new Map<number, number>()
      for (let i = 0; i < 20_000; i++) {
        const price = Math.round(1000 + (next() - 0.5) * 400) / 2
        const size = next() < 0.3 ? 0 : Math.round(next() * 100) / 10
        side.set(price, size, String(price), String(size))
        if (size > 0) model.set(price, size)
        else model.delete(price)
        if (i % 997 === 0) {
          const expected = [...model.entries()].sort((a, b) => (bids ? b[0] - a[0] : a[0] - b[0]))
          assert.deepStrictEqual(side.top(Number.POSITIVE_INFINITY), expected)
          if (expected.length > 0) assert.strictEqual(side.priceText(0), String(expected[0]![0]))
        }
      }
      side.truncate(10)
      assert.strictEqual(side.length, 10)
      const expected = [...model.entries()].sort((a, b) => (bids ? b[0] - a[0] : a[0] - b[0])).slice(0, 10)
      assert.deepStrictEqual(side.top(10), expected)
    })
  }
})

describe("decimal", () => {
  it("reads 50,000 random plain decimals exactly as Number does, and defers anything else to it", () => {
    const next = random(3)
    for (let i = 0; i < 50_000; i++) {
      const digits = 1 + Math.floor(next() * 12)
      const text = (next() * 10 ** (1 + Math.floor(next() * 8))).toFixed(Math.floor(next() * digits))
      assert.strictEqual(decimal(text), Number(text), text)
    }
    for (const text of ["0", "0.00000001", "1e5", "-3.5", "12345678901234567.5", "", "1.2.3", "97000.10000000"]) {
      assert.isTrue(Object.is(decimal(text), Number(text)), text)
    }
  })
})

describe("book checksums over sides: the venues' published examples", () => {
  const okxSides = (bids: Array<[string, string]>, asks: Array<[string, string]>) => {
    const b = new Side(true, true)
    const a = new Side(false, true)
    for (const [p, s] of bids) b.set(Number(p), Number(s), p, s)
    for (const [p, s] of asks) a.set(Number(p), Number(s), p, s)
    return [b, a] as const
  }
  it("OKX example 1 is -1881014294, example 2 is 831078360", () => {
    assert.strictEqual(
      Checksum.okx(...okxSides([["3366.1", "7"], ["3366", "6"]], [["3366.8", "9"], ["3368", "8"]])),
      -1881014294
    )
    assert.strictEqual(
      Checksum.okx(...okxSides([["3366.1", "7"]], [["3366.8", "9"], ["3368", "8"], ["3372", "8"]])),
      831078360
    )
  })
  it("Kraken's BTC/USD example is 3310070434 with precision {1, 8}", () => {
    const bids = new Side(true)
    const asks = new Side(false)
    for (
      const [p, q] of [
        [45283.5, 0.1],
        [45283.4, 1.54582015],
        [45282.1, 0.1],
        [45281.0, 0.1],
        [45280.3, 1.54592586],
        [
          45279.0,
          0.0799
        ],
        [45277.6, 0.03310103],
        [45277.5, 0.3],
        [45277.3, 1.54602737],
        [45276.6, 0.15445238]
      ] as const
    ) bids.set(p, q)
    for (
      const [p, q] of [
        [45285.2, 0.001],
        [45286.4, 1.54571953],
        [45286.6, 1.54571109],
        [45289.6, 1.54560911],
        [
          45290.2,
          0.1589066
        ],
        [45291.8, 1.54553491],
        [45294.7, 0.04454749],
        [45296.1, 0.3538],
        [45297.5, 0.09945542],
        [
          45299.5,
          0.18772827
        ]
      ] as const
    ) asks.set(p, q)
    assert.strictEqual(Checksum.kraken(bids, asks, { price: 1, qty: 8 }), 3310070434)
  })
})
