import { assert, describe, it } from "@effect/vitest"
import { Heartbeat } from "@kharbranth/core"
import { Simulator } from "@kharbranth/simulator"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Bybit from "../src/Bybit.ts"
import * as Venue from "../src/Venue.ts"
import { disconnected, firstDecoded, type Harness, open, sendAll, settle, staysUp, waitFor } from "./utils/harness.ts"

const profile = Bybit.spot

/** Sequence readings of incoming texts (each checked to name its topic) until `n` are read. */
const collect = (h: Harness, n: number) =>
  Effect.gen(function*() {
    const out: Array<Venue.Sequence> = []
    while (out.length < n) {
      const text = yield* Queue.take(h.texts)
      const reading = Bybit.sequence(text)
      if (reading === undefined) continue
      assert.strictEqual(reading.stream, profile.topicOf(text))
      out.push(reading)
    }
    return out
  }).pipe(Effect.timeout("5 seconds"))

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

  it.live("unsubscribe is confirmed, and a second subscribe of a held topic reads as confirmed (already subscribed)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Bybit.orderbook("BTCUSDT")]
      const h = yield* open(profile, topics, { url: sim.endpoints.bybit })
      yield* settle(h, profile, profile.subscribe(topics)[0]!)
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.subscribe(topics, 5)), ["confirmed"])
      assert.deepStrictEqual(yield* sendAll(h, profile, profile.unsubscribe(topics, 6)), ["confirmed"])
    }))

  it.live('{"op":"ping"} keeps a quiet connection alive past Bybit\'s idle limit', () =>
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

  it.live("topicOf names pushes by their topic; answers and pongs give undefined", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Bybit.trade("btcusdt"), Bybit.orderbook("ETHUSDT")]
      const h = yield* open(profile, topics, { url: sim.endpoints.bybit })
      const seen = new Set<string>()
      let answers = 0
      yield* waitFor(h.texts, (t) => {
        const topic = profile.topicOf(t)
        if (Bybit.confirmation(t) !== undefined) {
          assert.isUndefined(topic, t)
          answers += 1
        } else seen.add(topic!)
        return seen.size === topics.length ? true : undefined
      })
      assert.deepStrictEqual([...seen].sort(), [...topics].sort())
      assert.strictEqual(answers, 1)
      // Pongs never reach the frames (the heartbeat takes them), but they are not data either.
      for (
        const text of [
          "",
          "{",
          '{"topic":"publicTrade.BTCUSDT"',
          '{"topic":"publicTrade.BTCUSDT","type":"snapshot"}',
          "[]",
          '{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}',
          '{"success":true,"ret_msg":"","conn_id":"x","op":"pong"}',
          '{"success":false,"ret_msg":"error:handler not found,topic:x","op":"subscribe"}'
        ]
      ) {
        assert.isUndefined(profile.topicOf(text), text)
        assert.isUndefined(Bybit.sequence(text), text)
      }
    }))

  it.live("trade and order-book pushes decode with the schemas", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const h = yield* open(profile, [Bybit.orderbook("BTCUSDT"), Bybit.trade("BTCUSDT")], { url: sim.endpoints.bybit })
      const snapshot = yield* firstDecoded(h, (t) => t.startsWith('{"topic":"orderbook'), Bybit.decodeBook)
      assert.strictEqual(snapshot.type, "snapshot")
      assert.strictEqual(snapshot.data.s, "BTCUSDT")
      assert.strictEqual(snapshot.data.b.length, 50)
      const trades = yield* firstDecoded(h, (t) => t.startsWith('{"topic":"publicTrade'), Bybit.decodeTrades)
      assert.strictEqual(trades.topic, "publicTrade.BTCUSDT")
      assert.isTrue(trades.data.length > 0 && Number(trades.data[0]!.p) > 0)
      assert.include(["Buy", "Sell"], trades.data[0]!.S)
      const delta = yield* firstDecoded(h, (t) => t.startsWith('{"topic":"orderbook'), Bybit.decodeMessage)
      assert.strictEqual(delta.type, "delta")
    }))

  it.live("orderbook readings start with a snapshot and chain update ids; the gap fault breaks the chain", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 50 })
      const topic = Bybit.orderbook("BTCUSDT", 200)
      const h = yield* open(profile, [topic, Bybit.trade("BTCUSDT")], { url: sim.endpoints.bybit })
      const before = yield* collect(h, 5)
      assert.isTrue(before.every((r) => r.stream === topic), "trades carry no reading")
      assert.isTrue(before[0]!.snapshot === true)
      for (let i = 1; i < before.length; i++) {
        assert.isTrue(before[i]!.snapshot !== true)
        assert.strictEqual(before[i]!.first, before[i - 1]!.last + 1)
        assert.strictEqual(before[i]!.last, before[i]!.first)
      }
      yield* sim.fault({ kind: "gap", target: { venue: "bybit" }, skip: 3 })
      let prev = before[before.length - 1]!
      const jumps: Array<number> = []
      for (const r of yield* collect(h, 10)) {
        if (r.first !== prev.last + 1) jumps.push(r.first - prev.last - 1)
        prev = r
      }
      assert.deepStrictEqual(jumps, [3])
    }))
})

