/**
 * The three book feeds of the top-of-book example, each read the way its
 * venue documents it: where to connect, the heartbeat the venue wants, what
 * to subscribe to in `onOpen`, how to parse a book message, and how to tell
 * that an update does not follow the previous one:
 *
 * - OKX `books`: a snapshot, then updates whose `prevSeqId` is the previous
 *   `seqId`; every message carries a CRC32 of the top 25 levels.
 * - Bybit `orderbook.50`: a snapshot, then deltas whose `u` is the previous
 *   `u` + 1.
 * - Kraken v2 `book`: a snapshot, then updates with no sequence number but a
 *   CRC32 of the top 10 levels: a missed update shows as a wrong checksum.
 */
import { Heartbeat } from "@kharbranth/core"
import type { ConnectionConfig } from "@kharbranth/core"
import type { Simulator } from "@kharbranth/simulator"
import { crc32 } from "node:zlib"

/** A price level as the venue wrote it: price and quantity as decimal strings. */
export type Level = readonly [price: string, qty: string]

/** One book message: a snapshot or an update, with what the venue gives to check it. */
export interface BookMessage {
  readonly type: "snapshot" | "update"
  readonly bids: ReadonlyArray<Level>
  readonly asks: ReadonlyArray<Level>
  /** This message's sequence number (OKX `seqId`, Bybit `u`). */
  readonly seq?: number
  /** The sequence number of the message before it (OKX `prevSeqId`). */
  readonly prevSeq?: number
  /** The venue's checksum of the book after this message. */
  readonly checksum?: number
}

/** A local order book: price → quantity per side, as the venue wrote them. */
export interface Sides {
  readonly bids: Map<string, string>
  readonly asks: Map<string, string>
}

export interface Feed {
  readonly name: string
  readonly venue: "okx" | "bybit" | "kraken"
  readonly url: string
  readonly config: Omit<ConnectionConfig.ConnectionConfig, "url">
  /** Sent in `onOpen`, after every (re)connect. */
  readonly subscribe: string
  /** Levels kept per side (the subscribed depth). */
  readonly depth: number
  /** A book message, or undefined for anything else (acks, heartbeats, status). */
  readonly parse: (text: string) => BookMessage | undefined
  /** Why `message` does not follow the book's last sequence number, or undefined when it does. */
  readonly gap: (lastSeq: number | undefined, message: BookMessage) => string | undefined
  /** The checksum of the local book, as the venue computes it, when the venue sends one. */
  readonly checksum?: (book: Sides) => number
}

/** The best `n` levels of a side: bids high to low, asks low to high. */
export const top = (side: Map<string, string>, isBid: boolean, n: number): Array<Level> =>
  [...side].sort((a, b) => (isBid ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0]))).slice(0, n)

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined

const json = (text: string): Record<string, unknown> | undefined => {
  try {
    return record(JSON.parse(text))
  } catch {
    return undefined
  }
}

/** `[["97000.1","0.5",...], ...]` → levels (extra fields, like OKX's order count, are ignored). */
const stringLevels = (value: unknown): Array<Level> =>
  Array.isArray(value)
    ? value.flatMap((entry: unknown): Array<Level> =>
      Array.isArray(entry) && typeof entry[0] === "string" && typeof entry[1] === "string" ? [[entry[0], entry[1]]] : []
    )
    : []

const number = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined)

/** Local deadlines are short so that a dead peer is found within seconds. */
const fast = { interval: "1 second", timeout: "1 second" } as const

/** OKX: the CRC32 (signed) of up to 25 `bidPx:bidSz:askPx:askSz` groups, joined by `:`. */
const okxChecksum = (book: Sides): number => {
  const bids = top(book.bids, true, 25)
  const asks = top(book.asks, false, 25)
  const parts: Array<string> = []
  for (let i = 0; i < 25; i++) {
    const bid = bids[i]
    const ask = asks[i]
    if (bid !== undefined) parts.push(`${bid[0]}:${bid[1]}`)
    if (ask !== undefined) parts.push(`${ask[0]}:${ask[1]}`)
  }
  return crc32(parts.join(":")) | 0
}

/** Kraken v2: the CRC32 (unsigned) of the top 10 asks then the top 10 bids, decimal point and leading zeros removed. */
const krakenChecksum = (book: Sides): number => {
  const field = (value: string) => value.replace(".", "").replace(/^0+/, "")
  let text = ""
  for (const [price, qty] of top(book.asks, false, 10)) text += field(price) + field(qty)
  for (const [price, qty] of top(book.bids, true, 10)) text += field(price) + field(qty)
  return crc32(text) >>> 0
}

