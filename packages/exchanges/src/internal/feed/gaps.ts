/**
 * What a feed does with a sequenced data message, on the sequencer's
 * verdict: drop a duplicate, deliver a documented reset with an event, and
 * on a gap restart the session, run the resync callback, or report it. A
 * stream that nothing on the socket repairs (`Sequence.needsResync`) is held
 * after a gap a restart cannot mend: its frames wait, bounded, until the
 * resync callback succeeds (then they go out in order) or the venue sends a
 * snapshot (then they are older than it, and dropped). A resync that fails,
 * or runs past `resyncTimeout`, is tried again after a backoff (1 s doubling
 * to 60 s): a held stream is never left waiting on nothing.
 */
import type { Frame } from "@kharbranth/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Venue from "../../Venue.ts"
import { type Context, emit, fork, type Hold, restartConnection, type ShardConnection } from "./context.ts"
import { FeedEvent, type Gap } from "./model.ts"
import { retryDelay } from "./registry.ts"
import * as Sequencer from "./sequencer.ts"

/**
 * Whether a live session's data message goes out. A snapshot restarts its
 * stream (venues reset numbering after a restart: Bybit `u` = 1), except
 * while a rotation's held frames are released (`overlap`): there a snapshot
 * older than what consumers already have would take their book back in
 * time, so it is dropped.
 */
export const admit = (
  ctx: Context,
  conn: ShardConnection,
  frame: Frame.Frame,
  seq: Venue.Sequence | undefined,
  at: number,
  after: Array<Effect.Effect<void>>,
  overlap = false
): boolean => {
  if (seq === undefined) return true
  const stream = seq.stream
  const last = ctx.lastSeq.get(stream)
  const first = !conn.seen.has(stream)
  conn.seen.add(stream)
  const verdict = Sequencer.judge(last, seq, overlap)
  const hold = ctx.holds.get(stream)
  switch (verdict._tag) {
    case "Duplicate":
      ctx.counters.duplicates += 1
      return false
    case "Reset":
      ctx.counters.resets += 1
      after.push(emit(
        ctx,
        FeedEvent.SequenceReset({ at, shard: conn.shard.index, stream, from: verdict.from, to: verdict.to })
      ))
      break
    case "InOrder":
      if (hold !== undefined && seq.snapshot === true && !hold.resyncing) {
        // The venue's snapshot repairs the stream: what was held is older.
        ctx.holds.delete(stream)
        ctx.counters.heldDropped += hold.frames.length
        after.push(emit(ctx, FeedEvent.Released({ at, stream, frames: 0, dropped: hold.frames.length + hold.dropped })))
        ctx.lastSeq.set(stream, seq.last)
        return true
      }
      break
    case "Gap": {
      ctx.counters.gaps += 1
      const gap: Gap = {
        feed: ctx.name,
        stream,
        expected: verdict.expected,
        got: verdict.got,
        shard: conn.shard.index,
        sessionStart: first
      }
      if (hold !== undefined) {
        // Already held: the resync under way (or to come) covers it.
        after.push(emit(ctx, FeedEvent.GapDetected({ ...gap, at, action: "hold" })))
        break
      }
      if (ctx.onGap === "restart" && !first) {
        conn.broken = conn.seenSession
        after.push(restart(ctx, gap, conn, at))
        return false
      }
      if (seq.needsResync === true) {
        ctx.holds.set(stream, {
          frames: [],
          dropped: 0,
          resyncing: typeof ctx.onGap === "function",
          gap,
          fiber: undefined,
          startedAt: at,
          retryAt: undefined,
          failures: 0,
          releasing: false
        })
        after.push(startHold(ctx, gap, at))
      } else {
        after.push(report(ctx, gap, at))
      }
      break
    }
  }
  ctx.lastSeq.set(stream, seq.last)
  const held = ctx.holds.get(stream)
  if (held === undefined) return true
  held.frames.push(frame)
  if (held.frames.length > ctx.holdLimit) {
    held.frames.shift()
    held.dropped += 1
    ctx.counters.heldDropped += 1
  }
  return false
}

/**
 * Runs the resync callback for a gap that holds nothing, in its own fiber,
 * once; `ResyncFailed` if it fails (a held stream's resync is `startResync`).
 */
const resync = (ctx: Context, gap: Gap): Effect.Effect<void> => {
  const callback = ctx.onGap
  if (typeof callback !== "function") return Effect.void
  return fork(
    ctx,
    Effect.suspend(() => callback(gap)).pipe(
      Effect.catchCause((cause) => emit(ctx, FeedEvent.ResyncFailed({ at: ctx.now(), stream: gap.stream, cause })))
    )
  )
}

/**
 * One resync attempt of a held stream, in its own fiber: the callback with
 * the hold's gap, then the release. On failure the hold stays and the next
 * attempt is due after a backoff (`ResyncFailed`). Nothing if the stream is
 * no longer held or an attempt is under way.
 */
