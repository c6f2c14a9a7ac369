/**
 * The true books against the messages: for every venue, a tiny reference client (test/utils/books.ts)
 * rebuilds the book from what it was sent over a real socket, following the venue's documented rules and
 * resyncing as the venue wants, while the paused simulator is driven with `advance` and book faults are
 * injected (1,000 updates per venue); at each checkpoint its book equals `trueBook` (cut to the subscribed
 * depth), every injected fault was reported as an event, and each one made the client resync.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Scope, Stream } from "effect"
import type { FaultSpec } from "../src/Fault.ts"
import { Simulator } from "../src/index.ts"
import type { SimulatorEvent } from "../src/SimulatorEvent.ts"
import * as Books from "./utils/books.ts"
import { type Client, connect, msg } from "./utils/client.ts"

// the reference clients sync with PING frames, which Binance counts against its incoming message limit
const options = {
  paused: true,
  seed: 42,
  tickInterval: 10,
  venues: { binance: { messageLimit: 10_000 }, binanceUsdm: { messageLimit: 10_000 } }
} as const

type Venue = Simulator.BookVenue

interface Run {
  readonly sim: Simulator.Simulator
  readonly client: Client
  readonly rebuilder: Books.Rebuilder
  readonly events: Array<SimulatorEvent>
}

/** Collects every simulator event from now on. */
const collect = (sim: Simulator.Simulator): Effect.Effect<Array<SimulatorEvent>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const events: Array<SimulatorEvent> = []
    const stream = yield* sim.subscribe
    yield* Effect.forkScoped(Stream.runForEach(stream, (e) => Effect.sync(() => events.push(e))))
    return events
  })

/** Feeds every message received so far to the rebuilder, resyncing where it says so. */
const catchUp = (run: Run, cursor: { at: number }): Effect.Effect<void> =>
  Effect.gen(function*() {
    yield* Books.sync(run.client)
    while (cursor.at < run.client.seen.length) {
      const s = run.client.seen[cursor.at++]
      if (s === undefined || s.kind !== "message" || typeof s.json !== "object" || s.json === null) continue
      if (run.rebuilder.onMessage(s.json) === "resync") yield* run.rebuilder.resync
    }
  })

/** Advances `steps` times by `updates`, applying `faults[i]` before step i, and checks the book each time. */
const drive = (
  run: Run,
  venue: Venue,
  instrument: string,
  depth: number | undefined,
  faults: ReadonlyArray<FaultSpec | undefined>,
  updates: number
) =>
  Effect.gen(function*() {
    const cursor = { at: 0 }
    yield* catchUp(run, cursor)
    for (const spec of faults) {
      if (spec !== undefined) yield* run.sim.fault(spec)
      yield* run.sim.advance(updates)
      yield* catchUp(run, cursor)
      // one more round so a resync's own snapshot is in
      yield* catchUp(run, cursor)
      const truth = yield* run.sim.trueBook(venue, instrument, depth)
      assert.isDefined(truth)
      const mine = Books.levels(run.rebuilder.book(), depth)
      assert.deepStrictEqual(mine.bids, truth!.bids, `${venue} bids after ${spec?.kind ?? "no fault"}`)
      assert.deepStrictEqual(mine.asks, truth!.asks, `${venue} asks after ${spec?.kind ?? "no fault"}`)
    }
  })

const injected = (events: ReadonlyArray<SimulatorEvent>) =>
  events.flatMap((e) => (e._tag === "BookFaultInjected" ? [e.kind] : []))