/**
 * Kraken v2 writes prices and quantities as JSON numbers; its checksum uses them written with the
 * instrument's precision (from Kraken's `instrument` channel: 1 and 8 decimals for BTC/USD here).
 */
const krakenLevels = (value: unknown): Array<Level> =>
  Array.isArray(value)
    ? value.flatMap((entry: unknown): Array<Level> => {
      const level = record(entry)
      const price = number(level?.["price"])
      const qty = number(level?.["qty"])
      return price === undefined || qty === undefined ? [] : [[price.toFixed(1), qty.toFixed(8)]]
    })
    : []

export const feeds = (endpoints: Simulator.Endpoints): ReadonlyArray<Feed> => [
  {
    name: "okx-btc-usdt",
    venue: "okx",
    url: endpoints.okx,
    config: { heartbeat: Heartbeat.message({ ...fast, message: "ping", isPong: (text) => text === "pong" }) },
    subscribe: JSON.stringify({ op: "subscribe", args: [{ channel: "books", instId: "BTC-USDT" }] }),
    depth: 400,
    parse: (text) => {
      const message = json(text)
      const action = message?.["action"]
      const data = record(Array.isArray(message?.["data"]) ? message["data"][0] : undefined)
      if ((action !== "snapshot" && action !== "update") || data === undefined) return undefined
      const seq = number(data["seqId"])
      const prevSeq = number(data["prevSeqId"])
      const checksum = number(data["checksum"])
      return {
        type: action,
        bids: stringLevels(data["bids"]),
        asks: stringLevels(data["asks"]),
        ...(seq === undefined ? {} : { seq }),
        ...(prevSeq === undefined ? {} : { prevSeq }),
        ...(checksum === undefined ? {} : { checksum })
      }
    },
    gap: (lastSeq, message) =>
      message.prevSeq === lastSeq ? undefined : `prevSeqId ${message.prevSeq} is not the last seqId ${lastSeq}`,
    checksum: okxChecksum
  },
  {
    name: "bybit-btcusdt",
    venue: "bybit",
    url: endpoints.bybit,
    config: {
      heartbeat: Heartbeat.message({
        ...fast,
        message: () => JSON.stringify({ op: "ping" }),
        isPong: (text) => text.includes('"op":"ping"') && text.includes('"ret_msg":"pong"')
      })
    },
    subscribe: JSON.stringify({ op: "subscribe", args: ["orderbook.50.BTCUSDT"] }),
    depth: 50,
    parse: (text) => {
      const message = json(text)
      const type = message?.["type"]
      const data = record(message?.["data"])
      const topic = message?.["topic"]
      if (typeof topic !== "string" || !topic.startsWith("orderbook.") || data === undefined) return undefined
      if (type !== "snapshot" && type !== "delta") return undefined
      const seq = number(data["u"])
      return {
        type: type === "delta" ? "update" : "snapshot",
        bids: stringLevels(data["b"]),
        asks: stringLevels(data["a"]),
        ...(seq === undefined ? {} : { seq })
      }
    },
    gap: (lastSeq, message) =>
      lastSeq !== undefined && message.seq === lastSeq + 1 ? undefined : `u ${message.seq} is not the last u ${lastSeq} + 1`
  },
  {
    name: "kraken-btc-usd",
    venue: "kraken",
    url: endpoints.kraken,
    config: {
      heartbeat: Heartbeat.message({
        ...fast,
        message: () => JSON.stringify({ method: "ping" }),
        isPong: (text) => text.includes('"method":"pong"')
      })
    },
    subscribe: JSON.stringify({ method: "subscribe", params: { channel: "book", symbol: ["BTC/USD"], depth: 10 } }),
    depth: 10,
    parse: (text) => {
      const message = json(text)
      const type = message?.["type"]
      const data = record(Array.isArray(message?.["data"]) ? message["data"][0] : undefined)
      if (message?.["channel"] !== "book" || (type !== "snapshot" && type !== "update") || data === undefined) return undefined
      const checksum = number(data["checksum"])
      return {
        type,
        bids: krakenLevels(data["bids"]),
        asks: krakenLevels(data["asks"]),
        ...(checksum === undefined ? {} : { checksum })
      }
    },
    // No sequence numbers: the checksum below is what finds a missed update.
    gap: () => undefined,
    checksum: krakenChecksum
  }
]
