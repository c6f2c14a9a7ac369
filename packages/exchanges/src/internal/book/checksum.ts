/**
 * The venues' book checksums over a `Side` pair, as their docs define them,
 * shared with `Okx.checksum` and `Kraken.checksum` (which keep the same rules
 * over their own map books): OKX interleaves the best 25 bids and asks as
 * `bidPx:bidSz:askPx:askSz…` with the strings as received (signed CRC32);
 * Kraken writes the best 10 asks then the best 10 bids with the pair's
 * precision, the decimal point removed and leading zeros stripped
 * (unsigned CRC32).
 */
import { crc32Ascii, crc32Finish } from "../crc32.ts"
import type { Side } from "./levels.ts"

/** OKX's checksum of a book: computed over the texts, allocating nothing. */
export const okx = (bids: Side, asks: Side): number => {
  let crc = 0xffffffff
  let first = true
  for (let i = 0; i < 25; i++) {
    if (i < bids.length) {
      if (!first) crc = crc32Ascii(crc, ":")
      crc = crc32Ascii(crc32Ascii(crc32Ascii(crc, bids.priceText(i)), ":"), bids.sizeText(i))
      first = false
    }
    if (i < asks.length) {
      if (!first) crc = crc32Ascii(crc, ":")
      crc = crc32Ascii(crc32Ascii(crc32Ascii(crc, asks.priceText(i)), ":"), asks.sizeText(i))
      first = false
    }
  }
  return crc32Finish(crc) | 0
}

/** A number as Kraken's checksum writes it: fixed `decimals`, no point, no leading zeros. */
export const krakenField = (value: number, decimals: number): string =>
  value.toFixed(decimals).replace(".", "").replace(/^0+/, "")

/** Kraken's checksum of a book with a pair's precision. */
export const kraken = (bids: Side, asks: Side, precision: { readonly price: number; readonly qty: number }): number => {
  let crc = 0xffffffff
  for (let i = 0; i < 10 && i < asks.length; i++) {
    crc = crc32Ascii(
      crc32Ascii(crc, krakenField(asks.price(i), precision.price)),
      krakenField(asks.size(i), precision.qty)
    )
  }
  for (let i = 0; i < 10 && i < bids.length; i++) {
    crc = crc32Ascii(
      crc32Ascii(crc, krakenField(bids.price(i), precision.price)),
      krakenField(bids.size(i), precision.qty)
    )
  }
  return crc32Finish(crc)
}
