/**
 * A small table-based CRC-32 (IEEE 802.3, the zlib polynomial 0xEDB88320),
 * so order-book checksums can be verified wherever `effect` runs: Node, Bun,
 * Deno and browsers alike, with no `node:zlib`.
 */

const TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

const encoder = new TextEncoder()

/** The CRC-32 of a string's UTF-8 bytes, as an unsigned 32-bit integer. */
export const crc32 = (text: string): number => {
  const bytes = encoder.encode(text)
  let crc = 0xffffffff
  for (let i = 0; i < bytes.length; i++) {
    crc = (TABLE[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8)
  }
  return (crc ^ 0xffffffff) >>> 0
}

/**
 * Continues a CRC-32 over a string's characters, for text known to be ASCII
 * (decimal numbers and separators): no bytes are allocated. Start with
 * `0xffffffff`; finish with `crc32Finish`.
 */
export const crc32Ascii = (crc: number, text: string): number => {
  for (let i = 0; i < text.length; i++) {
    crc = (TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ?? 0) ^ (crc >>> 8)
  }
  return crc
}

/** The unsigned CRC-32 of a running `crc32Ascii` value. */
export const crc32Finish = (crc: number): number => (crc ^ 0xffffffff) >>> 0
