import { assert, describe, it } from "@effect/vitest"
import { Connection, Heartbeat, MemoryTransport } from "@kharbranth/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Binance from "../src/Binance.ts"
import * as Bybit from "../src/Bybit.ts"
import * as Coinbase from "../src/Coinbase.ts"
import * as Hyperliquid from "../src/Hyperliquid.ts"
import { crc32 } from "../src/internal/crc32.ts"
import * as Kraken from "../src/Kraken.ts"
import * as Okx from "../src/Okx.ts"
import * as Venue from "../src/Venue.ts"

describe("Venue", () => {
  it("crc32 matches the standard check value and zlib on ASCII", () => {
    assert.strictEqual(crc32("123456789"), 0xcbf43926)
    assert.strictEqual(crc32(""), 0)
    assert.strictEqual(crc32("The quick brown fox jumps over the lazy dog"), 0x414fa339)
  })

  it("connectionConfig points at another URL and retimes the heartbeat keeping its style", () => {
    const config = Venue.connectionConfig(Okx.publicProfile, {
      url: "ws://127.0.0.1:1/okx",
      heartbeatInterval: "1 second",
      minUptime: "2 seconds"
    })
    assert.strictEqual(config.url, "ws://127.0.0.1:1/okx")
    assert.strictEqual(config.minUptime, "2 seconds")
    const hb = config.heartbeat!
    assert.strictEqual(hb._tag, "Message")
    if (hb._tag === "Message") {
      assert.strictEqual(hb.interval, "1 second")
      assert.strictEqual(hb.timeout, "5 seconds")
      assert.isTrue(hb.isPong("pong"))
    }
    assert.strictEqual(Venue.connectionConfig(Binance.spot).url, "wss://stream.binance.com:9443/ws")
    assert.strictEqual(Venue.retime(Heartbeat.none, { interval: "1 second" })._tag, "None")
  })

  it("outcome: an active list confirms a subscribe only when every topic is in it, an unsubscribe when none is", () => {
    const [sub] = Coinbase.exchange.subscribe(["matches:BTC-USD", "heartbeat:BTC-USD"])
    const [unsub] = Coinbase.exchange.unsubscribe(["matches:BTC-USD"])
    const partial = Venue.confirmation("active", ["matches:BTC-USD"])
    const both = Venue.confirmation("active", ["matches:BTC-USD", "heartbeat:BTC-USD"])
    assert.isUndefined(Venue.outcome(sub!, partial))
    assert.strictEqual(Venue.outcome(sub!, both), "confirmed")
    assert.isUndefined(Venue.outcome(unsub!, both))
    assert.strictEqual(Venue.outcome(unsub!, Venue.confirmation("active", ["heartbeat:BTC-USD"])), "confirmed")
    assert.deepStrictEqual(JSON.parse(sub!.text), {
      type: "subscribe",
      channels: [{ name: "matches", product_ids: ["BTC-USD"] }, { name: "heartbeat", product_ids: ["BTC-USD"] }]
    })
  })

  it("outcome: a rejection names its request by id, topic or instrument; one naming nothing rejects whatever waits", () => {
    const [sub] = Coinbase.exchange.subscribe(["matches:BTC-USD"])
    const other = Venue.confirmation("rejected", [], undefined, "XYZ is not a valid product", { instruments: ["XYZ"] })
    const mine = Venue.confirmation("rejected", [], undefined, "BTC-USD is not a valid product", {
      instruments: ["BTC-USD"]
    })
    assert.isUndefined(Venue.outcome(sub!, other))
    assert.strictEqual(Venue.outcome(sub!, mine), "rejected")
    assert.strictEqual(Venue.outcome(sub!, Venue.confirmation("rejected", [], undefined, "busy")), "rejected")
    assert.isTrue(Venue.names(mine, "matches:BTC-USD"))
    assert.isFalse(Venue.names(other, "matches:BTC-USD"))
  })

  it.effect("connect's onOpen sends the subscribe requests after every connect, then the user's onOpen", () =>
    Effect.gen(function*() {
      const server = yield* MemoryTransport.MemoryServer
      const opened = yield* Deferred.make<number>()
      const topics = [Okx.topic("trades", "BTC-USDT")]
      yield* Connection.make(
        "okx",
        ...Venue.connect(Okx.publicProfile, topics, {
          url: "ws://memory/okx",
          heartbeat: Heartbeat.none,
          hooks: { onOpen: ({ session }) => Deferred.succeed(opened, session) }
        })
      )
      const peer = yield* server.accepted
      const sent = yield* peer.takeReceived
      assert.deepStrictEqual(sent, { _tag: "Text", data: Okx.publicProfile.subscribe(topics)[0]!.text })
      assert.strictEqual(yield* Deferred.await(opened), 1)
    }).pipe(Effect.provide(MemoryTransport.layer())))
})

describe("Venue profiles", () => {
  const profiles: ReadonlyArray<Venue.Profile> = [
    Binance.spot,
    Binance.usdm,
    Bybit.spot,
    Bybit.linear,
    Coinbase.exchange,
    Hyperliquid.mainnet,
    Kraken.spot,
    Okx.publicProfile
  ]

  it("the default url is one of the profile's urls, and a route always names one of them", () => {
    for (const p of profiles) {
      assert.include(Object.values(p.urls), p.url, p.venue)
      if (p.route === undefined) continue
      for (const topic of ["btcusdt@trade", "btcusdt@aggTrade", "!contractInfo", "anything"]) {
        const key = p.route(topic)
        assert.isTrue(key === undefined || key in p.urls, `${p.venue} ${topic} → ${key}`)
      }
    }
  })

  it("a budget counted per IP is written as a per-IP window, never as messagesPerSecond scoped to the IP", () => {
    for (const p of profiles) {
      assert.notStrictEqual(p.limits.messagesScope, "ip", p.venue)
    }
    assert.deepStrictEqual(Coinbase.exchange.limits.messagesPerIp, { count: 100, window: "1 second" })
    assert.deepStrictEqual(Hyperliquid.mainnet.limits.messagesPerIp, { count: 2000, window: "1 minute" })
  })

  it("names: a confirmation names its topics, and the channel:key topics whose key is among its instruments", () => {
    const c = Venue.confirmation("rejected", ["trades:A"], undefined, "x", { instruments: ["B/USD"] })
    assert.isTrue(Venue.names(c, "trades:A"))
    assert.isTrue(Venue.names(c, "book:B/USD"))
    assert.isFalse(Venue.names(c, "book:A"))
  })
})
