/**
 * After every (re)connect of one of a feed's connections: the requests of
 * the session that ended are lost, every active topic of the shard reads
 * `pending` again (on the live session), and all of them are sent again,
 * paced by the budgets, in registry order. The first session of a shard
 * just subscribes; later ones and a rotation's new session replay, and
 * report it (`Replayed`).
 */
import type { Connection } from "@kharbranth/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { type Context, hourlyWindow, type Replay, type ShardConnection } from "./context.ts"
import * as Registry from "./registry.ts"
import * as Requests from "./requests.ts"

/** The `onOpen` hook of a feed's connection. */
export const onOpen = (ctx: Context, conn: ShardConnection, context: Connection.OpenContext): Effect.Effect<void> =>
  Effect.suspend(() => {
    const at = ctx.now()
    Requests.abandon(conn)
    conn.open = true
    conn.session = context.session
    conn.openedAt = at
    if (context.session > 1) conn.hourly = hourlyWindow(ctx)
    conn.replayDone = false
    conn.requested = new Set()
    conn.outcomes = []
    if (conn.phase === "retired") return Effect.void
    const topics = [...conn.shard.topics]
    if (conn.phase === "live") {
      for (const topic of topics) {
        const entry = ctx.registry.get(topic)
        if (entry !== undefined) Registry.replaying(entry)
      }
    }
    for (const topic of topics) conn.requested.add(topic)
    if (topics.length === 0) {
      conn.replayDone = true
      return Effect.void
    }
    const previous = conn.replayFiber
    const isReplay = context.session > 1 || conn.phase === "standby"
    const replay: Replay | undefined = isReplay
      ? { pending: 0, confirmed: 0, requests: 0, failed: [], startedAt: at, session: context.session }
      : undefined
    return Effect.gen(function*() {
      if (previous !== undefined) yield* Fiber.interrupt(previous)
      conn.replayFiber = yield* Effect.forkIn(
        Effect.asVoid(Requests.sendPaced(ctx, conn, "subscribe", topics, replay)),
        conn.scope
      )
    })
  })

/**
 * Sends every topic of `conn`'s shard again on its current session, as a
 * replay: after the venue ended the session's authorization (auth.ts), the
 * session logs in again on the first of these requests.
 */
export const resend = (ctx: Context, conn: ShardConnection): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (conn.phase === "retired" || !conn.open) return Effect.void
    const topics = [...conn.shard.topics]
    if (conn.phase === "live") {
      for (const topic of topics) {
        const entry = ctx.registry.get(topic)
        if (entry !== undefined) Registry.replaying(entry)
      }
    }
    conn.requested = new Set(topics)
    if (topics.length === 0) return Effect.void
    const replay: Replay = {
      pending: 0,
      confirmed: 0,
      requests: 0,
      failed: [],
      startedAt: ctx.now(),
      session: conn.session
    }
    return Effect.asVoid(Requests.sendPaced(ctx, conn, "subscribe", topics, replay))
  })
