/**
 * Binance books on MemoryTransport, a scripted REST endpoint and TestClock:
 * the documented start (buffer, snapshot, drop `u` ≤ `lastUpdateId`, the
 * first event bridging), a gap, a stale snapshot, a crossed book, 429 with
 * `Retry-After`, an unknown symbol failing its book only, the weight budget
 * shared by books, a reconnect proven by the next event or repaired by
 * REST, USD-M `pu` chaining, and the periodic resync.
 */
import { assert, describe, it } from "@effect/vitest"
import { MemoryTransport } from "@kharbranth/core"
import { advance } from "@kharbranth/test-utils/clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as OrderBook from "../src/OrderBook.ts"
import {
  type Answer,
  depth,
  feedOptions,
  type Rest,
  restLayer,
  server,
  settle,
  spotEvent,
  usdmEvent
} from "./utils/books.ts"

const { MemoryServer } = MemoryTransport

const ok = (body: unknown): Answer => ({ status: 200, body })

const setup = (
  script: Rest["script"],
  venue = OrderBook.binanceSpot({ limit: 100 }),
  options: OrderBook.Options = {}
) =>
  Effect.gen(function*() {
    const rest: Rest = { urls: [], times: [], script }
    const books = yield* OrderBook.make(venue, { feed: feedOptions, ...options }).pipe(
      Effect.provide(restLayer(rest))
    )
    const events: Array<OrderBook.BookEvent> = []
    yield* Effect.forkScoped(Stream.runForEach(books.events, (e) => Effect.sync(() => void events.push(e))))
    yield* settle
    return { books, rest, events }
  })

const peer = Effect.flatMap(MemoryServer, (s) => s.latest).pipe(Effect.map((p) => p!))

const statusOf = (book: OrderBook.OrderBook) =>
  Effect.map(book.status, (s) => (s._tag === "Resyncing" ? `Resyncing:${s.reason}` : s._tag))

const layer = Layer.fresh(server())

