/**
 * Order-book checksums as the venues compute them. Kraken v2 sends an unsigned CRC32 of the top 10 asks
 * (low to high) then the top 10 bids (high to low), each price and quantity written with the instrument's
 * precision, the decimal point removed and leading zeros stripped. OKX sends a signed CRC32 of up to 25
 * interleaved `bidPx:bidSz:askPx:askSz` pairs. CRC32 itself comes from `node:zlib` (Node >= 22.2).
 *
 * @since 0.1.0
 */
import { crc32 } from "node:zlib"

/**
 * A price level already formatted as the venue writes it on the wire (`["97000.1", "0.50000000"]`).
 *
 * @category models
 * @since 0.1.0
 */
export type TextLevel = readonly [price: string, qty: string]

/**
 * Drops the decimal point and the leading zeros, as Kraken's checksum guide describes (`"0.00100000"` → `"100000"`).
 *
 * @category utils
 * @since 0.1.0
 */
export const krakenField = (value: string): string => value.replace(".", "").replace(/^0+/, "")

/**
 * The Kraken v2 `book` checksum: `asks` sorted low to high and `bids` high to low, top 10 of each, as an
 * unsigned 32-bit integer.
 *
 * @category utils
 * @since 0.1.0
 */
export const kraken = (asks: ReadonlyArray<TextLevel>, bids: ReadonlyArray<TextLevel>): number => {
  let text = ""
  for (const [price, qty] of asks.slice(0, 10)) text += krakenField(price) + krakenField(qty)
  for (const [price, qty] of bids.slice(0, 10)) text += krakenField(price) + krakenField(qty)
  return crc32(text) >>> 0
}

/**
 * The OKX `books` checksum: up to 25 levels, bid then ask at each depth, joined by `:`, as a signed 32-bit integer.
 *
 * @category utils
 * @since 0.1.0
 */
export const okx = (asks: ReadonlyArray<TextLevel>, bids: ReadonlyArray<TextLevel>): number => {
  const parts: Array<string> = []
  for (let i = 0; i < 25; i++) {
    const bid = bids[i]
    const ask = asks[i]
    if (bid !== undefined) parts.push(`${bid[0]}:${bid[1]}`)
    if (ask !== undefined) parts.push(`${ask[0]}:${ask[1]}`)
  }
  return crc32(parts.join(":")) | 0
}
