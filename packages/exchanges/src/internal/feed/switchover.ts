/**
 * The moment a rotation's standby session takes over from the live one:
 * when it may (it replayed every topic, has data, and its first message of
 * every sequenced stream continues what consumers already have — or the
 * live session is gone), and the switch itself: the registry takes the new
 * session's answers, its held frames go out deduplicated, and the old
 * session stops delivering.
 */
import type { Frame } from "@kharbranth/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { Context, Shard, ShardConnection } from "./context.ts"
import * as Gaps from "./gaps.ts"
import * as Requests from "./requests.ts"
import * as Sequencer from "./sequencer.ts"

/** A standby holds at most this many frames; past it, it takes over whatever the overlap. */
const STANDBY_BUFFER_LIMIT = 100_000

/** Whether a standby session may take over. */
export const ready = (ctx: Context, standby: ShardConnection): boolean => {
  if (!standby.replayDone || !standby.gotData) return false
  if (standby.buffer.length >= STANDBY_BUFFER_LIMIT) return true
  if (!standby.shard.live.open) return true
  for (const [stream, seq] of standby.firstSeq) {
    if (!Sequencer.overlaps(ctx.lastSeq.get(stream), seq)) return false
  }
  return true
}

/**
 * Makes `standby` the live session: the registry takes the new session's
 * answers (a topic it rejected no longer reads `confirmed`), its held
 * frames are returned for delivery (deduplicated), the old session stops
 * delivering and its unanswered requests are lost.
 */
export const switchOver = (
  ctx: Context,
  shard: Shard,
  standby: ShardConnection,
  at: number,
  overlapped: boolean,
  after: Array<Effect.Effect<void>>
): Array<Frame.Frame> => {
  const old = shard.live
  old.phase = "retired"
  Requests.abandon(old)
  shard.retired.push(old)
  standby.phase = "live"
  shard.live = standby
  shard.standby = undefined
  for (const topic of shard.topics) {
    const entry = ctx.registry.get(topic)
    if (entry !== undefined) {
      entry.lastData = at
      entry.quiet = 0
    }
  }
  for (const outcome of standby.outcomes) Requests.applyToRegistry(ctx, shard, outcome, true, at, after)
  standby.outcomes = []
  const out: Array<Frame.Frame> = []
  for (const frame of standby.buffer) {
    if (frame.session !== standby.seenSession) {
      standby.seenSession = frame.session
      standby.seen = new Set()
    }
    const seq = frame._tag !== "Text" || ctx.readSequence === undefined ? undefined : ctx.readSequence(frame.data)
    if (Gaps.admit(ctx, standby, frame, seq, at, after, true)) out.push(frame)
  }
  standby.buffer = []
  standby.firstSeq = new Map()
  Deferred.doneUnsafe(standby.switched, Effect.succeed(overlapped))
  return out
}
