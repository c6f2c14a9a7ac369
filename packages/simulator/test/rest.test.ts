/**
 * The REST depth snapshot endpoints over real HTTP (Node's `fetch`): answers built from the same true book
 * as the depth streams, request weight per IP per window with `X-MBX-USED-WEIGHT-1M`, 429 with
 * `Retry-After` past the budget, 418 for asking again too early, Binance's error codes, and the REST
 * faults `restRefuse`, `restSlow` and `staleSnapshot`, each visible as `RestAnswered` events and counters.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { Simulator } from "../src/index.ts"
import type { RestAnswered } from "../src/SimulatorEvent.ts"
import { sync } from "./utils/books.ts"
import { connect } from "./utils/client.ts"

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly body: Record<string, unknown>
  readonly ms: number
}

const get = (url: string): Effect.Effect<Answer> =>
  Effect.promise(async () => {
    const start = performance.now()
    const res = await fetch(url)
    const body = (await res.json()) as Record<string, unknown>
    return { status: res.status, headers: res.headers, body, ms: performance.now() - start }
  })

type Pairs = ReadonlyArray<readonly [string, string]>

const numbers = (levels: Pairs) => levels.map(([p, q]) => [Number(p), Number(q)] as const)

describe("REST depth snapshots", () => {
  it.live("spot: the true book, best first, at most limit levels, lastUpdateId = last update applied, weight 5/25/50/250", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ paused: true })
      const c = yield* connect(`${sim.endpoints.binance}/btcusdt@depth`)
      yield* sim.advance(20)
      yield* sync(c)
      const a = yield* get(`${sim.endpoints.binanceDepth}?symbol=BTCUSDT&limit=10`)
      assert.strictEqual(a.status, 200)
      assert.strictEqual(a.headers.get("x-mbx-used-weight-1m"), "5")
      const truth = yield* sim.trueBook("binance", "BTCUSDT", 10)
      assert.strictEqual(a.body["lastUpdateId"], truth!.updateId)
      assert.strictEqual(a.body["lastUpdateId"], c.messages().at(-1)!.json.u)
      assert.deepStrictEqual(numbers(a.body["bids"] as Pairs), truth!.bids)
      assert.deepStrictEqual(numbers(a.body["asks"] as Pairs), truth!.asks)
      assert.match((a.body["bids"] as Pairs)[0]![0], /^\d+\.\d{2}$/)
      assert.match((a.body["bids"] as Pairs)[0]![1], /^\d+\.\d{5}$/)
      assert.isUndefined(a.body["E"])
      const weights: Array<string | null> = []
      for (const limit of [100, 101, 500, 501, 1000, 1001, 5000]) {
        const r = yield* get(`${sim.endpoints.binanceDepth}?symbol=BTCUSDT&limit=${limit}`)
        weights.push(r.headers.get("x-mbx-used-weight-1m"))
      }
      assert.deepStrictEqual(weights, ["10", "35", "60", "110", "160", "410", "660"])
      const full = yield* get(`${sim.endpoints.binanceDepth}?symbol=BTCUSDT&limit=5000`)
      const all = yield* sim.trueBook("binance", "BTCUSDT")
      assert.strictEqual((full.body["bids"] as Pairs).length, all!.bids.length)
      const stats = yield* sim.restStats
      assert.strictEqual(stats.binance.ok, 9)
      assert.strictEqual(stats.binance.maxWeightPerWindow, 910)
    }))

  it.live("USD-M: E and T, limits 5..1000 only, weight 2/5/10/20; errors -1121, -1102, -1130", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ paused: true })
      const base = sim.endpoints.binanceUsdmDepth
      const a = yield* get(`${base}?symbol=BTCUSDT`)
      assert.strictEqual(a.status, 200)
      assert.strictEqual(
        (a.body["bids"] as Pairs).length,
        (yield* sim.trueBook("binance-usdm", "BTCUSDT"))!.bids.length
      )
      assert.isNumber(a.body["E"])
      assert.isNumber(a.body["T"])
      assert.strictEqual(a.headers.get("x-mbx-used-weight-1m"), "10")
      const used: Array<string | null> = []
      for (const limit of [5, 50, 100, 1000]) {
        used.push((yield* get(`${base}?symbol=BTCUSDT&limit=${limit}`)).headers.get("x-mbx-used-weight-1m"))
      }
      assert.deepStrictEqual(used, ["12", "14", "19", "39"])
      const unknown = yield* get(`${base}?symbol=FOOBAR&limit=5`)
      assert.strictEqual(unknown.status, 400)
      assert.deepStrictEqual(unknown.body, { code: -1121, msg: "Invalid symbol." })
      assert.strictEqual((yield* get(`${base}?limit=5`)).body["code"], -1102)
      const bad = yield* get(`${base}?symbol=BTCUSDT&limit=7`)
      assert.strictEqual(bad.status, 400)
      assert.strictEqual(bad.body["code"], -1130)
      assert.strictEqual((yield* get(`${sim.endpoints.binanceDepth}?symbol=btcusdt`)).body["code"], -1121)
    }))

  it.live("symbols lists the instruments a venue's snapshot knows", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ paused: true, venues: { binance: { symbols: ["S0001USDT", "S0002USDT"] } } })
      assert.strictEqual((yield* get(`${sim.endpoints.binanceDepth}?symbol=S0002USDT`)).status, 200)
      assert.strictEqual((yield* get(`${sim.endpoints.binanceDepth}?symbol=BTCUSDT`)).body["code"], -1121)
      assert.strictEqual((yield* get(`${sim.endpoints.binanceUsdmDepth}?symbol=BTCUSDT`)).status, 200)
    }))

  it.live("over the budget: 429 with Retry-After to the window's end and code -1003; asking again before it: 418", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({
        paused: true,
        venues: { binance: { restWeightPerMinute: 60, restBan: "10 seconds" } }
      })
      const events = yield* sim.subscribe
      const url = `${sim.endpoints.binanceDepth}?symbol=ETHUSDT&limit=500`
      assert.strictEqual((yield* get(url)).status, 200)
      assert.strictEqual((yield* get(url)).status, 200)
      const limited = yield* get(url)
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.body["code"], -1003)
      assert.strictEqual(limited.headers.get("x-mbx-used-weight-1m"), "50")
      const retry = Number(limited.headers.get("retry-after"))
      assert.isAtLeast(retry, 1)
      assert.isAtMost(retry, 60)
      const banned = yield* get(url)
      assert.strictEqual(banned.status, 418)
      assert.strictEqual(banned.headers.get("retry-after"), "10")
      const again = yield* get(url)
      assert.strictEqual(again.status, 418)
      assert.isAtMost(Number(again.headers.get("retry-after")), 10)
      const stats = yield* sim.restStats
      assert.deepStrictEqual(
        [stats.binance.ok, stats.binance.tooManyRequests, stats.binance.banned, stats.binance.maxWeightPerWindow],
        [2, 1, 2, 50]
      )
      const answered = yield* events.pipe(Stream.take(5), Stream.runCollect)
      assert.deepStrictEqual(answered.map((e) => (e as RestAnswered).status), [200, 200, 429, 418, 418])
      assert.deepStrictEqual(answered.map((e) => (e as RestAnswered).weight), [25, 25, 0, 0, 0])
    }))

  it.live("weight is counted per IP in fixed windows: the budget is back when the window turns", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({
        paused: true,
        venues: { binanceUsdm: { restWeightPerMinute: 20, restWindow: "400 millis" } }
      })
      const url = `${sim.endpoints.binanceUsdmDepth}?symbol=BTCUSDT&limit=1000`
      // two requests back to back share a window unless it turns between them: try a few pairs
      let over: Answer | undefined
      for (let i = 0; i < 5 && over?.status !== 429; i++) {
        yield* Effect.sleep("450 millis") // past the Retry-After of the previous try
        const first = yield* get(url)
        assert.strictEqual(first.status, 200)
        assert.strictEqual(first.headers.get("x-mbx-used-weight-1m"), "20")
        over = yield* get(url)
      }
      assert.strictEqual(over?.status, 429)
      assert.strictEqual(over?.headers.get("retry-after"), "1")
      yield* Effect.sleep("1 second")
      const after = yield* get(url)
      assert.strictEqual(after.status, 200)
      assert.strictEqual(after.headers.get("x-mbx-used-weight-1m"), "20")
      const stats = yield* sim.restStats
      assert.strictEqual(stats.binanceUsdm.maxWeightPerWindow, 20)
    }))

  it.live("restRefuse: the next count requests get 429 (or 418) with its Retry-After, whatever the weight", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ paused: true, venues: { binance: { restBan: "30 seconds" } } })
      const events = yield* sim.subscribe
      const url = `${sim.endpoints.binanceDepth}?symbol=BTCUSDT&limit=5`
      const f = yield* sim.fault({ kind: "restRefuse", target: { venue: "binance" }, retryAfter: 3, count: 2 })
      const a = yield* get(url)
      const b = yield* get(url)
      assert.deepStrictEqual([a.status, a.headers.get("retry-after"), b.status], [429, "3", 429])
      const c = yield* get(url)
      assert.strictEqual(c.status, 418, "asked again before Retry-After")
      assert.strictEqual(c.headers.get("retry-after"), "30")
      const usdm = yield* get(`${sim.endpoints.binanceUsdmDepth}?symbol=BTCUSDT`)
      assert.strictEqual(usdm.status, 200, "the other venue is not hit")
      const g = yield* sim.fault({ kind: "restRefuse", target: { venue: "binanceUsdm" }, status: 418, retryAfter: 7 })
      const d = yield* get(`${sim.endpoints.binanceUsdmDepth}?symbol=BTCUSDT`)
      assert.deepStrictEqual([d.status, d.headers.get("retry-after")], [418, "7"])
      assert.notStrictEqual(f.id, g.id)
      const answered = yield* events.pipe(
        Stream.filter((e): e is RestAnswered => e._tag === "RestAnswered"),
        Stream.take(5),
        Stream.runCollect
      )
      assert.deepStrictEqual(answered.map((e) => [e.status, e.fault]), [
        [429, f.id],
        [429, f.id],
        [418, undefined],
        [200, undefined],
        [418, g.id]
      ])
    }))

  it.live("restSlow holds the answer for delay, with the book as it was when asked; staleSnapshot answers an older book", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ paused: true, tickInterval: 5 })
      const c = yield* connect(`${sim.endpoints.binance}/btcusdt@depth`)
      yield* sim.advance(50)
      yield* sync(c)
      const url = `${sim.endpoints.binanceDepth}?symbol=BTCUSDT&limit=1000`
      const before = (yield* sim.trueBook("binance", "BTCUSDT"))!.updateId
      yield* sim.fault({ kind: "restSlow", target: "all", delay: "300 millis" })
      const slow = yield* Effect.forkChild(get(url))
      yield* Effect.sleep("50 millis")
      yield* sim.advance(5)
      const answer = yield* Fiber.join(slow)
      assert.isAtLeast(answer.ms, 290)
      assert.strictEqual(answer.body["lastUpdateId"], before)
      // staleSnapshot: the book 10 updates ago, which the 10 events after it turn into the true book
      yield* sync(c)
      const events = c.seen.filter((s) => s.kind === "message").map((s) => s.json)
      yield* sim.fault({ kind: "staleSnapshot", target: { venue: "binance" }, behind: 10 })
      const stale = yield* get(url)
      const tenth = events.at(-11)
      assert.strictEqual(stale.body["lastUpdateId"], tenth.u)
      const bids = new Map(numbers(stale.body["bids"] as Pairs))
      const asks = new Map(numbers(stale.body["asks"] as Pairs))
      for (const e of events.slice(-10)) {
        for (const [side, levels] of [[bids, e.b], [asks, e.a]] as const) {
          for (const [p, q] of numbers(levels)) {
            if (q === 0) side.delete(p)
            else side.set(p, q)
          }
        }
      }
      const truth = yield* sim.trueBook("binance", "BTCUSDT")
      assert.deepStrictEqual([...bids].sort((x, y) => y[0] - x[0]), truth!.bids.map(([p, q]) => [p, q]))
      assert.deepStrictEqual([...asks].sort((x, y) => x[0] - y[0]), truth!.asks.map(([p, q]) => [p, q]))
      const fresh = yield* get(url)
      assert.strictEqual(fresh.body["lastUpdateId"], truth!.updateId, "only the next answer is stale")
    }))
})
