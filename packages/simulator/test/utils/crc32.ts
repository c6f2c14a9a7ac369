/**
 * An independent, table-based CRC32 (IEEE 802.3, reflected, init and final xor 0xFFFFFFFF) used by the
 * tests to check the simulator's checksums without sharing its code (which uses `node:zlib`).
 */
const table = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

/** CRC32 of the UTF-8 (here: ASCII) bytes of `text`, unsigned. */
export const crc32 = (text: string): number => {
  let crc = 0xffffffff
  for (const byte of Buffer.from(text, "utf8")) crc = (table[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
