/**
 * Local L2 order books kept correct by each venue's documented sync rules,
 * on top of a `Feed` (its subscriptions, replay after reconnects and
 * rotations): Binance spot and USD-M diff depth from a REST snapshot
 * (`lastUpdateId`, `U`/`u`, `pu`), Bybit `orderbook.N` (`u`, the `u` = 1
 * restart snapshot), OKX `books` (`seqId`/`prevSeqId` with the documented
 * reset, CRC32), Coinbase `level2_batch` (snapshot + updates), Kraken v2
 * `book` (CRC32 with the pair's precision, depth truncation) and
 * Hyperliquid `l2Book` (whole snapshots).
 *
 * A book is a value to hold: its state is readable at every moment and every
 * read carries the book's `Status` (`Syncing`, `Live`, `Resyncing` with a
 * reason, `Failed`), so a book that is not live is never read unawares;
 * `liveTop`/`liveSnapshot` fail with `NotLive` instead. Changes come as
 * streams (top of book; the whole book on demand), and every transition as
 * an event. A reconnect or rotation sends a shard's books to
 * `Resyncing{reconnect}` until the venue's data proves them whole again (a
 * snapshot, or an update that continues the book's numbering). REST
 * snapshots go through a weight budget shared by every book of the venue in
 * the process: after a mass reconnect they queue (the books say `Syncing`
 * or `Resyncing` meanwhile) and never exceed it; a 429 or 418 pauses the
 * budget for its `Retry-After` and is reported. One symbol's failure (an
 * unknown symbol, a refused subscription) fails that book only.
 *
 * @since 0.1.0
 */
import { ConnectionError, type Transport } from "@kharbranth/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Feed from "./Feed.ts"
import type { Adapter } from "./internal/book/adapter.ts"
import * as BinanceBooks from "./internal/book/binance.ts"
import { type BookEvent, NotLive, type Snapshot, type Status, type Top } from "./internal/book/model.ts"
import * as Rest from "./internal/book/rest.ts"
import * as BookSet from "./internal/book/set.ts"
import type { BookState } from "./internal/book/state.ts"
import * as Streams from "./internal/book/streams.ts"
import type * as Kraken from "./Kraken.ts"
import type * as Venue from "./Venue.ts"

export {
  /**
   * Book events (`StatusChanged`, `Resynced`, `SnapshotRequested`,
   * `Throttled`, `SequenceReset`, `SnapshotStale`, `RestFailed`) with their constructors and
   * matchers; `at` is the `Clock` time in epoch ms.
   *
   * @category models
   * @since 0.1.0
   */
  BookEvent,
  /**
   * A read that needs a live book found it `Syncing`, `Resyncing` or `Failed`.
   *
   * @category errors
   * @since 0.1.0
   */
  NotLive,
  /**
   * A REST snapshot could not be had (an unknown symbol, or every retry failed).
   *
   * @category errors
   * @since 0.1.0
   */
  SnapshotError,
  /**
   * A book's status (`Syncing`, `Live`, `Resyncing{reason}`, `Failed{reason}`)
   * with its constructors and matchers (`Status.$is("Live")`).
   *
   * @category models
   * @since 0.1.0
   */
  Status
} from "./internal/book/model.ts"
export type {
  /**
   * A price level: price and size as numbers.
   *
   * @category models
   * @since 0.1.0
   */
  Level,
  /**
   * Why a book left `Live`: `gap`, `checksum`, `crossed`, `reconnect`,
   * `stale`, `restart` or `periodic`.
   *
   * @category models
   * @since 0.1.0
   */
  ResyncReason,
  /**
   * A copy of a book's best levels with its status, last update id and time.
   *
   * @category models
   * @since 0.1.0
   */
  Snapshot,
  /**
   * Best bid and ask with the book's status, last update id and time.
   *
   * @category models
   * @since 0.1.0
   */
  Top
} from "./internal/book/model.ts"

/**
 * The venue a set of books follows, with its sync rules. `R` is what it
 * needs from the context: `HttpClient` for venues whose books start from a
 * REST snapshot (Binance), nothing for the others.
 *
 * @category models
 * @since 0.1.0
 */
