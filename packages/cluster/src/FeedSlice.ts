/**
 * `FeedSlice`: the cluster entity that holds one venue connection of a
 * feed. Its id is `<feed>/<slice>` (`binance-trades/3`); its topics are the
 * ones the registry assigned to that slice. While it is active on a runner
 * it runs one `Feed` (at most `sliceSize` topics, so one connection) in the
 * entity's scope and keeps itself alive with `Entity.keepAlive(true)`: when
 * its runner dies, the cluster recreates it on the shard's next owner
 * without any client asking, and the `Feed`'s replay subscribes its topics
 * again.
 *
 * Each activation gets a number from the registry, one more than the last
 * (`activation`): every status and every streamed item carries it, so a
 * consumer can tell a stale copy (a frozen runner that resumed) from the
 * live one. `FeedCluster` is the service programs use; this module is the
 * entity's protocol, for programs that talk to slices directly.
 *
 * @since 0.1.0
 */
import type { FeedOptions } from "@kharbranth/exchanges/Feed"
import type * as Venue from "@kharbranth/exchanges/Venue"
import * as Entity from "effect/cluster/Entity"
import * as Context from "effect/Context"
import * as Rpc from "effect/rpc/Rpc"
import * as Schema from "effect/Schema"

/**
 * One topic of a slice: its subscription state in the slice's `Feed`
 * (`pending`, `confirmed`, `retrying`, `failed`), why, and when it last
 * delivered data (epoch ms).
 *
 * @category models
 * @since 0.1.0
 */
export const TopicStatus = Schema.Struct({
  topic: Schema.String,
  state: Schema.String,
  reason: Schema.NullOr(Schema.String),
  lastDataAt: Schema.NullOr(Schema.Number)
})

/**
 * @category models
 * @since 0.1.0
 */
export type TopicStatus = typeof TopicStatus.Type

/**
 * A slice's `Feed` counters in this activation: frames delivered,
 * duplicates dropped, sequence gaps, rotations, restarts, replays and
 * resubscribes.
 *
 * @category models
 * @since 0.1.0
 */
export const SliceStats = Schema.Struct({
  delivered: Schema.Number,
  duplicates: Schema.Number,
  gaps: Schema.Number,
  rotations: Schema.Number,
  restarts: Schema.Number,
  replays: Schema.Number,
  resubscribes: Schema.Number
})

/**
 * @category models
 * @since 0.1.0
 */
export type SliceStats = typeof SliceStats.Type

/**
 * A slice as its runner sees it. `state` is `live` while its `Feed` runs,
 * `idle` when it holds no topics (stopped, or its feed was removed).
 * `runner` is the `host:port` of the runner holding it and `pid` that
 * process; `frames` counts the frames its `Feed` delivered in this
 * activation and `lastFrameAt` is its topics' last data (epoch ms);
 * `stats` are its `Feed`'s counters.
 *
 * @category models
 * @since 0.1.0
 */
export const SliceStatus = Schema.Struct({
  feed: Schema.String,
  slice: Schema.Number,
  entityId: Schema.String,
  runner: Schema.String,
  pid: Schema.Number,
  activation: Schema.Number,
  activatedAt: Schema.Number,
  state: Schema.Literals(["live", "idle"]),
  topics: Schema.Array(TopicStatus),
  frames: Schema.Number,
  lastFrameAt: Schema.NullOr(Schema.Number),
  stats: SliceStats
})

/**
 * @category models
 * @since 0.1.0
 */
export type SliceStatus = typeof SliceStatus.Type

/**
 * One data frame of a slice, as a remote consumer receives it: the frame's
 * text (or bytes), its session in the slice's `Feed`, the receive time on
 * the runner (epoch ms), and the activation that delivered it.
 *
 * @category models
 * @since 0.1.0
 */
export const SliceFrame = Schema.TaggedStruct("Frame", {
  activation: Schema.Number,
  session: Schema.Number,
  receivedAt: Schema.Number,
  data: Schema.Union([Schema.String, Schema.Uint8Array])
})