describe("OrderBook Binance spot", () => {
  it.effect("starts from the REST snapshot: drops u <= lastUpdateId, bridges with the first event, then Live", () =>
    Effect.gen(function*() {
      const { books, rest } = yield* setup([ok(depth(100, [[10, 1], [9, 2]], [[11, 1], [12, 3]]))])
      const btc = yield* books.book("BTCUSDT")
      assert.strictEqual(yield* statusOf(btc), "Syncing")
      const error = yield* Effect.flip(btc.liveTop)
      assert.strictEqual(error._tag, "NotLive")
      assert.strictEqual(error.status, "Syncing")
      yield* settle
      assert.strictEqual(rest.urls.length, 1)
      assert.match(rest.urls[0]!, /\/api\/v3\/depth\?symbol=BTCUSDT&limit=100$/)
      const p = yield* peer
      yield* p.send(spotEvent("BTCUSDT", 95, 100, [[10, 5]])) // inside the snapshot: dropped
      yield* p.send(spotEvent("BTCUSDT", 99, 102, [[10, 7]], [[11, 0]])) // bridges 101
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      const top = yield* btc.liveTop
      assert.deepStrictEqual([top.bid, top.ask, top.updateId], [{ price: 10, size: 7 }, { price: 12, size: 3 }, 102])
      yield* p.send(spotEvent("BTCUSDT", 103, 104, [[10.5, 1]]))
      yield* settle
      const snap = yield* btc.liveSnapshot(2)
      assert.deepStrictEqual(snap.bids, [{ price: 10.5, size: 1 }, { price: 10, size: 7 }])
    }).pipe(Effect.provide(layer)))

  it.effect("a break in U/u resyncs from a new snapshot (gap) and comes back Live", () =>
    Effect.gen(function*() {
      const { books, rest, events } = yield* setup([
        ok(depth(100, [[10, 1]], [[11, 1]])),
        ok(depth(200, [[10, 2]], [[11, 2]]))
      ])
      const btc = yield* books.book("BTCUSDT")
      yield* settle
      const p = yield* peer
      yield* p.send(spotEvent("BTCUSDT", 101, 101, [[10, 3]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      yield* p.send(spotEvent("BTCUSDT", 150, 151, [[10, 4]])) // 102..149 missing
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:gap")
      assert.strictEqual(rest.urls.length, 2)
      yield* p.send(spotEvent("BTCUSDT", 152, 201, [[10, 9]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      assert.strictEqual((yield* btc.top).bid?.size, 9)
      const resynced = events.filter((e) => e._tag === "Resynced")
      assert.deepStrictEqual(resynced.map((e) => e._tag === "Resynced" && e.reason), ["gap"])
    }).pipe(Effect.provide(layer)))

  it.effect("a snapshot older than the buffered stream is fetched again (stale)", () =>
    Effect.gen(function*() {
      const { books, events, rest } = yield* setup([
        { ...ok(depth(100, [[10, 1]], [[11, 1]])), delay: 50 },
        ok(depth(300, [[10, 2]], [[11, 2]]))
      ])
      const btc = yield* books.book("BTCUSDT")
      yield* settle
      const p = yield* peer
      yield* p.send(spotEvent("BTCUSDT", 250, 260, [[10, 3]])) // buffered; the snapshot at 100 is older
      yield* advance(50)
      assert.strictEqual(rest.urls.length, 2)
      yield* p.send(spotEvent("BTCUSDT", 261, 301, [[10, 4]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      assert.strictEqual((yield* btc.top).updateId, 301)
      const stale = events.find((e) => e._tag === "SnapshotStale")
      assert.deepStrictEqual(stale?._tag === "SnapshotStale" && [stale.lastUpdateId, stale.first], [100, 250])
    }).pipe(Effect.provide(layer)))

  it.effect("a crossed book resyncs (crossed)", () =>
    Effect.gen(function*() {
      const { books } = yield* setup([ok(depth(100, [[10, 1]], [[11, 1]]))])
      const btc = yield* books.book("BTCUSDT")
      yield* settle
      const p = yield* peer
      yield* p.send(spotEvent("BTCUSDT", 101, 101, [[10, 2]]))
      yield* settle
      yield* p.send(spotEvent("BTCUSDT", 102, 102, [[11.5, 1]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:crossed")
    }).pipe(Effect.provide(layer)))

  it.effect.each([429, 418])(
    "%d with Retry-After pauses every snapshot for that long and is reported",
    (status) =>
      Effect.gen(function*() {
        const { books, events, rest } = yield* setup([
          { status, body: { code: -1003, msg: "Too many requests" }, headers: { "retry-after": "7" } },
          ok(depth(100, [[10, 1]], [[11, 1]]))
        ])
        const btc = yield* books.book("BTCUSDT")
        yield* settle
        const throttled = events.find((e) => e._tag === "Throttled")
        assert.deepStrictEqual(throttled?._tag === "Throttled" && [throttled.status, throttled.retryAfter], [
          status,
          7000
        ])
        yield* advance(6_999)
        assert.strictEqual(rest.urls.length, 1)
        yield* advance(1)
        assert.strictEqual(rest.urls.length, 2)
        assert.deepStrictEqual(rest.times, [0, 7000])
        yield* (yield* peer).send(spotEvent("BTCUSDT", 101, 101, [[10, 2]]))
        yield* settle
        assert.strictEqual(yield* statusOf(btc), "Live")
      }).pipe(Effect.provide(layer))
  )

  it.effect("an unknown symbol fails its own book only", () =>
    Effect.gen(function*() {
      const { books } = yield* setup([
        (url) =>
          url.includes("NOPE")
            ? { status: 400, body: { code: -1121, msg: "Invalid symbol." } }
            : ok(depth(100, [[10, 1]], [[11, 1]]))
      ])
      const bad = yield* books.book("NOPE")
      const btc = yield* books.book("BTCUSDT")
      yield* settle
      yield* (yield* peer).send(spotEvent("BTCUSDT", 101, 101, [[10, 2]]))
      yield* settle
      const status = yield* bad.status
      assert.strictEqual(status._tag, "Failed")
      assert.match(status._tag === "Failed" ? status.reason : "", /-1121 Invalid symbol/)
      assert.strictEqual(yield* statusOf(btc), "Live")
    }).pipe(Effect.provide(layer)))

  it.effect("books share the weight budget: snapshots past it wait for the window", () =>
    Effect.gen(function*() {
      const venue = OrderBook.binanceSpot({ limit: 100, weightPerMinute: 10 }) // two snapshots of weight 5 a minute
      const { books, rest } = yield* setup([ok(depth(100, [[10, 1]], [[11, 1]]))], venue)
      const all = yield* Effect.forEach(["AUSDT", "BUSDT", "CUSDT"], (s) => books.book(s))
      yield* settle
      assert.strictEqual(rest.urls.length, 2)
      assert.deepStrictEqual(yield* Effect.forEach(all, statusOf), ["Syncing", "Syncing", "Syncing"])
      yield* advance(60_000, 1_000)
      assert.strictEqual(rest.urls.length, 2)
      yield* advance(1_000) // the window plus a second of margin for transit
      assert.strictEqual(rest.urls.length, 3)
      assert.deepStrictEqual(rest.times, [0, 0, 61_000])
    }).pipe(Effect.provide(layer)))

  it.effect("weight the venue reports as used (X-MBX-USED-WEIGHT-1M) beyond the budget's own count is waited for too", () =>
    Effect.gen(function*() {
      const venue = OrderBook.binanceSpot({ limit: 100, weightPerMinute: 100 })
      // Another process on this IP used 98 of the 100: the next snapshot (weight 5) waits for the window.
      const { books, rest } = yield* setup(
        [{ ...ok(depth(100, [[10, 1]], [[11, 1]])), headers: { "x-mbx-used-weight-1m": "98" } }],
        venue
      )
      yield* books.book("AUSDT")
      yield* settle
      yield* books.book("BUSDT")
      yield* settle
      assert.strictEqual(rest.urls.length, 1)
      yield* advance(61_000, 1_000)
      assert.strictEqual(rest.urls.length, 2)
      assert.deepStrictEqual(rest.times, [0, 61_000])
    }).pipe(Effect.provide(layer)))

  it.effect("a reconnect sends the book to Resyncing(reconnect); an event that bridges brings it back without REST", () =>
    Effect.gen(function*() {
      const { books, rest } = yield* setup([ok(depth(100, [[10, 1]], [[11, 1]])), ok(depth(500, [[10, 5]], [[11, 5]]))])
      const btc = yield* books.book("BTCUSDT")
      yield* settle
      const first = yield* peer
      yield* first.send(spotEvent("BTCUSDT", 101, 101, [[10, 2]]))
      yield* settle
      yield* first.drop
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:reconnect")
      yield* advance(1_000)
      const second = yield* peer
      yield* second.send(spotEvent("BTCUSDT", 102, 103, [[10, 3]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      assert.strictEqual(rest.urls.length, 1)
      // A second drop, after which the stream has moved on: REST repairs it.
      yield* second.drop
      yield* advance(1_000)
      const third = yield* peer
      yield* third.send(spotEvent("BTCUSDT", 400, 401, [[10, 4]]))
      yield* settle
      assert.strictEqual(rest.urls.length, 2)
      yield* third.send(spotEvent("BTCUSDT", 402, 501, [[10, 6]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      assert.strictEqual((yield* btc.top).updateId, 501)
    }).pipe(Effect.provide(layer)))

  it.effect("periodic resync, when set, fetches a fresh snapshot on schedule", () =>
    Effect.gen(function*() {
      const { books, rest } = yield* setup(
        [ok(depth(100, [[10, 1]], [[11, 1]])), ok(depth(200, [[10, 2]], [[11, 2]]))],
        OrderBook.binanceSpot({ limit: 100 }),
        { periodicResync: "1 hour" }
      )
      const btc = yield* books.book("BTCUSDT")
      yield* settle
      yield* (yield* peer).send(spotEvent("BTCUSDT", 101, 101, [[10, 2]]))
      yield* settle
      yield* advance(3_599_000)
      assert.strictEqual(rest.urls.length, 1)
      yield* advance(1_000)
      assert.strictEqual(rest.urls.length, 2)
      assert.strictEqual(yield* statusOf(btc), "Resyncing:periodic")
      yield* (yield* peer).send(spotEvent("BTCUSDT", 102, 201, [[10, 3]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
    }).pipe(Effect.provide(layer)))
})

describe("OrderBook options", () => {
  it.effect("an option that cannot work fails with InvalidConfig naming it", () =>
    Effect.gen(function*() {
      const rest: Rest = { urls: [], times: [], script: [ok(depth(1, [], []))] }
      const attempt = (venue: OrderBook.BookVenue<HttpClient.HttpClient>, options: OrderBook.Options = {}) =>
        Effect.flip(OrderBook.make(venue, { feed: feedOptions, ...options }).pipe(Effect.provide(restLayer(rest))))
      const limit = yield* attempt(OrderBook.binanceUsdm({ limit: 200 }))
      assert.deepStrictEqual([limit._tag, limit.field], ["InvalidConfig", "limit"])
      const budget = yield* attempt(OrderBook.binanceSpot({ weightPerMinute: 0 }))
      assert.strictEqual(budget.field, "weightPerMinute")
      const period = yield* attempt(OrderBook.binanceSpot(), { periodicResync: "soon" as Duration.Input })
      assert.strictEqual(period.field, "periodicResync")
      assert.deepStrictEqual(rest.urls, [])
    }).pipe(Effect.provide(layer)))
})

describe("OrderBook Binance USD-M", () => {
  it.effect("chains by pu; a pu that is not the previous u resyncs", () =>
    Effect.gen(function*() {
      const { books, rest } = yield* setup(
        [ok(depth(100, [[10, 1]], [[11, 1]])), ok(depth(300, [[10, 3]], [[11, 3]]))],
        OrderBook.binanceUsdm({ limit: 100 })
      )
      const btc = yield* books.book("BTCUSDT")
      yield* settle
      assert.match(rest.urls[0]!, /\/fapi\/v1\/depth\?symbol=BTCUSDT&limit=100$/)
      const p = yield* peer
      yield* p.send(usdmEvent("BTCUSDT", 90, 105, 89, [[10, 2]])) // U <= lastUpdateId <= u
      yield* p.send(usdmEvent("BTCUSDT", 108, 110, 105, [[10, 4]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      assert.strictEqual((yield* btc.top).bid?.size, 4)
      yield* p.send(usdmEvent("BTCUSDT", 130, 140, 120, [[10, 5]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Resyncing:gap")
      yield* p.send(usdmEvent("BTCUSDT", 290, 310, 280, [[10, 6]]))
      yield* settle
      assert.strictEqual(yield* statusOf(btc), "Live")
      assert.strictEqual((yield* btc.top).updateId, 310)
    }).pipe(Effect.provide(layer)))
})