export interface BookVenue<R = never> {
  readonly venue: string
  /** The feed topic of a symbol's book (`btcusdt@depth@100ms`, `books:BTC-USDT`…). */
  readonly topic: (symbol: string) => string
  /** @internal */
  readonly adapter: Adapter<unknown>
  /** @internal */
  readonly client: Effect.Effect<HttpClient.HttpClient | undefined, never, R>
  /** @internal An option that cannot work: `make`/`fromFeed` fail with `InvalidConfig` naming it. */
  readonly invalid?: { readonly field: string; readonly reason: string } | undefined
}

/**
 * Options of a Binance book venue: where its REST depth endpoint is, how
 * many levels a snapshot asks for, and the weight budget.
 *
 * @category models
 * @since 0.1.0
 */
export interface BinanceOptions {
  /** REST base URL. Default `https://api.binance.com` (spot), `https://fapi.binance.com` (USD-M). */
  readonly baseUrl?: string | undefined
  /** Levels per side a snapshot asks for (`limit`). Default 1000. */
  readonly limit?: number | undefined
  /** Request weight allowed per minute, shared by every book of the venue and base URL. Default 6000 (spot), 2400 (USD-M). */
  readonly weightPerMinute?: number | undefined
  /** The budget's window, to which a second is added for transit. Default one minute (Binance counts per minute per IP). */
  readonly window?: Duration.Input | undefined
  /** Failed snapshot requests (not counting 429/418 waits) before a book fails. Default 8. */
  readonly attempts?: number | undefined
  /** Diff-depth speed. Default `100ms`. */
  readonly speed?: "100ms" | "1000ms" | undefined
  /** Another profile (e.g. with the simulator's URLs). Default `Binance.spot` / `Binance.usdm`. */
  readonly profile?: Venue.Profile | undefined
}

/** Milliseconds of a duration input, or NaN when it is not one. */
const millis = (input: Duration.Input): number => {
  const decoded = Duration.fromInput(input)
  return decoded._tag === "None" ? Number.NaN : Duration.toMillis(decoded.value)
}

/** USD-M's depth limits (`/fapi/v1/depth` rejects others with -1130). */
const USDM_LIMITS: ReadonlyArray<number> = [5, 10, 20, 50, 100, 500, 1000]

const checkBinance = (futures: boolean, options: BinanceOptions, limit: number) => {
  const positive = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n > 0)
  if (futures ? !USDM_LIMITS.includes(limit) : !(Number.isInteger(limit) && limit >= 1 && limit <= 5000)) {
    return {
      field: "limit",
      reason: futures
        ? `must be one of ${USDM_LIMITS.join(", ")}, got ${limit}`
        : `must be an integer from 1 to 5000, got ${limit}`
    }
  }
  if (!positive(options.weightPerMinute)) {
    return { field: "weightPerMinute", reason: `must be a positive integer, got ${String(options.weightPerMinute)}` }
  }
  if (!positive(options.attempts)) {
    return { field: "attempts", reason: `must be a positive integer, got ${String(options.attempts)}` }
  }
  if (options.window !== undefined && !(millis(options.window) > 0)) {
    return { field: "window", reason: `must be a positive duration, got ${String(options.window)}` }
  }
  return undefined
}

/** A second of margin over the venue's window: it counts on arrival, and requests take time in transit. */
const TRANSIT_MARGIN_MS = 1_000

const windowMs = (input: Duration.Input | undefined): number =>
  (input === undefined ? 60_000 : Math.max(1, millis(input) || 1)) + TRANSIT_MARGIN_MS

const restClient: Effect.Effect<HttpClient.HttpClient, never, HttpClient.HttpClient> = Effect.gen(function*() {
  return yield* HttpClient.HttpClient
})

const binance = (
  futures: boolean,
  options: BinanceOptions
): BookVenue<HttpClient.HttpClient> => {
  const limit = options.limit ?? 1000
  const spec: Rest.RestSpec = {
    venue: futures ? "binance-usdm" : "binance-spot",
    baseUrl: options.baseUrl ?? (futures ? "https://fapi.binance.com" : "https://api.binance.com"),
    path: futures ? "/fapi/v1/depth" : "/api/v3/depth",
    limit,
    weight: futures ? Rest.usdmWeight(limit) : Rest.spotWeight(limit),
    budget: options.weightPerMinute ?? (futures ? 2400 : 6000),
    windowMs: windowMs(options.window),
    attempts: options.attempts ?? 8
  }
  const adapter = futures
    ? BinanceBooks.usdm(spec, options.speed, options.profile)
    : BinanceBooks.spot(spec, options.speed, options.profile)
  const invalid = checkBinance(futures, options, limit)
  return { venue: spec.venue, topic: adapter.topic, adapter, client: restClient, invalid }
}

