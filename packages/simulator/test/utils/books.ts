/**
 * Tiny reference clients that rebuild an order book from a venue's messages by the venue's documented
 * rules, written apart from the simulator's code: each one takes messages in order, says when the book
 * must be resynced (gap, crossed book, checksum mismatch), and resyncs the way the venue wants (a REST
 * snapshot for Binance, a new subscription elsewhere). Tests compare the result with `trueBook`.
 */
import { Effect } from "effect"
import type { Client, Seen } from "./client.ts"
import { crc32 } from "./crc32.ts"

/** A side: numeric price → [price text, size text] as last received. */
export type SideMap = Map<number, readonly [string, string]>

/** A book as a client keeps it. */
export interface RefBook {
  readonly bids: SideMap
  readonly asks: SideMap
}

const empty = (): RefBook => ({ bids: new Map(), asks: new Map() })

const setLevel = (side: SideMap, price: string, size: string): void => {
  if (Number(size) === 0) side.delete(Number(price))
  else side.set(Number(price), [price, size])
}

const sorted = (side: SideMap, bids: boolean) =>
  [...side.entries()].sort((a, b) => (bids ? b[0] - a[0] : a[0] - b[0])).map(([, l]) => l)

/** The book as `[price, size]` numbers, best first, optionally cut to `depth` levels per side. */
export const levels = (book: RefBook, depth?: number) => ({
  bids: sorted(book.bids, true).slice(0, depth).map(([p, q]) => [Number(p), Number(q)] as const),
  asks: sorted(book.asks, false).slice(0, depth).map(([p, q]) => [Number(p), Number(q)] as const)
})

const crossed = (book: RefBook): boolean => {
  let bestBid = Number.NEGATIVE_INFINITY
  let bestAsk = Number.POSITIVE_INFINITY
  for (const p of book.bids.keys()) bestBid = Math.max(bestBid, p)
  for (const p of book.asks.keys()) bestAsk = Math.min(bestAsk, p)
  return bestBid >= bestAsk
}

const truncate = (book: RefBook, depth: number): void => {
  for (const [side, bids] of [[book.bids, true], [book.asks, false]] as const) {
    for (const [p] of sorted(side, bids).slice(depth)) side.delete(Number(p))
  }
}

/** What a reference client does with one message. */
export type Verdict = "applied" | "ignored" | "resync"

/** A reference client for one venue's book stream. */
export interface Rebuilder {
  readonly book: () => RefBook
  readonly onMessage: (json: Record<string, unknown>) => Verdict
  /** Resyncs the venue's way; the fresh snapshot (where the venue sends one) comes through `onMessage` later. */
  readonly resync: Effect.Effect<void>
  /** Why each resync happened. */
  readonly reasons: Array<string>
}

type Json = Record<string, unknown>
type Pair = readonly [string, string]

/** Waits until every message the server wrote before now was received: a PING frame, then its PONG. */
export const sync = (client: Client): Effect.Effect<void> =>
  Effect.gen(function*() {
    const from = client.seen.length
    client.ws.ping()
    yield* client.next((s: Seen) => s.kind === "pong", { from, timeout: 10_000 })
  })

/** Binance spot (`rule: "spot"`) or USD-M (`"usdm"`) diff depth with a REST snapshot. */
export const binance = (rule: "spot" | "usdm", snapshotUrl: string): Rebuilder => {
  let book = empty()
  const log: Array<Json> = []
  let lastId: number | undefined // last update id applied
  let state: "snapshot" | "first" | "live" = "snapshot"
  const reasons: Array<string> = []
  const applyEvent = (e: Json): Verdict => {
    const U = e["U"] as number
    const u = e["u"] as number
    if (state === "snapshot") return "ignored"
    const last = lastId as number
    if (state === "first") {
      if (rule === "spot" ? u <= last : u < last) return "ignored"
      const ok = rule === "spot" ? U <= last + 1 && last + 1 <= u : U <= last && last <= u
      if (!ok) return "resync"
    } else {
      const ok = rule === "spot" ? U === last + 1 : e["pu"] === last
      if (!ok) return "resync"
    }
    for (const [p, q] of e["b"] as ReadonlyArray<Pair>) setLevel(book.bids, p, q)
    for (const [p, q] of e["a"] as ReadonlyArray<Pair>) setLevel(book.asks, p, q)
    lastId = u
    state = "live"
    return crossed(book) ? "resync" : "applied"
  }
  const self: Rebuilder = {
    book: () => book,
    reasons,
    onMessage: (json) => {
      if (json["e"] !== "depthUpdate") return "ignored"
      log.push(json)
      const v = applyEvent(json)
      if (v === "resync") reasons.push(state === "live" ? "gap or crossed" : "first event")
      return v
    },
    resync: Effect.gen(function*() {
      const res = yield* Effect.promise(() => fetch(snapshotUrl))
      const body = (yield* Effect.promise(() => res.json())) as Json
      if (res.status !== 200) throw new Error(`snapshot answered ${res.status}: ${JSON.stringify(body)}`)
      book = empty()
      for (const [p, q] of body["bids"] as ReadonlyArray<Pair>) setLevel(book.bids, p, q)
      for (const [p, q] of body["asks"] as ReadonlyArray<Pair>) setLevel(book.asks, p, q)
      lastId = body["lastUpdateId"] as number
      state = "first"
      for (const e of log) {
        const v = applyEvent(e)
        if (v === "resync") throw new Error("the buffered events do not follow the snapshot")
      }
    })
  }
  return self
}

