/**
 * Every fault kind of the exchange simulator, observed through a real
 * `Connection` over `NodeTransport`: the typed error the library reports
 * for it (or, for faults that only degrade a feed, that the feed slows and
 * comes back without a reconnect), and the recovery.
 */
import { assert, describe, it } from "@effect/vitest"
import { Connection, Heartbeat } from "@kharbranth/core"
import type { ConnectionConfig } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Simulator } from "@kharbranth/simulator"
import type { Fault } from "@kharbranth/simulator"
import { Effect, Schedule } from "effect"
import { eventually } from "./utils/peers.ts"
import { watch, type Watched } from "./utils/watch.ts"

const subscribe = JSON.stringify({ method: "SUBSCRIBE", params: ["btcusdt@trade"], id: 1 })

/** A simulator and one Binance connection subscribed to trades, with a fast protocol heartbeat and idle timeout. */
const setup = (extra: Partial<ConnectionConfig.ConnectionConfig> = {}) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.make({ rate: 50 })
    const conn = yield* Connection.make("feed", {
      url: sim.endpoints.binance,
      heartbeat: Heartbeat.protocol({ interval: "300 millis", timeout: "300 millis" }),
      idleTimeout: "700 millis",
      reconnect: Schedule.spaced("50 millis"),
      ...extra
    }, { onOpen: ({ send }) => send(subscribe) })
    const w = yield* watch(conn)
    const trades = (session: number) =>
      w.frames.filter((f) => f._tag === "Text" && f.session === session && f.data.startsWith('{"e":"trade"')).length
    yield* eventually("trades on session 1", () => trades(1) >= 10)
    const fault = (spec: Fault.FaultSpec) =>
      Effect.andThen(Effect.orDie(sim.fault(spec)), Effect.sync(() => performance.now()))
    return { sim, conn, w, trades, fault }
  })

const disconnectedBy = (w: Watched, after: number) => {
  const e = w.first("Disconnected", after)?.event
  return e?._tag === "Disconnected" ? e.error : undefined
}

