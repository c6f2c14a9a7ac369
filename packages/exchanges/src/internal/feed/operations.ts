/**
 * What a feed's user calls: `subscribe` (register, send on open sessions,
 * wait for the registry to settle each topic), `unsubscribe` (drop from the
 * registry, tell the venue, close shards left empty), `resubscribe`
 * (unsubscribe and subscribe again on the live session: the repair for a
 * bad book), and `close`. Every wait ends: by the venue's answer, a
 * timeout, the next session's replay, or the feed's close.
 */
import { ConnectionError } from "@kharbranth/core"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Connections from "./connections.ts"
import {
  addTo,
  connectionsOf,
  type Context,
  emit,
  type Inflight,
  reportReaderFailure,
  type Shard,
  type ShardConnection
} from "./context.ts"
import { SubscriptionError } from "./errors.ts"
import { FeedEvent } from "./model.ts"
import * as Registry from "./registry.ts"
import * as Requests from "./requests.ts"
import * as Shards from "./shards.ts"

/** What the venue rejected (or left unanswered) of some requests, and the first reason it gave. */
export interface Rejections {
  readonly failed: Array<string>
  reason: string | undefined
  /** Whether every rejection was final; undefined when none came through the registry. */
  permanent: boolean | undefined
}

export const noRejections = (): Rejections => ({ failed: [], reason: undefined, permanent: undefined })

/** Waits for the venue's answers to `sent`, adding what it rejected to `into`; a lost answer rejects nothing. */
const awaitAnswers = (sent: ReadonlyArray<Inflight>, into: Rejections) =>
  Effect.forEach(sent, (inflight) =>
    Effect.map(Deferred.await(inflight.done), (answer) => {
      into.failed.push(...answer.failed)
      into.reason ??= answer.reason
    }), { discard: true })

/** Waits for the registry to settle `waiters`, adding the rejected topics to `into`; fails if the feed stopped. */
const awaitWaiters = (waiters: ReadonlyArray<Registry.Waiter>, into: Rejections) =>
  Effect.gen(function*() {
    const results = yield* Effect.forEach(waiters, (w) => Effect.exit(Deferred.await(w)))
    for (const result of results) {
      if (result._tag === "Success") continue
      const found = Cause.findErrorOption(result.cause)
      if (found._tag === "None") continue
      const error = found.value
      if (error._tag === "ConnectionStopped" || error._tag === "AuthFailed") return yield* Effect.fail(error)
      into.failed.push(...error.topics)
      into.reason ??= error.reason
      into.permanent = (into.permanent ?? true) && error.permanent === true
    }
  })

/** Fails with the `SubscriptionError` naming every rejected topic, if any. */
const failOn = (
  ctx: Context,
  op: "subscribe" | "unsubscribe",
  rejections: Rejections
): Effect.Effect<void, SubscriptionError> =>
  rejections.failed.length === 0
    ? Effect.void
    : Effect.fail(
      new SubscriptionError({
        feed: ctx.name,
        op,
        topics: rejections.failed,
        reason: rejections.reason ?? "rejected",
        ...(rejections.permanent === undefined ? {} : { permanent: rejections.permanent })
      })
    )

const toList = (
  topics: string | ReadonlyArray<string>
): ReadonlyArray<string> => [...new Set(typeof topics === "string" ? [topics] : topics)]

/** Fails naming every topic that is not a non-empty string. */
export const checkTopics = (
  ctx: Context,
  op: "subscribe" | "unsubscribe",
  topics: ReadonlyArray<string>
): Effect.Effect<void, SubscriptionError> => {
  const bad = topics.filter((t) => typeof t !== "string" || t.length === 0)
  return bad.length === 0
    ? Effect.void
    : Effect.fail(
      new SubscriptionError({
        feed: ctx.name,
        op,
        topics: bad.map(String),
        reason: "a topic must be a non-empty string"
      })
    )
}

/** A closed feed's answer: the `AuthFailed` that stopped it, else `ConnectionStopped`. */
const stopped = (ctx: Context) =>
  ctx.auth?.failure !== undefined
    ? Effect.fail(ctx.auth.failure)
    : Effect.fail(new ConnectionError.ConnectionStopped({ connection: ctx.name, reason: "the feed is closed" }))

export const subscribe = (ctx: Context, input: string | ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (ctx.closed) return yield* stopped(ctx)
    const topics = toList(input)
    yield* checkTopics(ctx, "subscribe", topics)
    const { placed, refused } = yield* Shards.assign(ctx, topics)
    yield* reportReaderFailure(ctx, ctx.now())
    const refusedTopics = new Set([...refused.values()].flat())
    const waits: Array<Registry.Waiter> = []
    for (const topic of topics) {
      const entry = ctx.registry.get(topic)
      if (entry === undefined || entry.state === "confirmed" || refusedTopics.has(topic)) continue
      waits.push(Registry.wait(entry))
    }
    for (const [shard, list] of placed) yield* Requests.request(ctx, shard, list)
    const rejections = noRejections()
    yield* awaitWaiters(waits, rejections)
    for (const [reason, list] of refused) {
      rejections.failed.push(...list)
      rejections.reason ??= reason
      rejections.permanent = true
    }
    yield* failOn(ctx, "subscribe", rejections)
  })

