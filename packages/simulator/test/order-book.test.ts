/**
 * The random book process itself (internal): it never crosses, keeps its size within bounds, moves the top
 * of book, numbers updates contiguously with 1 to `maxChanges` distinct level changes each, can rebuild a
 * past state exactly, and is the same for the same seed.
 */
import { assert, describe, it } from "@effect/vitest"
import { rngFor } from "../src/internal/Market.ts"
import { OrderBook } from "../src/internal/OrderBook.ts"

const make = (seed: number) =>
  new OrderBook(
    "BTCUSDT",
    { priceDecimals: 2, qtyDecimals: 5 },
    { levels: 400, maxChanges: 8 },
    rngFor(seed, "b"),
    1000
  )

const state = (b: OrderBook) => ({ id: b.lastUpdateId, bids: b.top("bids", 1e9), asks: b.top("asks", 1e9) })

describe("OrderBook", () => {
  it("never crosses, stays within bounds, moves the top of book, numbers updates contiguously", () => {
    const book = make(1)
    let topChanges = 0
    let last = book.lastUpdateId
    let bestBid = book.bids.prices[0]
    const sizes = new Set<number>()
    for (let i = 0; i < 20_000; i++) {
      const c = book.next(i)
      const n = c.bids.length + c.asks.length
      sizes.add(n)
      assert.isAtLeast(n, 1)
      assert.isAtMost(n, 8)
      assert.strictEqual(c.first, last + 1)
      assert.isAtLeast(c.last, c.first + n - 1)
      last = c.last
      assert.strictEqual(new Set(c.bids.map((l) => l[0])).size, c.bids.length)
      assert.isBelow(book.bids.prices[0]!, book.asks.prices[0]!)
      assert.isAtMost(book.bids.prices.length, 500)
      assert.isAtMost(book.asks.prices.length, 500)
      if (book.bids.prices[0] !== bestBid) topChanges += 1
      bestBid = book.bids.prices[0]
    }
    assert.isAbove(book.bids.prices.length, 200)
    assert.isAbove(topChanges, 1000)
    assert.isAbove(sizes.size, 5)
    for (let i = 1; i < book.bids.prices.length; i++) assert.isAbove(book.bids.prices[i - 1]!, book.bids.prices[i]!)
    for (let i = 1; i < book.asks.prices.length; i++) assert.isBelow(book.asks.prices[i - 1]!, book.asks.prices[i]!)
  })

  it("past(k) is exactly the book k updates ago; the same seed gives the same book", () => {
    const book = make(2)
    const states: Array<ReturnType<typeof state>> = []
    for (let i = 0; i < 300; i++) {
      states.push(state(book))
      book.next(i)
    }
    for (const k of [1, 7, 256]) {
      const past = book.past(k)!
      const then = states[states.length - k]!
      assert.strictEqual(past.lastUpdateId, then.id)
      assert.deepStrictEqual(past.bids, then.bids)
      assert.deepStrictEqual(past.asks, then.asks)
    }
    assert.isUndefined(book.past(257))
    const again = make(2)
    for (let i = 0; i < 300; i++) again.next(i)
    assert.deepStrictEqual(state(again), state(book))
  })

  it("a DepthView's messages rebuild the top depth levels exactly, with or without explicit deletions", () => {
    // a side of about 40 levels against depths around it, so levels keep crossing the edge both ways
    for (
      const [depth, explicitOut] of [[10, true], [10, false], [32, true], [32, false], [45, true], [45, false]] as const
    ) {
      const book = new OrderBook(
        "BTC",
        { priceDecimals: 1, qtyDecimals: 5 },
        { levels: 40, maxChanges: 6 },
        rngFor(depth, "v"),
        1
      )
      const view = book.view(depth, explicitOut)
      const client = { bids: new Map(book.top("bids", depth)), asks: new Map(book.top("asks", depth)) }
      for (let i = 0; i < 5_000; i++) {
        book.next(i)
        for (
          const [side, levels, bids] of [[client.bids, view.last.bids, true], [
            client.asks,
            view.last.asks,
            false
          ]] as const
        ) {
          for (const [p, q] of levels) {
            if (q === 0) side.delete(p)
            else side.set(p, q)
          }
          if (!explicitOut) {
            const keep = [...side].sort((a, b) => (bids ? b[0] - a[0] : a[0] - b[0])).slice(0, depth)
            side.clear()
            for (const [p, q] of keep) side.set(p, q)
          }
        }
        const mine = {
          bids: [...client.bids].sort((a, b) => b[0] - a[0]),
          asks: [...client.asks].sort((a, b) => a[0] - b[0])
        }
        assert.deepStrictEqual(
          mine,
          { bids: book.top("bids", depth), asks: book.top("asks", depth) },
          `depth ${depth} at ${i}`
        )
      }
    }
  })
})
