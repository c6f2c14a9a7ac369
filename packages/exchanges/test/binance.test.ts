import { Simulator } from "@kharbranth/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Binance from "../src/Binance.ts"
import * as Venue from "../src/Venue.ts"
import { disconnected, firstDecoded, open, sendAll, settle, staysUp, waitFor } from "./utils/harness.ts"

const simulator = () =>
  Simulator.make({ rate: 20, venues: { binance: { pingInterval: "300 millis", pongTimeout: "1 second" } } })

describe("Binance", () => {
  it.live("subscribe is acknowledged by id and trades decode with the schema", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const topics = [Binance.trade("BTCUSDT")]
      const h = yield* open(Binance.spot, topics, { url: sim.endpoints.binance })
      const [request] = Binance.spot.subscribe(topics)
      assert.strictEqual(yield* settle(h, Binance.spot, request!), "confirmed")
      const trade = yield* firstDecoded(h, (t) => t.includes('"e":"trade"'), Binance.decodeTrade)
      assert.strictEqual(trade.s, "BTCUSDT")
      assert.isTrue(Number(trade.p) > 0)
      assert.isNumber(trade.t)
    }))

  it.live("depth updates decode with U..u ranges", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const h = yield* open(Binance.spot, [Binance.depth("ethusdt")], { url: sim.endpoints.binance })
      const event = yield* firstDecoded(h, (t) => t.includes("depthUpdate"), Binance.decodeEvent)
      assert.strictEqual(event.e, "depthUpdate")
      if (event.e === "depthUpdate") {
        assert.isTrue(event.u >= event.U)
        assert.isTrue(event.b.length + event.a.length > 0)
      }
    }))

  it.live("unsubscribe is acknowledged and the server drops the stream", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const events = yield* sim.subscribe
      const topics = [Binance.trade("btcusdt")]
      const h = yield* open(Binance.spot, topics, { url: sim.endpoints.binance })
      yield* settle(h, Binance.spot, Binance.spot.subscribe(topics)[0]!)
      const outcomes = yield* sendAll(h, Binance.spot, Binance.spot.unsubscribe(topics, 2))
      assert.deepStrictEqual(outcomes, ["confirmed"])
      const gone = yield* events.pipe(
        Stream.filter((e) => e._tag === "Unsubscribed"),
        Stream.runHead,
        Effect.timeout("5 seconds")
      )
      assert.isTrue(Option.isSome(gone) && gone.value._tag === "Unsubscribed" && gone.value.topics.includes("btcusdt@trade"))
    }))

  it.live("an invalid stream name is rejected, matched by request id", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const topics = ["BTCUSDT@trade"]
      const h = yield* open(Binance.spot, topics, { url: sim.endpoints.binance })
      assert.strictEqual(yield* settle(h, Binance.spot, Binance.spot.subscribe(topics)[0]!), "rejected")
    }))

  it.live("combined streams decode through the envelope", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const h = yield* open(Binance.spot, [], { url: `${sim.endpoints.binanceCombined}?streams=solusdt@trade` })
      const msg = yield* firstDecoded(h, (t) => t.startsWith('{"stream"'), Binance.decodeCombined)
      assert.strictEqual(msg.stream, "solusdt@trade")
      assert.strictEqual(msg.data.e, "trade")
    }))

  it.live("the profile's protocol heartbeat keeps a connection alive past the pong deadline", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const h = yield* open(Binance.spot, [Binance.trade("btcusdt")], {
        url: sim.endpoints.binance,
        heartbeatInterval: "400 millis",
        heartbeatTimeout: "1 second"
      })
      const stats = yield* staysUp(h, "2500 millis")
      assert.strictEqual(stats.sessions, 1)
      assert.isDefined(stats.lastRtt)
    }))

  it.live("pings faster than limits.messagesPerSecond get the connection cut with 1008", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      assert.strictEqual(Binance.spot.limits.messagesPerSecond, 5)
      const h = yield* open(Binance.spot, [], {
        url: sim.endpoints.binance,
        heartbeatInterval: "50 millis",
        heartbeatTimeout: "1 second"
      })
      const error = yield* disconnected(h)
      assert.strictEqual(error._tag, "Closed")
      if (error._tag === "Closed") assert.strictEqual(error.code, 1008)
    }))

  it.live("serverShutdown is recognised as a notice", () =>
    Effect.gen(function*() {
      const sim = yield* simulator()
      const h = yield* open(Binance.spot, [Binance.trade("btcusdt")], { url: sim.endpoints.binance })
      yield* settle(h, Binance.spot, Binance.spot.subscribe([Binance.trade("btcusdt")])[0]!)
      yield* sim.fault({ kind: "notice", target: { venue: "binance" } })
      const notice = yield* waitFor(h.texts, (t) => (Binance.spot.isNotice(t) ? t : undefined))
      assert.include(notice, "serverShutdown")
      assert.isFalse(Binance.spot.isNotice('{"e":"trade","s":"serverShutdown"}'))
    }))

  it("frames one SUBSCRIBE per 200 streams with consecutive ids", () => {
    const topics = Array.from({ length: 450 }, (_, i) => `s${i}usdt@trade`)
    const requests = Binance.usdm.subscribe(topics, 10)
    assert.deepStrictEqual(requests.map((r) => [r.id, r.topics.length]), [[10, 200], [11, 200], [12, 50]])
    assert.deepStrictEqual(JSON.parse(requests[2]!.text), { method: "SUBSCRIBE", params: topics.slice(400), id: 12 })
    assert.strictEqual(Venue.outcome(requests[1]!, Binance.confirmation('{"result":null,"id":11}')!), "confirmed")
    assert.isUndefined(Venue.outcome(requests[1]!, Binance.confirmation('{"result":null,"id":12}')!))
  })
})
