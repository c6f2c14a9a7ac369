/**
 * The books of one venue on one `Feed`: one reader fiber applies the feed's
 * frames to the books they name (synchronously, a socket read at a time),
 * one fiber reads the feed's events (a reconnect or rotation of a shard
 * sends that shard's books to `Resyncing{reconnect}`; a permanent
 * subscription refusal fails only its book), repairs run in fibers of their
 * own (a REST snapshot through the shared budget, or a resubscribe), and an
 * optional timer resyncs every book periodically. A failure in one book's
 * repair touches only that book.
 */
import { Hub } from "@kharbranth/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Feed from "../../Feed.ts"
import type { Adapter, ApplyContext } from "./adapter.ts"
import * as BookMetrics from "./metrics.ts"
import { BookEvent, type ResyncReason, type Status } from "./model.ts"
import { fetchSnapshot } from "./rest.ts"
import { BookState, type Host } from "./state.ts"

/** Options of a set. */
export interface SetOptions {
  /** Resync every book this often (off when undefined). */
  readonly periodicResync: number | undefined
  /** Events buffered per subscriber. */
  readonly eventsCapacity: number
}

/** The running set. */
export interface BookSet {
  readonly adapter: Adapter<unknown>
  readonly feed: Feed.Feed
  readonly events: Hub.Hub<BookEvent>
  readonly books: Map<string, BookState>
  readonly add: (symbol: string) => Effect.Effect<BookState>
  readonly addMany: (symbols: ReadonlyArray<string>) => Effect.Effect<Array<BookState>>
  readonly remove: (symbol: string) => Effect.Effect<void>
  /** Starts a full repair of a book now (also restarts a failed one). */
  readonly resync: (book: BookState, reason: ResyncReason) => Effect.Effect<void>
}

/** Attempts of a resubscribe repair before the book fails. */
const RESUBSCRIBE_ATTEMPTS = 6

