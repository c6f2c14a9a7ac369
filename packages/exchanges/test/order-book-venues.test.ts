/**
 * OKX, Bybit, Kraken, Coinbase and Hyperliquid books on MemoryTransport and
 * TestClock, with hand-written venue messages: snapshot then updates, a
 * gap, OKX's documented `seqId` reset, checksum faults (OKX, Kraken),
 * Bybit's `u` = 1 restart snapshot, Kraken's depth truncation, a crossed
 * update, a reconnect proven by the next update, duplicates after a
 * rotation's overlap, one bad symbol leaving the others live, and the
 * `changes` stream.
 */
import { assert, describe, it } from "@effect/vitest"
import { MemoryTransport } from "@kharbranth/core"
import { advance } from "@kharbranth/test-utils/clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as OrderBook from "../src/OrderBook.ts"
import { bybitPush, feedOptions, krakenBook, okxBook, server, settle } from "./utils/books.ts"

const { MemoryServer } = MemoryTransport

const layer = Layer.fresh(server())

const setup = (venue: OrderBook.BookVenue) =>
  Effect.gen(function*() {
    const books = yield* OrderBook.make(venue, { feed: feedOptions })
    const events: Array<OrderBook.BookEvent> = []
    yield* Effect.forkScoped(Stream.runForEach(books.events, (e) => Effect.sync(() => void events.push(e))))
    yield* settle
    return { books, events }
  })

const peer = Effect.flatMap(MemoryServer, (s) => s.latest).pipe(Effect.map((p) => p!))

const statusOf = (book: OrderBook.OrderBook) =>
  Effect.map(book.status, (s) => (s._tag === "Resyncing" ? `Resyncing:${s.reason}` : s._tag))

/** Client messages that subscribe (not counting the first), as text. */
const subscribes = Effect.flatMap(peer, (p) => p.received).pipe(
  Effect.map((ms) =>
    ms.flatMap((m) => (m._tag === "Text" && /subscribe/i.test(m.data) && !/unsubscribe/i.test(m.data) ? [m.data] : []))
  )
)

