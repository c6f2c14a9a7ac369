/**
 * A feed's subscribe and unsubscribe requests: built by the profile (split
 * to fit `maxRequestBytes`), sent once every budget admits them (the
 * connection's second and hour, the venue's per-IP windows), and settled by
 * the venue's answers — each answer settles the topics it names, by topic
 * or instrument; one that names none of a request's several topics makes
 * the feed ask each topic on its own rather than guess. Answers move the
 * registry (a standby session's are kept for the switch); a request left
 * unanswered past `confirmTimeout` fails its topics for a retry; a request
 * whose session ended is settled as lost. A private feed's requests wait
 * for their session's login, and are signed on the way out where the venue
 * signs requests (auth.ts).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Venue from "../../Venue.ts"
import * as Auth from "./auth.ts"
import {
  addTo,
  type Answer,
  connectionsOf,
  type Context,
  emit,
  type Entry,
  fork,
  type Inflight,
  lostAnswer,
  type Outcome,
  type Replay,
  type Shard,
  type ShardConnection
} from "./context.ts"
import { FeedEvent } from "./model.ts"
import * as Registry from "./registry.ts"

/**
 * The profile's requests for `topics` (one per topic when `single`),
 * split further wherever one would exceed `maxRequestBytes`.
 */
export const build = (
  ctx: Context,
  conn: ShardConnection,
  op: "subscribe" | "unsubscribe",
  topics: ReadonlyArray<string>,
  single = false
): ReadonlyArray<Venue.Request> => {
  if (single) return topics.flatMap((topic) => build(ctx, conn, op, [topic]))
  const maxBytes = ctx.profile.limits.maxRequestBytes
  const frame = (ts: ReadonlyArray<string>): ReadonlyArray<Venue.Request> => {
    const trial = op === "subscribe" ? ctx.profile.subscribe(ts, conn.nextId) : ctx.profile.unsubscribe(ts, conn.nextId)
    const fits = maxBytes === undefined || trial.every((request) => request.text.length <= maxBytes)
    if (fits || ts.length <= 1) {
      conn.nextId += trial.length
      return trial
    }
    const half = Math.ceil(ts.length / 2)
    return [...frame(ts.slice(0, half)), ...frame(ts.slice(half))]
  }
  return topics.length === 0 ? [] : frame(topics)
}

/**
 * Sends `requests` on `session`, each once every budget admits it; answers
 * are matched by `settle`. A send that fails ends the batch: the session is
 * gone, and the next one replays the registry.
 */
export const send = (
  ctx: Context,
  conn: ShardConnection,
  requests: ReadonlyArray<Venue.Request>,
  replay: Replay | undefined
): Effect.Effect<ReadonlyArray<Inflight>> =>
  ctx.auth === undefined
    ? sendNow(ctx, conn, requests, replay)
    : Effect.flatMap(
      Auth.ensure(ctx, conn),
      (ok): Effect.Effect<ReadonlyArray<Inflight>> => (ok ? sendNow(ctx, conn, requests, replay) : Effect.succeed([]))
    )

/** `send` once the session may send (a private feed's session is logged in). */
const sendNow = (
  ctx: Context,
  conn: ShardConnection,
  requests: ReadonlyArray<Venue.Request>,
  replay: Replay | undefined
): Effect.Effect<ReadonlyArray<Inflight>> =>
  Effect.suspend(() => {
    const sent: Array<Inflight> = []
    const sessionNo = conn.session
    const shared = conn.shard.budget
    const one = (request: Venue.Request, queuedAt = ctx.now()): Effect.Effect<boolean> =>
      conn.window.take.pipe(
        Effect.andThen(conn.hourly.take),
        Effect.andThen(shared.requests.take),
        Effect.andThen(shared.messages.take),
        Effect.andThen(Effect.suspend(() => {
          ctx.metrics?.requestWaited(ctx.now() - queuedAt)
          if (conn.session !== sessionNo || conn.phase === "retired") return Effect.succeed(false)
          const inflight: Inflight = {
            request,
            open: new Set(request.topics),
            sentAt: ctx.now(),
            done: Deferred.makeUnsafe<Answer>(),
            failed: [],
            reason: undefined,
            replay
          }
          conn.inflight.push(inflight)
          ctx.counters.requests += 1
          const connection = conn.connection
          const sending: Effect.Effect<void, unknown> = connection === undefined
            ? Effect.void
            : ctx.auth?.spec.sign === undefined
            ? connection.send(request.text)
            : Effect.flatMap(
              Auth.sign(ctx, conn, request.text),
              (text): Effect.Effect<void, unknown> =>
                text === undefined ? Effect.fail("not signed") : connection.send(text)
            )
          return sending.pipe(
            Effect.as(true),
            Effect.catchCause(() =>
              Effect.sync(() => {
                conn.inflight = conn.inflight.filter((i) => i !== inflight)
                Deferred.doneUnsafe(inflight.done, Effect.succeed(lostAnswer))
                return false
              })
            ),
            Effect.tap((ok) => Effect.sync(() => ok && sent.push(inflight)))
          )
        }))
      )
    const loop = (i: number): Effect.Effect<ReadonlyArray<Inflight>> =>
      i >= requests.length
        ? Effect.succeed(sent)
        : Effect.flatMap(one(requests[i]!), (ok) => (ok ? loop(i + 1) : Effect.succeed(sent)))
    return loop(0)
  })

