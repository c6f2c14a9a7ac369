/**
 * Runs the top-of-book example as a user would (`node src/main.ts`) and
 * checks what it prints: each venue's gap caught (by sequence for OKX and
 * Bybit, by checksum for Kraken), a rotation per venue, the replay after the
 * drop, the silenced Kraken stream resubscribed, and every book consistent
 * at the end, exit code 0.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"

describe("top-of-book", () => {
  it("keeps three books consistent through gaps, rotations, a drop and a silenced stream", async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ["src/main.ts"], { cwd: new URL("..", import.meta.url).pathname, timeout: 30_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
    })
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
    assert.strictEqual(stdout.match(/^t=\d+s {2}okx /gm)?.length, 11, all)
    assert.match(stdout, /^consistent: 3\/3 books, every fault answered: 3\/3 venues$/m, all)
  })
})
