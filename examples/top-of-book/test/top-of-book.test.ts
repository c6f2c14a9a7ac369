/**
 * Runs the top-of-book example as a user would (`node src/main.ts`) and
 * checks what it prints: each book live from its first snapshot (Binance's
 * from REST), each fault answered by a resync with its reason (a dropped
 * update as `gap`, a wrong checksum as `checksum`, a crossed message as
 * `crossed`, the Bybit restart as `restart`, the cut and the rotation as
 * `reconnect`), OKX's seqId reset reported while its book stays live, the
 * Binance 429 honoured, and every book equal to the simulator's true book
 * at the end, exit code 0.
 */
import { assert, describe, it } from "@effect/vitest"
import { runExample } from "@kharbranth/test-utils/example"

describe("top-of-book", () => {
  it("keeps four books equal to the true book through gaps, checksum faults, a crossed message, restarts, a cut, rotations and REST faults", async () => {
    const { code, stdout, stderr } = await runExample(import.meta.url, { timeout: 40_000 })
    const all = stdout + stderr
    assert.strictEqual(code, 0, all)
    for (const venue of ["okx", "bybit", "kraken", "binance"]) {
      assert.match(stdout, new RegExp(`^${venue}: \\S+ Syncing -> Live$`, "m"), all)
      assert.match(stdout, new RegExp(`^${venue}: \\S+ live again after reconnect in \\d+ ms$`, "m"), all)
    }
    for (const venue of ["okx", "bybit", "binance"]) {
      assert.match(stdout, new RegExp(`^${venue}: \\S+ Live -> Resyncing\\(gap\\)$`, "m"), all)
    }
    assert.match(stdout, /^okx: BTC-USDT live again after checksum in \d+ ms$/m, all)
    assert.match(stdout, /^kraken: BTC\/USD Live -> Resyncing\(checksum\)$/m, all)
    assert.match(stdout, /^bybit: BTCUSDT live again after crossed in \d+ ms$/m, all)
    assert.match(stdout, /^bybit: BTCUSDT live again after restart in \d+ ms$/m, all)
    assert.match(stdout, /^okx: BTC-USDT numbering reset from \d+ to \d+ \(book stays live\)$/m, all)
    assert.match(stdout, /^binance: REST snapshot of BTCUSDT \(weight 50, waited \d+ ms\)$/m, all)
    assert.match(stdout, /^binance: REST answered 429, every snapshot waits 1000 ms$/m, all)
    assert.strictEqual(stdout.match(/^t=\d+s {2}okx /gm)?.length, 12, all)
    assert.match(stdout, /^consistent: 4\/4 books, every fault answered: 4\/4 venues$/m, all)
  })
})
