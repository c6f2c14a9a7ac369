/**
 * A feed under test against the simulator: every text frame it delivers
 * and every event it emits, collected, with waits that end by a deadline.
 */
import { NodeTransport } from "@kharbranth/node"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Feed from "../../src/Feed.ts"
import type * as Venue from "../../src/Venue.ts"

const transport = NodeTransport.layer()

export interface Probe {
  readonly feed: Feed.Feed
  /** Every text frame delivered, in order. */
  readonly texts: Array<string>
  readonly events: Queue.Queue<Feed.FeedEvent>
  readonly seen: Array<Feed.FeedEvent>
}

export const start = (
  name: string,
  profile: Venue.Profile,
  options: Feed.FeedOptions
): Effect.Effect<Probe, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const feed = yield* Feed.make(name, profile, {
      reconnect: Schedule.spaced("100 millis"),
      closeTimeout: "300 millis",
      ...options
    }).pipe(Effect.provide(transport))
    const texts: Array<string> = []
    const events = yield* Queue.unbounded<Feed.FeedEvent>()
    const seen: Array<Feed.FeedEvent> = []
    yield* feed.frames.pipe(
      Stream.runForEach((f) => Effect.sync(() => void (f._tag === "Text" && texts.push(f.data)))),
      Effect.forkScoped
    )
    yield* feed.events.pipe(
      Stream.runForEach((e) => Effect.sync(() => seen.push(e)).pipe(Effect.andThen(Queue.offer(events, e)))),
      Effect.forkScoped
    )
    return { feed, texts, events, seen }
  })

/** Waits for an event for which `pick` returns a value. */
export const nextEvent = <A>(
  probe: Probe,
  pick: (e: Feed.FeedEvent) => A | undefined,
  within: Duration.Input = "10 seconds"
) =>
  Effect.gen(function*() {
    while (true) {
      const found = pick(yield* Queue.take(probe.events))
      if (found !== undefined) return found
    }
  }).pipe(Effect.timeout(within))

/** Polls until `test` holds. */
export const until = (test: () => boolean, within: Duration.Input = "10 seconds") =>
  Effect.suspend(() => (test() ? Effect.void : Effect.fail("not yet"))).pipe(
    Effect.retry(Schedule.spaced("20 millis")),
    Effect.timeout(within)
  )

export const dataOf = (probe: Probe, topic: string, from = 0) =>
  probe.texts.slice(from).filter((t) => probe.feed.profile.topicOf(t) === topic).length
