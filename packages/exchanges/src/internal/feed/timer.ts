/**
 * The feed's one timer, every `checkInterval`: requests past
 * `confirmTimeout` fail (their topics go to a retry), sessions older than
 * the lifetime rotate, retrying topics whose backoff is over are sent
 * again, held streams' resyncs are retried or timed out, and each topic
 * with a cadence is checked for staleness — quiet
 * longer than its cadence, it is resubscribed; quiet for another cadence,
 * its connection is restarted.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { addTo, connectionsOf, type Context, emit, fork, restartConnection, type Shard } from "./context.ts"
import * as Gaps from "./gaps.ts"
import { FeedEvent } from "./model.ts"
import * as Operations from "./operations.ts"
import * as Registry from "./registry.ts"
import * as Requests from "./requests.ts"

const check = (ctx: Context): Effect.Effect<void> =>
  Effect.suspend(() => {
    const at = ctx.now()
    const after: Array<Effect.Effect<void>> = []
    for (const shard of ctx.shards) {
      for (const conn of connectionsOf(shard)) Requests.expire(ctx, conn, at, after)
      const live = shard.live
      if (
        ctx.lifetime !== undefined && live.open && live.openedAt !== undefined && shard.standby === undefined &&
        at - live.openedAt >= ctx.lifetime && at >= shard.nextRotationAt
      ) {
        after.push(fork(ctx, ctx.rotateShard(shard, "maxLifetime")))
      }
    }
    Gaps.checkHolds(ctx, at, after)
    const retry = new Map<Shard, Array<string>>()
    const restart = new Set<Shard>()
    for (const entry of ctx.registry.values()) {
      const shard = entry.shard
      if (Registry.isDue(entry, at) && shard.live.open && !shard.removed) {
        Registry.request(entry)
        shard.live.requested.delete(entry.topic)
        addTo(retry, shard, entry.topic)
        continue
      }
      if (entry.cadence === undefined || entry.state !== "confirmed" || entry.lastData === undefined) continue
      if (!shard.live.open || shard.standby !== undefined || restart.has(shard)) continue
      const quietFor = at - entry.lastData
      if (quietFor <= entry.cadence) continue
      entry.lastData = at
      if (entry.quiet === 0) {
        entry.quiet = 1
        ctx.counters.resubscribes += 1
        after.push(emit(ctx, FeedEvent.Stale({ at, topic: entry.topic, quietFor, action: "resubscribe" })))
        after.push(fork(ctx, Operations.resend(ctx, shard.live, [entry.topic], Operations.noRejections())))
      } else {
        entry.quiet = 0
        restart.add(shard)
        ctx.counters.restarts += 1
        after.push(emit(ctx, FeedEvent.Stale({ at, topic: entry.topic, quietFor, action: "restart" })))
        after.push(restartConnection(shard.live, `topic ${entry.topic} quiet for ${quietFor} ms after a resubscribe`))
      }
    }
    for (const [shard, list] of retry) {
      ctx.counters.retries += list.length
      after.push(Requests.request(ctx, shard, list))
    }
    return Effect.all(after, { discard: true })
  })

/** Runs the timer in the feed's scope, every `tick` ms. */
export const start = (ctx: Context, tick: number): Effect.Effect<void> =>
  Effect.asVoid(
    Effect.forkIn(Effect.forever(Effect.andThen(Effect.sleep(Duration.millis(tick)), check(ctx))), ctx.scope)
  )
