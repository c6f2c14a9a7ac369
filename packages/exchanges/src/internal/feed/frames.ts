/**
 * The per-read path of a feed: each frame of a socket read is an answer
 * (settling requests), a notice (starting a rotation), or data (judged by
 * its sequence, counted as news of its topic, delivered or held); a
 * standby session keeps its data until the switch. What goes out is handed
 * to consumers as one batch, then what the frames triggered runs.
 */
import type { Frame } from "@kharbranth/core"
import * as Effect from "effect/Effect"
import * as Auth from "./auth.ts"
import { type Context, deliver, fork, type ShardConnection } from "./context.ts"
import * as Gaps from "./gaps.ts"
import * as Replay from "./replay.ts"
import * as Requests from "./requests.ts"
import * as Switchover from "./switchover.ts"

/** One frame of a batch: what goes out is pushed on `out`, what it triggers on `after`. */
const onFrame = (
  ctx: Context,
  conn: ShardConnection,
  frame: Frame.Frame,
  at: number,
  out: Array<Frame.Frame>,
  after: Array<Effect.Effect<void>>
): void => {
  const shard = conn.shard
  if (frame._tag !== "Text") {
    if (conn.phase === "live") out.push(frame)
    return
  }
  const text = frame.data
  const profile = ctx.profile
  if (ctx.auth !== undefined) {
    // A login's answer (only while one waits: an error then is the login's), or the venue ending it.
    if (Auth.onText(ctx, conn, text)) {
      if (conn.phase === "live") out.push(frame)
      return
    }
    const refusal = Auth.signedRefusal(ctx, text)
    if (refusal !== undefined) after.push(fork(ctx, Auth.onSignedRefusal(ctx, conn, refusal)))
    if (ctx.auth.spec.ended?.(text) === true) {
      if (conn.phase === "live") out.push(frame)
      after.push(fork(ctx, Auth.ended(ctx, conn, Replay.resend(ctx, conn))))
      return
    }
  }
  const confirmation = profile.confirmation(text)
  if (confirmation !== undefined) {
    Requests.settle(ctx, conn, confirmation, at, after)
    if (conn.phase === "live") out.push(frame)
    return
  }
  if (profile.isNotice(text)) {
    if (conn.phase === "live") {
      out.push(frame)
      if (ctx.rotateOnNotice) after.push(fork(ctx, ctx.rotateShard(shard, "notice")))
    }
    return
  }
  // One reading per message: the sequence (if a reader was given) names
  // the stream, which is the topic for the venue readers; the topic is
  // read on its own only where it is used (staleness, a standby's
  // first data) and the sequence did not already name a held topic.
  const seq = ctx.readSequence === undefined ? undefined : ctx.readSequence(text)
  const topic = seq !== undefined && ctx.registry.has(seq.stream)
    ? seq.stream
    : ctx.checksCadence || conn.phase === "standby"
    ? profile.topicOf(text)
    : undefined
  if (topic !== undefined) conn.gotData = true
  if (conn.phase === "standby") {
    conn.buffer.push(frame)
    if (seq !== undefined && !conn.firstSeq.has(seq.stream)) conn.firstSeq.set(seq.stream, seq)
    return
  }
  if (frame.session !== conn.seenSession) {
    conn.seenSession = frame.session
    conn.seen = new Set()
  }
  if (frame.session === conn.broken) return
  const admitted = Gaps.admit(ctx, conn, frame, seq, at, after)
  // Only data that moves its stream on is news of the topic: a duplicate
  // (or a frame of a restarting session) does not count.
  if (topic !== undefined && (admitted || ctx.holds.has(topic))) {
    const entry = ctx.registry.get(topic)
    if (entry !== undefined && entry.shard === shard) {
      entry.lastData = at
      entry.quiet = 0
    }
  }
  if (admitted) out.push(frame)
}

/** A socket read's frames on one session. */
export const onBatch = (
  ctx: Context,
  conn: ShardConnection,
  batch: ReadonlyArray<Frame.Frame>
): Effect.Effect<void> => {
  if (conn.phase === "retired") return Effect.void
  const at = ctx.now()
  const out: Array<Frame.Frame> = []
  const after: Array<Effect.Effect<void>> = []
  const shard = conn.shard
  for (const frame of batch) {
    try {
      onFrame(ctx, conn, frame, at, out, after)
    } catch (error) {
      // A user-written profile that throws: reported, and the frame is
      // delivered as it came rather than lost.
      ctx.readerFailure ??= { reader: "profile", error }
      if (conn.phase === "live") out.push(frame)
    }
  }
  const standby = shard.standby
  if (standby !== undefined && Switchover.ready(ctx, standby)) {
    out.push(...Switchover.switchOver(ctx, shard, standby, at, true, after))
  }
  return deliver(ctx, out, after, at)
}
