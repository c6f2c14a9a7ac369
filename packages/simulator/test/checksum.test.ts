/**
 * The book checksums against the venues' own worked examples: OKX's two documented books (signed CRC32 of
 * the interleaved strings, −1881014294 and 831078360) and Kraken's v2 guide book (3310070434, precision
 * 1 and 8). The venue tests check that every book message carries the checksum of the book it leaves.
 */
import { assert, describe, it } from "@effect/vitest"
import { Checksum } from "../src/index.ts"

describe("Checksum", () => {
  it("OKX: the documented examples, levels paired and unpaired", () => {
    assert.strictEqual(Checksum.okx([["3366.8", "9"], ["3368", "8"]], [["3366.1", "7"], ["3366", "6"]]), -1881014294)
    assert.strictEqual(Checksum.okx([["3366.8", "9"], ["3368", "8"], ["3372", "8"]], [["3366.1", "7"]]), 831078360)
  })

  it("Kraken v2: the guide's example book, fields with the pair's precision, dot and leading zeros removed", () => {
    const asks = [
      ["45285.2", "0.00100000"],
      ["45286.4", "1.54571953"],
      ["45286.6", "1.54571109"],
      ["45289.6", "1.54560911"],
      ["45290.2", "0.15890660"],
      ["45291.8", "1.54553491"],
      ["45294.7", "0.04454749"],
      ["45296.1", "0.35380000"],
      ["45297.5", "0.09945542"],
      ["45299.5", "0.18772827"]
    ] as const
    const bids = [
      ["45283.5", "0.10000000"],
      ["45283.4", "1.54582015"],
      ["45282.1", "0.10000000"],
      ["45281.0", "0.10000000"],
      ["45280.3", "1.54592586"],
      ["45279.0", "0.07990000"],
      ["45277.6", "0.03310103"],
      ["45277.5", "0.30000000"],
      ["45277.3", "1.54602737"],
      ["45276.6", "0.15445238"]
    ] as const
    assert.strictEqual(Checksum.kraken(asks, bids), 3310070434)
    assert.strictEqual(Checksum.krakenField("0.00100000"), "100000")
  })
})
