/**
 * Test harness: opens a real `Connection` over `NodeTransport` to a venue
 * profile (pointed at the simulator), and collects its text frames and
 * lifecycle events into queues so tests wait on conditions with deadlines.
 */
import { Connection, type ConnectionError, type ConnectionEvent, type Transport } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Venue from "../../src/Venue.ts"

export const transport: Layer.Layer<Transport.Transport> = NodeTransport.layer()

export interface Harness {
  readonly conn: Connection.ConnectionShape
  readonly texts: Queue.Queue<string>
  readonly events: Queue.Queue<ConnectionEvent.ConnectionEvent>
}

/** Opens a connection for `profile` with `topics` subscribed in `onOpen`. */
export const open = (
  profile: Venue.Profile,
  topics: ReadonlyArray<string>,
  options: Venue.Options
): Effect.Effect<Harness, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const [config, hooks] = Venue.connect(profile, topics, {
      reconnect: Schedule.spaced("100 millis"),
      closeTimeout: "200 millis",
      ...options
    })
    const conn = yield* Connection.make(profile.venue, config, hooks).pipe(Effect.provide(transport))
    const texts = yield* Queue.unbounded<string>()
    const events = yield* Queue.unbounded<ConnectionEvent.ConnectionEvent>()
    yield* conn.frames.pipe(
      Stream.runForEach((frame) => (frame._tag === "Text" ? Queue.offer(texts, frame.data) : Effect.void)),
      Effect.forkScoped
    )
    yield* conn.events.pipe(Stream.runForEach((event) => Queue.offer(events, event)), Effect.forkScoped)
    return { conn, texts, events }
  })

/** Takes from `queue` until `pick` returns a value, failing after `within`. */
export const waitFor = <T, A>(
  queue: Queue.Queue<T>,
  pick: (item: T) => A | undefined,
  within: Duration.Input = "5 seconds"
): Effect.Effect<A, unknown> =>
  Effect.gen(function*() {
    while (true) {
      const item = yield* Queue.take(queue)
      const found = pick(item)
      if (found !== undefined) return found
    }
  }).pipe(Effect.timeout(within))

/** Waits for the venue's answer to `request`. */
export const settle = (harness: Harness, profile: Venue.Profile, request: Venue.Request, within?: Duration.Input) =>
  waitFor(harness.texts, (text) => {
    const confirmation = profile.confirmation(text)
    return confirmation === undefined ? undefined : Venue.outcome(request, confirmation)
  }, within)

/** Sends every request of an unsubscribe/subscribe and waits for each answer. */
export const sendAll = (harness: Harness, profile: Venue.Profile, requests: ReadonlyArray<Venue.Request>) =>
  Effect.forEach(
    requests,
    (request) => harness.conn.send(request.text).pipe(Effect.andThen(settle(harness, profile, request)))
  )

/** The first text for which `test` holds, decoded by `decode`. */
export const firstDecoded = <A>(
  harness: Harness,
  test: (text: string) => boolean,
  decode: (text: string) => Effect.Effect<A, unknown>
): Effect.Effect<A, unknown> =>
  waitFor(harness.texts, (text) => (test(text) ? text : undefined)).pipe(Effect.flatMap(decode))

/**
 * Holds until the connection's current session has stayed open for
 * `duration` (polling stats), failing if a `Disconnected` event comes first.
 */
export const staysUp = (harness: Harness, duration: Duration.Input) =>
  Effect.gen(function*() {
    const target = Duration.toMillis(Duration.fromInputUnsafe(duration))
    const up = harness.conn.stats.pipe(
      Effect.flatMap((s) => (s.uptime >= target ? Effect.succeed(s) : Effect.fail("not yet" as const))),
      Effect.retry(Schedule.spaced("50 millis"))
    )
    const cut = waitFor(harness.events, (e) => (e._tag === "Disconnected" ? e : undefined), target + 10_000).pipe(
      Effect.flatMap((e) => Effect.fail(new Error(`disconnected: ${e.error._tag} ${JSON.stringify(e.error)}`)))
    )
    const stats = yield* Effect.raceFirst(up, cut).pipe(Effect.timeout(target + 5_000))
    return stats
  })

/** The first `Disconnected` event's error. */
export const disconnected = (
  harness: Harness,
  within: Duration.Input = "5 seconds"
): Effect.Effect<ConnectionError.ConnectionError, unknown> =>
  waitFor(harness.events, (e) => (e._tag === "Disconnected" ? e.error : undefined), within)

/** Whether `next` continues `prev` in its stream. */
export const chained = (prev: Venue.Sequence, next: Venue.Sequence): boolean =>
  next.snapshot === true || (next.prev !== undefined ? next.prev === prev.last : next.first === prev.last + 1)

/** Pairs of consecutive readings of one stream that do not chain. */
export const breaks = (readings: ReadonlyArray<Venue.Sequence>) => {
  const last = new Map<string, Venue.Sequence>()
  const out: Array<readonly [Venue.Sequence, Venue.Sequence]> = []
  for (const r of readings) {
    const prev = last.get(r.stream)
    if (prev !== undefined && !chained(prev, r)) out.push([prev, r])
    last.set(r.stream, r)
  }
  return out
}

/**
 * Sequence readings of incoming texts by `profile`'s reader `read` until
 * `done` holds; each reading must name the text's topic.
 */
export const readings = (
  h: Harness,
  profile: Venue.Profile,
  read: (text: string) => Venue.Sequence | undefined,
  done: (readings: ReadonlyArray<Venue.Sequence>) => boolean
) =>
  Effect.gen(function*() {
    const out: Array<Venue.Sequence> = []
    while (!done(out)) {
      const text = yield* Queue.take(h.texts)
      const reading = read(text)
      if (reading === undefined) continue
      if (reading.stream !== profile.topicOf(text)) {
        return yield* Effect.fail(new Error(`reading names ${reading.stream}, topicOf says ${profile.topicOf(text)}`))
      }
      out.push(reading)
    }
    return out
  }).pipe(Effect.timeout("5 seconds"))

/** How many readings of `stream`. */
export const count = (readings: ReadonlyArray<Venue.Sequence>, stream: string) =>
  readings.filter((r) => r.stream === stream).length