const wsOnly = (adapter: Adapter<unknown>): BookVenue => ({
  venue: adapter.venue,
  topic: adapter.topic,
  adapter,
  client: Effect.succeed(undefined)
})

/**
 * Binance spot diff-depth books, started and repaired from
 * `GET /api/v3/depth` (weight by limit: 1–100: 5, 101–500: 25, 501–1000: 50,
 * 1001–5000: 250; 6000 per minute by default).
 *
 * @category venues
 * @since 0.1.0
 */
export const binanceSpot = (options: BinanceOptions = {}): BookVenue<HttpClient.HttpClient> => binance(false, options)

/**
 * Binance USDⓈ-M futures diff-depth books, started and repaired from
 * `GET /fapi/v1/depth` (weight by limit: 5–50: 2, 100: 5, 500: 10, 1000: 20;
 * 2400 per minute by default), chained by `pu`.
 *
 * @category venues
 * @since 0.1.0
 */
export const binanceUsdm = (options: BinanceOptions = {}): BookVenue<HttpClient.HttpClient> => binance(true, options)

/**
 * OKX books (`books` by default; `books-l2-tbt`, `books50-l2-tbt` alike),
 * symbols as `instId` (`BTC-USDT`).
 *
 * @category venues
 * @since 0.1.0
 */
export const okx = (options: { readonly channel?: string; readonly profile?: Venue.Profile } = {}): BookVenue =>
  wsOnly(Streams.okx(options.channel, options.profile))

/**
 * Bybit `orderbook.{depth}` books (depth 50 by default; the profile picks
 * spot, linear or inverse), symbols as `BTCUSDT`.
 *
 * @category venues
 * @since 0.1.0
 */
export const bybit = (
  options: { readonly depth?: 1 | 50 | 200 | 1000; readonly profile?: Venue.Profile } = {}
): BookVenue => wsOnly(Streams.bybit(options.depth, options.profile))

/**
 * Kraken v2 `book` books at the subscribed `depth` (10 by default), checked
 * with the pair's `precision` (from Kraken's `instrument` channel),
 * symbols as `BTC/USD`.
 *
 * **Gotchas**: `depth` must be the depth the feed subscribes. `Kraken.spot`
 * asks for Kraken's default, 10; Kraken does not delete a level pushed out
 * at the bottom, so the book truncates to `depth` as Kraken's guide says,
 * and a larger `depth` than the stream's would keep such levels.
 *
 * @category venues
 * @since 0.1.0
 */
export const kraken = (options: {
  readonly precision: (symbol: string) => Kraken.Precision
  readonly depth?: number
  readonly profile?: Venue.Profile
}): BookVenue => wsOnly(Streams.kraken(options.precision, options.depth, options.profile))

/**
 * Coinbase Exchange level-2 books (`level2_batch`, the public channel, by
 * default), symbols as `BTC-USD`.
 *
 * @category venues
 * @since 0.1.0
 */
export const coinbase = (options: { readonly channel?: string; readonly profile?: Venue.Profile } = {}): BookVenue =>
  wsOnly(Streams.coinbase(options.channel, options.profile))

/**
 * Hyperliquid `l2Book` books (each message a whole snapshot), symbols as coins (`BTC`).
 *
 * @category venues
 * @since 0.1.0
 */
export const hyperliquid = (options: { readonly profile?: Venue.Profile } = {}): BookVenue =>
  wsOnly(Streams.hyperliquid(options.profile))

/**
 * One symbol's book. Every read carries the book's `status`; the `live…`
 * reads fail with `NotLive` when it is not `Live`.
 *
 * @category models
 * @since 0.1.0
 */
