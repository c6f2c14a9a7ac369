/**
 * What the parts of a feed share: its settings (the options, resolved
 * once), its state (registry, shards, the last number of each stream, held
 * streams, counters, the two hubs), the models of a shard, its connections and a
 * request in flight, and the few helpers every part uses. Each part
 * (requests, replay, frames, gaps, switch-over, rotation, shards, timer,
 * operations) is a module of functions over this context; `Feed.make`
 * builds it.
 */
import {
  type Connection as ConnectionModule,
  type ConnectionConfig,
  type Frame,
  type Hub,
  RateWindow,
  type Transport
} from "@kharbranth/core"
import type * as Clock from "effect/Clock"
import type * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type * as Semaphore from "effect/Semaphore"
import type * as Venue from "../../Venue.ts"
import type * as VenueBudgets from "../../VenueBudgets.ts"
import type * as Auth from "./auth.ts"
import * as Logs from "./logs.ts"
import type { FeedMetrics } from "./metrics.ts"
import { FeedEvent, type Gap, type GapAction } from "./model.ts"
import type * as Registry from "./registry.ts"

export type Entry = Registry.Entry<Shard>

/** A replay: every topic of a shard sent again on a new session, answered request by request. */
export interface Replay {
  pending: number
  confirmed: number
  requests: number
  readonly failed: Array<string>
  readonly startedAt: number
  readonly session: number
}

/** How a request ended: the topics the venue rejected (or left unanswered), or `lost` with its session. */
export interface Answer {
  readonly failed: ReadonlyArray<string>
  readonly reason: string | undefined
  readonly lost: boolean
}

export const lostAnswer: Answer = { failed: [], reason: undefined, lost: true }

/** A request sent and not yet fully answered: `open` are its topics still waiting. */
export interface Inflight {
  readonly request: Venue.Request
  readonly open: Set<string>
  readonly sentAt: number
  readonly done: Deferred.Deferred<Answer>
  readonly failed: Array<string>
  reason: string | undefined
  readonly replay: Replay | undefined
}

/** What the venue answered for some topics. */
export interface Outcome {
  readonly topics: ReadonlyArray<string>
  readonly outcome: "confirmed" | "rejected"
  readonly reason: string | undefined
  readonly permanent: boolean
}

/**
 * One connection of a shard: the live one, a rotation's standby, or a
 * retired one being closed (each rotation makes a new one: `generation`).
 * Its core `Connection` goes through many sessions, one per socket;
 * `session` is the current one's number.
 */
export interface ShardConnection {
  readonly shard: Shard
  readonly generation: number
  /** The core connection's name: `<feed>/<shard>.<generation>`. */
  readonly name: string
  readonly scope: Scope.Closeable
  /** The core connection (set once made). */
  connection: ConnectionModule.ConnectionShape | undefined
  phase: "standby" | "live" | "retired"
  open: boolean
  session: number
  openedAt: number | undefined
  nextId: number
  inflight: Array<Inflight>
  replayFiber: Fiber.Fiber<void> | undefined
  replayDone: boolean
  gotData: boolean
  /** Topics already requested on the current core session (by its replay or a subscribe). */
  requested: Set<string>
  /** The core session a gap is restarting (0: none): its later data is not delivered (it would build on the gap). */
  broken: number
  /** Streams delivered on the current core session (a gap at a stream's first message is a session-start gap). */
  seen: Set<string>
  /** The core session `seen` is about; frames, not `onOpen`, move it on, since old frames may still be in flight. */
  seenSession: number
  /** Standby only: frames held until the switch, and each stream's first sequence among them. */
  buffer: Array<Frame.Frame>
  firstSeq: Map<string, Venue.Sequence>
  /** Standby only: the venue's answers to its replay, for the registry at the switch. */
  outcomes: Array<Outcome>
  readonly switched: Deferred.Deferred<boolean>
  /** Requests per second (`messagesPerSecond`) of this connection. */
  readonly window: RateWindow.RateWindow
  /** Requests per hour (`requestsPerHour`) of its current socket: the venue counts per connection, so each socket starts afresh. */
  hourly: RateWindow.RateWindow
  /** Whether it still holds its slot of the venue's `connectionsPerIp`. */
  slot: boolean
  /**
   * A read whose frames were admitted (their sequence counted as delivered)
   * is still being handed to consumers (a slow one, with `suspend`).
   * Closing a retired connection waits for it (`drained`): cutting it off
   * would lose frames the sequence check already counted.
   */
  delivering: boolean
  drained: Deferred.Deferred<void> | undefined
  /** A private feed: the login of the current core session (auth.ts). */
  auth: Auth.SessionAuth | undefined
}