describe("true books", () => {
  it.live("Binance spot: REST snapshot + diff depth rebuilds the true book through gaps, crossed updates, stale snapshots", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const events = yield* collect(sim)
      const client = yield* connect(`${sim.endpoints.binance}/btcusdt@depth@100ms`)
      const rebuilder = Books.binance("spot", `${sim.endpoints.binanceDepth}?symbol=BTCUSDT&limit=1000`)
      yield* sim.advance(5)
      yield* Books.sync(client)
      yield* rebuilder.resync
      const target = { venue: "binance" } as const
      yield* drive({ sim, client, rebuilder, events }, "binance", "BTCUSDT", undefined, [
        undefined,
        { kind: "bookGap", target },
        { kind: "staleSnapshot", target, behind: 30 },
        { kind: "crossed", target },
        undefined
      ], 200)
      assert.deepStrictEqual(injected(events), ["bookGap", "crossed"])
      assert.strictEqual(rebuilder.reasons.length, 2)
      const stale = events.find((e) => e._tag === "RestAnswered" && e.fault !== undefined)
      assert.isDefined(stale)
      const truth = yield* sim.trueBook("binance", "BTCUSDT")
      assert.isAbove(truth!.bids.length, 150)
      assert.isAbove(truth!.asks.length, 150)
    }))

  it.live("Binance USD-M: the first event after the snapshot has U <= lastUpdateId <= u, then pu chains", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const events = yield* collect(sim)
      const client = yield* connect(`${sim.endpoints.binanceUsdmPublic}/btcusdt@depth`)
      const rebuilder = Books.binance("usdm", `${sim.endpoints.binanceUsdmDepth}?symbol=BTCUSDT&limit=1000`)
      yield* Books.sync(client)
      yield* rebuilder.resync
      yield* drive({ sim, client, rebuilder, events }, "binance-usdm", "BTCUSDT", undefined, [
        undefined,
        { kind: "bookGap", target: { venue: "binanceUsdm" } },
        { kind: "crossed", target: { venue: "binanceUsdm" } },
        { kind: "staleSnapshot", target: { venue: "binanceUsdm" }, behind: 5 },
        { kind: "bookGap", target: "all" }
      ], 200)
      assert.deepStrictEqual(injected(events), ["bookGap", "crossed", "bookGap"])
      assert.strictEqual(rebuilder.reasons.length, 3)
    }))

  it.live("OKX books: 400 levels, prevSeqId chain, checksum; gaps, crossed, bad checksums and seqId resets", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const events = yield* collect(sim)
      const client = yield* connect(sim.endpoints.okx)
      client.send({ op: "subscribe", args: [{ channel: "books", instId: "BTC-USDT" }] })
      yield* client.next(msg((j) => j.action === "snapshot"))
      const rebuilder = Books.okx(client, "BTC-USDT")
      const target = { venue: "okx" } as const
      yield* drive({ sim, client, rebuilder, events }, "okx", "BTC-USDT", 400, [
        undefined,
        { kind: "bookGap", target },
        { kind: "badChecksum", target },
        { kind: "seqReset", target, seqId: 10 },
        { kind: "crossed", target },
        undefined
      ], 200)
      assert.deepStrictEqual(injected(events), ["bookGap", "badChecksum", "crossed"])
      assert.deepStrictEqual(rebuilder.reasons, ["gap", "checksum", "crossed"])
      const truth = yield* sim.trueBook("okx", "BTC-USDT")
      assert.isAbove(truth!.bids.length, 400, "the venue's book is deeper than the 400 levels sent")
    }))

  it.live("Bybit orderbook.50: u + 1 per delta, depth kept by deletes and entries; gaps, crossed, restart u = 1", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const events = yield* collect(sim)
      const client = yield* connect(sim.endpoints.bybit)
      client.send({ op: "subscribe", args: ["orderbook.50.BTCUSDT"] })
      yield* client.next(msg((j) => j.type === "snapshot"))
      const rebuilder = Books.bybit(client, "orderbook.50.BTCUSDT")
      const target = { venue: "bybit" } as const
      yield* drive({ sim, client, rebuilder, events }, "bybit", "BTCUSDT", 50, [
        undefined,
        { kind: "bookGap", target },
        { kind: "bookRestart", target },
        { kind: "crossed", target },
        undefined
      ], 200)
      assert.deepStrictEqual(injected(events), ["bookGap", "crossed"])
      assert.deepStrictEqual(rebuilder.reasons, ["gap", "restart", "crossed"])
    }))

  it.live("Bybit orderbook.1 and orderbook.1000: level 1 as snapshots, 1000 as the whole book", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const events = yield* collect(sim)
      const one = yield* connect(sim.endpoints.bybit)
      const all = yield* connect(sim.endpoints.bybit)
      one.send({ op: "subscribe", args: ["orderbook.1.ETHUSDT"] })
      all.send({ op: "subscribe", args: ["orderbook.1000.ETHUSDT"] })
      yield* one.next(msg((j) => j.type === "snapshot"))
      yield* all.next(msg((j) => j.type === "snapshot"))
      const top = Books.bybit(one, "orderbook.1.ETHUSDT")
      yield* drive({ sim, client: one, rebuilder: top, events }, "bybit", "ETHUSDT", 1, [undefined, undefined], 100)
      assert.isTrue(one.messages((s) => s.json?.type === "delta").length === 0)
      const deep = Books.bybit(all, "orderbook.1000.ETHUSDT")
      yield* drive({ sim, client: all, rebuilder: deep, events }, "bybit", "ETHUSDT", undefined, [undefined], 100)
    }))

  it.live("Kraken book depth 25: truncated to the depth, checksum with the pair's precision; gaps, crossed, bad checksums", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const events = yield* collect(sim)
      const client = yield* connect(sim.endpoints.kraken)
      client.send({ method: "subscribe", params: { channel: "book", symbol: ["BTC/USD"], depth: 25 } })
      yield* client.next(msg((j) => j.channel === "book" && j.type === "snapshot"))
      const rebuilder = Books.kraken(client, "BTC/USD", 25)
      const target = { venue: "kraken" } as const
      yield* drive({ sim, client, rebuilder, events }, "kraken", "BTC/USD", 25, [
        undefined,
        { kind: "bookGap", target },
        { kind: "badChecksum", target },
        { kind: "crossed", target },
        undefined
      ], 200)
      assert.deepStrictEqual(injected(events), ["bookGap", "badChecksum", "crossed"])
      assert.deepStrictEqual(rebuilder.reasons, ["checksum", "checksum", "crossed"])
    }))

  it.live("Coinbase level2_batch: the whole book; crossed updates and fresh snapshots", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const events = yield* collect(sim)
      const client = yield* connect(sim.endpoints.coinbase)
      client.send({ type: "subscribe", product_ids: ["BTC-USD"], channels: ["level2_batch"] })
      yield* client.next(msg((j) => j.type === "snapshot"))
      const rebuilder = Books.coinbase(client, "BTC-USD")
      const target = { venue: "coinbase" } as const
      const gap = yield* sim.fault({ kind: "bookGap", target })
      assert.deepStrictEqual(gap.connections, [], "level2 carries no sequence: bookGap does not apply")
      yield* drive({ sim, client, rebuilder, events }, "coinbase", "BTC-USD", undefined, [
        undefined,
        { kind: "crossed", target },
        { kind: "bookRestart", target },
        undefined
      ], 250)
      assert.deepStrictEqual(injected(events), ["crossed"])
      assert.deepStrictEqual(rebuilder.reasons, ["crossed", "snapshot while live"])
    }))

  it.live("Hyperliquid l2Book: whole 20-level books; a dropped or crossed one is repaired by the next", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const events = yield* collect(sim)
      const client = yield* connect(sim.endpoints.hyperliquid)
      client.send({ method: "subscribe", subscription: { type: "l2Book", coin: "BTC" } })
      yield* client.next(msg((j) => j.channel === "l2Book"))
      const rebuilder = Books.hyperliquid("BTC")
      const target = { venue: "hyperliquid" } as const
      yield* drive({ sim, client, rebuilder, events }, "hyperliquid", "BTC", 20, [
        undefined,
        { kind: "bookGap", target },
        { kind: "crossed", target },
        { kind: "bookRestart", target }
      ], 250)
      assert.deepStrictEqual(injected(events), ["bookGap", "crossed"])
      assert.deepStrictEqual(rebuilder.reasons, ["crossed"])
    }))

  it.live("heal drops a book fault that is still waiting for its message", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const events = yield* collect(sim)
      const client = yield* connect(`${sim.endpoints.binance}/btcusdt@depth`)
      yield* Books.sync(client)
      const waiting = yield* sim.fault({ kind: "crossed", target: { venue: "binance" } })
      assert.strictEqual(waiting.connections.length, 1)
      yield* sim.heal(waiting.id)
      yield* sim.fault({ kind: "restRefuse", target: "all" })
      yield* sim.heal()
      yield* sim.advance(20)
      yield* Books.sync(client)
      assert.deepStrictEqual(injected(events), [])
      const res = yield* Effect.promise(() => fetch(`${sim.endpoints.binanceDepth}?symbol=BTCUSDT`))
      assert.strictEqual(res.status, 200)
    }))
})