/** Starts a set on `feed`; it lives until the scope closes. */
export const start = (
  feed: Feed.Feed,
  adapter: Adapter<unknown>,
  client: HttpClient.HttpClient | undefined,
  options: SetOptions
): Effect.Effect<BookSet, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const scope = yield* Effect.scope
    const now = () => clock.currentTimeMillisUnsafe()
    const events = new Hub.Hub<BookEvent>(options.eventsCapacity, "sliding", 0)
    const books = new Map<string, BookState>()
    const metrics = yield* BookMetrics.attach({ feed: feed.name, venue: adapter.venue }, () => books.values(), scope)
    const emit = (event: BookEvent): void => {
      metrics?.event(event)
      if (events.wanted) events.publish([event])
    }
    const byTopic = new Map<string, BookState>()
    const repairing = new Set<BookState>()
    // Repairs are asked for from synchronous code; one fiber forks each in the set's scope.
    const repairs = yield* Queue.unbounded<Effect.Effect<void>>()
    const fork = (effect: Effect.Effect<void>): void => {
      Queue.offerUnsafe(repairs, effect)
    }
    yield* Queue.take(repairs).pipe(
      Effect.flatMap((effect) => Effect.forkIn(effect, scope)),
      Effect.forever,
      Effect.forkIn(scope)
    )

    const restRepair = (book: BookState): Effect.Effect<void> =>
      Effect.gen(function*() {
        // Bounded: each pass fetches once; a book resynced meanwhile is fetched again (at most 20 in a row).
        for (let pass = 0; pass < 20; pass++) {
          const generation = book.generation
          const result = yield* Effect.result(fetchSnapshot(client!, adapter.rest!, book.symbol, emit))
          if (book.status._tag === "Failed" || !books.has(adapter.key(book.symbol))) return
          if (result._tag === "Failure") return book.fail(result.failure.message)
          if (!book.buffering) return
          if (book.generation !== generation) continue // resynced while the request was out: ask again
          adapter.onRestSnapshot!(book, result.success, ctx)
          if (!book.buffering) return
        }
        book.fail("20 snapshots in a row did not bridge the stream")
      }).pipe(Effect.ensuring(Effect.sync(() => repairing.delete(book))))

    const resubscribeRepair = (book: BookState): Effect.Effect<void> =>
      feed.resubscribe(book.topic).pipe(
        Effect.retry({ times: RESUBSCRIBE_ATTEMPTS - 1, schedule: Schedule.exponential("1 second") }),
        Effect.catch((e) => Effect.sync(() => book.fail(e.message))),
        Effect.ensuring(Effect.sync(() => repairing.delete(book)))
      )

    const host: Host = {
      now,
      emit,
      repair: (book) => {
        if (adapter.repair === "rest") {
          if (!book.buffering) {
            book.buffering = true
            book.buffer = []
            book.awaitFirst = false
          }
        } else {
          book.awaitSnapshot = true
        }
        if (repairing.has(book)) return
        repairing.add(book)
        fork(adapter.repair === "rest" ? restRepair(book) : resubscribeRepair(book))
      }
    }

    const ctx: ApplyContext = {
      now,
      reset: (book, from, to) => emit(BookEvent.SequenceReset({ at: now(), symbol: book.symbol, from, to })),
      staleSnapshot: (book, lastUpdateId, first) =>
        emit(BookEvent.SnapshotStale({ at: now(), symbol: book.symbol, lastUpdateId, first }))
    }

    /** A reconnect or rotation of the shard holding `book`. */
    const reconnected = (book: BookState): void => {
      if (book.status._tag === "Failed") return
      if (adapter.repair === "rest") {
        if (book.buffering) return // a snapshot is on its way; the buffer will be judged against it
        book.resync("reconnect", false)
        book.awaitFirst = true
        book.fromRest = false
      } else if (!book.awaitSnapshot) {
        // A numbered or checksummed book proves itself with the next update; one with neither needs a snapshot.
        const proves = !Number.isNaN(book.seq) || adapter.venue === "kraken" || adapter.venue === "hyperliquid"
        book.resync("reconnect", !proves)
      }
    }

    const onShard = (shard: number, f: (book: BookState) => void) =>
      Effect.flatMap(feed.subscriptions, (subs) =>
        Effect.sync(() => {
          for (const sub of subs) {
            const book = byTopic.get(sub.topic)
            if (book !== undefined && sub.shard === shard) f(book)
          }
        }))

    yield* feed.events.pipe(
      Stream.runForEach((event): Effect.Effect<void> => {
        switch (event._tag) {
          case "Connection":
            return event.event._tag === "Disconnected" ? onShard(event.shard, reconnected) : Effect.void
          case "Rotated":
            return onShard(event.shard, reconnected)
          case "SubscribeFailed":
            return Effect.sync(() => {
              if (!event.permanent) return
              for (const topic of event.topics) byTopic.get(topic)?.fail(`subscription refused: ${event.reason}`)
            })
          case "Stale":
            return Effect.sync(() => byTopic.get(event.topic)?.resync("stale"))
          default:
            return Effect.void
        }
      }),
      Effect.forkIn(scope)
    )

    yield* feed.frames.pipe(
      Stream.runForEachArray((frames) =>
        Effect.sync(() => {
          for (let i = 0; i < frames.length; i++) {
            const frame = frames[i]!
            if (frame._tag !== "Text") continue
            try {
              const msg = adapter.parse(frame.data)
              if (msg !== undefined) adapter.dispatch(msg, books, ctx)
            } catch {
              // A message the adapter cannot read is skipped; the book it named proves itself with the next one.
            }
          }
        })
      ),
      Effect.forkIn(scope)
    )

    if (options.periodicResync !== undefined) {
      yield* Effect.sync(() => {
        for (const book of books.values()) if (book.live) book.resync("periodic")
      }).pipe(
        Effect.delay(Duration.millis(options.periodicResync)),
        Effect.repeat(Schedule.spaced(Duration.millis(options.periodicResync))),
        Effect.forkIn(scope)
      )
    }

    /** Books for `symbols` (existing ones as they are), subscribed in one call: one request per venue chunk, not per book. */
    const addMany = (symbols: ReadonlyArray<string>): Effect.Effect<Array<BookState>> =>
      Effect.gen(function*() {
        const out: Array<BookState> = []
        const fresh: Array<BookState> = []
        for (const symbol of symbols) {
          const key = adapter.key(symbol)
          const found = books.get(key)
          if (found !== undefined) {
            out.push(found)
            continue
          }
          const statuses = yield* PubSub.unbounded<Status>({ replay: 1 })
          const again = books.get(key)
          if (again !== undefined) {
            out.push(again)
            continue
          }
          const book = new BookState(key, adapter.topic(symbol), host, adapter.keepText, statuses)
          books.set(key, book)
          byTopic.set(book.topic, book)
          if (adapter.repair === "rest") {
            // Buffer from the first event; fetch the snapshot once the stream is confirmed.
            book.buffering = true
            repairing.add(book)
          }
          out.push(book)
          fresh.push(book)
        }
        if (fresh.length === 0) return out
        const started = (book: BookState) =>
          Effect.sync(() => {
            if (adapter.repair === "rest" && book.status._tag !== "Failed") fork(restRepair(book))
            else repairing.delete(book)
          })
        fork(
          feed.subscribe(fresh.map((b) => b.topic)).pipe(
            Effect.matchEffect({
              onFailure: (e) =>
                Effect.forEach(fresh, (book) => {
                  // A refusal names its topics: only those books fail; the others are subscribed.
                  const refused = e._tag === "SubscriptionError" ? e.topics.includes(book.topic) : true
                  if (!refused) return started(book)
                  return Effect.sync(() => {
                    repairing.delete(book)
                    if (e._tag !== "SubscriptionError" || e.permanent) book.fail(e.message)
                  })
                }, { discard: true }),
              onSuccess: () => Effect.forEach(fresh, started, { discard: true })
            })
          )
        )
        return out
      })

    const add = (symbol: string): Effect.Effect<BookState> => Effect.map(addMany([symbol]), (books) => books[0]!)

    const remove = (symbol: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        const book = books.get(adapter.key(symbol))
        if (book === undefined) return Effect.void
        books.delete(book.symbol)
        byTopic.delete(book.topic)
        book.fail("removed")
        return feed.unsubscribe(book.topic).pipe(Effect.ignore)
      })

    const resync = (book: BookState, reason: ResyncReason): Effect.Effect<void> =>
      Effect.sync(() => {
        if (book.status._tag === "Failed") book.restart()
        book.resync(reason)
      })

    return { adapter, feed, events, books, add, addMany, remove, resync }
  })