/** OKX `books`: snapshot + updates chained by `prevSeqId`, CRC32 of the top 25. */
export const okx = (client: Client, instId: string): Rebuilder => {
  let book = empty()
  let seqId: number | undefined
  let waiting = true
  const reasons: Array<string> = []
  const arg = { channel: "books", instId }
  const checksum = () => {
    const b = sorted(book.bids, true).slice(0, 25)
    const a = sorted(book.asks, false).slice(0, 25)
    const parts: Array<string> = []
    for (let i = 0; i < 25; i++) {
      if (b[i] !== undefined) parts.push(b[i]![0], b[i]![1])
      if (a[i] !== undefined) parts.push(a[i]![0], a[i]![1])
    }
    return crc32(parts.join(":")) | 0
  }
  const fail = (reason: string): Verdict => {
    reasons.push(reason)
    waiting = true
    return "resync"
  }
  return {
    book: () => book,
    reasons,
    onMessage: (json) => {
      const data = (json["data"] as ReadonlyArray<Json> | undefined)?.[0]
      if (data === undefined || (json["arg"] as Json | undefined)?.["channel"] !== "books") return "ignored"
      if (json["action"] === "snapshot") {
        book = empty()
        waiting = false
      } else if (waiting) {
        return "ignored"
      } else if (data["prevSeqId"] !== seqId) {
        return fail("gap")
      }
      for (const [p, q] of data["bids"] as ReadonlyArray<Pair>) setLevel(book.bids, p, q)
      for (const [p, q] of data["asks"] as ReadonlyArray<Pair>) setLevel(book.asks, p, q)
      seqId = data["seqId"] as number
      // checksum first: a crossed message carries the checksum of the crossed book, so only this check sees it
      if (checksum() !== data["checksum"]) return fail("checksum")
      if (crossed(book)) return fail("crossed")
      return "applied"
    },
    resync: Effect.gen(function*() {
      client.send({ op: "unsubscribe", args: [arg] })
      client.send({ op: "subscribe", args: [arg] })
      yield* sync(client)
    })
  }
}

/** Bybit `orderbook.D`: snapshot + deltas with `u` + 1; a snapshot (also `u` = 1) resets. */
export const bybit = (client: Client, topic: string): Rebuilder => {
  let book = empty()
  let u: number | undefined
  let waiting = true
  const reasons: Array<string> = []
  const fail = (reason: string): Verdict => {
    reasons.push(reason)
    waiting = true
    return "resync"
  }
  return {
    book: () => book,
    reasons,
    onMessage: (json) => {
      if (json["topic"] !== topic) return "ignored"
      const data = json["data"] as Json
      if (json["type"] === "snapshot") {
        book = empty()
        waiting = false
        if (data["u"] === 1 && u !== undefined) reasons.push("restart")
      } else if (waiting) {
        return "ignored"
      } else if (data["u"] !== (u as number) + 1) {
        return fail("gap")
      }
      for (const [p, q] of data["b"] as ReadonlyArray<Pair>) setLevel(book.bids, p, q)
      for (const [p, q] of data["a"] as ReadonlyArray<Pair>) setLevel(book.asks, p, q)
      u = data["u"] as number
      return crossed(book) ? fail("crossed") : "applied"
    },
    resync: Effect.gen(function*() {
      client.send({ op: "unsubscribe", args: [topic] })
      client.send({ op: "subscribe", args: [topic] })
      yield* sync(client)
    })
  }
}

