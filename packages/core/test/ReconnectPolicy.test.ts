import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Random, Schedule } from "effect"
import * as Connection from "../src/Connection.ts"
import * as ConnectionError from "../src/ConnectionError.ts"
import * as Heartbeat from "../src/Heartbeat.ts"
import { DialOutcome, MemoryServer } from "../src/MemoryTransport.ts"
import * as MemoryTransport from "../src/MemoryTransport.ts"
import * as ReconnectPolicy from "../src/ReconnectPolicy.ts"
import { advance, awaitState, collect } from "./utils/harness.ts"

const noHeartbeat = { url: "ws://venue.test/ws", heartbeat: Heartbeat.none }
const refused = new ConnectionError.ConnectFailed({
  connection: "btc",
  url: "ws://venue.test/ws",
  detail: "ECONNREFUSED"
})

/** The delays (ms) of `count` steps of a schedule, each stepped with a refused dial, on a seeded Random. */
const delays = (schedule: ReconnectPolicy.ReconnectSchedule, count: number, seed: string | number = "kharbranth") =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(schedule)
    const out: Array<number> = []
    for (let i = 0; i < count; i++) {
      const [, delay] = yield* step(0, refused)
      out.push(Duration.toMillis(delay))
    }
    return out
  }).pipe(Random.withSeed(seed))

describe("ReconnectPolicy", () => {
  describe("maxAttempts", () => {
    for (const maxAttempts of [1, 3]) {
      it.effect(`maxAttempts: ${maxAttempts} dials exactly ${maxAttempts} time(s), then closes`, () =>
        Effect.gen(function*() {
          const server = yield* MemoryServer
          yield* server.setDefault(DialOutcome.fail("ECONNREFUSED"))
          const reconnect = ReconnectPolicy.exponential({ jitter: false, maxAttempts })
          const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect })
          yield* advance(60_000, 100)
          const state = yield* awaitState(conn, "Closed")
          assert.strictEqual((yield* server.dials).length, maxAttempts)
          assert.include(state._tag === "Closed" ? state.reason : "", `after ${maxAttempts} attempts`)
        }).pipe(Effect.provide(MemoryTransport.layer())))
    }

    it.effect("the count starts again once a session stays up minUptime: maxAttempts more dials after it", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const reconnect = ReconnectPolicy.exponential({ jitter: false, maxAttempts: 2 })
        yield* server.script(DialOutcome.fail("ECONNREFUSED"), DialOutcome.accept())
        yield* server.setDefault(DialOutcome.fail("ECONNREFUSED"))
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect, minUptime: "10 seconds" })
        const events = yield* collect(conn.events)
        yield* advance(500)
        const peer = yield* server.accepted
        yield* advance(10_000)
        yield* peer.drop
        yield* advance(60_000, 100)
        const state = yield* awaitState(conn, "Closed")
        // A failed dial and a session that lasted; then two failed dials, the count of the second run.
        assert.strictEqual((yield* server.dials).length, 4)
        const connecting = events.items.flatMap((e) => (e._tag === "Connecting" ? [e.attempt] : []))
        assert.deepStrictEqual(connecting, [1, 2, 1, 2])
        assert.include(state._tag === "Closed" ? state.reason : "", "after 2 attempts")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("a first dial whose session ends before minUptime counts: maxAttempts dials in all", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const reconnect = ReconnectPolicy.exponential({ jitter: false, maxAttempts: 2 })
        yield* server.script(DialOutcome.accept())
        yield* server.setDefault(DialOutcome.fail("ECONNREFUSED"))
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect, minUptime: "10 seconds" })
        const peer = yield* server.accepted
        yield* advance(1000)
        yield* peer.drop
        yield* advance(60_000, 100)
        assert.strictEqual((yield* server.dials).length, 2)
        const state = yield* awaitState(conn, "Closed")
        assert.include(state._tag === "Closed" ? state.reason : "", "after 2 attempts")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it("maxDials reads a policy's maxAttempts; a composed schedule is a new schedule", () => {
      const policy = ReconnectPolicy.exponential({ maxAttempts: 4 })
      assert.strictEqual(ReconnectPolicy.maxDials(policy), 4)
      assert.isUndefined(ReconnectPolicy.maxDials(ReconnectPolicy.exponential()))
      assert.isUndefined(ReconnectPolicy.maxDials(Schedule.addDelay(policy, () => Effect.succeed(Duration.millis(1)))))
    })

    it("maxAttempts below 1 or not a whole number is rejected when the policy is made", () => {
      for (const maxAttempts of [0, -1, 2.5, Number.NaN]) {
        assert.throws(() => ReconnectPolicy.exponential({ maxAttempts }), RangeError, "maxAttempts")
      }
      assert.doesNotThrow(() => ReconnectPolicy.exponential({ maxAttempts: Number.POSITIVE_INFINITY }))
    })
  })

  describe("jitter", () => {
    it.effect("jitter holds at the cap: delays at max are spread below it, none above it", () =>
      Effect.gen(function*() {
        // Nominal delays 1, 2, 4 s, then 8, 16, … s: capped at 5 s from the fourth step on.
        const all = yield* delays(ReconnectPolicy.exponential({ base: "1 second", max: "5 seconds" }), 200)
        const atCap = all.slice(3)
        assert.isTrue(all.every((d) => d <= 5000), "no delay exceeds max")
        assert.isTrue(atCap.every((d) => d >= 4000), "at the cap a delay is at least 80% of max")
        // Not in lockstep: the delays at the cap take many values, spread over 80–100% of max.
        assert.isAbove(new Set(atCap).size, atCap.length / 2)
        assert.isBelow(Math.min(...atCap), 4200)
        assert.isAbove(Math.max(...atCap), 4800)
      }))

    it.effect("below the cap each delay is 80–120% of base × factor^(n−1), and never over max", () =>
      Effect.gen(function*() {
        for (let run = 0; run < 50; run++) {
          const got = yield* delays(
            ReconnectPolicy.exponential({ base: "100 millis", factor: 3, max: "2 seconds" }),
            4,
            run
          )
          got.forEach((delay, i) => {
            const nominal = Math.min(100 * 3 ** i, 2000)
            assert.isAtLeast(delay, nominal * 0.8, `step ${i + 1}`)
            assert.isAtMost(delay, Math.min(nominal * 1.2, 2000), `step ${i + 1}`)
          })
        }
      }))

    it.effect("jitter: false gives base × factor^(n−1) exactly, capped at max", () =>
      Effect.gen(function*() {
        const got = yield* delays(
          ReconnectPolicy.exponential({ jitter: false, base: "500 millis", max: "3 seconds" }),
          6
        )
        assert.deepStrictEqual(got, [500, 1000, 2000, 3000, 3000, 3000])
      }))
  })
})