/** A shard: the topics one connection holds, its live connection and, during a rotation, a standby. */
export class Shard {
  readonly index: number
  /** The `urls` key of the endpoint it dials (undefined: the default URL). */
  readonly route: string | undefined
  readonly config: ConnectionConfig.ConnectionConfig
  readonly budget: VenueBudgets.Budget
  /** Its active topics: `failed` ones leave, so they neither count against the cap nor keep it open. */
  readonly topics = new Set<string>()
  /** Set right after construction: a connection needs its shard first. */
  live!: ShardConnection
  standby: ShardConnection | undefined = undefined
  /** Connections a switch replaced, closed once the rotation is reported. */
  retired: Array<ShardConnection> = []
  generation = 0
  nextRotationAt = 0
  removed = false
  constructor(
    index: number,
    route: string | undefined,
    config: ConnectionConfig.ConnectionConfig,
    budget: VenueBudgets.Budget
  ) {
    this.index = index
    this.route = route
    this.config = config
    this.budget = budget
  }
}

/** Frames of a stream held after a gap nothing on the socket repairs. */
export interface Hold {
  readonly frames: Array<Frame.Frame>
  dropped: number
  /** Whether the resync callback repairs it (else only the venue's snapshot does). */
  resyncing: boolean
  /** The gap that started the hold: what each resync attempt is given. */
  readonly gap: Gap
  /** The resync attempt under way, if any. */
  fiber: Fiber.Fiber<void> | undefined
  /** When the hold began or its current attempt started (epoch ms): the timeout counts from it. */
  startedAt: number
  /** After a failed attempt: when the next is due. */
  retryAt: number | undefined
  /** Failed attempts in a row. */
  failures: number
  /** The callback succeeded: the held frames are being handed over. */
  releasing: boolean
}

/** The feed's counters (`stats`, less what is derived when read). */
export interface Counters {
  delivered: number
  duplicates: number
  gaps: number
  rotations: number
  resubscribes: number
  restarts: number
  replays: number
  requests: number
  readerFailures: number
  retries: number
  resets: number
  heldDropped: number
}

/** The options of a feed, resolved and checked once. */
export interface Settings {
  /** The core connection's name: `<feed>/<shard>.<generation>`. */
  readonly name: string
  readonly profile: Venue.Profile
  /** Answers later than this fail their request (ms). */
  readonly confirmTimeout: number
  readonly rotationTimeout: number
  /** Rotate a session older than this (ms), if set. */
  readonly lifetime: number | undefined
  /** Topics per shard. */
  readonly cap: number
  readonly holdLimit: number
  readonly onGap: GapAction
  /** A resync attempt running longer is interrupted and counts as failed (ms). */
  readonly resyncTimeout: number
  readonly rotateOnNotice: boolean
  /** Requests per connection per 1.1 s, if limited. */
  readonly budget: number | undefined
  /** Whether topics have a cadence (staleness is read per topic only then). */
  readonly checksCadence: boolean
}

/** A user function that threw, reported once per batch. */
export interface ReaderFailure {
  readonly reader: "sequence" | "cadence" | "profile"
  readonly error: unknown
}

