import { assert, describe, it } from "@effect/vitest"
import { Heartbeat } from "@kharbranth/core"
import { Simulator } from "@kharbranth/simulator"
import * as Effect from "effect/Effect"
import { crc32 } from "../src/internal/crc32.ts"
import * as Okx from "../src/Okx.ts"
import * as Venue from "../src/Venue.ts"
import {
  breaks,
  count,
  disconnected,
  firstDecoded,
  type Harness,
  open,
  readings,
  sendAll,
  settle,
  staysUp,
  waitFor
} from "./utils/harness.ts"

const profile = Okx.publicProfile

const isBook = (t: string) => t.startsWith('{"arg":{"channel":"books"')
const nextBook = (h: Harness) => firstDecoded(h, isBook, Okx.decodeBook)

const collect = (h: Harness, done: (readings: ReadonlyArray<Venue.Sequence>) => boolean) =>
  readings(h, profile, Okx.sequence, done)

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
      const h = yield* open(profile, [Okx.topic("trades", "BTC-USDT")], {
        url: sim.endpoints.okx,
        heartbeat: Heartbeat.none
      })
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

  it.live("topicOf names trades and books pushes by channel:instId; answers, pong and notices give undefined", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const topics = [Okx.topic("trades", "BTC-USDT"), Okx.topic("books", "ETH-USDT")]
      const h = yield* open(profile, topics, { url: sim.endpoints.okx })
      const seen = new Set<string>()
      yield* waitFor(h.texts, (t) => {
        const topic = profile.topicOf(t)
        if (profile.confirmation(t) !== undefined) assert.isUndefined(topic)
        else seen.add(topic!)
        return seen.size === topics.length ? true : undefined
      })
      assert.deepStrictEqual([...seen].sort(), [...topics].sort())
      yield* sim.fault({ kind: "notice", target: { venue: "okx" } })
      const notice = yield* waitFor(h.texts, (t) => (profile.isNotice(t) ? t : undefined))
      assert.isUndefined(profile.topicOf(notice))
      for (
        const text of [
          "pong",
          "",
          "{",
          '{"arg":{"channel":"trades"',
          '{"arg":{"channel":"trades","instId":"X"}}',
          "[1]",
          '{"event":"error","code":"60012","msg":"Invalid request: {\\"data\\":1}"}'
        ]
      ) {
        assert.isUndefined(profile.topicOf(text), text)
        assert.isUndefined(Okx.sequence(text), text)
      }
    }))

  it.live("trades and books pushes decode with the schemas", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const h = yield* open(profile, [Okx.topic("trades", "BTC-USDT"), Okx.topic("books", "BTC-USDT")], {
        url: sim.endpoints.okx
      })
      // The snapshot goes out with the answer, before any trade.
      const snapshot = yield* nextBook(h)
      assert.strictEqual(snapshot.action, "snapshot")
      assert.strictEqual(snapshot.data[0]!.prevSeqId, -1)
      assert.strictEqual(snapshot.data[0]!.bids.length, 400)
      const trades = yield* firstDecoded(h, (t) => t.startsWith('{"arg":{"channel":"trades"'), Okx.decodeTrades)
      assert.strictEqual(trades.arg.instId, "BTC-USDT")
      assert.isTrue(trades.data.length > 0 && Number(trades.data[0]!.px) > 0)
      assert.include(["buy", "sell"], trades.data[0]!.side)
      const update = yield* firstDecoded(h, isBook, Okx.decodeMessage)
      assert.isTrue("action" in update && update.action === "update")
    }))

  it.live("sequence readings chain trade ids and seqId/prevSeqId, and the gap fault breaks each stream once", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 50 })
      const topics = [Okx.topic("trades", "BTC-USDT"), Okx.topic("books", "BTC-USDT")]
      const h = yield* open(profile, topics, { url: sim.endpoints.okx })
      const before = yield* collect(h, (rs) => topics.every((t) => count(rs, t) >= 4))
      assert.deepStrictEqual(breaks(before), [])
      const books = before.filter((r) => r.stream === topics[1])
      assert.isTrue(
        books[0]!.snapshot === true && books[0]!.prev === undefined,
        "the first books reading is the snapshot"
      )
      assert.isTrue(books.slice(1).every((r) => r.snapshot !== true && r.prev === r.first - 1))
      yield* sim.fault({ kind: "gap", target: { venue: "okx" }, skip: 2 })
      const after = yield* collect(h, (rs) => {
        const found = breaks([...before, ...rs])
        return topics.every((t) => found.some(([, r]) => r.stream === t) && count(rs, t) >= found.length + 2)
      })
      const found = breaks([...before, ...after])
      assert.deepStrictEqual(found.map(([, r]) => r.stream).sort(), [...topics].sort())
      const [tradePrev, tradeNext] = found.find(([, r]) => r.stream === topics[0])!
      assert.strictEqual(tradeNext.first, tradePrev.last + 3, "two trade ids skipped")
      const [bookPrev, bookNext] = found.find(([, r]) => r.stream === topics[1])!
      assert.strictEqual(bookNext.prev, bookPrev.last + 2, "two updates skipped: prevSeqId is not the last seqId seen")
    }))

  it.live("the book checksum verifies on the snapshot and every update", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 100 })
      const h = yield* open(profile, [Okx.topic("books", "BTC-USDT")], { url: sim.endpoints.okx })
      const book = Okx.makeBook("BTC-USDT")
      const snapshot = yield* nextBook(h)
      assert.strictEqual(snapshot.action, "snapshot")
      for (const data of snapshot.data) yield* Okx.applyVerified(book, snapshot.action, data)
      assert.strictEqual(book.bids.size, 400)
      const signs = new Set<boolean>()
      for (let i = 0; i < 40; i++) {
        const msg = yield* nextBook(h)
        assert.strictEqual(msg.action, "update")
        for (const data of msg.data) {
          yield* Okx.applyVerified(book, msg.action, data)
          signs.add(data.checksum < 0)
        }
      }
      assert.strictEqual(signs.size, 2, "signed checksums of both signs verified")
    }))

  it.live("a tampered book fails the checksum", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 20 })
      const h = yield* open(profile, [Okx.topic("books", "BTC-USDT")], { url: sim.endpoints.okx })
      const snapshot = yield* nextBook(h)
      const data = snapshot.data[0]!
      const [best, ...rest] = data.asks
      // Same size, written differently: the checksum uses the strings as received.
      const tampered = { ...data, asks: [[best![0], `${best![1]}0`, best![2], best![3]] as const, ...rest] }
      const error = yield* Effect.flip(Okx.applyVerified(Okx.makeBook("BTC-USDT"), "snapshot", tampered))
      assert.strictEqual(error._tag, "ChecksumMismatch")
      assert.strictEqual(error.symbol, "BTC-USDT")
      assert.strictEqual(error.expected, data.checksum)
      // The untouched snapshot passes, then a level changed locally is caught by the next update.
      const book = Okx.makeBook("BTC-USDT")
      yield* Okx.applyVerified(book, "snapshot", data)
      // The 20th best bid (inside the checksum's top 25), changed locally: the first update that does not
      // itself rewrite that level (the venue's updates touch the top often) fails the checksum.
      const bid = [...book.bids.keys()].sort((a, b) => b - a)[19]!
      book.bids.set(bid, [book.bids.get(bid)![0], "123.45678901"])
      let failed: Okx.ChecksumMismatch | undefined
      for (let i = 0; i < 20 && failed === undefined; i++) {
        const next = yield* nextBook(h)
        const touches = next.data[0]!.bids.some(([price]) => Number(price) === bid)
        const result = yield* Effect.result(Okx.applyVerified(book, next.action, next.data[0]!))
        if (!touches && result._tag === "Failure") failed = result.failure
        if (touches) book.bids.set(bid, [book.bids.get(bid)?.[0] ?? String(bid), "123.45678901"])
      }
      assert.strictEqual(failed?._tag, "ChecksumMismatch")
    }))

  it("checksumInput interleaves bids and asks as received, then the longer side's rest", () => {
    const book = Okx.makeBook("BTC-USDT")
    const level = (px: string, sz: string) => [px, sz, "0", "1"] as const
    Okx.apply(book, "snapshot", {
      bids: [level("99.5", "1.0"), level("99.0", "2")],
      asks: [level("100.0", "3"), level("101", "4.50"), level("100.5", "5")],
      ts: "0",
      checksum: 0,
      prevSeqId: -1,
      seqId: 1
    })
    assert.strictEqual(Okx.checksumInput(book), "99.5:1.0:100.0:3:99.0:2:100.5:5:101:4.50")
    assert.strictEqual(Okx.checksum(book), crc32(Okx.checksumInput(book)) | 0)
    Okx.apply(book, "update", { bids: [level("99.5", "0")], asks: [], ts: "1", checksum: 0, prevSeqId: 1, seqId: 2 })
    assert.strictEqual(Okx.checksumInput(book), "99.0:2:100.0:3:100.5:5:101:4.50")
    const levels = Array.from({ length: 30 }, (_, i) => level(String(100 + i), "1"))
    Okx.apply(book, "snapshot", { bids: [], asks: levels, ts: "2", checksum: 0, prevSeqId: -1, seqId: 3 })
    assert.strictEqual(Okx.checksumInput(book).split(":").length, 50, "only the best 25 levels count")
  })
  it("sequence scans book updates as OKX writes them and parses anything else, with the same readings", () => {
    const levels = Array.from({ length: 25 }, (_, i) => `["${97000 + i}.1","0.5","0","2"]`).join(",")
    const update =
      `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[${levels}],"bids":[],"ts":"1","checksum":-5,"prevSeqId":41,"seqId":42}]}`
    assert.deepStrictEqual(Okx.sequence(update), { stream: "books:BTC-USDT", first: 42, last: 42, prev: 41 })
    const snapshot = update.replace('"action":"update"', '"action":"snapshot"').replace(
      '"prevSeqId":41',
      '"prevSeqId":-1'
    )
    assert.deepStrictEqual(Okx.sequence(snapshot), { stream: "books:BTC-USDT", first: 42, last: 42, snapshot: true })
    // Another key order takes the parsing path, to the same reading.
    const reordered =
      '{"action":"update","arg":{"channel":"books","instId":"ETH-USDT"},"data":[{"seqId":7,"prevSeqId":6,"asks":[],"bids":[],"ts":"1","checksum":1}]}'
    assert.deepStrictEqual(Okx.sequence(reordered), { stream: "books:ETH-USDT", first: 7, last: 7, prev: 6 })
    assert.isUndefined(Okx.sequence('{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}'))
  })
})

