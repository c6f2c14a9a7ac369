/**
 * Records what a connection delivers — frames and lifecycle events, each
 * with its wall-clock arrival time — so a test can measure detection and
 * recovery and check that no frame was lost or repeated.
 */
import type { Connection, ConnectionEvent, Frame } from "@kharbranth/core"
import { Effect, Stream } from "effect"

export interface Watched {
  readonly frames: Array<Frame.Frame>
  readonly events: Array<{ readonly at: number; readonly event: ConnectionEvent.ConnectionEvent }>
  /** Text payloads of one session, as numbers. */
  readonly values: (session: number) => Array<number>
  readonly first: (
    tag: ConnectionEvent.ConnectionEvent["_tag"],
    after?: number
  ) => { readonly at: number; readonly event: ConnectionEvent.ConnectionEvent } | undefined
}

export const watch = (conn: Connection.ConnectionShape) =>
  Effect.gen(function*() {
    const frames: Array<Frame.Frame> = []
    const events: Watched["events"] = []
    yield* Effect.forkScoped(Stream.runForEach(conn.frames, (f) => Effect.sync(() => void frames.push(f))))
    yield* Effect.forkScoped(
      Stream.runForEach(conn.events, (event) => Effect.sync(() => void events.push({ at: performance.now(), event })))
    )
    return {
      frames,
      events,
      values: (session) => frames.flatMap((f) => (f._tag === "Text" && f.session === session ? [Number(f.data)] : [])),
      first: (tag, after = 0) => events.find((e) => e.event._tag === tag && e.at >= after)
    } satisfies Watched
  })

/** Asserts that a session's values are 0, 1, 2, … with no gap and no repeat. */
export const inSequence = (values: ReadonlyArray<number>): boolean => values.every((v, i) => v === i)