/** Everything the parts of one feed share. */
export interface Context extends Settings {
  readonly scope: Scope.Scope
  readonly clock: Clock.Clock
  readonly now: () => number
  readonly budgets: VenueBudgets.Shape
  /** The transport, with the feed's dial window in front. */
  readonly transport: Transport.Transport["Service"]
  readonly frames: Hub.Hub<Frame.Frame>
  readonly events: Hub.Hub<FeedEvent>
  readonly registry: Map<string, Entry>
  readonly shards: Array<Shard>
  /** The last number delivered of each stream. */
  readonly lastSeq: Map<string, number>
  readonly holds: Map<string, Hold>
  readonly counters: Counters
  /** Serialises changes to which shards exist and hold what. */
  readonly assignLock: Semaphore.Semaphore
  closed: boolean
  nextShard: number
  readerFailure: ReaderFailure | undefined
  /** Set once made when `Metrics.enabled` is true (metrics.ts); counts each event and each request's wait. */
  metrics: FeedMetrics | undefined
  /** A private feed's login settings (auth.ts); undefined for a public feed. */
  readonly auth: Auth.Settings | undefined
  /** The user's functions, each catching what it throws into `readerFailure`. */
  readonly topicCadence: (topic: string) => number | undefined
  readonly readSequence: ((text: string) => Venue.Sequence | undefined) | undefined
  readonly routeOf: (topic: string) => string | undefined
  readonly configFor: (route: string | undefined) => ConnectionConfig.ConnectionConfig
  /** Bound once the parts exist: the back edges between them. */
  rotateShard: (shard: Shard, reason: string) => Effect.Effect<void>
  removeShard: (shard: Shard) => Effect.Effect<void>
}

/** The hour of `requestsPerHour`, with a margin for transit (the venue counts on arrival). */
const REQUEST_HOUR_MS = 3_600_000 + 100

/** A fresh `requestsPerHour` window, for a new socket. */
export const hourlyWindow = (ctx: Context): RateWindow.RateWindow => {
  const limit = ctx.profile.limits.requestsPerHour
  return limit === undefined ? RateWindow.unlimited : RateWindow.make(limit, REQUEST_HOUR_MS, ctx.clock)
}

/** Counts one event (metrics.ts, when on), logs it (logs.ts), then publishes it. */
export const emit = (ctx: Context, event: FeedEvent): Effect.Effect<void> => {
  ctx.metrics?.event(event)
  return Effect.andThen(Logs.logEvent(ctx.name, event), ctx.events.publish([event]))
}

/** Runs `effect` in the feed's scope, its failure ignored (each reports its own). */
export const fork = <A, E>(ctx: Context, effect: Effect.Effect<A, E>): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkIn(Effect.ignore(effect), ctx.scope))

/** Appends `topic` to the list of `key`. */
export const addTo = <K>(groups: Map<K, Array<string>>, key: K, topic: string): void => {
  const list = groups.get(key)
  if (list === undefined) groups.set(key, [topic])
  else list.push(topic)
}

/** A shard's live connection, and its standby during a rotation. */
export const connectionsOf = (shard: Shard): ReadonlyArray<ShardConnection> =>
  shard.standby === undefined ? [shard.live] : [shard.live, shard.standby]

export const restartConnection = (conn: ShardConnection, reason: string): Effect.Effect<void> =>
  conn.connection === undefined ? Effect.void : Effect.ignore(conn.connection.restart(reason))

/** Reports the batch's first user-function failure, if any. */
export const reportReaderFailure = (ctx: Context, at: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    const failure = ctx.readerFailure
    ctx.readerFailure = undefined
    if (failure === undefined) return Effect.void
    ctx.counters.readerFailures += 1
    return emit(ctx, FeedEvent.ReaderFailed({ at, reader: failure.reader, error: failure.error }))
  })

/**
 * Hands `out` to consumers, then runs what the frames triggered (events,
 * actions). What they triggered runs even if the hand-over is interrupted
 * (its connection closed while a slow consumer made it wait): the state it
 * completes (a held stream's resync, a restart) would otherwise be lost.
 */
export const deliver = (
  ctx: Context,
  out: ReadonlyArray<Frame.Frame>,
  after: Array<Effect.Effect<void>>,
  at: number
): Effect.Effect<void> => {
  ctx.counters.delivered += out.length
  if (ctx.readerFailure !== undefined) after.push(reportReaderFailure(ctx, at))
  const published = ctx.frames.publish(out)
  return after.length === 0 ? published : Effect.ensuring(published, Effect.all(after, { discard: true }))
}