/** Builds and sends the requests for `topics`; with `replay`, they count towards it. */
export const sendPaced = (
  ctx: Context,
  conn: ShardConnection,
  op: "subscribe" | "unsubscribe",
  topics: ReadonlyArray<string>,
  replay?: Replay
): Effect.Effect<ReadonlyArray<Inflight>> =>
  Effect.suspend(() => {
    const requests = build(ctx, conn, op, topics)
    if (replay !== undefined) {
      replay.pending += requests.length
      replay.requests += requests.length
    }
    return send(ctx, conn, requests, replay)
  })

/** Sends `topics` on every open session of `shard` that has not requested them yet. */
export const request = (ctx: Context, shard: Shard, topics: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.forEach(connectionsOf(shard), (conn) => {
    if (!conn.open || conn.phase === "retired") return Effect.void
    // A session that opened meanwhile is replaying them already: a
    // second request would be rejected as a duplicate by some venues.
    const missing = topics.filter((t) => !conn.requested.has(t))
    for (const topic of missing) conn.requested.add(topic)
    return missing.length === 0 ? Effect.void : fork(ctx, sendPaced(ctx, conn, "subscribe", missing))
  }, { discard: true })

/**
 * Settles whatever `confirmation` answers among `session`'s requests in
 * flight: the topics it names (by topic or instrument) and, when it names
 * none, every topic of the request its id or order points at. A rejection
 * that names none of a request's several topics is not guessed at: each
 * topic is asked again on its own.
 */
export const settle = (
  ctx: Context,
  conn: ShardConnection,
  confirmation: Venue.Confirmation,
  at: number,
  after: Array<Effect.Effect<void>>
): void => {
  const namesAny = confirmation.topics.length > 0 || (confirmation.instruments?.length ?? 0) > 0
  for (const inflight of conn.inflight) {
    const outcome = Venue.outcome(inflight.request, confirmation)
    if (outcome === undefined) continue
    const open = [...inflight.open]
    const named = confirmation.kind === "active" ? open : open.filter((t) => Venue.names(confirmation, t))
    if (named.length === 0 && namesAny && confirmation.kind !== "active") continue
    if (named.length === 0 && outcome === "rejected" && open.length > 1) {
      inflight.open.clear()
      askOneByOne(ctx, conn, inflight, open, after)
    } else {
      const topics = named.length > 0 ? named : open
      for (const topic of topics) inflight.open.delete(topic)
      const reason = outcome === "rejected" ? confirmation.reason ?? "rejected by the venue" : undefined
      if (outcome === "rejected") {
        inflight.failed.push(...topics)
        inflight.reason ??= reason
      }
      apply(ctx, conn, inflight, { topics, outcome, reason, permanent: confirmation.permanent === true }, at, after)
    }
    if (inflight.open.size === 0) finish(ctx, conn, inflight, at, after)
    if (confirmation.kind !== "active") break
  }
}

/** Sends each of `topics` again in a request of its own, so the venue's next answers name one topic each. */
const askOneByOne = (
  ctx: Context,
  conn: ShardConnection,
  inflight: Inflight,
  topics: ReadonlyArray<string>,
  after: Array<Effect.Effect<void>>
): void => {
  const requests = build(ctx, conn, inflight.request.op, topics, true)
  const replay = inflight.replay
  if (replay !== undefined) {
    replay.pending += requests.length
    replay.requests += requests.length
  }
  after.push(fork(ctx, send(ctx, conn, requests, replay)))
}

/** An answer for some of a request's topics: counted in its replay, applied to the registry (or kept for a standby's switch). */
const apply = (
  ctx: Context,
  conn: ShardConnection,
  inflight: Inflight,
  result: Outcome,
  at: number,
  after: Array<Effect.Effect<void>>
): void => {
  const replay = inflight.replay
  if (replay !== undefined) {
    if (result.outcome === "confirmed") replay.confirmed += result.topics.length
    else replay.failed.push(...result.topics)
  }
  if (inflight.request.op !== "subscribe") return
  if (result.outcome === "rejected") {
    for (const topic of result.topics) conn.requested.delete(topic)
  }
  if (conn.phase === "standby") conn.outcomes.push(result)
  else if (conn.phase === "live") applyToRegistry(ctx, conn.shard, result, replay === undefined, at, after)
}

/** The registry's transitions for a live session's answer; events unless it was part of a replay. */
export const applyToRegistry = (
  ctx: Context,
  shard: Shard,
  result: Outcome,
  report: boolean,
  at: number,
  after: Array<Effect.Effect<void>>
): void => {
  const settled: Array<string> = []
  const final: Array<Entry> = []
  let retryAt: number | undefined
  for (const topic of result.topics) {
    const entry = ctx.registry.get(topic)
    if (entry === undefined || entry.shard !== shard) continue
    if (result.outcome === "confirmed") {
      if (Registry.confirm(entry, at)) settled.push(topic)
      continue
    }
    const state = Registry.reject(entry, ctx.name, result.reason ?? "rejected", result.permanent, at)
    if (state === undefined) continue
    settled.push(topic)
    if (state === "failed") final.push(entry)
    else retryAt = entry.retryAt
  }
  if (final.length > 0) after.push(retire(ctx, shard, final))
  if (!report || settled.length === 0) return
  after.push(emit(
    ctx,
    result.outcome === "confirmed"
      ? FeedEvent.Subscribed({ at, shard: shard.index, topics: settled })
      : FeedEvent.SubscribeFailed({
        at,
        shard: shard.index,
        topics: settled,
        reason: result.reason ?? "rejected",
        permanent: result.permanent,
        retryAt
      })
  ))
}

/** Topics failed for good leave their shard (and its budgets); a shard left with none is closed. */
const retire = (ctx: Context, shard: Shard, entries: ReadonlyArray<Entry>): Effect.Effect<void> =>
  Effect.suspend(() => {
    for (const entry of entries) release(entry)
    return shard.topics.size === 0 ? ctx.removeShard(shard) : Effect.void
  })

/** A topic no longer held: out of its shard, and its share of the venue's caps given back. */
export const release = (entry: Entry): void => {
  if (!entry.shard.topics.delete(entry.topic)) return
  entry.shard.budget.subscriptions.release()
  entry.shard.budget.topic(entry.topic).release()
}

const finish = (
  ctx: Context,
  conn: ShardConnection,
  inflight: Inflight,
  at: number,
  after: Array<Effect.Effect<void>>
): void => {
  conn.inflight = conn.inflight.filter((i) => i !== inflight)
  Deferred.doneUnsafe(inflight.done, Effect.succeed({ failed: inflight.failed, reason: inflight.reason, lost: false }))
  const replay = inflight.replay
  if (replay === undefined) return
  replay.pending -= 1
  if (replay.pending > 0) return
  if (replay.session === conn.session) conn.replayDone = true
  ctx.counters.replays += 1
  after.push(emit(
    ctx,
    FeedEvent.Replayed({
      at,
      shard: conn.shard.index,
      session: replay.session,
      requests: replay.requests,
      confirmed: replay.confirmed,
      failed: replay.failed,
      took: at - replay.startedAt
    })
  ))
}

/** Requests the venue has not answered within `confirmTimeout` fail; their topics are retried. */
export const expire = (ctx: Context, conn: ShardConnection, at: number, after: Array<Effect.Effect<void>>): void => {
  for (const inflight of [...conn.inflight]) {
    if (at - inflight.sentAt < ctx.confirmTimeout) continue
    const topics = [...inflight.open]
    inflight.open.clear()
    inflight.failed.push(...topics)
    inflight.reason = `no answer within ${ctx.confirmTimeout} ms`
    apply(ctx, conn, inflight, { topics, outcome: "rejected", reason: inflight.reason, permanent: false }, at, after)
    finish(ctx, conn, inflight, at, after)
  }
}

/**
 * The session that carried `session.inflight` ended: no answer will come.
 * Callers waiting on those requests are told (`lost`); the registry keeps
 * the topics, and the next session replays them.
 */
export const abandon = (conn: ShardConnection): void => {
  const inflight = conn.inflight
  conn.inflight = []
  for (const i of inflight) Deferred.doneUnsafe(i.done, Effect.succeed(lostAnswer))
}

/** Groups topics by the shard that holds them. */
export const byShard = (ctx: Context, topics: ReadonlyArray<string>): Map<Shard, Array<string>> => {
  const groups = new Map<Shard, Array<string>>()
  for (const topic of topics) {
    const entry = ctx.registry.get(topic)
    if (entry !== undefined) addTo(groups, entry.shard, topic)
  }
  return groups
}