describe("simulator faults through a Connection", () => {
  it.live("drop: Closed 1006, then trades on a new session", () =>
    Effect.gen(function*() {
      const { w, trades, fault } = yield* setup()
      const at = yield* fault({ kind: "drop", target: { venue: "binance" } })
      yield* eventually("new session", () => trades(2) >= 5)
      const error = disconnectedBy(w, at)
      assert.isTrue(error?._tag === "Closed" && error.code === 1006)
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("close with a code: Closed with that code and reason", () =>
    Effect.gen(function*() {
      const { w, trades, fault } = yield* setup()
      const at = yield* fault({ kind: "close", target: "all", code: 4321, reason: "maintenance" })
      yield* eventually("new session", () => trades(2) >= 5)
      const error = disconnectedBy(w, at)
      assert.isTrue(error?._tag === "Closed" && error.code === 4321 && error.reason === "maintenance")
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("stall (data stops, pongs go on): IdleTimeout, not a heartbeat miss", () =>
    Effect.gen(function*() {
      const { w, trades, fault } = yield* setup()
      const at = yield* fault({ kind: "stall", target: { venue: "binance" }, duration: "3 seconds" })
      yield* eventually("new session", () => trades(2) >= 5)
      assert.strictEqual(disconnectedBy(w, at)?._tag, "IdleTimeout")
      assert.isUndefined(w.first("HeartbeatMissed", at))
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("half-open (everything stops): HeartbeatTimeout within interval + timeout + 10%", () =>
    Effect.gen(function*() {
      const { w, trades, fault } = yield* setup({ idleTimeout: "10 seconds" })
      const at = yield* fault({ kind: "halfOpen", target: { venue: "binance" }, duration: "3 seconds" })
      yield* eventually("new session", () => trades(2) >= 5)
      assert.strictEqual(disconnectedBy(w, at)?._tag, "HeartbeatTimeout")
      assert.isAtMost(w.first("Disconnected", at)!.at - at, 600 * 1.1 + 25)
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("slow: the feed slows and comes back without a reconnect", () =>
    Effect.gen(function*() {
      const { w, trades, fault } = yield* setup({
        idleTimeout: "10 seconds",
        heartbeat: Heartbeat.protocol({ interval: "2 seconds", timeout: "2 seconds" })
      })
      yield* Effect.sleep("500 millis")
      const before = trades(1)
      yield* fault({ kind: "slow", target: { venue: "binance" }, bytesPerSecond: 400, duration: "1 second" })
      yield* Effect.sleep("1 second")
      const during = trades(1) - before
      yield* eventually("back to full rate", () => trades(1) - before > during + 20, 5000)
      assert.isBelow(during, 25, "throttled to a trickle (50 trades/s unthrottled)")
      assert.isUndefined(w.first("Disconnected"))
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("gap: trade ids jump inside one session", () =>
    Effect.gen(function*() {
      const { w, trades, fault } = yield* setup()
      yield* fault({ kind: "gap", target: { venue: "binance" }, skip: 5 })
      const count = trades(1)
      yield* eventually("more trades", () => trades(1) >= count + 5)
      const ids = w.frames.flatMap((f) =>
        f._tag === "Text" && f.session === 1 ? [...f.data.matchAll(/"t":(\d+)/g)].map((m) => Number(m[1])) : []
      )
      const jumps = ids.slice(1).filter((id, i) => id !== ids[i]! + 1)
      assert.strictEqual(jumps.length, 1)
    }).pipe(Effect.provide(NodeTransport.layer())))

  for (const status of [429, 503] as const) {
    it.live(`refuse ${status}: DialFailed with ConnectFailed status ${status}, then recovery`, () =>
      Effect.gen(function*() {
        const { w, trades, fault } = yield* setup()
        const at = yield* fault({ kind: "refuse", target: { venue: "binance" }, status, retryAfter: 1, count: 1 })
        yield* fault({ kind: "drop", target: { venue: "binance" } })
        yield* eventually("new session", () => trades(2) >= 5, 5000)
        const failed = w.first("DialFailed", at)?.event
        assert.isTrue(
          failed?._tag === "DialFailed" && failed.error._tag === "ConnectFailed" && failed.error.status === status
        )
        if (status === 429) {
          assert.isTrue(
            failed?._tag === "DialFailed" && failed.error._tag === "ConnectFailed" && failed.error.retryAfter === 1000
          )
          const opened = w.events.find((e) => e.event._tag === "Opened" && e.at > at)
          assert.isAtLeast(opened!.at - w.first("DialFailed", at)!.at, 950, "waited for Retry-After")
        }
      }).pipe(Effect.provide(NodeTransport.layer())))
  }

  it.live("latency: frames arrive late, no reconnect", () =>
    Effect.gen(function*() {
      const { w, fault } = yield* setup({
        heartbeat: Heartbeat.protocol({ interval: "2 seconds", timeout: "2 seconds" })
      })
      yield* fault({ kind: "latency", target: { venue: "binance" }, latency: "250 millis", duration: "1 second" })
      yield* Effect.sleep("600 millis")
      // Binance trades carry the send time E (ms): received − E is the delay.
      const late = w.frames.slice(-5).map((f) =>
        f._tag === "Text" ? f.receivedAt - Number(/"E":(\d+)/.exec(f.data)?.[1]) : 0
      )
      assert.isTrue(late.every((d) => d >= 200), `delays ${late.join(", ")}`)
      assert.isUndefined(w.first("Disconnected"))
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("notice: the serverShutdown message arrives, then the close, then a new session", () =>
    Effect.gen(function*() {
      const { w, trades, fault } = yield* setup()
      const at = yield* fault({ kind: "notice", target: { venue: "binance" }, closeAfter: "200 millis" })
      yield* eventually("new session", () => trades(2) >= 5)
      assert.isTrue(
        w.frames.some((f) => f._tag === "Text" && f.session === 1 && f.data.includes('"e":"serverShutdown"'))
      )
      assert.strictEqual(disconnectedBy(w, at)?._tag, "Closed")
    }).pipe(Effect.provide(NodeTransport.layer())))
})