export interface OrderBook {
  /** The symbol as the venue's messages name it (`BTCUSDT`, `BTC-USDT`, `BTC/USD`…). */
  readonly symbol: string
  /** The feed topic the book follows. */
  readonly topic: string
  /** The status now. */
  readonly status: Effect.Effect<Status>
  /** The status now, then every transition. */
  readonly statusChanges: Stream.Stream<Status>
  /** Best bid and ask now, with the status. */
  readonly top: Effect.Effect<Top>
  /** Best bid and ask now; fails with `NotLive` unless the book is live. */
  readonly liveTop: Effect.Effect<Top, NotLive>
  /** The best `depth` levels per side now (default: all), with the status. */
  readonly snapshot: (depth?: number) => Effect.Effect<Snapshot>
  /** The best `depth` levels per side now; fails with `NotLive` unless the book is live. */
  readonly liveSnapshot: (depth?: number) => Effect.Effect<Snapshot, NotLive>
  /** Waits until the book is `Live` (at once if it is); fails with `NotLive` if it ends `Failed` instead. */
  readonly awaitLive: Effect.Effect<void, NotLive>
  /**
   * The top of the book each time best bid or ask (price or size) changes,
   * from when the stream starts. Conflated: a reader that falls 64 changes
   * behind loses the oldest.
   */
  readonly changes: Stream.Stream<Top>
  /**
   * The whole book (best `depth` levels per side, default all) after every
   * message applied, read when the reader takes it (a slow reader sees
   * later states and skips some).
   */
  readonly books: (depth?: number) => Stream.Stream<Snapshot>
  /** This book's events. */
  readonly events: Stream.Stream<BookEvent>
  /** Resyncs now from a fresh snapshot, as the periodic resync does (a live book reads `Resyncing(periodic)`); also restarts a `Failed` book. */
  readonly resync: Effect.Effect<void>
}

/**
 * The books of one venue on one feed.
 *
 * @category models
 * @since 0.1.0
 */
export interface OrderBooks {
  readonly venue: string
  /** The feed the books follow (its `events` and `stats` stay available). */
  readonly feed: Feed.Feed
  /** The book of `symbol`, subscribing it if new (the same book for the same symbol). */
  readonly book: (symbol: string) => Effect.Effect<OrderBook>
  /**
   * The books of `symbols`, the new ones subscribed in one call (a request
   * per venue chunk rather than one per book: a thousand books start in a
   * few requests, within the venue's message rate).
   */
  readonly bookAll: (symbols: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<OrderBook>>
  /** Unsubscribes a symbol; its book ends `Failed` ("removed"). */
  readonly remove: (symbol: string) => Effect.Effect<void>
  /** Every book held. */
  readonly books: Effect.Effect<ReadonlyArray<OrderBook>>
  /** Every book's events. */
  readonly events: Stream.Stream<BookEvent>
}

/**
 * Options of a set of books: the feed's (for `make`) and the books' own.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Options of the feed `make` creates (URL, reconnect schedule, …); its `sequence`/`onGap` are the books' business and left unset. */
  readonly feed?: Omit<Feed.FeedOptions, "sequence" | "onGap" | "topics"> | undefined
  /** Resync every book from a fresh snapshot this often, as a safety net. Default: never. */
  readonly periodicResync?: Duration.Input | undefined
  /** Events buffered per `events` reader before the oldest are dropped. Default 4,096. */
  readonly eventsCapacity?: number | undefined
}

const notLive = (book: BookState): NotLive | undefined => {
  const status = book.status
  switch (status._tag) {
    case "Live":
      return undefined
    case "Syncing":
      return new NotLive({ symbol: book.symbol, status: "Syncing", reason: "waiting for its first snapshot" })
    case "Resyncing":
      return new NotLive({ symbol: book.symbol, status: "Resyncing", reason: status.reason })
    case "Failed":
      return new NotLive({ symbol: book.symbol, status: "Failed", reason: status.reason })
  }
}

const view = (set: BookSet.BookSet, book: BookState): OrderBook => {
  const top = Effect.sync(() => book.top())
  const snapshot = (depth = Number.POSITIVE_INFINITY) => Effect.sync(() => book.snapshot(depth))
  const statusChanges = Stream.fromPubSub(book.statuses)
  return {
    symbol: book.symbol,
    topic: book.topic,
    status: Effect.sync(() => book.status),
    statusChanges,
    top,
    liveTop: Effect.suspend(() => {
      const error = notLive(book)
      return error === undefined ? Effect.succeed(book.top()) : Effect.fail(error)
    }),
    snapshot,
    liveSnapshot: (depth = Number.POSITIVE_INFINITY) =>
      Effect.suspend(() => {
        const error = notLive(book)
        return error === undefined ? Effect.succeed(book.snapshot(depth)) : Effect.fail(error)
      }),
    awaitLive: statusChanges.pipe(
      Stream.filter((s) => s._tag === "Live" || s._tag === "Failed"),
      Stream.runHead,
      Effect.flatMap((found) =>
        found._tag === "Some" && found.value._tag === "Failed"
          ? Effect.fail(new NotLive({ symbol: book.symbol, status: "Failed", reason: found.value.reason }))
          : Effect.void
      )
    ),
    changes: book.tops.stream,
    books: (depth = Number.POSITIVE_INFINITY) => book.applied.stream.pipe(Stream.map(() => book.snapshot(depth))),
    events: set.events.stream.pipe(Stream.filter((e) => !("symbol" in e) || e.symbol === book.symbol)),
    resync: set.resync(book, "periodic")
  }
}

