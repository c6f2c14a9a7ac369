/**
 * Deterministic driving: with the same `seed` the streams are the same message for message (timestamps
 * aside), whether the timer or `advance` sends them; `pause` stops the market and `resume` restarts it;
 * and a long run (100,000 Binance updates with gaps and crossed updates) rebuilt by the reference client
 * still equals the true book.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Simulator } from "../src/index.ts"
import * as Books from "./utils/books.ts"
import { type Client, connect, msg } from "./utils/client.ts"

const timeFields = /"(E|T|ts|time|timestamp|cts|time_in|time_out)":("[^"]*"|\d+),?/g

const subscribeAll = (sim: Simulator.Simulator) =>
  Effect.gen(function*() {
    const binance = yield* connect(`${sim.endpoints.binance}/btcusdt@depth`)
    const okx = yield* connect(sim.endpoints.okx)
    okx.send({ op: "subscribe", args: [{ channel: "books", instId: "BTC-USDT" }] })
    yield* okx.next(msg((j) => j.action === "snapshot"))
    const kraken = yield* connect(sim.endpoints.kraken)
    kraken.send({ method: "subscribe", params: { channel: "book", symbol: ["BTC/USD"], depth: 10 } })
    yield* kraken.next(msg((j) => j.type === "snapshot"))
    return [binance, okx, kraken] as const
  })

const texts = (c: Client) =>
  c.seen.filter((s) => s.kind === "message" && /depthUpdate|"books"|"book"/.test(s.text)).map((s) =>
    s.text.replace(timeFields, "")
  )

const run = (seed: number, updates: number) =>
  Effect.gen(function*() {
    const sim = yield* Simulator.make({ paused: true, seed })
    const clients = yield* subscribeAll(sim)
    yield* sim.advance(updates)
    for (const c of clients) yield* Books.sync(c)
    return clients.map(texts)
  })

describe("deterministic driving", () => {
  it.live("the same seed gives the same messages; another seed does not", () =>
    Effect.gen(function*() {
      const a = yield* run(5, 300)
      const b = yield* run(5, 300)
      const c = yield* run(6, 300)
      assert.strictEqual(a[0]!.length, 300)
      assert.isAbove(a[1]!.length, 250)
      assert.isAbove(a[2]!.length, 30)
      assert.deepStrictEqual(a, b)
      assert.notDeepEqual(a[0], c[0])
    }))

  it.live("the n-th update is the same whether the timer or advance sends it", () =>
    Effect.gen(function*() {
      const paused = yield* Simulator.make({ paused: true, seed: 9 })
      const p = yield* connect(`${paused.endpoints.binance}/btcusdt@depth`)
      yield* paused.advance(40)
      const live = yield* Simulator.make({ seed: 9, rate: 400, tickInterval: 5 })
      const l = yield* connect(`${live.endpoints.binance}/btcusdt@depth`)
      const fromTimer = yield* l.nextN(40, msg((j) => j.e === "depthUpdate"))
      yield* Books.sync(p)
      assert.deepStrictEqual(fromTimer.map((s) => s.text.replace(timeFields, "")), texts(p))
    }))

  it.live("pause stops the market, advance sends exactly n updates per stream, resume restarts the timer", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 200, tickInterval: 5 })
      const c = yield* connect(`${sim.endpoints.binance}/btcusdt@depth`)
      const t = yield* connect(`${sim.endpoints.binance}/btcusdt@trade`)
      yield* c.nextN(3, msg((j) => j.e === "depthUpdate"))
      yield* sim.pause
      yield* Books.sync(c)
      yield* Books.sync(t)
      const before = [c.messages().length, t.messages().length]
      yield* Effect.sleep("150 millis")
      yield* Books.sync(c)
      yield* Books.sync(t)
      assert.deepStrictEqual([c.messages().length, t.messages().length], before, "nothing while paused")
      yield* sim.advance(25)
      yield* Books.sync(c)
      yield* Books.sync(t)
      assert.deepStrictEqual([c.messages().length, t.messages().length], [before[0]! + 25, before[1]! + 25])
      yield* sim.resume
      yield* c.nextN(before[0]! + 30, msg((j) => j.e === "depthUpdate"))
    }))

  it.live(
    "100,000 Binance updates with gaps and crossed updates: the rebuilt book equals the true book",
    () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make({ paused: true, seed: 3, venues: { binance: { messageLimit: 10_000 } } })
        const client = yield* connect(`${sim.endpoints.binance}/btcusdt@depth`)
        const rebuilder = Books.binance("spot", `${sim.endpoints.binanceDepth}?symbol=BTCUSDT&limit=5000`)
        yield* Books.sync(client)
        yield* rebuilder.resync
        let cursor = 0
        for (let step = 0; step < 10; step++) {
          yield* sim.fault({ kind: step % 2 === 0 ? "bookGap" : "crossed", target: { venue: "binance" } })
          yield* sim.advance(10_000)
          yield* Books.sync(client)
          while (cursor < client.seen.length) {
            const s = client.seen[cursor++]!
            if (s.kind === "message" && rebuilder.onMessage(s.json) === "resync") yield* rebuilder.resync
          }
          client.seen.length = 0
          cursor = 0
          const truth = yield* sim.trueBook("binance", "BTCUSDT")
          const mine = Books.levels(rebuilder.book())
          assert.deepStrictEqual(mine.bids, truth!.bids)
          assert.deepStrictEqual(mine.asks, truth!.asks)
        }
        assert.strictEqual(rebuilder.reasons.length, 10)
      }),
    60_000
  )
})
