import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Hub from "../src/Hub.ts"

/** Pulls once, or reports that the hub has ended for this subscriber. */
const pullOnce = <A>(pull: Effect.Effect<ReadonlyArray<A>, Cause.Done>) =>
  Effect.map(Effect.exit(pull), (exit) => Exit.isSuccess(exit) ? exit.value : "done" as const)

describe("Hub", () => {
  it.effect("keeps what is published before the first subscriber, up to the limit", () =>
    Effect.gen(function*() {
      const hub = new Hub.Hub<number>(16, "suspend", 4)
      yield* hub.publish([1, 2])
      yield* hub.publish([3])
      yield* hub.end
      assert.deepStrictEqual(yield* Stream.runCollect(hub.stream), [1, 2, 3])

      const over = new Hub.Hub<number>(16, "suspend", 2)
      yield* over.publish([1, 2, 3])
      yield* over.end
      assert.deepStrictEqual(yield* Stream.runCollect(over.stream), [], "more than the limit keeps nothing")
    }))

  it.effect("hands a batch over as published, joins waiting batches in order, then ends", () =>
    Effect.gen(function*() {
      const hub = new Hub.Hub<number>(16, "suspend", 0)
      const pull = yield* hub.subscribe
      const batch: ReadonlyArray<number> = [1, 2, 3]
      yield* hub.publish(batch)
      assert.strictEqual<ReadonlyArray<number>>(yield* pull, batch, "a single waiting batch is not copied")
      yield* hub.publish([4])
      yield* hub.publish([5, 6])
      assert.deepStrictEqual(yield* pull, [4, 5, 6])
      yield* hub.publish([7])
      yield* hub.end
      yield* hub.publish([8])
      assert.deepStrictEqual(yield* pullOnce(pull), [7], "what was given before the end is read")
      assert.strictEqual(yield* pullOnce(pull), "done")
    }).pipe(Effect.scoped))

  it.effect("resumes a parked subscriber within the publish, and every subscriber gets every batch", () =>
    Effect.gen(function*() {
      const hub = new Hub.Hub<number>(16, "suspend", 0)
      const seen: Array<string> = []
      const reader = (name: string) =>
        hub.stream.pipe(Stream.runForEachArray((items) => Effect.sync(() => seen.push(`${name}:${items.join(",")}`))))
      const a = yield* Effect.forkChild(reader("a"))
      const b = yield* Effect.forkChild(reader("b"))
      yield* Effect.yieldNow
      assert.isTrue(hub.wanted)
      yield* hub.publish([1, 2])
      assert.deepStrictEqual(seen, ["a:1,2", "b:1,2"], "both ran before publish returned")
      yield* hub.end
      yield* Fiber.join(a)
      yield* Fiber.join(b)
    }))

  it.effect("a pull interrupted while parked takes nothing: what is published next waits for the next pull", () =>
    Effect.gen(function*() {
      const hub = new Hub.Hub<number>(16, "suspend", 0)
      const pull = yield* hub.subscribe
      const parked = yield* Effect.forkChild(pull)
      yield* Effect.yieldNow
      yield* Fiber.interrupt(parked)
      yield* hub.publish([1, 2])
      yield* hub.publish([3])
      assert.deepStrictEqual(yield* pull, [1, 2, 3], "nothing went to the interrupted pull")

      // A pull that loses a race to a timer, as one under a stream operator's timeout may.
      const raced = yield* Effect.forkChild(Effect.timeout(pull, "1 second"))
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 second")
      assert.isTrue(Exit.isFailure(yield* Fiber.await(raced)), "the first pull timed out")
      yield* hub.publish([4])
      yield* hub.end
      assert.deepStrictEqual(yield* pullOnce(pull), [4])
      assert.strictEqual(yield* pullOnce(pull), "done")
    }).pipe(Effect.scoped))

  it.effect("a subscriber that joins while a publish wakes its predecessor does not get that batch again", () =>
    Effect.gen(function*() {
      const hub = new Hub.Hub<number>(16, "suspend", 0)
      const firsts: Array<ReadonlyArray<number>> = []
      // Each round subscribes, takes one pull and leaves; woken within a publish, the next round joins
      // on that publish's stack, while it is still handing the batch out.
      const rounds = yield* Effect.forkChild(Effect.gen(function*() {
        for (let i = 0; i < 3; i++) firsts.push(yield* Effect.scoped(Effect.flatMap(hub.subscribe, (pull) => pull)))
      }))
      yield* Effect.yieldNow
      for (let n = 1; n <= 3; n++) {
        yield* hub.publish([n])
        yield* Effect.yieldNow
      }
      yield* Fiber.join(rounds)
      assert.deepStrictEqual(firsts, [[1], [2], [3]])
    }))

  it.effect("suspend: a full subscriber holds the publisher until it reads, and nothing is lost", () =>
    Effect.gen(function*() {
      const hub = new Hub.Hub<number>(4, "suspend", 0)
      const pull = yield* hub.subscribe
      yield* hub.publish([1, 2, 3])
      const publisher = yield* Effect.forkChild(hub.publish([4, 5]))
      yield* Effect.yieldNow
      assert.isUndefined(publisher.pollUnsafe(), "3 + 2 items do not fit in 4")
      assert.deepStrictEqual(yield* pull, [1, 2, 3])
      yield* Fiber.join(publisher)
      // A batch larger than the capacity goes into an empty buffer whole.
      assert.deepStrictEqual(yield* pull, [4, 5])
      yield* hub.publish([6, 7, 8, 9, 10, 11])
      assert.deepStrictEqual(yield* pull, [6, 7, 8, 9, 10, 11])
      assert.strictEqual(hub.dropped, 0)
    }).pipe(Effect.scoped))

  it.effect("suspend: a subscriber that leaves releases the publisher it was holding", () =>
    Effect.gen(function*() {
      const hub = new Hub.Hub<number>(2, "suspend", 0)
      const fiber = yield* Effect.forkChild(Effect.scoped(Effect.andThen(hub.subscribe, Effect.never)))
      yield* Effect.yieldNow
      yield* hub.publish([1, 2])
      const publisher = yield* Effect.forkChild(hub.publish([3]))
      yield* Effect.yieldNow
      assert.isUndefined(publisher.pollUnsafe())
      yield* Fiber.interrupt(fiber)
      yield* Fiber.join(publisher)
      assert.isFalse(hub.wanted)
    }))

  it.effect("sliding drops the oldest items and counts them; dropping drops the newest", () =>
    Effect.gen(function*() {
      const sliding = new Hub.Hub<number>(4, "sliding", 0)
      const s = yield* sliding.subscribe
      const shared = [1, 2, 3]
      yield* sliding.publish(shared)
      yield* sliding.publish([4, 5, 6])
      assert.deepStrictEqual(yield* s, [3, 4, 5, 6])
      assert.deepStrictEqual(shared, [1, 2, 3], "a published batch is never changed")
      assert.strictEqual(sliding.dropped, 2)

      const dropping = new Hub.Hub<number>(4, "dropping", 0)
      const d = yield* dropping.subscribe
      yield* dropping.publish([1, 2, 3])
      yield* dropping.publish([4, 5, 6])
      yield* dropping.publish([7])
      assert.deepStrictEqual(yield* d, [1, 2, 3, 4])
      assert.strictEqual(dropping.dropped, 3)
    }).pipe(Effect.scoped))

  it.effect("a subscriber after the end gets an ended stream", () =>
    Effect.gen(function*() {
      const hub = new Hub.Hub<number>(4, "suspend", 4)
      yield* hub.end
      assert.isFalse(hub.wanted)
      assert.deepStrictEqual(yield* Stream.runCollect(hub.stream), [])
    }))
})
