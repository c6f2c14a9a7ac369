/**
 * Make-before-break rotation of a shard, before the venue's forced
 * disconnect (`maxLifetime`, a notice) or on request: a standby session is
 * dialed beside the live one and replays every topic; it takes over once it
 * overlaps the live one (see `switchover.ts`), or when `rotationTimeout`
 * ends if it has replayed and has data; else it is closed and the old
 * session stays live (`RotationFailed`).
 */
import type { Frame } from "@kharbranth/core"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Connections from "./connections.ts"
import { type Context, deliver, emit, type Shard } from "./context.ts"
import { FeedEvent } from "./model.ts"
import * as Switchover from "./switchover.ts"

/** Rotates `shard`; returns when it switched or gave up. */
export const rotate = (ctx: Context, shard: Shard, reason: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (ctx.closed || shard.removed || shard.standby !== undefined) return Effect.void
    const startedAt = ctx.now()
    shard.nextRotationAt = startedAt + ctx.rotationTimeout
    shard.generation += 1
    const generation = shard.generation
    return Effect.gen(function*() {
      yield* emit(ctx, FeedEvent.RotationStarted({ at: startedAt, shard: shard.index, reason }))
      // The new session is a second connection until the switch: it needs
      // a slot of the venue's connection cap like any other.
      if (!shard.budget.connections.take()) {
        return yield* emit(
          ctx,
          FeedEvent.RotationFailed({
            at: startedAt,
            shard: shard.index,
            reason: `the venue's cap of ${ctx.profile.limits.connectionsPerIp} connections per IP is reached`
          })
        )
      }
      const standby = yield* Connections.make(ctx, shard, generation, "standby")
      if (ctx.closed || shard.removed) return yield* Connections.close(ctx, standby)
      shard.standby = standby
      const outcome = yield* Deferred.await(standby.switched).pipe(
        Effect.timeoutOption(Duration.millis(ctx.rotationTimeout))
      )
      let overlapped: boolean | undefined = outcome._tag === "Some" ? outcome.value : undefined
      if (overlapped === undefined && shard.standby === standby && standby.replayDone && standby.gotData) {
        // Not overlapped in time (the old session fell behind or went
        // quiet): switch anyway; any gap is reported by the sequence check.
        const after: Array<Effect.Effect<void>> = []
        const at = ctx.now()
        const out: Array<Frame.Frame> = Switchover.switchOver(ctx, shard, standby, at, false, after)
        yield* deliver(ctx, out, after, at)
        overlapped = false
      }
      if (overlapped === undefined) {
        if (shard.standby === standby) shard.standby = undefined
        yield* Connections.close(ctx, standby)
        yield* emit(
          ctx,
          FeedEvent.RotationFailed({
            at: ctx.now(),
            shard: shard.index,
            reason: `the new conn was not ready within ${ctx.rotationTimeout} ms`
          })
        )
        return
      }
      ctx.counters.rotations += 1
      shard.nextRotationAt = 0
      yield* emit(
        ctx,
        FeedEvent.Rotated({
          at: ctx.now(),
          shard: shard.index,
          generation,
          took: ctx.now() - startedAt,
          overlapped
        })
      )
      const retired = shard.retired
      shard.retired = []
      yield* Effect.forEach(retired, (conn) => Connections.close(ctx, conn, true), { discard: true })
    })
  })
