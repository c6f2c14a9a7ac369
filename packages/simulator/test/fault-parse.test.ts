/**
 * The CLI fault spec parser: kinds, targets, `@at`, `+duration`, parameters, and the errors a person sees.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { Fault } from "../src/index.ts"

const ok = (text: string) => {
  const r = Fault.parse(text)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}
const error = (text: string) => {
  const r = Fault.parse(text)
  return Result.isFailure(r) ? r.failure.message : "parsed"
}

describe("Fault.parse", () => {
  it("reads kind:target@at+duration", () => {
    assert.deepStrictEqual(ok("drop:binance@5s"), { kind: "drop", target: { venue: "binance" }, after: 5000 })
    assert.deepStrictEqual(ok("halfOpen:okx@10s+3s"), {
      kind: "halfOpen",
      target: { venue: "okx" },
      after: 10_000,
      duration: 3000
    })
    assert.deepStrictEqual(ok("stall"), { kind: "stall", target: "all" })
    assert.deepStrictEqual(ok("drop:#12"), { kind: "drop", target: { connection: 12 } })
  })

  it("reads parameters", () => {
    assert.deepStrictEqual(ok("close:all,code=4000,reason=bye"), {
      kind: "close",
      target: "all",
      code: 4000,
      reason: "bye"
    })
    assert.deepStrictEqual(ok("refuse:bybit,status=503,count=2"), {
      kind: "refuse",
      target: { venue: "bybit" },
      status: 503,
      count: 2
    })
    assert.deepStrictEqual(ok("latency:kraken,latency=300ms+10s"), {
      kind: "latency",
      target: { venue: "kraken" },
      latency: 300,
      duration: 10_000
    })
    assert.deepStrictEqual(ok("latency:kraken+250ms"), { kind: "latency", target: { venue: "kraken" }, latency: 250 })
    assert.deepStrictEqual(ok("slow:okx,bps=200,sticky=true+1m"), {
      kind: "slow",
      target: { venue: "okx" },
      bytesPerSecond: 200,
      sticky: true,
      duration: 60_000
    })
    assert.deepStrictEqual(ok("gap:all,skip=5"), { kind: "gap", target: "all", skip: 5 })
    assert.deepStrictEqual(ok("notice:binance,closeAfter=2s"), {
      kind: "notice",
      target: { venue: "binance" },
      closeAfter: 2000
    })
  })

  it("explains what is wrong", () => {
    assert.match(error("explode:binance"), /unknown fault kind/)
    assert.match(error("drop:ftx"), /unknown target/)
    assert.match(error("close:all,code=1006"), /cannot be sent/)
    assert.match(error("refuse:#3"), /venue or all/)
    assert.match(error("stall:okx+soon"), /invalid duration/)
  })

  it("reads mute: the stream as the venue names it (`@` included), until, sticky, @at and +duration", () => {
    const cases: ReadonlyArray<readonly [string, Fault.FaultSpec]> = [
      ["mute:binance,stream=btcusdt@trade,until=reconnect", {
        kind: "mute",
        target: { venue: "binance" },
        stream: "btcusdt@trade",
        until: "reconnect"
      }],
      ["mute:binance,stream=btcusdt@trade", { kind: "mute", target: { venue: "binance" }, stream: "btcusdt@trade" }],
      ["mute:binance,stream=btcusdt@trade@5s", {
        kind: "mute",
        target: { venue: "binance" },
        stream: "btcusdt@trade",
        after: 5000
      }],
      ["mute:binance,stream=btcusdt@depth@100ms,until=resubscribe@5s+1m", {
        kind: "mute",
        target: { venue: "binance" },
        stream: "btcusdt@depth@100ms",
        until: "resubscribe",
        after: 5000,
        duration: 60_000
      }],
      ["mute:okx,stream=trades:BTC-USDT", { kind: "mute", target: { venue: "okx" }, stream: "trades:BTC-USDT" }],
      ["mute:bybit,stream=publicTrade.BTCUSDT+10s", {
        kind: "mute",
        target: { venue: "bybit" },
        stream: "publicTrade.BTCUSDT",
        duration: 10_000
      }],
      ["mute:coinbase,stream=matches:BTC-USD,until=reconnect,sticky=true", {
        kind: "mute",
        target: { venue: "coinbase" },
        stream: "matches:BTC-USD",
        until: "reconnect",
        sticky: true
      }],
      ["mute:kraken,stream=trade:BTC/USD@2s+30s", {
        kind: "mute",
        target: { venue: "kraken" },
        stream: "trade:BTC/USD",
        after: 2000,
        duration: 30_000
      }],
      ["mute:#7,until=reconnect,stream=trades:BTC", {
        kind: "mute",
        target: { connection: 7 },
        stream: "trades:BTC",
        until: "reconnect"
      }]
    ]
    for (const [text, spec] of cases) {
      assert.deepStrictEqual(ok(text), spec, text)
      assert.isUndefined(Fault.validate(spec), text)
    }
    assert.include(Fault.kinds, "mute")
  })

  it("explains what is wrong with a mute", () => {
    assert.match(
      error("mute:binance"),
      /mute needs ,stream=<stream> named as the venue names it, e\.g\. mute:binance,stream=btcusdt@trade/
    )
    assert.match(error("mute:okx,until=reconnect"), /mute needs ,stream=/)
    assert.match(error("mute:okx,stream="), /mute needs ,stream=/)
    assert.match(
      error("mute:okx,stream=trades:BTC-USDT,until=never"),
      /until must be "resubscribe" or "reconnect", not "never"/
    )
    assert.match(error("mute:okx,stream=trades:BTC-USDT+soon"), /invalid duration/)
    assert.match(error("close:all,reason=a@b,code=4000"), /expected kind/, "only a stream value may contain @")
    assert.match(Fault.validate({ kind: "mute", target: "all", stream: "" }) ?? "", /mute needs a stream/)
  })

  it("reads seqReset: seqId, stream, target, @at; explains what is wrong", () => {
    assert.deepStrictEqual(ok("seqReset:okx"), { kind: "seqReset", target: { venue: "okx" } })
    assert.deepStrictEqual(ok("seqReset:okx,seqId=5,stream=books:BTC-USDT@10s"), {
      kind: "seqReset",
      target: { venue: "okx" },
      seqId: 5,
      stream: "books:BTC-USDT",
      after: 10_000
    })
    assert.deepStrictEqual(ok("seqReset:#4,seqId=0"), { kind: "seqReset", target: { connection: 4 }, seqId: 0 })
    assert.include(Fault.kinds, "seqReset")
    assert.match(error("seqReset:binance"), /seqReset applies to OKX books/)
    assert.match(error("seqReset:okx,seqId=-1"), /seqId must be a non-negative integer/)
    assert.match(error("seqReset:okx,seqId=1.5"), /seqId must be a non-negative integer/)
  })

  it("reads the book faults: bookGap, crossed, badChecksum, bookRestart with an optional stream", () => {
    assert.deepStrictEqual(ok("bookGap:binance"), { kind: "bookGap", target: { venue: "binance" } })
    assert.deepStrictEqual(ok("crossed:#3,stream=btcusdt@depth@5s"), {
      kind: "crossed",
      target: { connection: 3 },
      stream: "btcusdt@depth",
      after: 5000
    })
    assert.deepStrictEqual(ok("badChecksum:kraken,stream=book:BTC/USD"), {
      kind: "badChecksum",
      target: { venue: "kraken" },
      stream: "book:BTC/USD"
    })
    assert.deepStrictEqual(ok("bookRestart:bybit@2s"), { kind: "bookRestart", target: { venue: "bybit" }, after: 2000 })
    for (const kind of ["bookGap", "crossed", "badChecksum", "bookRestart"]) assert.include(Fault.kinds, kind)
  })

  it("reads the REST faults and explains what is wrong with them", () => {
    assert.deepStrictEqual(ok("restRefuse:binance,status=418,retryAfter=30,count=2"), {
      kind: "restRefuse",
      target: { venue: "binance" },
      status: 418,
      retryAfter: 30,
      count: 2
    })
    assert.deepStrictEqual(ok("restSlow:binanceUsdm,delay=2s"), {
      kind: "restSlow",
      target: { venue: "binanceUsdm" },
      delay: 2000
    })
    assert.deepStrictEqual(ok("staleSnapshot,behind=20,count=3@1s"), {
      kind: "staleSnapshot",
      target: "all",
      behind: 20,
      count: 3,
      after: 1000
    })
    assert.match(error("restRefuse:okx"), /targets binance, binanceUsdm or all/)
    assert.match(error("restRefuse:binance,status=503"), /status must be 429 or 418/)
    assert.match(error("staleSnapshot:binance,behind=300"), /behind must be an integer from 1 to 256/)
    assert.match(error("restSlow:binance,count=0"), /count must be a positive integer/)
  })
})