const startResync = (ctx: Context, stream: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const callback = ctx.onGap
    const hold = ctx.holds.get(stream)
    if (typeof callback !== "function" || hold === undefined || !hold.resyncing || hold.fiber !== undefined) {
      return Effect.void
    }
    hold.startedAt = ctx.now()
    hold.retryAt = undefined
    const attempt = Effect.suspend(() => callback(hold.gap)).pipe(
      Effect.andThen(Effect.suspend(() => {
        // Succeeded: from here on the attempt only hands the held frames
        // over (perhaps waiting on a slow consumer), which no timeout cuts.
        hold.releasing = true
        return release(ctx, stream)
      })),
      Effect.catchCause((cause) => Effect.suspend(() => failed(ctx, stream, hold, cause))),
      Effect.onExit(() =>
        Effect.sync(() => {
          if (hold.fiber === fiber) hold.fiber = undefined
        })
      )
    )
    let fiber: Fiber.Fiber<void> | undefined
    return Effect.map(Effect.forkIn(attempt, ctx.scope), (started) => {
      // The attempt runs after this returns (it is scheduled), so it finds its fiber here.
      fiber = started
      hold.fiber = started
    })
  })

/** A failed (or timed-out) attempt: reported, and the next one due after a backoff. */
const failed = (ctx: Context, stream: string, hold: Hold, cause: Cause.Cause<unknown>): Effect.Effect<void> => {
  if (ctx.holds.get(stream) !== hold) return Effect.void
  const at = ctx.now()
  hold.failures += 1
  hold.retryAt = at + retryDelay(hold.failures)
  return emit(ctx, FeedEvent.ResyncFailed({ at, stream, cause }))
}

/**
 * The timer's check of held streams: an attempt past `resyncTimeout` is
 * interrupted and counts as failed; an attempt whose backoff is over (or a
 * hold whose first attempt never began) is started.
 */
export const checkHolds = (ctx: Context, at: number, after: Array<Effect.Effect<void>>): void => {
  for (const [stream, hold] of ctx.holds) {
    if (!hold.resyncing || hold.releasing) continue
    const running = hold.fiber
    if (running !== undefined) {
      if (at - hold.startedAt < ctx.resyncTimeout) continue
      hold.fiber = undefined
      const reason = `the resync callback did not finish within ${ctx.resyncTimeout} ms`
      after.push(
        Effect.andThen(failed(ctx, stream, hold, Cause.die(new Error(reason))), fork(ctx, Fiber.interrupt(running)))
      )
    } else if (hold.retryAt !== undefined ? hold.retryAt <= at : at - hold.startedAt >= ctx.resyncTimeout) {
      after.push(startResync(ctx, stream))
    }
  }
}

const restart = (ctx: Context, gap: Gap, conn: ShardConnection, at: number): Effect.Effect<void> => {
  ctx.counters.restarts += 1
  return Effect.andThen(
    emit(ctx, FeedEvent.GapDetected({ ...gap, at, action: "restart" })),
    restartConnection(conn, `sequence gap on ${gap.stream}: expected ${gap.expected}, got ${gap.got}`)
  )
}

/** A gap a restart would not mend (at a session's start) or that is only reported: the resync callback, if any. */
const report = (ctx: Context, gap: Gap, at: number): Effect.Effect<void> =>
  typeof ctx.onGap !== "function"
    ? emit(ctx, FeedEvent.GapDetected({ ...gap, at, action: "report" }))
    : Effect.andThen(emit(ctx, FeedEvent.GapDetected({ ...gap, at, action: "resync" })), resync(ctx, gap))

/** A gap in a stream nothing on the socket repairs: its frames are held until the resync ran. */
const startHold = (ctx: Context, gap: Gap, at: number): Effect.Effect<void> => {
  const callback = typeof ctx.onGap === "function"
  return Effect.all([
    emit(ctx, FeedEvent.GapDetected({ ...gap, at, action: callback ? "resync" : "hold" })),
    emit(
      ctx,
      FeedEvent.Held({
        at,
        stream: gap.stream,
        reason: callback
          ? "held until the resync callback succeeds"
          : "no snapshot on the socket and no resync callback (onGap): held until the venue sends a snapshot"
      })
    ),
    startResync(ctx, gap.stream)
  ], { discard: true })
}

/**
 * Delivers a held stream's frames in order and lets it flow again. The
 * stream stays held while a publish waits for a slow consumer, so frames
 * that arrive meanwhile queue behind the released ones, never ahead.
 */
const release = (ctx: Context, stream: string): Effect.Effect<void> => {
  let released = 0
  const drain: Effect.Effect<void> = Effect.suspend(() => {
    const hold = ctx.holds.get(stream)
    if (hold === undefined) return Effect.void
    if (hold.frames.length === 0) {
      ctx.holds.delete(stream)
      return emit(ctx, FeedEvent.Released({ at: ctx.now(), stream, frames: released, dropped: hold.dropped }))
    }
    const batch = hold.frames.splice(0)
    released += batch.length
    ctx.counters.delivered += batch.length
    return Effect.andThen(ctx.frames.publish(batch), drain)
  })
  return drain
}
