/**
 * A feed's frames for a consumer anywhere in the cluster: one `Frames`
 * stream per slice, merged. Per slice the consumer keeps the highest
 * activation it has seen: items of an older activation (a frozen runner's
 * copy that resumed) are dropped, and the first item of a newer one is
 * preceded by a `SliceMoved` marker, so a book builder knows to resync. A
 * slice's stream that is silent past `stallTimeout` (its runner is gone or
 * frozen: the runner beats every second) is asked again, and the cluster
 * routes the new request to the slice's current owner.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type * as FeedSlice from "../FeedSlice.ts"

/**
 * An item of `FeedCluster.frames`: a data frame of one slice, or the marker
 * that a slice's connection is now served by a new activation (its runner
 * died, stopped, or the slice moved).
 *
 * @category models
 * @since 0.1.0
 */
export type ClusterItem =
  | {
    readonly _tag: "Frame"
    readonly feed: string
    readonly slice: number
    readonly activation: number
    readonly session: number
    /** When the runner's socket received it, epoch ms (the runner's clock). */
    readonly receivedAt: number
    readonly data: string | Uint8Array
  }
  | {
    readonly _tag: "SliceMoved"
    readonly feed: string
    readonly slice: number
    /** The activation frames came from until now. */
    readonly from: number
    readonly to: number
    /** When the consumer saw the move, epoch ms. */
    readonly at: number
  }

/** Options of `FeedCluster.frames`. */
export interface FramesOptions {
  /** A slice stream silent for this long is asked again. Default 3 seconds (the runner beats every second). */
  readonly stallTimeout?: Duration.Input | undefined
  /** How often the registry is read for the feed's new slices. Default 2 seconds. */
  readonly pollInterval?: Duration.Input | undefined
  /** Items buffered for the consumer; a full buffer holds the slices' streams back. Default 16,384. */
  readonly capacity?: number | undefined
}

export interface Deps {
  readonly feed: string
  readonly slices: Effect.Effect<ReadonlyArray<number>, unknown>
  readonly open: (slice: number) => Stream.Stream<FeedSlice.SliceItem, unknown>
}

export const make = (deps: Deps, options: FramesOptions = {}): Stream.Stream<ClusterItem> =>
  Stream.callback<ClusterItem>((queue) =>
    Effect.gen(function*() {
      const stall = options.stallTimeout ?? "3 seconds"
      const poll = options.pollInterval ?? "2 seconds"
      const followed = new Set<number>()
      const follow = (slice: number) =>
        Effect.gen(function*() {
          let latest = 0
          const handle = (items: ReadonlyArray<FeedSlice.SliceItem>) =>
            Effect.gen(function*() {
              const out: Array<ClusterItem> = []
              for (const item of items) {
                if (item.activation < latest) continue
                if (item.activation > latest) {
                  if (latest > 0) {
                    const at = yield* Clock.currentTimeMillis
                    out.push({ _tag: "SliceMoved", feed: deps.feed, slice, from: latest, to: item.activation, at })
                  }
                  latest = item.activation
                }
                if (item._tag === "Frame") {
                  out.push({
                    _tag: "Frame",
                    feed: deps.feed,
                    slice,
                    activation: item.activation,
                    session: item.session,
                    receivedAt: item.receivedAt,
                    data: item.data
                  })
                }
              }
              if (out.length > 0) yield* Queue.offerAll(queue, out)
            })
          // Each round ends when the stream ends, fails or stalls; the next asks the slice's current owner.
          yield* deps.open(slice).pipe(
            Stream.timeout(stall),
            Stream.runForEachArray(handle),
            Effect.catchCause(() => Effect.void),
            Effect.andThen(Effect.sleep("200 millis")),
            Effect.forever
          )
        })
      const discover = Effect.gen(function*() {
        const slices = yield* Effect.orElseSucceed(deps.slices, () => [])
        for (const slice of slices) {
          if (followed.has(slice)) continue
          followed.add(slice)
          yield* Effect.forkScoped(follow(slice))
        }
      })
      yield* discover
      yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(Duration.fromInputUnsafe(poll)), discover)))
    }), { bufferSize: options.capacity ?? 16_384 })
