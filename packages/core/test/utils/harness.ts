/**
 * Helpers for Connection tests on MemoryTransport and TestClock: let forked
 * fibers and microtask flushes run, wait for a state, collect a stream in
 * the background.
 */
import { Effect, Fiber, Stream } from "effect"
import type { Scope } from "effect"
import { TestClock } from "effect/testing"
import type * as Connection from "../../src/Connection.ts"
import type { ConnectionState } from "../../src/ConnectionState.ts"

/** Lets every runnable fiber, queue wake-up and microtask run (no virtual time passes). */
export const settle = Effect.gen(function*() {
  for (let i = 0; i < 5; i++) {
    yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
  }
  yield* TestClock.adjust(0)
})

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
export const collect = <A, E>(stream: Stream.Stream<A, E>): Effect.Effect<{
  readonly items: Array<A>
  readonly fiber: Fiber.Fiber<void, E>
}, never, Scope.Scope> =>
  Effect.gen(function*() {
    const items: Array<A> = []
    const fiber = yield* Effect.forkScoped(Stream.runForEach(stream, (a) => Effect.sync(() => void items.push(a))))
    return { items, fiber }
  })

/** Advances virtual time in steps, letting fibers run in between. */
export const advance = (millis: number, step = millis) =>
  Effect.gen(function*() {
    let left = millis
    while (left > 0) {
      const by = Math.min(step, left)
      yield* TestClock.adjust(by)
      yield* settle
      left -= by
    }
  })
