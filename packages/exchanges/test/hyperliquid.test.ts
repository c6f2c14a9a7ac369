import { Heartbeat } from "@kharbranth/core"
import { Simulator } from "@kharbranth/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Hyperliquid from "../src/Hyperliquid.ts"
import { disconnected, open, sendAll, settle, staysUp, waitFor } from "./utils/harness.ts"

const profile = Hyperliquid.mainnet

describe("Hyperliquid", () => {
  it.live("each subscription gets its subscriptionResponse and trades arrive", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Hyperliquid.topic("trades", "BTC"), Hyperliquid.topic("l2Book", "ETH")]
      const h = yield* open(profile, topics, { url: sim.endpoints.hyperliquid })
      const requests = profile.subscribe(topics)
      assert.strictEqual(requests.length, 2)
      for (const request of requests) assert.strictEqual(yield* settle(h, profile, request), "confirmed")
      const text = yield* waitFor(h.texts, (t) => (t.startsWith('{"channel":"trades"') ? t : undefined))
      assert.include(text, '"coin":"BTC"')
    }))

  it.live("unsubscribe is confirmed; an invalid subscription is rejected", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Hyperliquid.topic("trades", "BTC")]
      const h = yield* open(profile, topics, { url: sim.endpoints.hyperliquid })
      yield* settle(h, profile, profile.subscribe(topics)[0]!)
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.unsubscribe(topics)), ["confirmed"])
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.subscribe(["nosuch:BTC"])), ["rejected"])
    }))

  it.live("{\"method\":\"ping\"} keeps the connection alive past the client-silence limit, pongs filtered out", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20, venues: { hyperliquid: { idleTimeout: "1 second" } } })
      const h = yield* open(profile, [Hyperliquid.topic("trades", "BTC")], {
        url: sim.endpoints.hyperliquid,
        heartbeatInterval: "300 millis",
        heartbeatTimeout: "1 second"
      })
      const stats = yield* staysUp(h, "2500 millis")
      assert.strictEqual(stats.sessions, 1)
      const pong = yield* waitFor(h.texts, (t) => (t === '{"channel":"pong"}' ? t : undefined), "200 millis").pipe(Effect.option)
      assert.strictEqual(pong._tag, "None")
    }))

  it.live("data flowing in is not enough: a silent client is closed", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20, venues: { hyperliquid: { idleTimeout: "1 second" } } })
      const h = yield* open(profile, [Hyperliquid.topic("trades", "BTC")], {
        url: sim.endpoints.hyperliquid,
        heartbeat: Heartbeat.none
      })
      const error = yield* disconnected(h)
      assert.strictEqual(error._tag, "Closed")
      if (error._tag === "Closed") assert.strictEqual(error.code, 1000)
    }))
})
