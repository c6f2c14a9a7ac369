import { Heartbeat } from "@kharbranth/core"
import { Simulator } from "@kharbranth/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Okx from "../src/Okx.ts"
import { disconnected, open, sendAll, settle, staysUp, waitFor } from "./utils/harness.ts"

const profile = Okx.publicProfile

describe("OKX", () => {
  it.live("subscribe is confirmed per arg and trades arrive for the topic", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Okx.topic("trades", "BTC-USDT"), Okx.topic("trades", "ETH-USDT")]
      const h = yield* open(profile, topics, { url: sim.endpoints.okx })
      const [request] = profile.subscribe(topics)
      assert.strictEqual(yield* settle(h, profile, request!), "confirmed")
      const data = yield* waitFor(h.texts, (t) => (t.includes('"tradeId"') ? JSON.parse(t) as unknown : undefined))
      assert.include(JSON.stringify(data), '"channel":"trades"')
    }))

  it.live("unsubscribe is confirmed for the topic", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Okx.topic("trades", "BTC-USDT")]
      const h = yield* open(profile, topics, { url: sim.endpoints.okx })
      yield* settle(h, profile, profile.subscribe(topics)[0]!)
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.unsubscribe(topics)), ["confirmed"])
    }))

  it.live("an unknown channel is rejected", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Okx.topic("nosuch", "BTC-USDT")]
      const h = yield* open(profile, topics, { url: sim.endpoints.okx })
      assert.strictEqual(yield* settle(h, profile, profile.subscribe(topics)[0]!), "rejected")
    }))

  it.live("text ping keeps a quiet subscription alive past OKX's idle limit", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, venues: { okx: { idleTimeout: "1 second" } } })
      const h = yield* open(profile, [Okx.topic("trades", "BTC-USDT")], {
        url: sim.endpoints.okx,
        heartbeatInterval: "300 millis",
        heartbeatTimeout: "1 second"
      })
      const stats = yield* staysUp(h, "2500 millis")
      assert.strictEqual(stats.sessions, 1)
    }))

  it.live("without the text ping OKX closes the quiet connection with 4004", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, venues: { okx: { idleTimeout: "1 second" } } })
      const h = yield* open(profile, [Okx.topic("trades", "BTC-USDT")], { url: sim.endpoints.okx, heartbeat: Heartbeat.none })
      const error = yield* disconnected(h)
      assert.strictEqual(error._tag, "Closed")
      if (error._tag === "Closed") assert.strictEqual(error.code, 4004)
    }))

  it.live("the 64008 service-upgrade notice is recognised", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Okx.topic("trades", "BTC-USDT")]
      const h = yield* open(profile, topics, { url: sim.endpoints.okx })
      yield* settle(h, profile, profile.subscribe(topics)[0]!)
      yield* sim.fault({ kind: "notice", target: { venue: "okx" } })
      const notice = yield* waitFor(h.texts, (t) => (profile.isNotice(t) ? t : undefined))
      assert.include(notice, "64008")
      assert.isFalse(profile.isNotice('{"event":"error","code":"64008x"}'))
    }))
})
