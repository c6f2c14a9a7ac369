/**
 * Helpers for Connection tests on MemoryTransport and TestClock: wait for a
 * state, collect a stream in the background; `settle` and `advance` come
 * from the shared test utilities.
 */
import { settle } from "@kharbranth/test-utils/clock"
import { Effect, Fiber, Metric, Stream } from "effect"
import type { Scope } from "effect"
import type * as Connection from "../../src/Connection.ts"
import type { ConnectionState } from "../../src/ConnectionState.ts"

export { advance, settle } from "@kharbranth/test-utils/clock"

/** Waits (without advancing time) until the connection's state has the tag. */
export const awaitState = (conn: Connection.ConnectionShape, tag: ConnectionState["_tag"], tries = 200) =>
  Effect.gen(function*() {
    for (let i = 0; i < tries; i++) {
      if (conn.state.value._tag === tag) return conn.state.value
      yield* settle
    }
    throw new Error(`state stayed ${conn.state.value._tag}, expected ${tag}`)
  })

/** Runs a stream into an array in the background; `items` is live, `fiber` ends with the stream. */
export const collect = <A, E>(stream: Stream.Stream<A, E>): Effect.Effect<
  {
    readonly items: Array<A>
    readonly fiber: Fiber.Fiber<void, E>
  },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const items: Array<A> = []
    const fiber = yield* Effect.forkScoped(Stream.runForEach(stream, (a) => Effect.sync(() => void items.push(a))))
    return { items, fiber }
  })

/**
 * Live fibers, counted through the runtime's fiber metrics hook: run the
 * program `.pipe(fibers.counting)` and read `fibers.live()` as it goes.
 */
export const countFibers = () => {
  let live = 0
  const counter: Metric.FiberRuntimeMetricsService = {
    recordFiberStart: () => void live++,
    recordFiberEnd: () => void live--
  }
  return {
    live: () => live,
    counting: <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.provideService(self, Metric.FiberRuntimeMetrics, counter)
  }
}
