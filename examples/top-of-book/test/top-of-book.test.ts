/**
 * Runs the top-of-book example as a user would (`node src/main.ts`) and
 * checks what it prints: each venue's gap caught (by sequence for OKX and
 * Bybit, by checksum for Kraken), a rotation per venue (Binance's on its
 * combined-stream notice), the replay after the drop, the silenced Kraken
 * stream resubscribed, OKX's seqId reset delivered, Kraken's unknown pair
 * rejected for good beside the good one, the Binance tape without a missed
 * or repeated trade, and every book consistent at the end, exit code 0.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"

describe("top-of-book", () => {
  it("keeps three books and a tape consistent through gaps, rotations, a drop, a silenced stream, a seqId reset and a rejected pair", async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          process.execPath,
          ["src/main.ts"],
          { cwd: new URL("..", import.meta.url).pathname, timeout: 30_000 },
          (error, stdout, stderr) =>
            resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
        )
      }
    )
    const all = stdout + stderr
    assert.strictEqual(code, 0, all)
    assert.match(stdout, /^okx: gap on books:BTC-USDT: expected (\d+), got \d+ \(restart\)$/m, all)
    assert.match(stdout, /^bybit: gap on orderbook\.50\.BTCUSDT: expected \d+, got \d+ \(restart\)$/m, all)
    assert.match(stdout, /^kraken: checksum \d+ is not the venue's \d+, resubscribing for a fresh snapshot$/m, all)
    for (const [venue, reason] of [["okx", "notice"], ["kraken", "notice"], ["bybit", "scheduled"]] as const) {
      assert.match(stdout, new RegExp(`^${venue}: rotating \\(${reason}\\)$`, "m"), all)
      assert.match(stdout, new RegExp(`^${venue}: rotated to session generation 1 in \\d+ ms$`, "m"), all)
      assert.match(stdout, new RegExp(`^${venue}: ${venue}/0\\.1 lost \\(Closed\\), reconnecting$`, "m"), all)
      assert.match(stdout, new RegExp(`^${venue}: replayed 1 subscription\\(s\\) on session 2$`, "m"), all)
      assert.match(stdout, new RegExp(`^${venue} +best [\\d.]+ / [\\d.]+ .*: consistent$`, "m"), all)
    }
    assert.match(stdout, /^kraken: book:BTC\/USD quiet for \d+ ms \(resubscribe\)$/m, all)
    assert.match(stdout, /^okx: books:BTC-USDT numbering reset from \d+ to 1 \(update delivered\)$/m, all)
    assert.match(stdout, /^ +1 seqId reset\(s\) reported, 1 reset update\(s\) applied, checksum ok after$/m, all)
    assert.match(
      stdout,
      /^kraken: SubscriptionError \(permanent: true\) for book:XBT\/USD: Currency pair not supported XBT\/USD$/m,
      all
    )
    assert.match(
      stdout,
      /^ +book:XBT\/USD rejected \(permanent: true\), registry: failed; book:BTC\/USD confirmed$/m,
      all
    )
    assert.match(stdout, /^binance: rotating \(notice\)$/m, all)
    assert.match(stdout, /^binance: rotated to session generation 1 in \d+ ms$/m, all)
    assert.match(
      stdout,
      /^binance +tape btcusdt@trade +\d+ trades, ids \d+\.\.\d+: 0 missed, 0 repeated; 1 rotation\(s\) .*: consistent$/m,
      all
    )
    assert.strictEqual(stdout.match(/^t=\d+s {2}okx /gm)?.length, 11, all)
    assert.match(stdout, /^consistent: 4\/4 books and tapes, every fault answered: 4\/4 venues$/m, all)
  })
})
