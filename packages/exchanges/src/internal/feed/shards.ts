/**
 * A feed's shards: topics are placed on the first shard of their route
 * (the endpoint the profile routes them to) with room under the
 * per-connection cap, and a shard is opened when none has room. The
 * venue's hard caps (connections, subscriptions, connections per topic, per
 * IP) are taken here: a topic one of them refuses is never registered nor
 * sent. A shard whose last topic left is closed.
 */
import * as Effect from "effect/Effect"
import * as Connections from "./connections.ts"
import { addTo, connectionsOf, type Context, emit, Shard } from "./context.ts"
import { FeedEvent } from "./model.ts"
import * as Registry from "./registry.ts"

const open = (ctx: Context, route: string | undefined) =>
  Effect.gen(function*() {
    const config = ctx.configFor(route)
    const url = typeof config.url === "string" ? config.url : ctx.profile.urls[route ?? ""] ?? ctx.profile.url
    const budget = ctx.budgets.budget(ctx.profile, url, ctx.clock)
    if (!budget.connections.take()) return undefined
    const index = ctx.nextShard++
    const shard = new Shard(index, route, config, budget)
    shard.live = yield* Connections.make(ctx, shard, 0, "live")
    ctx.shards.push(shard)
    yield* emit(ctx, FeedEvent.ShardAdded({ at: ctx.now(), shard: index, connection: shard.live.name }))
    return shard
  })

/**
 * Registers each new topic on the first shard of its route with room,
 * opening shards as needed. Returns the topics placed per shard, and the
 * topics a venue cap refused, by reason.
 */
export const assign = (ctx: Context, topics: ReadonlyArray<string>) =>
  ctx.assignLock.withPermits(1)(Effect.gen(function*() {
    const placed = new Map<Shard, Array<string>>()
    const refused = new Map<string, Array<string>>()
    const limits = ctx.profile.limits
    for (const topic of topics) {
      const held = ctx.registry.get(topic)
      if (held !== undefined && Registry.isActive(held)) continue
      const route = ctx.routeOf(topic)
      let shard = ctx.shards.find((s) => !s.removed && s.route === route && s.topics.size < ctx.cap)
      if (shard === undefined) shard = yield* open(ctx, route)
      if (shard === undefined) {
        addTo(refused, `the venue's cap of ${limits.connectionsPerIp} connections per IP is reached`, topic)
        continue
      }
      let cap: string | undefined
      if (!shard.budget.subscriptions.take()) {
        cap = `the venue's cap of ${limits.subscriptionsPerIp} subscriptions per IP is reached`
      } else if (!shard.budget.topic(topic).take()) {
        shard.budget.subscriptions.release()
        cap = `the venue's cap of ${limits.subscribersPerTopic} connections per topic is reached`
      }
      if (cap !== undefined) {
        addTo(refused, cap, topic)
        if (shard.topics.size === 0) yield* removeNow(ctx, shard)
        continue
      }
      shard.topics.add(topic)
      ctx.registry.set(topic, Registry.make(topic, shard, ctx.topicCadence(topic)))
      addTo(placed, shard, topic)
    }
    return { placed, refused }
  }))

/** Closes a shard with no topic left: its connections, and its share of the venue's connection cap. */
const removeNow = (ctx: Context, shard: Shard): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (shard.topics.size > 0 || shard.removed) return Effect.void
    shard.removed = true
    ctx.shards.splice(ctx.shards.indexOf(shard), 1)
    const sessions = [...connectionsOf(shard), ...shard.retired]
    shard.retired = []
    return Effect.andThen(
      Effect.forEach(sessions, (conn) => Connections.close(ctx, conn), { discard: true }),
      emit(ctx, FeedEvent.ShardRemoved({ at: ctx.now(), shard: shard.index }))
    )
  })

/** Closes `shard` if its last topic left. */
export const remove = (ctx: Context, shard: Shard): Effect.Effect<void> =>
  ctx.assignLock.withPermits(1)(removeNow(ctx, shard))
