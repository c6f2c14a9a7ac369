/**
 * The benchmark's payloads: exchange-like JSON trade messages (150–300 bytes,
 * shaped like a Binance `trade` event), generated deterministically from a
 * seed so every client in every run reads the very same bytes; the
 * server-to-client WebSocket framing the feed server writes in large
 * pre-serialized chunks; and the paced variant that carries a send
 * timestamp from the monotonic clock in its `E` field.
 */

/** Smallest and largest message size, in bytes. */
export const MIN_BYTES = 150
export const MAX_BYTES = 300

const SYMBOLS = [
  "BTCUSDT",
  "ETHUSDT",
  "BNBBTC",
  "SOLUSDT",
  "XRPUSDT",
  "DOGEUSDT",
  "ADAUSDT",
  "AVAXUSDT",
  "LINKUSDT",
  "1000PEPEUSDT"
]
const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence. */
export const prng = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The prefix every message starts with; `E` follows it (see `pacedMessage`). */
export const PREFIX = '{"e":"trade","E":'

/**
 * `count` distinct trade messages, 150–300 bytes each, from `seed`. Each is
 * valid JSON starting with `{"e":"trade","E":<number>,`.
 */
export const tradeMessages = (count: number, seed = 42): Array<string> => {
  const random = prng(seed)
  const out: Array<string> = []
  for (let i = 0; i < count; i++) {
    const target = MIN_BYTES + Math.floor(random() * (MAX_BYTES - MIN_BYTES + 1))
    const time = 1_700_000_000_000 + Math.floor(random() * 1e9)
    const symbol = SYMBOLS[Math.floor(random() * SYMBOLS.length)]!
    const price = (random() * 60_000).toFixed(8)
    const qty = (random() * 10).toFixed(8)
    const id = 3_000_000_000 + Math.floor(random() * 1e9)
    const base = `${PREFIX}${time},"s":"${symbol}","t":${id},"p":"${price}","q":"${qty}","T":${time - 3},"m":${
      random() < 0.5
    },"M":true`
    // Venues add ids and tags; pad with a client tag to reach the target size.
    const withIds = `${base},"b":${id + 17},"a":${id + 29}`
    const tail = ',"c":""}'.length
    const body = withIds.length + tail <= target ? withIds : base
    const room = Math.max(target, MIN_BYTES) - body.length - tail
    let tag = ""
    for (let k = 0; k < room; k++) tag += ALNUM[Math.floor(random() * ALNUM.length)]
    out.push(`${body},"c":"${tag}"}`)
  }
  return out
}

/** The WebSocket frame header of an unmasked, final text frame with `length` payload bytes. */
export const frameHeader = (length: number): Buffer => {
  if (length < 126) return Buffer.from([0x81, length])
  if (length < 65_536) return Buffer.from([0x81, 126, length >> 8, length & 0xff])
  const header = Buffer.alloc(10)
  header[0] = 0x81
  header[1] = 127
  header.writeBigUInt64BE(BigInt(length), 2)
  return header
}

/** One server-to-client text frame carrying `payload` (ASCII/UTF-8). */
export const frameText = (payload: string): Buffer => {
  const body = Buffer.from(payload, "utf8")
  return Buffer.concat([frameHeader(body.length), body])
}

/** Many text frames back to back, ready to be written to a socket in one call. */
export const frameChunk = (payloads: ReadonlyArray<string>): Buffer => Buffer.concat(payloads.map(frameText))

/** A paced message: `template` with its `E` replaced by `sentAt` (monotonic microseconds, an integer). */
export const pacedMessage = (template: string, sentAt: number): string => {
  const end = template.indexOf(",", PREFIX.length)
  return PREFIX + Math.round(sentAt) + template.slice(end)
}

/** Reads the send timestamp of a paced message (NaN when it has none). */
export const readSendStamp = (message: string): number => {
  if (!message.startsWith(PREFIX)) return Number.NaN
  const end = message.indexOf(",", PREFIX.length)
  return end < 0 ? Number.NaN : Number(message.slice(PREFIX.length, end))
}

/**
 * Monotonic microseconds on the system-wide clock (`CLOCK_MONOTONIC`, the
 * base of `process.hrtime`), comparable across processes on one machine.
 * Reads `performance.now()` (cheap) plus an offset sampled once.
 */
export const monoMicros: () => number = (() => {
  let best = Number.POSITIVE_INFINITY
  let offset = 0
  for (let i = 0; i < 5; i++) {
    const before = performance.now()
    const hr = Number(process.hrtime.bigint() / 1000n)
    const after = performance.now()
    if (after - before < best) {
      best = after - before
      offset = hr - ((before + after) / 2) * 1000
    }
  }
  return () => performance.now() * 1000 + offset
})()
