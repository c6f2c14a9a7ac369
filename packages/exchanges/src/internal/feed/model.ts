/**
 * The public models of a feed — gaps, events, subscriptions, shards,
 * counters, the gap action — in one module that the feed's parts share;
 * `Feed` re-exports every one.
 */
import type { ConnectionEvent } from "@kharbranth/core"
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"

/**
 * A sequence gap: `expected` is the number the stream should have continued
 * with (for venues that chain by the previous number: the previous number it
 * should have named) and `got` what it named instead. `sessionStart` is true
 * when the gap is at the first message of a stream on a new session (after a
 * reconnect or a rotation that could not overlap): data was missed while no
 * session was up, and a restart would not bring it back.
 *
 * @category models
 * @since 0.1.0
 */
export interface Gap {
  readonly feed: string
  readonly stream: string
  readonly expected: number
  readonly got: number
  readonly shard: number
  readonly sessionStart: boolean
}

/**
 * A feed's lifecycle events; `at` is the `Clock` time in epoch ms.
 *
 * @category models
 * @since 0.1.0
 */
export type FeedEvent = Data.TaggedEnum<{
  /** The venue confirmed these topics (outside a replay). */
  Subscribed: { readonly at: number; readonly shard: number; readonly topics: ReadonlyArray<string> }
  /**
   * The venue rejected these topics, or did not answer in time. `permanent`:
   * a rejection the venue documents as final (they read `failed` and are
   * not retried); otherwise they read `retrying` and are sent again at
   * `retryAt` (backoff from 1 s, doubling to 60 s) or on the next session.
   */
  SubscribeFailed: {
    readonly at: number
    readonly shard: number
    readonly topics: ReadonlyArray<string>
    readonly reason: string
    readonly permanent: boolean
    readonly retryAt: number | undefined
  }
  /** These topics were removed from the registry. */
  Unsubscribed: { readonly at: number; readonly topics: ReadonlyArray<string> }
  /** A new shard (a connection of its own) was opened for topics over the per-connection cap. */
  ShardAdded: { readonly at: number; readonly shard: number; readonly connection: string }
  /** A shard's last topic left; its connection was closed. */
  ShardRemoved: { readonly at: number; readonly shard: number }
  /** Every topic of a shard was sent again on a new session and the venue answered each. */
  Replayed: {
    readonly at: number
    readonly shard: number
    readonly session: number
    readonly requests: number
    readonly confirmed: number
    readonly failed: ReadonlyArray<string>
    readonly took: number
  }
  /** A rotation began: a second session is dialed beside the live one. */
  RotationStarted: { readonly at: number; readonly shard: number; readonly reason: string }
  /** Consumers now read the new session; the old one is closed. `overlapped` is false when the switch was forced by `rotationTimeout`. */
  Rotated: {
    readonly at: number
    readonly shard: number
    readonly generation: number
    readonly took: number
    readonly overlapped: boolean
  }
  /** The new session never got ready within `rotationTimeout`; the old one stays live. */
  RotationFailed: { readonly at: number; readonly shard: number; readonly reason: string }
  /** A topic was quiet longer than its cadence; `action` is what the feed did. */
  Stale: {
    readonly at: number
    readonly topic: string
    readonly quietFor: number
    readonly action: "resubscribe" | "restart"
  }
  /**
   * A sequence gap; `action` is what the feed did. `"hold"`: the stream is
   * a book that nothing on the socket repairs (`Sequence.needsResync`) and
   * no resync callback was given: its frames are held, not delivered,
   * until its venue sends a snapshot (see `Held`).
   */
  GapDetected: Gap & { readonly at: number; readonly action: "restart" | "resync" | "report" | "hold" }
  /**
   * A stream's frames are being held after a gap: its book would be wrong.
   * `Released` follows when a resync ran (or a snapshot came).
   */
  Held: { readonly at: number; readonly stream: string; readonly reason: string }
  /** A held stream flows again; `frames` held frames were delivered, `dropped` were over the limit. */
  Released: { readonly at: number; readonly stream: string; readonly frames: number; readonly dropped: number }
  /**
   * The venue restarted a stream's numbering (OKX resets `seqId` after
   * maintenance: an update whose `seqId` is below its `prevSeqId`, chained
   * on the last one delivered). The message is delivered; numbering goes
   * on from `to`.
   */
  SequenceReset: {
    readonly at: number
    readonly shard: number
    readonly stream: string
    readonly from: number
    readonly to: number
  }
  /**
   * A `sequence` or `cadence` function, or a function of a user-written
   * profile, threw (the first error of a batch). The message was read as
   * unsequenced, the topic as unchecked, or the frame delivered as it came.
   */
  ReaderFailed: { readonly at: number; readonly reader: "sequence" | "cadence" | "profile"; readonly error: unknown }
  /**
   * The resync callback failed, or ran past `resyncTimeout`. For a held
   * stream it is run again after a backoff (1 s doubling to 60 s); the
   * stream stays held until a run succeeds.
   */
  ResyncFailed: { readonly at: number; readonly stream: string; readonly cause: Cause.Cause<unknown> }
  /** A private feed's session logged in (or got what its requests carry); its topics are sent now. */
  Authenticated: {
    readonly at: number
    readonly shard: number
    readonly connection: string
    readonly session: number
    readonly took: number
  }
  /**
   * The venue refused a session's login. `action`: `"stop"` (credentials, or
   * a clock still refused after a correction: the feed stopped, see
   * `AuthFailed`), `"retry"` (a clock refusal: the clock was corrected and the
   * login is sent once more), `"restart"` (the venue's own trouble, or no
   * answer within `confirmTimeout`: the session restarts after a backoff of
   * 1 s, doubling to 60 s, per refusal in a row).
   */
  AuthRefused: {
    readonly at: number
    readonly shard: number
    readonly connection: string
    readonly code: string
    readonly reason: string
    readonly kind: "credentials" | "clock" | "transient" | "config"
    readonly action: "stop" | "retry" | "restart"
  }
  /** The venue's clock read `offset` ms from this machine's (its server time); logins are signed with it from now on. */
  ClockAdjusted: { readonly at: number; readonly offset: number }
  /** The venue ended a session's authorization (Binance `eventStreamTerminated`): it logs in again and resubscribes. */
  AuthEnded: { readonly at: number; readonly shard: number; readonly connection: string }
  /** An event of one of the feed's connections. */
  Connection: {
    readonly at: number
    readonly shard: number
    readonly connection: string
    readonly event: ConnectionEvent.ConnectionEvent
  }
}>

