/**
 * The `FeedSlice` entity's behaviour: one `Feed` limited to one connection,
 * opened in the entity's scope from the registry's topics for the slice,
 * kept alive by the cluster (`Entity.keepAlive(true)`) while it holds
 * topics.
 */
import * as Transport from "@kharbranth/core/Transport"
import { Feed } from "@kharbranth/exchanges"
import * as Clock from "effect/Clock"
import * as Entity from "effect/cluster/Entity"
import * as Sharding from "effect/cluster/Sharding"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Rpc from "effect/rpc/Rpc"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as FeedSlice from "../FeedSlice.ts"
import * as DialLimiter from "./dialLimiter.ts"
import * as Registry from "./registry.ts"

/** What a runner's slices share: how long an idle slice lingers before the cluster passivates it. */
export interface Options {
  readonly maxIdleTime?: import("effect/Duration").Input | undefined
}

interface Live {
  readonly feed: Feed.Feed
  readonly scope: Scope.Closeable
}

export const layer = (options: Options = {}) =>
  FeedSlice.FeedSlice.toLayer(
    Effect.gen(function*() {
      const address = yield* Entity.CurrentAddress
      const runnerAddress = yield* Entity.CurrentRunnerAddress
      const sharding = yield* Sharding.Sharding
      const registry = yield* Registry.Registry
      const definitions = yield* FeedSlice.Definitions
      const transport = yield* Transport.Transport
      const limiter = yield* DialLimiter.DialLimiter
      const id = String(address.entityId)
      const parsed = FeedSlice.parseEntityId(id)
      if (parsed === undefined) return yield* Effect.die(new Error(`FeedSlice id "${id}" is not <feed>/<slice>`))
      const { feed: feedName, slice } = parsed
      const activation = yield* registry.activate(feedName, slice).pipe(Effect.orDie)
      const activatedAt = yield* Clock.currentTimeMillis
      const runner = `${runnerAddress.host}:${runnerAddress.port}`
      const entityScope = yield* Effect.scope
      const lock = yield* Semaphore.make(1)
      const current = yield* SubscriptionRef.make<Option.Option<Live>>(Option.none())
      let deliveredBefore = 0
      const keepAlive = (enabled: boolean) =>
        Entity.keepAlive(enabled).pipe(
          Effect.provideService(Sharding.Sharding, sharding),
          Effect.provideService(Entity.CurrentAddress, address)
        )

      const live = SubscriptionRef.get(current).pipe(Effect.map(Option.getOrUndefined))

      const close = Effect.gen(function*() {
        const was = yield* live
        if (was === undefined) return
        yield* SubscriptionRef.set(current, Option.none())
        deliveredBefore += (yield* was.feed.stats).delivered
        yield* Scope.close(was.scope, Exit.void)
      })

      /** Opens the slice's Feed on its registered topics (none: stays idle and ends its keep-alive). */
      const open = Effect.gen(function*() {
        const row = yield* registry.feed(feedName).pipe(Effect.orDie)
        const topics = Option.isSome(row) ? yield* registry.topicsOf(feedName, slice).pipe(Effect.orDie) : []
        if (Option.isNone(row) || topics.length === 0) {
          yield* keepAlive(false)
          return
        }
        const definition = definitions[row.value.kind]
        if (definition === undefined) {
          return yield* Effect.die(
            new Error(`feed "${feedName}": kind "${row.value.kind}" is not among this runner's definitions`)
          )
        }
        const scope = yield* Scope.fork(entityScope)
        const feed = yield* Feed.make(id, definition.profile, {
          ...definition.options,
          ...(row.value.url === undefined ? {} : { url: row.value.url }),
          ...(row.value.urls === undefined ? {} : { urls: row.value.urls }),
          topics,
          streamsPerConnection: row.value.sliceSize
        }).pipe(
          Scope.provide(scope),
          Effect.provideService(Transport.Transport, DialLimiter.governed(transport, limiter, definition)),
          Effect.orDie
        )
        yield* SubscriptionRef.set(current, Option.some({ feed, scope }))
        yield* keepAlive(true)
      })

      const status = Effect.gen(function*(): Effect.fn.Return<FeedSlice.SliceStatus> {
        const now = yield* live
        const subscriptions = now === undefined ? [] : yield* now.feed.subscriptions
        const stats = now === undefined ? undefined : yield* now.feed.stats
        const delivered = stats?.delivered ?? 0
        let lastDataAt: number | null = null
        for (const s of subscriptions) {
          if (s.lastDataAt !== undefined && (lastDataAt === null || s.lastDataAt > lastDataAt)) {
            lastDataAt = s.lastDataAt
          }
        }
        return {
          feed: feedName,
          slice,
          entityId: id,
          runner,
          pid: process.pid,
          activation,
          activatedAt,
          state: now === undefined ? "idle" : "live",
          topics: subscriptions.map((s) => ({
            topic: s.topic,
            state: s.state,
            reason: s.reason ?? null,
            lastDataAt: s.lastDataAt ?? null
          })),
          frames: deliveredBefore + delivered,
          lastFrameAt: lastDataAt,
          stats: {
            delivered,
            duplicates: stats?.duplicates ?? 0,
            gaps: stats?.gaps ?? 0,
            rotations: stats?.rotations ?? 0,
            restarts: stats?.restarts ?? 0,
            replays: stats?.replays ?? 0,
            resubscribes: stats?.resubscribes ?? 0
          }
        }
      })

      const ensure = lock.withPermits(1)(Effect.gen(function*() {
        if ((yield* live) === undefined) yield* open
      }))

      /**
       * Waits until no topic of the live Feed is `pending` (each confirmed,
       * refused or retrying), polling its registry; bounded by 20 s, past
       * the Feed's own answer deadline, so a caller never waits forever.
       */
      const settled = Effect.gen(function*() {
        for (let i = 0; i < 400; i++) {
          const now = yield* live
          if (now === undefined) return
          if (!(yield* now.feed.subscriptions).some((s) => s.state === "pending")) return
          yield* Effect.sleep("50 millis")
        }
      })

      /** Subscribes and unsubscribes the difference between the registry and the live Feed, then waits for the venue. */
      const sync = lock.withPermits(1)(Effect.gen(function*() {
        const now = yield* live
        if (now === undefined) return yield* Effect.andThen(open, settled)
        const wanted = yield* registry.topicsOf(feedName, slice).pipe(Effect.orDie)
        if (wanted.length === 0) {
          yield* close
          yield* keepAlive(false)
          return
        }
        const held = new Set((yield* now.feed.subscriptions).map((s) => s.topic))
        const want = new Set(wanted)
        const added = wanted.filter((t) => !held.has(t))
        const removed = [...held].filter((t) => !want.has(t))
        // A refusal stays visible in the status (state and reason); Sync itself reports, not fails.
        if (removed.length > 0) yield* Effect.ignore(now.feed.unsubscribe(removed))
        if (added.length > 0) yield* Effect.ignore(now.feed.subscribe(added))
        yield* settled
      }))

      const withLive = (f: (live: Live) => Effect.Effect<void, unknown>) =>
        lock.withPermits(1)(Effect.gen(function*() {
          const now = yield* live
          if (now !== undefined) yield* Effect.ignore(f(now))
        }))

      const beats = Stream.tick("1 second").pipe(
        Stream.mapEffect(() =>
          Effect.map(Clock.currentTimeMillis, (at): FeedSlice.SliceItem => ({ _tag: "Beat", activation, at }))
        )
      )
      const frames = SubscriptionRef.changes(current).pipe(
        Stream.switchMap((now) =>
          Option.isNone(now) ? Stream.never : now.value.feed.frames.pipe(
            Stream.filter((frame) => frame._tag === "Text" || frame._tag === "Binary"),
            Stream.map((frame): FeedSlice.SliceItem => ({
              _tag: "Frame",
              activation,
              session: frame.session,
              receivedAt: frame.receivedAt,
              data: frame.data
            }))
          )
        ),
        Stream.merge(beats)
      )

      yield* ensure
      yield* Effect.addFinalizer(() => close)

      return FeedSlice.FeedSlice.of({
        Ensure: () => Effect.andThen(ensure, status),
        Status: () => Rpc.fork(status),
        Sync: () => Effect.andThen(sync, status),
        Resubscribe: ({ payload }) => Effect.andThen(withLive((l) => l.feed.resubscribe(payload.topics)), status),
        Restart: () => Effect.andThen(withLive((l) => l.feed.restart("FeedSlice.Restart")), status),
        Rotate: () => Effect.andThen(withLive((l) => l.feed.rotate("FeedSlice.Rotate")), status),
        Stop: () => lock.withPermits(1)(Effect.andThen(close, keepAlive(false))).pipe(Effect.andThen(status)),
        Frames: () => Rpc.fork(frames)
      })
    }),
    { maxIdleTime: options.maxIdleTime ?? "1 minute" }
  )