export const unsubscribe = (ctx: Context, input: string | ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (ctx.closed) return yield* stopped(ctx)
    const topics = toList(input)
    yield* checkTopics(ctx, "unsubscribe", topics)
    const byShard = new Map<Shard, Array<string>>()
    const touched = new Set<Shard>()
    const removed: Array<string> = []
    for (const topic of topics) {
      const entry = ctx.registry.get(topic)
      if (entry === undefined) continue
      ctx.registry.delete(topic)
      ctx.lastSeq.delete(topic)
      ctx.holds.delete(topic)
      const active = entry.shard.topics.has(topic)
      Requests.release(entry)
      touched.add(entry.shard)
      for (const conn of connectionsOf(entry.shard)) conn.requested.delete(topic)
      removed.push(topic)
      Registry.settle(
        entry,
        Effect.fail(
          new SubscriptionError({
            feed: ctx.name,
            op: "subscribe",
            topics: [topic],
            reason: "unsubscribed before the venue confirmed it",
            permanent: true
          })
        )
      )
      if (active) addTo(byShard, entry.shard, topic)
    }
    if (removed.length === 0) return
    yield* emit(ctx, FeedEvent.Unsubscribed({ at: ctx.now(), topics: removed }))
    const rejections = noRejections()
    for (const [shard, list] of byShard) {
      for (const conn of connectionsOf(shard)) {
        if (!conn.open || conn.phase === "retired") continue
        const sent = yield* Requests.sendPaced(ctx, conn, "unsubscribe", list)
        if (conn === shard.live) yield* awaitAnswers(sent, rejections)
      }
    }
    for (const shard of touched) if (shard.topics.size === 0) yield* ctx.removeShard(shard)
    yield* failOn(ctx, "unsubscribe", rejections)
  })

/**
 * Unsubscribe then subscribe on `session`, and wait until the registry
 * settles each topic: by this answer, or, if the session drops first, by
 * the next session's replay.
 */
export const resend = (ctx: Context, conn: ShardConnection, topics: ReadonlyArray<string>, into: Rejections) =>
  Effect.gen(function*() {
    const unsubscribed = yield* Requests.sendPaced(ctx, conn, "unsubscribe", topics)
    yield* Effect.forEach(unsubscribed, (i) => Deferred.await(i.done), { discard: true })
    const waiters: Array<Registry.Waiter> = []
    for (const topic of topics) {
      const entry = ctx.registry.get(topic)
      if (entry !== undefined && Registry.isActive(entry)) waiters.push(Registry.wait(entry))
    }
    yield* Requests.sendPaced(ctx, conn, "subscribe", topics)
    yield* awaitWaiters(waiters, into)
  })

export const resubscribe = (ctx: Context, input: string | ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (ctx.closed) return yield* stopped(ctx)
    const topics = toList(input)
    yield* checkTopics(ctx, "subscribe", topics)
    const unknown = topics.filter((t) => ctx.registry.get(t)?.state !== "confirmed")
    if (unknown.length > 0) {
      return yield* Effect.fail(
        new SubscriptionError({
          feed: ctx.name,
          op: "subscribe",
          topics: unknown,
          reason: "not a confirmed subscription of this feed"
        })
      )
    }
    const rejections = noRejections()
    yield* Effect.forEach(Requests.byShard(ctx, topics), ([shard, list]) => resend(ctx, shard.live, list, rejections), {
      concurrency: "unbounded",
      discard: true
    })
    yield* failOn(ctx, "subscribe", rejections)
  })

/** Closes every connection gracefully, once; waiting calls fail with `ConnectionStopped`; streams end. */
export const makeClose = (ctx: Context): Effect.Effect<void> => {
  const closeDone = Deferred.makeUnsafe<void>()
  // Once begun, a close runs to its end (only waiting for another's is interruptible): a closer
  // interrupted midway, its fiber's scope closing, would leave every later close waiting forever.
  return Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      if (ctx.closed) return restore(Deferred.await(closeDone))
      ctx.closed = true
      const error = ctx.auth?.failure ??
        new ConnectionError.ConnectionStopped({ connection: ctx.name, reason: "the feed is closed" })
      for (const entry of ctx.registry.values()) {
        Registry.settle(entry, Effect.fail(error))
        Requests.release(entry)
      }
      return Effect.forEach(
        ctx.shards.flatMap((s) => [...connectionsOf(s), ...s.retired]),
        (conn) => Connections.close(ctx, conn),
        { concurrency: "unbounded", discard: true }
      ).pipe(
        Effect.andThen(ctx.frames.end),
        Effect.andThen(ctx.events.end),
        Effect.andThen(Deferred.succeed(closeDone, undefined))
      )
    })
  )
}