describe("OKX profile", () => {
  const trades = Okx.topic("trades", "BTC-USDT")
  const unknown =
    "Wrong URL or channel:trades,instId:FOO-BAR doesn't exist. Please use the correct URL, channel and parameters referring to API document."

  it("subscribe and unsubscribe carry the request id as OKX's string id, and Request.id as the number", () => {
    const [sub] = profile.subscribe([Okx.topic("trades", "FOO-BAR"), trades], 7)
    assert.strictEqual(sub!.id, 7)
    assert.deepStrictEqual(JSON.parse(sub!.text), {
      id: "7",
      op: "subscribe",
      args: [{ channel: "trades", instId: "FOO-BAR" }, { channel: "trades", instId: "BTC-USDT" }]
    })
    const [unsub] = profile.unsubscribe([trades], 8)
    assert.strictEqual(unsub!.id, 8)
    assert.deepStrictEqual(JSON.parse(unsub!.text), {
      id: "8",
      op: "unsubscribe",
      args: [{ channel: "trades", instId: "BTC-USDT" }]
    })
    assert.strictEqual(profile.subscribe([trades])[0]!.id, 1, "the default id is 1")
    const big = profile.subscribe([trades], Number.MAX_SAFE_INTEGER)[0]!
    assert.isTrue(/^\d{1,32}$/.test((JSON.parse(big.text) as { readonly id: string }).id))
    for (const id of [-1, 1.5, Number.NaN]) {
      const request = profile.subscribe([trades], id)[0]!
      assert.isUndefined(request.id, String(id))
      assert.notProperty(JSON.parse(request.text), "id")
    }
  })

  it("answers read the id back as a number: subscribe, unsubscribe and error", () => {
    const subscribed = Okx.confirmation(
      '{"id":"7","event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"}'
    )!
    assert.strictEqual(subscribed.kind, "subscribed")
    assert.deepStrictEqual(subscribed.topics, [trades])
    assert.strictEqual(subscribed.id, 7)
    const unsubscribed = Okx.confirmation(
      '{"id":"8","event":"unsubscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"}'
    )!
    assert.strictEqual(unsubscribed.kind, "unsubscribed")
    assert.strictEqual(unsubscribed.id, 8)
    // docs-v5's failure example: an error names no arg, only the id.
    const error = Okx.confirmation(
      '{"id":"1512","event":"error","code":"60012","msg":"Invalid request: {\\"op\\": \\"subscribe\\", \\"argss\\":[{ \\"channel\\" : \\"index-tickers\\", \\"instId\\" : \\"BTC-USDT\\"}]}","connId":"a4d3ae55"}'
    )!
    assert.strictEqual(error.kind, "rejected")
    assert.deepStrictEqual(error.topics, [])
    assert.strictEqual(error.id, 1512)
    assert.notStrictEqual(error.permanent, true)
    assert.match(error.reason!, /^60012 Invalid request/)
    const [request] = profile.subscribe([trades], 1512)
    assert.strictEqual(Venue.outcome(request!, error), "rejected")
    assert.isUndefined(Venue.outcome(profile.subscribe([trades], 1513)[0]!, error), "another request's error")
    // An id OKX echoes that this module did not write (not all digits) is no id.
    assert.isUndefined(
      Okx.confirmation('{"id":"abc1","event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"x"}')!
        .id
    )
    assert.isUndefined(
      Okx.confirmation('{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"x"}')!.id
    )
  })

  it("an unknown instrument (60018) names its topic from msg and is permanent", () => {
    const c = Okx.confirmation(`{"event":"error","code":"60018","msg":${JSON.stringify(unknown)},"connId":"a4d3ae55"}`)!
    assert.strictEqual(c.kind, "rejected")
    assert.deepStrictEqual(c.topics, ["trades:FOO-BAR"])
    assert.isUndefined(c.id)
    assert.isTrue(c.permanent)
    assert.strictEqual(c.reason, `60018 ${unknown}`)
    assert.isTrue(Venue.names(c, "trades:FOO-BAR"))
    assert.isFalse(Venue.names(c, trades))
    const [request] = profile.subscribe([Okx.topic("trades", "FOO-BAR"), trades])
    assert.strictEqual(Venue.outcome(request!, c), "rejected")
    assert.isUndefined(Venue.outcome(profile.subscribe([trades])[0]!, c), "a request without the topic is not answered")
    const withId = Okx.confirmation(
      `{"id":"9","event":"error","code":"60018","msg":${JSON.stringify(unknown)},"connId":"a4d3ae55"}`
    )!
    assert.strictEqual(withId.id, 9)
    assert.deepStrictEqual(withId.topics, ["trades:FOO-BAR"])
    const extra = Okx.confirmation(
      '{"event":"error","code":"60018","msg":"Wrong URL or channel:books,instId:FOO-BAR,instType:SPOT doesn\'t exist. Please use the correct URL.","connId":"x"}'
    )!
    assert.deepStrictEqual(extra.topics, ["books:FOO-BAR"])
    const channelOnly = Okx.confirmation(
      '{"event":"error","code":"60018","msg":"Wrong URL or channel:nosuch doesn\'t exist.","connId":"x"}'
    )!
    assert.deepStrictEqual(channelOnly.topics, [], "no instId: no topic to name")
    assert.isTrue(channelOnly.permanent)
  })

  it("only the codes whose documented text says to change URL, channel or parameters are permanent", () => {
    const error = (code: string) =>
      Okx.confirmation(`{"id":"3","event":"error","code":"${code}","msg":"m","connId":"x"}`)!
    for (const code of ["60008", "60018", "60028", "64000", "64001", "64002", "64003"]) {
      assert.isTrue(error(code).permanent, code)
    }
    for (const code of ["60012", "60013", "60014", "63999", "64004", "64007", "1"]) {
      assert.notStrictEqual(error(code).permanent, true, code)
      assert.strictEqual(error(code).id, 3)
    }
  })

  it("limits: 480 subscribe/unsubscribe/login requests per hour per connection", () => {
    assert.strictEqual(profile.limits.requestsPerHour, 480)
    assert.deepStrictEqual(profile.limits.connections, { count: 3, window: "1 second" })
    assert.strictEqual(profile.limits.maxRequestBytes, 64 * 1024)
  })

  it("sequence reads the documented seqId reset as a reading below its prev, chained on prev", () => {
    // docs-v5 "Sequence ID": prevSeqId 15 → seqId 3 (reset), then prevSeqId 3 → seqId 5.
    const update = (prev: number, seq: number) =>
      `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":0,"prevSeqId":${prev},"seqId":${seq}}]}`
    assert.deepStrictEqual(Okx.sequence(update(15, 3)), { stream: "books:BTC-USDT", first: 3, last: 3, prev: 15 })
    assert.deepStrictEqual(Okx.sequence(update(3, 5)), { stream: "books:BTC-USDT", first: 5, last: 5, prev: 3 })
    assert.deepStrictEqual(Okx.sequence(update(15, 15)), { stream: "books:BTC-USDT", first: 15, last: 15, prev: 15 })
  })
})