/**
 * Keeps books of `venue` on an existing feed (made for the venue's
 * profile, with no `sequence` or `onGap` of its own: the books judge
 * their messages themselves). Lives until the scope closes. An option that
 * cannot work (a Binance `limit` the endpoint refuses, a non-positive
 * budget or period) fails with `InvalidConfig` naming it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromFeed = <R>(
  feed: Feed.Feed,
  venue: BookVenue<R>,
  options: Omit<Options, "feed"> = {}
): Effect.Effect<OrderBooks, ConnectionError.InvalidConfig, R | Scope.Scope> =>
  Effect.gen(function*() {
    const invalid = (field: string, reason: string) =>
      Effect.fail(new ConnectionError.InvalidConfig({ connection: feed.name, field, reason }))
    if (venue.invalid !== undefined) return yield* invalid(venue.invalid.field, venue.invalid.reason)
    const period = options.periodicResync === undefined ? undefined : millis(options.periodicResync)
    if (period !== undefined && !(period > 0 && Number.isFinite(period))) {
      return yield* invalid(
        "periodicResync",
        `must be a positive, finite duration, got ${String(options.periodicResync)}`
      )
    }
    const capacity = options.eventsCapacity
    if (capacity !== undefined && !(Number.isInteger(capacity) && capacity > 0)) {
      return yield* invalid("eventsCapacity", `must be a positive integer, got ${String(capacity)}`)
    }
    const client = yield* venue.client
    const set = yield* BookSet.start(feed, venue.adapter, client, {
      periodicResync: period,
      eventsCapacity: options.eventsCapacity ?? 4096
    })
    const views = new Map<BookState, OrderBook>()
    const viewOf = (book: BookState): OrderBook => {
      let found = views.get(book)
      if (found === undefined) {
        found = view(set, book)
        views.set(book, found)
      }
      return found
    }
    return {
      venue: venue.venue,
      feed,
      book: (symbol) => Effect.map(set.add(symbol), viewOf),
      bookAll: (symbols) => Effect.map(set.addMany(symbols), (books) => books.map(viewOf)),
      remove: (symbol) =>
        Effect.suspend(() => {
          const book = set.books.get(venue.adapter.key(symbol))
          if (book !== undefined) views.delete(book)
          return set.remove(symbol)
        }),
      books: Effect.sync(() => [...set.books.values()].map(viewOf)),
      events: set.events.stream
    }
  })

/**
 * Makes a feed for `venue` and keeps books on it: `book(symbol)` subscribes
 * a symbol and hands back its book. Needs a `Transport` and, for Binance,
 * an `HttpClient` (e.g. `FetchHttpClient.layer` from `effect/http`).
 *
 * @example
 * ```ts
 * import { NodeTransport } from "@kharbranth/node"
 * import { OrderBook } from "@kharbranth/exchanges"
 * import { Effect, Stream } from "effect"
 * import { FetchHttpClient } from "effect/http"
 *
 * const program = Effect.gen(function*() {
 *   const books = yield* OrderBook.make(OrderBook.binanceSpot())
 *   const btc = yield* books.book("BTCUSDT")
 *   yield* btc.awaitLive
 *   yield* btc.changes.pipe(
 *     Stream.take(5),
 *     Stream.runForEach((top) => Effect.log(`${top.bid?.price} / ${top.ask?.price} (${top.status._tag})`))
 *   )
 * }).pipe(Effect.scoped, Effect.provide([NodeTransport.layer(), FetchHttpClient.layer]))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <R>(
  venue: BookVenue<R>,
  options: Options = {}
): Effect.Effect<OrderBooks, ConnectionError.InvalidConfig, R | Transport.Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const feed = yield* Feed.make(`${venue.venue}-books`, venue.adapter.profile, options.feed ?? {})
    return yield* fromFeed(feed, venue, options)
  })