/**
 * Constructors and matchers for feed events.
 *
 * @category constructors
 * @since 0.1.0
 */
export const FeedEvent = Data.taggedEnum<FeedEvent>()

/**
 * Where a topic stands: `pending` until the venue answers (again after every
 * reconnect), `confirmed`, `retrying` (rejected for a transient reason or
 * not answered in time: sent again at `retryAt` and on every new session),
 * or `failed` (a rejection the venue documents as final, such as an unknown
 * instrument: not replayed until subscribed again).
 *
 * @category models
 * @since 0.1.0
 */
export interface Subscription {
  readonly topic: string
  readonly state: "pending" | "confirmed" | "retrying" | "failed"
  readonly shard: number
  readonly reason: string | undefined
  /** When the topic last delivered data (or was last confirmed), epoch ms. */
  readonly lastDataAt: number | undefined
  /** Transient failures in a row. */
  readonly failures: number
  /** When a `retrying` topic is sent again, epoch ms. */
  readonly retryAt: number | undefined
}

/**
 * One shard: its current connection's name, generation (rotations so far)
 * and topics.
 *
 * @category models
 * @since 0.1.0
 */
export interface ShardInfo {
  readonly shard: number
  readonly connection: string
  readonly generation: number
  readonly open: boolean
  readonly rotating: boolean
  readonly topics: ReadonlyArray<string>
}

/**
 * Counters of a feed.
 *
 * @category models
 * @since 0.1.0
 */
export interface FeedStats {
  readonly shards: number
  readonly topics: number
  /** Frames handed to `frames`. */
  readonly delivered: number
  /** Frames dropped because their sequence was already delivered (rotation overlap, venue repeats). */
  readonly duplicates: number
  readonly gaps: number
  readonly rotations: number
  readonly resubscribes: number
  readonly restarts: number
  readonly replays: number
  /** Requests (subscribe/unsubscribe) sent. */
  readonly requests: number
  /** Batches in which a `sequence`, `cadence` or profile function threw. */
  readonly readerFailures: number
  /** Topics sent again after a transient failure. */
  readonly retries: number
  /** Sequence resets the venue made (OKX `seqId` after maintenance). */
  readonly resets: number
  /** Frames held after an unrepaired gap and not yet released. */
  readonly held: number
  /** Held frames dropped over the hold limit (the oldest first). */
  readonly heldDropped: number
  /** Events a full `events` buffer dropped (the oldest first). */
  readonly eventsDropped: number
}

/**
 * What to do on a sequence gap: `"restart"` the shard's connection (the
 * default; the gapped message and the rest of that session's data are not
 * delivered, so nothing built on the gap reaches consumers, and the new
 * session starts with the venue's snapshot where it sends one), only
 * `"report"` it as an event, or run a resync callback (fetch a REST
 * snapshot, rebuild the book). The callback runs in its own fiber; frames
 * keep flowing meanwhile, except for a stream that nothing on the socket
 * repairs (`Sequence.needsResync`: Binance diff depth), whose frames are
 * held from the gap until the callback succeeds and then released in order.
 * Such a stream's frames are held after any gap that a restart cannot mend
 * (one at a session's start, or any with `"report"`) until a resync ran or
 * a snapshot came: a book that would be wrong is never handed over.
 *
 * @category models
 * @since 0.1.0
 */
export type GapAction = "restart" | "report" | ((gap: Gap) => Effect.Effect<void, unknown>)