describe("Bybit profile", () => {
  const answer = (success: boolean, retMsg: string, reqId = "5") =>
    `{"success":${success},"ret_msg":${
      JSON.stringify(retMsg)
    },"conn_id":"2324d924-aa4d-45b0-a858-7b8be29ab52b","req_id":"${reqId}","op":"subscribe"}`

  it("already subscribed, with the topic in ret_msg, confirms that topic only", () => {
    // Live frame shape: sieblyio/bybit-api#477.
    const c = Bybit.confirmation(answer(false, "error:already subscribed,topic:orderbook.50.BTCUSDT"))!
    assert.strictEqual(c.kind, "subscribed")
    assert.deepStrictEqual(c.topics, ["orderbook.50.BTCUSDT"])
    assert.strictEqual(c.id, 5)
    assert.notStrictEqual(c.permanent, true)
    const [request] = profile.subscribe([Bybit.orderbook("BTCUSDT"), Bybit.trade("ETHUSDT")], 5)
    assert.strictEqual(Venue.outcome(request!, c), "confirmed")
    assert.isTrue(Venue.names(c, "orderbook.50.BTCUSDT"))
    assert.isFalse(Venue.names(c, "publicTrade.ETHUSDT"), "the rest of the batch is not confirmed by it")
  })

  it("handler not found (an unknown topic) is permanent, with or without the topic named", () => {
    // pybit#373: {"op":"subscribe","req_id":…,"success":false,"ret_msg":"error:handler not found"}.
    const bare = Bybit.confirmation(answer(false, "error:handler not found", "6"))!
    assert.strictEqual(bare.kind, "rejected")
    assert.deepStrictEqual(bare.topics, [])
    assert.strictEqual(bare.id, 6)
    assert.isTrue(bare.permanent)
    assert.strictEqual(Venue.outcome(profile.subscribe([Bybit.trade("NOPE")], 6)[0]!, bare), "rejected")
    const named = Bybit.confirmation(answer(false, "error:handler not found,topic:publicTrade.NOPE", "6"))!
    assert.deepStrictEqual(named.topics, ["publicTrade.NOPE"])
    assert.isTrue(named.permanent)
  })

  it("other failures are transient; several topics in ret_msg are all read", () => {
    const other = Bybit.confirmation(answer(false, "Invalid request: args too long", "7"))!
    assert.strictEqual(other.kind, "rejected")
    assert.notStrictEqual(other.permanent, true)
    assert.strictEqual(other.id, 7)
    const two = Bybit.confirmation(answer(false, "error:something,topic:a.X,topic:b.Y", "7"))!
    assert.deepStrictEqual(two.topics, ["a.X", "b.Y"])
    const success = Bybit.confirmation(answer(true, "subscribe", "10001"))!
    assert.strictEqual(success.kind, "subscribed")
    assert.deepStrictEqual(success.topics, [])
    assert.strictEqual(success.id, 10001)
  })

  it("spot and linear pongs are {op:ping, ret_msg:pong}; option/spread's {op:pong} is a pong too", () => {
    assert.isTrue(
      Bybit.isPong('{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}')
    )
    assert.isTrue(
      Bybit.isPong(
        '{"success":true,"ret_msg":"pong","conn_id":"465772b1-7630-4fdc-a492-e003e6f0f260","req_id":"","op":"ping"}'
      )
    )
    assert.isTrue(Bybit.isPong('{"args":["1672916271846"],"op":"pong"}'))
    assert.isFalse(Bybit.isPong('{"success":true,"ret_msg":"","conn_id":"x","req_id":"1","op":"subscribe"}'))
  })

  it("limits: 500 connections per 5 minutes, and at most 1,000 per IP per market", () => {
    for (const p of [Bybit.spot, Bybit.linear]) {
      assert.deepStrictEqual(p.limits.connections, { count: 500, window: "5 minutes" })
      assert.strictEqual(p.limits.connectionsPerIp, 1000)
      assert.strictEqual(p.limits.topicsPerRequest, 10)
    }
  })
})