/**
 * @category models
 * @since 0.1.0
 */
export type SliceFrame = typeof SliceFrame.Type

/**
 * A beat of a slice's frame stream, sent every second whatever the data
 * rate: a consumer that hears none for a few seconds knows its stream is
 * stuck on a runner that is gone or frozen, and asks again.
 *
 * @category models
 * @since 0.1.0
 */
export const SliceBeat = Schema.TaggedStruct("Beat", {
  activation: Schema.Number,
  at: Schema.Number
})

/**
 * @category models
 * @since 0.1.0
 */
export type SliceBeat = typeof SliceBeat.Type

/**
 * An item of a slice's frame stream.
 *
 * @category models
 * @since 0.1.0
 */
export const SliceItem = Schema.Union([SliceFrame, SliceBeat])

/**
 * @category models
 * @since 0.1.0
 */
export type SliceItem = typeof SliceItem.Type

/**
 * Starts the slice if it is not running (the registry holds topics for it) and returns its status.
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Ensure = Rpc.make("Ensure", { success: SliceStatus })

/**
 * The slice's status; answered at once, even while another request of the slice waits on the venue.
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Status = Rpc.make("Status", { success: SliceStatus })

/**
 * Reads the slice's topics from the registry again and subscribes or
 * unsubscribes the difference, waiting for the venue's answers; a slice
 * left with no topics stops. Returns the status after it.
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Sync = Rpc.make("Sync", { success: SliceStatus })

/**
 * Unsubscribes and subscribes the given topics again on the live session (a fresh snapshot where the venue sends one).
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Resubscribe = Rpc.make("Resubscribe", {
  payload: { topics: Schema.Array(Schema.String) },
  success: SliceStatus
})

/**
 * Restarts the slice's session now: reconnect at once, replay.
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Restart = Rpc.make("Restart", { success: SliceStatus })

/**
 * Rotates the slice's connection now (make-before-break, inside the runner).
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Rotate = Rpc.make("Rotate", { success: SliceStatus })

/**
 * Closes the slice's connection and ends its keep-alive; it stays down until `Ensure` or `Sync`.
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Stop = Rpc.make("Stop", { success: SliceStatus })

/**
 * The slice's data frames from now on, with a `Beat` every second. The
 * stream ends when the slice stops or leaves this runner.
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Frames = Rpc.make("Frames", { success: SliceItem, stream: true })

/**
 * The entity.
 *
 * @category entities
 * @since 0.1.0
 */
export const FeedSlice = Entity.make("FeedSlice", [Ensure, Status, Sync, Resubscribe, Restart, Rotate, Stop, Frames])

/**
 * How a kind of feed is made on a runner: the venue profile and the `Feed`
 * options (functions included: sequence readers, cadences, gap actions).
 * Definitions are code, the same on every runner; the registry stores only
 * a feed's kind, URLs and slice size.
 *
 * @category models
 * @since 0.1.0
 */
export interface Definition {
  readonly profile: Venue.Profile
  readonly options?: Omit<FeedOptions, "topics" | "url" | "urls" | "streamsPerConnection"> | undefined
}

/**
 * The definitions a runner knows, by kind.
 *
 * @category services
 * @since 0.1.0
 */
export class Definitions extends Context.Service<Definitions, Readonly<Record<string, Definition>>>()(
  "@kharbranth/cluster/Definitions"
) {}

/**
 * The entity id of a feed's slice: `<feed>/<slice>`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const entityId = (feed: string, slice: number): string => `${feed}/${slice}`

/**
 * The feed and slice of an entity id, or undefined when it is not `<feed>/<slice>`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseEntityId = (id: string): { readonly feed: string; readonly slice: number } | undefined => {
  const at = id.lastIndexOf("/")
  if (at <= 0) return undefined
  const slice = Number(id.slice(at + 1))
  return Number.isInteger(slice) && slice >= 0 ? { feed: id.slice(0, at), slice } : undefined
}