describe("OrderBook OKX", () => {
  it.effect("snapshot, chained updates, checksum verified against OKX's own map book: Live with the venue's levels", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.okx())
      const btc = yield* books.book("BTC-USDT")
      yield* settle
      const venue = okxBook("BTC-USDT")
      const p = yield* peer
      yield* p.send(
        venue.push("snapshot", 10, -1, [["100.5", "1.0"], ["100", "2"]], [["101", "3"], ["102.25", "0.50"]])
      )
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      yield* p.send(venue.push("update", 11, 10, [["100.5", "0"], ["99", "4"]], [["101.5", "1"]]))
      yield* p.send(venue.push("update", 11, 11, [], [])) // OKX's quiet-book update: seqId = prevSeqId
      yield* settle
      const snap = yield* btc.liveSnapshot()
      assert.deepStrictEqual(snap.bids, [{ price: 100, size: 2 }, { price: 99, size: 4 }])
      assert.deepStrictEqual(snap.asks, [{ price: 101, size: 3 }, { price: 101.5, size: 1 }, {
        price: 102.25,
        size: 0.5
      }])
      assert.strictEqual(snap.updateId, 11)
    }).pipe(Effect.provide(layer)))

  it.effect("a prevSeqId that is not the last seqId is a gap: Resyncing(gap), resubscribed, Live at the new snapshot", () =>
    Effect.gen(function*() {
      const { books, events } = yield* setup(OrderBook.okx())
      const btc = yield* books.book("BTC-USDT")
      yield* settle
      const venue = okxBook("BTC-USDT")
      const p = yield* peer
      yield* p.send(venue.push("snapshot", 10, -1, [["100", "1"]], [["101", "1"]]))
      yield* p.send(venue.push("update", 12, 11, [["100", "2"]], []))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:gap")
      assert.strictEqual((yield* subscribes).length, 2)
      yield* p.send(venue.push("update", 13, 12, [["100", "3"]], [])) // ignored until the snapshot
      yield* p.send(venue.push("snapshot", 20, -1, [["100", "5"]], [["101", "1"]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      assert.strictEqual((yield* btc.top).bid?.size, 5)
      assert.isTrue(events.some((e) => e._tag === "Resynced" && e.reason === "gap"))
    }).pipe(Effect.provide(layer)))

  it.effect("the documented seqId reset (seqId below prevSeqId, chained on the last) is applied, reported, and stays Live", () =>
    Effect.gen(function*() {
      const { books, events } = yield* setup(OrderBook.okx())
      const btc = yield* books.book("BTC-USDT")
      yield* settle
      const venue = okxBook("BTC-USDT")
      const p = yield* peer
      yield* p.send(venue.push("snapshot", 15, -1, [["100", "1"]], [["101", "1"]]))
      yield* p.send(venue.push("update", 3, 15, [["100", "2"]], []))
      yield* p.send(venue.push("update", 5, 3, [["100", "3"]], []))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      assert.strictEqual((yield* btc.top).bid?.size, 3)
      const reset = events.find((e) => e._tag === "SequenceReset")
      assert.deepStrictEqual(reset?._tag === "SequenceReset" && [reset.from, reset.to], [15, 3])
    }).pipe(Effect.provide(layer)))

  it.effect("a checksum mismatch resyncs (checksum); duplicates after a rotation's overlap are dropped", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.okx())
      const btc = yield* books.book("BTC-USDT")
      yield* settle
      const venue = okxBook("BTC-USDT")
      const p = yield* peer
      const snapshot = venue.push("snapshot", 10, -1, [["100", "1"]], [["101", "1"]])
      const u11 = venue.push("update", 11, 10, [["100", "2"]], [])
      yield* p.send(snapshot, u11)
      yield* p.send(u11) // a repeat: dropped, the book unchanged
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      yield* p.send(venue.push("update", 12, 11, [["100", "3"]], [], true))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:checksum")
    }).pipe(Effect.provide(layer)))

  it.effect("a drop sends the book to Resyncing(reconnect); the replayed snapshot brings it back", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.okx())
      const btc = yield* books.book("BTC-USDT")
      yield* settle
      const venue = okxBook("BTC-USDT")
      yield* (yield* peer).send(venue.push("snapshot", 10, -1, [["100", "1"]], [["101", "1"]]))
      yield* settle
      yield* (yield* peer).drop
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:reconnect")
      const error = yield* Effect.flip(btc.liveTop)
      assert.deepStrictEqual([error.status, error.reason], ["Resyncing", "reconnect"])
      yield* advance(1_000)
      yield* (yield* peer).send(venue.push("snapshot", 30, -1, [["100", "9"]], [["101", "1"]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
    }).pipe(Effect.provide(layer)))

  it.effect("one bad symbol's broken stream leaves the other book Live", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.okx())
      const btc = yield* books.book("BTC-USDT")
      const eth = yield* books.book("ETH-USDT")
      yield* settle
      const b = okxBook("BTC-USDT")
      const e = okxBook("ETH-USDT")
      const p = yield* peer
      yield* p.send(b.push("snapshot", 1, -1, [["100", "1"]], [["101", "1"]]))
      yield* p.send(e.push("snapshot", 1, -1, [["10", "1"]], [["11", "1"]]))
      yield* p.send(e.push("update", 2, 1, [["10", "2"]], [], true))
      yield* p.send("{not json")
      yield* p.send(b.push("update", 2, 1, [["100", "2"]], []))
      yield* settle
      assert.strictEqual(yield* statusOf(eth), "Resyncing:checksum")
      assert.strictEqual(yield* statusOf(btc), "Live")
      assert.strictEqual((yield* btc.top).bid?.size, 2)
    }).pipe(Effect.provide(layer)))

  it.effect("bookAll subscribes in one request; a symbol the venue refuses fails its own book only", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.okx())
      const [btc, bad] = yield* books.bookAll(["BTC-USDT", "BAD-USDT"])
      yield* settle
      const venue = okxBook("BTC-USDT")
      yield* (yield* peer).send(venue.push("snapshot", 1, -1, [["100", "1"]], [["101", "1"]]))
      yield* settle
      assert.strictEqual((yield* subscribes).length, 1)
      assert.strictEqual(yield* statusOf(btc!), "Live")
      const status = yield* bad!.status
      assert.strictEqual(status._tag, "Failed")
      assert.match(status._tag === "Failed" ? status.reason : "", /60018/)
      const refused = yield* Effect.flip(bad!.awaitLive)
      assert.deepStrictEqual([refused._tag, refused.status], ["NotLive", "Failed"])
      assert.deepStrictEqual((yield* books.books).map((b) => b.symbol), ["BTC-USDT", "BAD-USDT"])
      yield* books.remove("BAD-USDT")
      assert.deepStrictEqual((yield* books.books).map((b) => b.symbol), ["BTC-USDT"])
    }).pipe(Effect.provide(layer)))

  it.effect("changes streams the top of book when it changes", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.okx())
      const btc = yield* books.book("BTC-USDT")
      const tops = yield* btc.changes.pipe(Stream.take(2), Stream.runCollect, Effect.forkScoped)
      yield* settle
      const venue = okxBook("BTC-USDT")
      const p = yield* peer
      yield* p.send(venue.push("snapshot", 1, -1, [["100", "1"]], [["101", "1"]]))
      yield* p.send(venue.push("update", 2, 1, [["99", "1"]], [])) // below the top: no change
      yield* p.send(venue.push("update", 3, 2, [["100.5", "1"]], []))
      yield* settle
      const got = yield* Fiber.join(tops)
      assert.deepStrictEqual(got.map((t) => t.bid?.price), [100, 100.5])
      assert.deepStrictEqual(got.map((t) => t.status._tag), ["Live", "Live"])
    }).pipe(Effect.provide(layer)))
})