/** Kraken v2 `book` of `depth`: snapshot + updates, truncated to the depth, CRC32 of the top 10. */
export const kraken = (client: Client, symbol: string, depth: number): Rebuilder => {
  let book = empty()
  let waiting = true
  const reasons: Array<string> = []
  const field = (text: string, decimals: number) => Number(text).toFixed(decimals).replace(".", "").replace(/^0+/, "")
  const checksum = () => {
    let text = ""
    for (const [p, q] of sorted(book.asks, false).slice(0, 10)) text += field(p, 1) + field(q, 8)
    for (const [p, q] of sorted(book.bids, true).slice(0, 10)) text += field(p, 1) + field(q, 8)
    return crc32(text)
  }
  const fail = (reason: string): Verdict => {
    reasons.push(reason)
    waiting = true
    return "resync"
  }
  return {
    book: () => book,
    reasons,
    onMessage: (json) => {
      if (json["channel"] !== "book") return "ignored"
      const data = (json["data"] as ReadonlyArray<Json>)[0] as Json
      if (json["type"] === "snapshot") {
        book = empty()
        waiting = false
      } else if (waiting) {
        return "ignored"
      }
      const put = (side: SideMap, levels: ReadonlyArray<{ price: number; qty: number }>) => {
        for (const { price, qty } of levels) setLevel(side, String(price), String(qty))
      }
      put(book.bids, data["bids"] as ReadonlyArray<{ price: number; qty: number }>)
      put(book.asks, data["asks"] as ReadonlyArray<{ price: number; qty: number }>)
      truncate(book, depth)
      if (checksum() !== data["checksum"]) return fail("checksum")
      if (crossed(book)) return fail("crossed")
      return "applied"
    },
    resync: Effect.gen(function*() {
      client.send({ method: "unsubscribe", params: { channel: "book", symbol: [symbol], depth } })
      client.send({ method: "subscribe", params: { channel: "book", symbol: [symbol], depth } })
      yield* sync(client)
    })
  }
}

/** Coinbase `level2_batch`: snapshot + `l2update`s. */
export const coinbase = (client: Client, product: string): Rebuilder => {
  let book = empty()
  let waiting = true
  const reasons: Array<string> = []
  return {
    book: () => book,
    reasons,
    onMessage: (json) => {
      if (json["product_id"] !== product) return "ignored"
      if (json["type"] === "snapshot") {
        if (!waiting) reasons.push("snapshot while live")
        book = empty()
        waiting = false
        for (const [p, q] of json["bids"] as ReadonlyArray<Pair>) setLevel(book.bids, p, q)
        for (const [p, q] of json["asks"] as ReadonlyArray<Pair>) setLevel(book.asks, p, q)
        return "applied"
      }
      if (json["type"] !== "l2update" || waiting) return "ignored"
      for (const [side, p, q] of json["changes"] as ReadonlyArray<readonly [string, string, string]>) {
        setLevel(side === "buy" ? book.bids : book.asks, p, q)
      }
      if (!crossed(book)) return "applied"
      reasons.push("crossed")
      waiting = true
      return "resync"
    },
    resync: Effect.gen(function*() {
      client.send({ type: "unsubscribe", product_ids: [product], channels: ["level2_batch"] })
      client.send({ type: "subscribe", product_ids: [product], channels: ["level2_batch"] })
      yield* sync(client)
    })
  }
}

/** Hyperliquid `l2Book`: every message is the whole book; a crossed one is skipped (the next repairs it). */
export const hyperliquid = (coin: string): Rebuilder => {
  let book = empty()
  const reasons: Array<string> = []
  return {
    book: () => book,
    reasons,
    onMessage: (json) => {
      const data = json["data"] as Json | undefined
      if (json["channel"] !== "l2Book" || data?.["coin"] !== coin) return "ignored"
      const [bids, asks] = data["levels"] as ReadonlyArray<ReadonlyArray<{ px: string; sz: string }>>
      const next = empty()
      for (const { px, sz } of bids ?? []) setLevel(next.bids, px, sz)
      for (const { px, sz } of asks ?? []) setLevel(next.asks, px, sz)
      if (crossed(next)) {
        reasons.push("crossed")
        return "ignored"
      }
      book = next
      return "applied"
    },
    resync: Effect.void
  }
}