describe("OKX checksum: the venue's published examples", () => {
  const level = (px: string, sz: string) => [px, sz, "0", "1"] as const
  const data = (bids: ReadonlyArray<Okx.Level>, asks: ReadonlyArray<Okx.Level>, checksum: number): Okx.BookData => ({
    bids,
    asks,
    ts: "0",
    checksum,
    prevSeqId: -1,
    seqId: 1
  })

  it.effect("example 1 (levels paired): 3366.1:7:3366.8:9:3366:6:3368:8 is -1881014294", () =>
    Effect.gen(function*() {
      const snapshot = data(
        [level("3366.1", "7"), level("3366", "6")],
        [level("3366.8", "9"), level("3368", "8")],
        -1881014294
      )
      const book = Okx.makeBook("BTC-USDT")
      yield* Okx.applyVerified(book, "snapshot", snapshot)
      assert.strictEqual(Okx.checksumInput(book), "3366.1:7:3366.8:9:3366:6:3368:8")
      assert.strictEqual(Okx.checksum(book), -1881014294)
    }))

  it.effect("example 2 (fewer bids than asks): 3366.1:7:3366.8:9:3368:8:3372:8 is 831078360", () =>
    Effect.gen(function*() {
      const snapshot = data(
        [level("3366.1", "7")],
        [level("3366.8", "9"), level("3368", "8"), level("3372", "8")],
        831078360
      )
      const book = Okx.makeBook("BTC-USDT")
      yield* Okx.applyVerified(book, "snapshot", snapshot)
      assert.strictEqual(Okx.checksumInput(book), "3366.1:7:3366.8:9:3368:8:3372:8")
      assert.strictEqual(Okx.checksum(book), 831078360)
    }))

  it("the v5 docs' string example interleaves bid1, ask1, bid2, ask2", () => {
    // docs-v5 "Checksum": bids [43231.1, 4], [43231, 6]; asks [43232.8, 9], [43232.9, 8]. The docs give no value for it.
    const book = Okx.makeBook("BTC-USDT")
    Okx.apply(
      book,
      "snapshot",
      data([level("43231.1", "4"), level("43231", "6")], [level("43232.8", "9"), level("43232.9", "8")], 0)
    )
    assert.strictEqual(Okx.checksumInput(book), "43231.1:4:43232.8:9:43231:6:43232.9:8")
    assert.strictEqual(Okx.checksum(book), crc32("43231.1:4:43232.8:9:43231:6:43232.9:8") | 0)
  })
})