describe("OrderBook streams", () => {
  it.effect("statusChanges starts with the current status; books(depth) gives the whole book after each message", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.okx())
      const btc = yield* books.book("BTC-USDT")
      const statuses = yield* btc.statusChanges.pipe(Stream.take(3), Stream.runCollect, Effect.forkScoped)
      const full = yield* btc.books(2).pipe(Stream.take(2), Stream.runCollect, Effect.forkScoped)
      const live = yield* Effect.forkScoped(btc.awaitLive)
      yield* settle
      const venue = okxBook("BTC-USDT")
      const p = yield* peer
      yield* p.send(venue.push("snapshot", 1, -1, [["100", "1"], ["99", "1"], ["98", "1"]], [["101", "1"]]))
      yield* settle
      yield* Fiber.join(live)
      yield* p.send(venue.push("update", 2, 1, [["99", "5"]], []))
      yield* settle
      yield* p.send(venue.push("update", 4, 3, [], []))
      yield* settle
      const seen = yield* Fiber.join(statuses)
      assert.deepStrictEqual(seen.map((s) => (s._tag === "Resyncing" ? `Resyncing:${s.reason}` : s._tag)), [
        "Syncing",
        "Live",
        "Resyncing:gap"
      ])
      const got = yield* Fiber.join(full)
      assert.deepStrictEqual(got.map((b) => b.bids), [[{ price: 100, size: 1 }, { price: 99, size: 1 }], [{
        price: 100,
        size: 1
      }, { price: 99, size: 5 }]])
    }).pipe(Effect.provide(layer)))
})

