import { assert, describe, it } from "@effect/vitest"
import { busiestWindow } from "@kharbranth/test-utils/clock"
import { Clock, Duration, Effect, Fiber } from "effect"
import * as ConnectionError from "../src/ConnectionError.ts"
import { governed } from "../src/internal/governor.ts"
import * as Transport from "../src/Transport.ts"
import { advance } from "./utils/harness.ts"

/**
 * A transport whose dials reach the "server" after `latency(n)` ms (n: the
 * dial's number, from 0) and are then refused: it records when each dial
 * left the governor and when it arrived.
 */
const recording = (latency: (n: number) => number) => {
  const starts: Array<number> = []
  const arrivals: Array<number> = []
  const transport = Transport.Transport.of({
    open: (request) =>
      Effect.gen(function*() {
        const n = starts.length
        starts.push(yield* Clock.currentTimeMillis)
        yield* Effect.sleep(Duration.millis(latency(n)))
        arrivals.push(yield* Clock.currentTimeMillis)
        return yield* new ConnectionError.ConnectFailed({
          connection: request.connection,
          url: request.url,
          detail: "refused"
        })
      })
  })
  return { transport, starts, arrivals }
}

/** Starts `count` dials to one host at once, in order, and lets `millis` of virtual time pass. */
const dialAll = (transport: Transport.Transport["Service"], count: number, millis: number) =>
  Effect.gen(function*() {
    const fibers = []
    for (let i = 0; i < count; i++) {
      const request = Transport.request({ url: "ws://venue.test/ws", connection: `c${i}` })
      fibers.push(
        yield* Effect.forkChild(Effect.scoped(Effect.ignore(transport.open(request))), { startImmediately: true })
      )
    }
    yield* advance(millis, 50)
    yield* Fiber.joinAll(fibers)
  })

describe("dial governor", () => {
  it.effect("never starts more than dialsPerSecond dials to a host in any 1.1 s window: a burst reuses a slot 1.1 s later", () =>
    Effect.gen(function*() {
      const server = recording(() => 0)
      const transport = yield* governed(server.transport, { maxConcurrentDials: 100, dialsPerSecond: 3 })
      yield* dialAll(transport, 9, 5000)
      assert.deepStrictEqual(server.starts, [0, 0, 0, 1100, 1100, 1100, 2200, 2200, 2200])
      assert.strictEqual(busiestWindow(server.starts, 1100), 3)
    }))

  it.effect("a first burst delayed 100 ms in transit shares no server second with the next burst", () =>
    Effect.gen(function*() {
      // The first three dials take 100 ms to reach the server, the rest none:
      // the next burst must still arrive a full second after the first.
      const server = recording((n) => (n < 3 ? 100 : 0))
      const transport = yield* governed(server.transport, { maxConcurrentDials: 100, dialsPerSecond: 3 })
      yield* dialAll(transport, 9, 5000)
      assert.strictEqual(server.arrivals.length, 9)
      assert.strictEqual(busiestWindow(server.arrivals, 1000), 3)
    }))
})
