import { Heartbeat } from "@kharbranth/core"
import { Simulator } from "@kharbranth/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Bybit from "../src/Bybit.ts"
import * as Venue from "../src/Venue.ts"
import { disconnected, open, sendAll, settle, staysUp, waitFor } from "./utils/harness.ts"

const profile = Bybit.spot

describe("Bybit", () => {
  it.live("subscribe is confirmed by req_id and trades arrive for the topic", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Bybit.trade("btcusdt")]
      const h = yield* open(profile, topics, { url: sim.endpoints.bybit })
      assert.strictEqual(yield* settle(h, profile, profile.subscribe(topics)[0]!), "confirmed")
      const text = yield* waitFor(h.texts, (t) => (t.startsWith('{"topic":"publicTrade.BTCUSDT"') ? t : undefined))
      assert.include(text, '"s":"BTCUSDT"')
    }))

  it.live("unsubscribe is confirmed, and a second subscribe of a held topic is rejected", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Bybit.orderbook("BTCUSDT")]
      const h = yield* open(profile, topics, { url: sim.endpoints.bybit })
      yield* settle(h, profile, profile.subscribe(topics)[0]!)
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.subscribe(topics, 5)), ["rejected"])
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.unsubscribe(topics, 6)), ["confirmed"])
    }))

  it.live("{\"op\":\"ping\"} keeps a quiet connection alive past Bybit's idle limit", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, venues: { bybit: { idleTimeout: "1 second" } } })
      const h = yield* open(profile, [Bybit.trade("BTCUSDT")], {
        url: sim.endpoints.bybit,
        heartbeatInterval: "300 millis",
        heartbeatTimeout: "1 second"
      })
      const stats = yield* staysUp(h, "2500 millis")
      assert.strictEqual(stats.sessions, 1)
    }))

  it.live("a protocol ping is not Bybit's keep-alive: the quiet connection is closed", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, venues: { bybit: { idleTimeout: "1 second" } } })
      const h = yield* open(profile, [Bybit.trade("BTCUSDT")], {
        url: sim.endpoints.bybit,
        heartbeat: Heartbeat.protocol({ interval: "300 millis", timeout: "1 second" })
      })
      const error = yield* disconnected(h)
      assert.strictEqual(error._tag, "Closed")
    }))

  it("splits subscriptions into requests of at most 10 topics with their own req_id", () => {
    const topics = Array.from({ length: 23 }, (_, i) => Bybit.trade(`S${i}USDT`))
    const requests = profile.subscribe(topics, 100)
    assert.deepStrictEqual(requests.map((r) => [r.id, r.topics.length]), [[100, 10], [101, 10], [102, 3]])
    const ack = Bybit.confirmation('{"success":true,"ret_msg":"","conn_id":"x","req_id":"101","op":"subscribe"}')!
    assert.strictEqual(Venue.outcome(requests[1]!, ack), "confirmed")
    assert.isUndefined(Venue.outcome(requests[0]!, ack))
    assert.isTrue(Bybit.isPong('{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}'))
    assert.isTrue(Bybit.isPong('{"success":true,"ret_msg":"","conn_id":"x","op":"pong"}'))
    assert.isUndefined(Bybit.confirmation('{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}'))
  })
})