describe("OrderBook Bybit", () => {
  it.effect("snapshot then deltas by u + 1; a skipped u is a gap; a u = 1 snapshot is a restart (Resyncing → Live)", () =>
    Effect.gen(function*() {
      const { books, events } = yield* setup(OrderBook.bybit())
      const btc = yield* books.book("BTCUSDT")
      yield* settle
      const p = yield* peer
      yield* p.send(bybitPush("BTCUSDT", "snapshot", 100, [[10, 1], [9, 1]], [[11, 1]]))
      yield* p.send(bybitPush("BTCUSDT", "delta", 101, [[10, 0]], [[11, 2]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      assert.deepStrictEqual((yield* btc.top).bid, { price: 9, size: 1 })
      yield* p.send(bybitPush("BTCUSDT", "snapshot", 1, [[20, 1]], [[21, 1]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      assert.isTrue(events.some((e) => e._tag === "Resynced" && e.reason === "restart"))
      assert.strictEqual((yield* btc.top).bid?.price, 20)
      yield* p.send(bybitPush("BTCUSDT", "delta", 3, [[20, 2]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:gap")
      yield* p.send(bybitPush("BTCUSDT", "snapshot", 10, [[20, 3]], [[21, 1]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
    }).pipe(Effect.provide(layer)))

  it.effect("a crossed delta resyncs (crossed)", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.bybit())
      const btc = yield* books.book("BTCUSDT")
      yield* settle
      const p = yield* peer
      yield* p.send(bybitPush("BTCUSDT", "snapshot", 1, [[10, 1]], [[11, 1]]))
      yield* p.send(bybitPush("BTCUSDT", "delta", 2, [[12, 1]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:crossed")
    }).pipe(Effect.provide(layer)))

  it.effect("after a reconnect, a delta that continues u proves the book", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.bybit())
      const btc = yield* books.book("BTCUSDT")
      yield* settle
      yield* (yield* peer).send(bybitPush("BTCUSDT", "snapshot", 1, [[10, 1]], [[11, 1]]))
      yield* settle
      yield* (yield* peer).drop
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:reconnect")
      yield* advance(1_000)
      yield* (yield* peer).send(bybitPush("BTCUSDT", "delta", 2, [[10, 2]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
    }).pipe(Effect.provide(layer)))
})

describe("OrderBook Kraken", () => {
  const precision = { price: 1, qty: 8 }
  it.effect("checksums with the pair's precision, keeps depth 10, and resyncs on a mismatch", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.kraken({ precision: () => precision }))
      const btc = yield* books.book("BTC/USD")
      yield* settle
      const venue = krakenBook("BTC/USD", precision)
      const p = yield* peer
      const bids = Array.from({ length: 10 }, (_, i): [number, number] => [100 - i, 1 + i / 10])
      const asks = Array.from({ length: 10 }, (_, i): [number, number] => [101 + i, 0.5])
      yield* p.send(venue.push("snapshot", bids, asks))
      yield* p.send(venue.push("update", [[99.5, 2]], [])) // pushes the 10th bid out
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      const snap = yield* btc.liveSnapshot()
      assert.strictEqual(snap.bids.length, 10)
      assert.strictEqual(snap.bids[9]!.price, 92)
      yield* p.send(venue.push("update", [[100, 3]], [], true))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:checksum")
      yield* p.send(venue.push("snapshot", bids, asks))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
    }).pipe(Effect.provide(layer)))
})

describe("OrderBook Coinbase", () => {
  it.effect("snapshot then l2update changes; a sequence that skips is a gap", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.coinbase())
      const btc = yield* books.book("BTC-USD")
      yield* settle
      const p = yield* peer
      yield* p.send(
        JSON.stringify({
          type: "snapshot",
          product_id: "BTC-USD",
          sequence: 5,
          bids: [["100", "1"]],
          asks: [["101", "1"]]
        })
      )
      yield* p.send(
        JSON.stringify({
          type: "l2update",
          product_id: "BTC-USD",
          sequence: 6,
          time: "t",
          changes: [["buy", "100.5", "2"], ["sell", "101", "0"], ["sell", "102", "1"]]
        })
      )
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      const top = yield* btc.liveTop
      assert.deepStrictEqual([top.bid, top.ask], [{ price: 100.5, size: 2 }, { price: 102, size: 1 }])
      yield* p.send(
        JSON.stringify({
          type: "l2update",
          product_id: "BTC-USD",
          sequence: 9,
          time: "t",
          changes: [["buy", "1", "1"]]
        })
      )
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:gap")
    }).pipe(Effect.provide(layer)))
})

describe("OrderBook Hyperliquid", () => {
  it.effect("every l2Book message replaces the book", () =>
    Effect.gen(function*() {
      const { books } = yield* setup(OrderBook.hyperliquid())
      const btc = yield* books.book("BTC")
      yield* settle
      const p = yield* peer
      const msg = (bid: string, ask: string) =>
        JSON.stringify({
          channel: "l2Book",
          data: { coin: "BTC", time: 1, levels: [[{ px: bid, sz: "1", n: 1 }], [{ px: ask, sz: "2", n: 1 }]] }
        })
      yield* p.send(msg("100", "101"))
      yield* p.send(msg("99", "100"))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      const snap = yield* btc.liveSnapshot()
      assert.deepStrictEqual([snap.bids, snap.asks], [[{ price: 99, size: 1 }], [{ price: 100, size: 2 }]])
    }).pipe(Effect.provide(layer)))
})
