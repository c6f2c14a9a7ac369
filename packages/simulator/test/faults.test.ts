/**
 * Every fault kind, observed from a real client: drop (1006), close (code and reason), stall (data stops,
 * pongs and PING frames go on), halfOpen (nothing at all, socket stays open, then heals), slow (throughput
 * capped), gap (sequence jumps once), refuse (429 with Retry-After, 503), latency (answers delayed), notice,
 * mute (one stream stops on every venue, healed as documented per venue, or only by a new connection);
 * and targeting by venue, by connection, all, sticky; invalid and scheduled faults.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Stream } from "effect"
import { Simulator } from "../src/index.ts"
import type { VenueName } from "../src/Options.ts"
import { type Client, connect, handshakeStatus, msg, type Seen } from "./utils/client.ts"

const fast = { rate: 100, tickInterval: 10 } as const
const okxTrades = { op: "subscribe", args: [{ channel: "trades", instId: "BTC-USDT" }] }
const isOkxTrade = msg((j) => j.arg?.channel === "trades" && j.data !== undefined)

describe("faults", () => {
  it.live("drop destroys the TCP connection: the client sees 1006, the server reports it", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const events = yield* sim.subscribe
      const c = yield* connect(sim.endpoints.binance)
      const result = yield* sim.fault({ kind: "drop", target: { venue: "binance" } })
      assert.strictEqual(result.connections.length, 1)
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1006)
      const event = yield* events.pipe(Stream.filter((e) => e._tag === "Closed"), Stream.runHead)
      assert.isTrue(
        event._tag === "Some" && event.value._tag === "Closed" && event.value.by === "server" &&
          event.value.code === 1006
      )
    }))

  it.live("close sends the given code and reason", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.kraken)
      yield* sim.fault({ kind: "close", target: "all", code: 4000, reason: "scripted" })
      const closed = yield* c.closed
      assert.deepStrictEqual([closed.code, closed.reason], [4000, "scripted"])
    }))

  it.live("stall stops data while pongs continue, and data resumes when it heals", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      c.send(okxTrades)
      yield* c.nextN(5, isOkxTrade)
      yield* sim.fault({ kind: "stall", target: { venue: "okx" }, duration: 300 })
      let from = c.seen.length
      c.send("ping")
      yield* c.next((s) => s.text === "pong", { from })
      const afterPong = c.seen.length
      yield* Effect.sleep("150 millis")
      from = c.seen.length
      c.send("ping")
      yield* c.next((s) => s.text === "pong", { from })
      assert.strictEqual(c.seen.slice(afterPong).filter(isOkxTrade).length, 0)
      yield* c.nextN(5, isOkxTrade, { from: afterPong })
    }))

  it.live("stall keeps Binance PING frames going", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { binance: { pingInterval: 40, messageLimit: 100 } } })
      const c = yield* connect(`${sim.endpoints.binance}/btcusdt@trade`)
      yield* c.nextN(3, msg((j) => j.e === "trade"))
      yield* sim.fault({ kind: "stall", target: { venue: "binance" } })
      const ping = yield* c.next((s) => s.kind === "ping", { from: c.seen.length })
      const from = c.seen.indexOf(ping)
      yield* c.nextN(3, (s) => s.kind === "ping", { from })
      assert.strictEqual(c.seen.slice(from).filter((s) => s.kind === "message").length, 0)
    }))

  it.live("halfOpen: no data, no pongs, no PINGs, no close reply, socket open; then heals", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, venues: { binance: { pingInterval: 30, messageLimit: 100 } } })
      const events = yield* sim.subscribe
      const c = yield* connect(`${sim.endpoints.binance}/btcusdt@trade`)
      yield* c.nextN(3, msg((j) => j.e === "trade"))
      yield* sim.fault({ kind: "halfOpen", target: { venue: "binance" }, duration: 300 })
      // frames already on the wire when the fault hit may still land just after it (same process, ~1 ms)
      const quietFrom = Date.now() + 25
      const from = c.seen.length
      c.ws.ping()
      c.send({ method: "LIST_SUBSCRIPTIONS", id: 1 })
      const healed = yield* events.pipe(Stream.filter((e) => e._tag === "FaultHealed"), Stream.runHead)
      const healedAt = healed._tag === "Some" ? healed.value.at : 0
      const silent = c.seen.slice(from).filter((s) => s.at >= quietFrom && s.at < healedAt)
      assert.strictEqual(silent.length, 0, "nothing may arrive while half-open")
      assert.strictEqual(c.ws.readyState, c.ws.OPEN)
      const pong = yield* c.next((s) => s.kind === "pong", { from })
      assert.isAtLeast(pong.at, healedAt)
      yield* c.next(msg((j) => j.id === 1), { from })
      yield* c.nextN(3, msg((j) => j.e === "trade"), { from })
    }))

  it.live("halfOpen leaves a client's close unanswered until it heals", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.hyperliquid)
      yield* sim.fault({ kind: "halfOpen", target: "all", duration: 250 })
      const started = Date.now()
      c.ws.close(1000, "bye")
      const closed = yield* c.closed
      assert.isAtLeast(closed.at - started, 250 - 30)
      assert.strictEqual(closed.code, 1000)
    }))

  it.live("slow caps throughput at about bytesPerSecond", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...fast, rate: 200 })
      const c = yield* connect(`${sim.endpoints.binance}/btcusdt@trade`)
      const normal = yield* c.nextN(20, msg((j) => j.e === "trade"))
      const normalRate = normal.reduce((n, s) => n + s.text.length, 0) / Math.max(1, normal[19]!.at - normal[0]!.at)
      yield* sim.fault({ kind: "slow", target: { venue: "binance" }, bytesPerSecond: 4000 })
      const from = c.seen.length
      yield* Effect.sleep("30 millis")
      const start = Date.now()
      const slowed = yield* c.nextN(15, msg((j) => j.e === "trade"), { from: from + 5 })
      const elapsed = slowed[14]!.at - start
      const bytes = slowed.reduce((n, s) => n + s.text.length, 0)
      assert.isBelow(bytes / elapsed, 4000 * 1.5 / 1000, "bytes per ms under the cap (+50%)")
      assert.isBelow(bytes / elapsed, normalRate)
      assert.isAtLeast(elapsed, 1000 * bytes / 4000 * 0.5)
    }))

  it.live("gap skips at least N sequence numbers once, then the stream is continuous again", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.hyperliquid)
      c.send({ method: "subscribe", subscription: { type: "trades", coin: "BTC" } })
      yield* c.nextN(3, msg((j) => j.channel === "trades"))
      const result = yield* sim.fault({ kind: "gap", target: { venue: "hyperliquid" }, skip: 5 })
      assert.strictEqual(result.connections.length, 1)
      const isTrade = msg((j) => j.channel === "trades")
      yield* c.nextN(8, isTrade, { from: c.seen.length })
      // frames already on the wire when the fault hit may land after it, so find the jump by trade id
      const tids: Array<number> = c.messages(isTrade).map((s) => s.json.data[0].tid)
      const steps = tids.slice(1).map((tid, i) => tid - tids[i]!)
      assert.deepStrictEqual(steps.filter((step) => step !== 1), [6], "one jump of skip + 1, every other step +1")
    }))

  it.live("refuse answers the next handshakes with 429 + Retry-After, then accepts again", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      yield* sim.fault({ kind: "refuse", target: { venue: "bybit" }, status: 429, retryAfter: 2, count: 2 })
      const first = yield* handshakeStatus(sim.endpoints.bybit)
      assert.deepStrictEqual(first, { status: 429, retryAfter: "2" })
      const other = yield* handshakeStatus(sim.endpoints.okx)
      assert.strictEqual(other.status, 101)
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.bybit)).status, 429)
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.bybit)).status, 101)
      assert.strictEqual((yield* sim.stats).venues.bybit.refused, 2)
    }))

  it.live("refuse with 503 for a duration", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      yield* sim.fault({ kind: "refuse", target: "all", status: 503, duration: 200 })
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.coinbase)).status, 503)
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.coinbase)).status, 503)
      yield* Effect.sleep("220 millis")
      assert.strictEqual((yield* handshakeStatus(sim.endpoints.coinbase)).status, 101)
    }))

  it.live("heal ends a lasting fault by id before its duration", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      c.send(okxTrades)
      yield* c.nextN(3, isOkxTrade)
      const stall = yield* sim.fault({ kind: "stall", target: "all" })
      assert.deepStrictEqual((yield* sim.connections)[0]?.faults, [{ id: stall.id, kind: "stall" }])
      yield* sim.heal(stall.id)
      assert.deepStrictEqual((yield* sim.connections)[0]?.faults, [])
      yield* c.nextN(3, isOkxTrade, { from: c.seen.length })
    }))

  it.live("latency delays every answer by at least the latency", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.okx)
      let sent = Date.now()
      c.send("ping")
      const quick = yield* c.next((s) => s.text === "pong")
      assert.isBelow(quick.at - sent, 100)
      yield* sim.fault({ kind: "latency", target: { connection: (yield* sim.connections)[0]!.id }, latency: 200 })
      const from = c.seen.length
      sent = Date.now()
      c.send("ping")
      const slow = yield* c.next((s) => s.text === "pong", { from })
      assert.isAtLeast(slow.at - sent, 200)
    }))

  it.live("notice on Binance sends serverShutdown, then closes after closeAfter", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.binance)
      const result = yield* sim.fault({ kind: "notice", target: "all", closeAfter: 100 })
      assert.strictEqual(result.connections.length, 1)
      const notice = yield* c.next(msg((j) => j.e === "serverShutdown"))
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1001)
      assert.isAtLeast(closed.at - notice.at, 100 - 30)
    }))

  it.live("targets: a venue hits only its connections, a connection id only that one, all hits all", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const a = yield* connect(sim.endpoints.okx)
      const b = yield* connect(sim.endpoints.okx)
      const k = yield* connect(sim.endpoints.kraken)
      const conns = yield* sim.connections
      const okxIds = conns.filter((c) => c.venue === "okx").map((c) => c.id)
      const venue = yield* sim.fault({ kind: "stall", target: { venue: "okx" } })
      assert.deepStrictEqual([...venue.connections].sort(), [...okxIds].sort())
      const one = yield* sim.fault({ kind: "close", target: { connection: okxIds[0]! }, code: 4001 })
      assert.deepStrictEqual(one.connections, [okxIds[0]!])
      assert.strictEqual((yield* a.closed).code, 4001)
      assert.strictEqual(b.ws.readyState, b.ws.OPEN)
      const all = yield* sim.fault({ kind: "close", target: "all", code: 4002 })
      assert.strictEqual(all.connections.length, 2)
      assert.strictEqual((yield* b.closed).code, 4002)
      assert.strictEqual((yield* k.closed).code, 4002)
    }))

  it.live("a sticky fault also hits connections opened while it lasts; a plain one does not", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      yield* sim.fault({ kind: "stall", target: { venue: "okx" }, sticky: true, duration: "10 seconds" })
      yield* sim.fault({ kind: "latency", target: { venue: "okx" }, latency: 50 })
      yield* connect(sim.endpoints.okx)
      const [info] = yield* sim.connections
      assert.deepStrictEqual(info?.faults.map((f) => f.kind), ["stall"])
    }))

  it.live("an invalid fault fails with InvalidFault", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const bad = yield* Effect.result(sim.fault({ kind: "close", target: "all", code: 1006 }))
      assert.isTrue(Result.isFailure(bad) && bad.failure._tag === "InvalidFault")
      const refuseConn = yield* Effect.result(sim.fault({ kind: "refuse", target: { connection: 1 } as never }))
      assert.isTrue(Result.isFailure(refuseConn))
    }))

  it.live("a fault with `after` is applied later", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(fast)
      const c = yield* connect(sim.endpoints.kraken)
      const started = Date.now()
      const r = yield* sim.fault({ kind: "drop", target: "all", after: 150 })
      assert.isTrue(r.scheduled)
      const closed = yield* c.closed
      assert.strictEqual(closed.code, 1006)
      assert.isAtLeast(closed.at - started, 150 - 20)
    }))

  describe("mute", () => {
    /** One venue's view of two trade streams, the muted one (BTC) and another (ETH), and how to heal it. */
    interface MuteCase {
      readonly venue: VenueName
      readonly url: (endpoints: Simulator.Endpoints) => string
      readonly subscribe: ReadonlyArray<unknown>
      readonly stream: string
      readonly isMuted: (s: Seen) => boolean
      readonly isOther: (s: Seen) => boolean
      /** Asks for an immediate answer (a pong; Coinbase has none, so an error): it follows on the wire everything sent before. */
      readonly ping: (c: Client) => void
      readonly isPong: (s: Seen) => boolean
      /** The venue's own heartbeat, where it sends one while data flows (Binance PING frames, Coinbase `heartbeat`). */
      readonly heartbeat?: (s: Seen) => boolean
      /** What the fault's doc tells a client to send to heal `until: "resubscribe"`. */
      readonly heal: ReadonlyArray<unknown>
      /** For venues that reject a duplicate subscribe: the rejection of the last `heal` message sent alone. */
      readonly rejectsDuplicate?: (s: Seen) => boolean
    }

    const cases: ReadonlyArray<MuteCase> = [
      {
        venue: "binance",
        url: (e) => e.binanceCombined,
        subscribe: [{ method: "SUBSCRIBE", params: ["btcusdt@trade", "ethusdt@trade"], id: 1 }],
        stream: "btcusdt@trade",
        isMuted: msg((j) => j.stream === "btcusdt@trade"),
        isOther: msg((j) => j.stream === "ethusdt@trade"),
        ping: (c) => c.ws.ping(),
        isPong: (s) => s.kind === "pong",
        heartbeat: (s) => s.kind === "ping",
        heal: [{ method: "SUBSCRIBE", params: ["btcusdt@trade"], id: 2 }]
      },
      {
        venue: "okx",
        url: (e) => e.okx,
        subscribe: [{
          op: "subscribe",
          args: [{ channel: "trades", instId: "BTC-USDT" }, { channel: "trades", instId: "ETH-USDT" }]
        }],
        stream: "trades:BTC-USDT",
        isMuted: msg((j) => j.arg?.instId === "BTC-USDT" && j.data !== undefined),
        isOther: msg((j) => j.arg?.instId === "ETH-USDT" && j.data !== undefined),
        ping: (c) => c.send("ping"),
        isPong: (s) => s.text === "pong",
        heal: [okxTrades]
      },
      {
        venue: "bybit",
        url: (e) => e.bybit,
        subscribe: [{ op: "subscribe", args: ["publicTrade.BTCUSDT", "publicTrade.ETHUSDT"] }],
        stream: "publicTrade.BTCUSDT",
        isMuted: msg((j) => j.topic === "publicTrade.BTCUSDT"),
        isOther: msg((j) => j.topic === "publicTrade.ETHUSDT"),
        ping: (c) => c.send({ op: "ping" }),
        isPong: msg((j) => j.op === "ping" && j.ret_msg === "pong"),
        heal: [{ op: "unsubscribe", args: ["publicTrade.BTCUSDT"] }, {
          op: "subscribe",
          args: ["publicTrade.BTCUSDT"]
        }],
        rejectsDuplicate: msg((j) =>
          j.op === "subscribe" && j.success === false && /already subscribed/.test(j.ret_msg)
        )
      },
      {
        venue: "coinbase",
        url: (e) => e.coinbase,
        subscribe: [{ type: "subscribe", product_ids: ["BTC-USD", "ETH-USD"], channels: ["matches", "heartbeat"] }],
        stream: "matches:BTC-USD",
        isMuted: msg((j) => j.type === "match" && j.product_id === "BTC-USD"),
        isOther: msg((j) => j.type === "match" && j.product_id === "ETH-USD"),
        ping: (c) => c.send({ type: "ping" }),
        isPong: msg((j) => j.type === "error"),
        heartbeat: msg((j) => j.type === "heartbeat" && j.product_id === "BTC-USD"),
        heal: [{ type: "subscribe", product_ids: ["BTC-USD"], channels: ["matches"] }]
      },
      {
        venue: "kraken",
        url: (e) => e.kraken,
        subscribe: [{ method: "subscribe", params: { channel: "trade", symbol: ["BTC/USD", "ETH/USD"] } }],
        stream: "trade:BTC/USD",
        isMuted: msg((j) => j.channel === "trade" && j.data?.[0]?.symbol === "BTC/USD"),
        isOther: msg((j) => j.channel === "trade" && j.data?.[0]?.symbol === "ETH/USD"),
        ping: (c) => c.send({ method: "ping" }),
        isPong: msg((j) => j.method === "pong"),
        heal: [
          { method: "unsubscribe", params: { channel: "trade", symbol: ["BTC/USD"] } },
          { method: "subscribe", params: { channel: "trade", symbol: ["BTC/USD"] } }
        ],
        rejectsDuplicate: msg((j) =>
          j.method === "subscribe" && j.success === false && j.error === "Already subscribed"
        )
      },
      {
        venue: "hyperliquid",
        url: (e) => e.hyperliquid,
        subscribe: [
          { method: "subscribe", subscription: { type: "trades", coin: "BTC" } },
          { method: "subscribe", subscription: { type: "trades", coin: "ETH" } }
        ],
        stream: "trades:BTC",
        isMuted: msg((j) => j.channel === "trades" && j.data[0].coin === "BTC"),
        isOther: msg((j) => j.channel === "trades" && j.data[0].coin === "ETH"),
        ping: (c) => c.send({ method: "ping" }),
        isPong: msg((j) => j.channel === "pong"),
        heal: [
          { method: "unsubscribe", subscription: { type: "trades", coin: "BTC" } },
          { method: "subscribe", subscription: { type: "trades", coin: "BTC" } }
        ],
        rejectsDuplicate: msg((j) =>
          j.channel === "error" && typeof j.data === "string" && j.data.startsWith("Already subscribed")
        )
      }
    ]

    const options = {
      ...fast,
      venues: { binance: { messageLimit: 100, pingInterval: 30 }, coinbase: { heartbeatInterval: 30 } }
    } as const

    for (const v of cases) {
      it.live(`${v.venue}: muting ${v.stream} stops only that stream; the documented resubscribe heals it`, () =>
        Effect.gen(function*() {
          const sim = yield* Simulator.make(options)
          const events = yield* sim.subscribe
          const c = yield* connect(v.url(sim.endpoints))
          for (const m of v.subscribe) c.send(m)
          yield* c.nextN(3, v.isMuted)
          yield* c.nextN(3, v.isOther)
          const fault = yield* sim.fault({ kind: "mute", target: { venue: v.venue }, stream: v.stream })
          const [info] = yield* sim.connections
          assert.deepStrictEqual(fault.connections, [info!.id])
          assert.deepStrictEqual(info!.faults, [{ id: fault.id, kind: "mute", stream: v.stream }])
          assert.include(info!.subscriptions, v.stream, "the venue still lists the muted stream")
          // data written before the fault may still be on the wire; the answer to a ping sent now follows it
          v.ping(c)
          const from = c.seen.indexOf(yield* c.next(v.isPong, { from: c.seen.length }))
          yield* c.nextN(10, v.isOther, { from })
          if (v.heartbeat !== undefined) yield* c.nextN(2, v.heartbeat, { from })
          const muted = () => c.seen.slice(from).filter(v.isMuted).length
          assert.strictEqual(muted(), 0, "no data of the muted stream")

          if (v.rejectsDuplicate !== undefined) {
            const dupFrom = c.seen.length
            c.send(v.heal[v.heal.length - 1])
            yield* c.next(v.rejectsDuplicate, { from: dupFrom })
            yield* c.nextN(5, v.isOther, { from: c.seen.length })
            assert.strictEqual(muted(), 0, "a rejected duplicate subscribe heals nothing")
            assert.strictEqual((yield* sim.connections)[0]!.faults.length, 1)
          }

          const healFrom = c.seen.length
          for (const m of v.heal) c.send(m)
          yield* c.nextN(3, v.isMuted, { from: healFrom })
          const healed = yield* events.pipe(Stream.filter((e) => e._tag === "FaultHealed"), Stream.runHead)
          assert.isTrue(healed._tag === "Some" && healed.value._tag === "FaultHealed")
          if (healed._tag === "Some" && healed.value._tag === "FaultHealed") {
            assert.deepStrictEqual([healed.value.fault, healed.value.kind, healed.value.connections], [
              fault.id,
              "mute",
              [info!.id]
            ])
          }
          assert.deepStrictEqual((yield* sim.connections)[0]!.faults, [])
        }))
    }

    const binanceBoth = (sim: Simulator.Simulator) =>
      `${sim.endpoints.binanceCombined}?streams=btcusdt@trade/ethusdt@trade`
    const isBtc = msg((j) => j.stream === "btcusdt@trade")
    const isEth = msg((j) => j.stream === "ethusdt@trade")

    it.live("until reconnect: neither a resubscribe nor unsubscribe + subscribe heals; a new connection gets the stream", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make(options)
        const c = yield* connect(binanceBoth(sim))
        yield* c.nextN(3, isBtc)
        const fault = yield* sim.fault({
          kind: "mute",
          target: { venue: "binance" },
          stream: "btcusdt@trade",
          until: "reconnect"
        })
        assert.strictEqual(fault.connections.length, 1)
        c.send({ method: "SUBSCRIBE", params: ["btcusdt@trade"], id: 1 })
        // the answer follows on the wire whatever data was written before the fault
        const from = c.seen.indexOf(yield* c.next(msg((j) => j.id === 1), { from: c.seen.length }))
        c.send({ method: "UNSUBSCRIBE", params: ["btcusdt@trade"], id: 2 })
        c.send({ method: "SUBSCRIBE", params: ["btcusdt@trade"], id: 3 })
        const third = yield* c.next(msg((j) => j.id === 3), { from })
        assert.deepStrictEqual(third.json, { result: null, id: 3 })
        yield* c.nextN(10, isEth, { from: c.seen.indexOf(third) })
        assert.strictEqual(c.seen.slice(from).filter(isBtc).length, 0)
        assert.deepStrictEqual((yield* sim.connections)[0]!.faults, [{
          id: fault.id,
          kind: "mute",
          stream: "btcusdt@trade"
        }])

        const d = yield* connect(binanceBoth(sim))
        yield* d.nextN(3, isBtc)
        const conns = yield* sim.connections
        assert.deepStrictEqual(conns.map((i) => i.faults.length), [1, 0], "the new connection is not muted")

        yield* sim.heal(fault.id)
        yield* c.nextN(3, isBtc, { from: c.seen.length })
      }))

    it.live("a sticky mute until reconnect also silences new connections, until its duration ends", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make(options)
        const events = yield* sim.subscribe
        const fault = yield* sim.fault({
          kind: "mute",
          target: { venue: "binance" },
          stream: "btcusdt@trade",
          until: "reconnect",
          sticky: true,
          duration: 400
        })
        assert.deepStrictEqual(fault.connections, [])
        const c = yield* connect(binanceBoth(sim))
        yield* c.nextN(10, isEth)
        assert.strictEqual(c.messages(isBtc).length, 0)
        assert.deepStrictEqual((yield* sim.connections)[0]!.faults, [{
          id: fault.id,
          kind: "mute",
          stream: "btcusdt@trade"
        }])
        const healed = yield* events.pipe(Stream.filter((e) => e._tag === "FaultHealed"), Stream.runHead)
        const healedAt = healed._tag === "Some" ? healed.value.at : 0
        const [first] = yield* c.nextN(3, isBtc)
        assert.isAtLeast(first!.at, healedAt)
      }))

    it.live("a sticky mute until resubscribe loses a new connection's first subscribe; the next one heals", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make(options)
        const plain = yield* sim.fault({ kind: "mute", target: { venue: "okx" }, stream: "trades:BTC-USDT" })
        assert.deepStrictEqual(plain.connections, [], "a plain mute hits only connections holding the stream")
        yield* sim.fault({ kind: "mute", target: { venue: "okx" }, stream: "trades:BTC-USDT", sticky: true })
        const c = yield* connect(sim.endpoints.okx)
        c.send({
          op: "subscribe",
          args: [{ channel: "trades", instId: "BTC-USDT" }, { channel: "trades", instId: "ETH-USDT" }]
        })
        const isBtcUsdt = msg((j) => j.arg?.instId === "BTC-USDT" && j.data !== undefined)
        yield* c.nextN(10, msg((j) => j.arg?.instId === "ETH-USDT" && j.data !== undefined))
        assert.strictEqual(c.messages(isBtcUsdt).length, 0)
        const from = c.seen.length
        c.send(okxTrades)
        yield* c.nextN(3, isBtcUsdt, { from })
      }))
  })
})
