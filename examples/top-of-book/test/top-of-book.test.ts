/**
 * Runs the top-of-book example as a user would (`node src/main.ts`) and
 * checks what it prints: each venue's injected gap caught and restarted, a
 * fresh snapshot on every new session, and every book consistent at the
 * end, exit code 0.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"

describe("top-of-book", () => {
  it("catches a gap on each venue, restarts, rebuilds every book and ends consistent", async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ["src/main.ts"], { cwd: new URL("..", import.meta.url).pathname, timeout: 20_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
    })
    const all = stdout + stderr
    assert.strictEqual(code, 0, all)
    assert.match(stdout, /^okx-btc-usdt: sequence gap: prevSeqId \d+ is not the last seqId \d+ on session 1, restarting$/m, all)
    assert.match(stdout, /^bybit-btcusdt: sequence gap: u \d+ is not the last u \d+ \+ 1 on session 1, restarting$/m, all)
    assert.match(stdout, /^kraken-btc-usd: missed update: checksum \d+ is not the venue's \d+ on session 1, restarting$/m, all)
    for (const name of ["okx-btc-usdt", "bybit-btcusdt", "kraken-btc-usd"]) {
      for (const session of [1, 2, 3]) {
        assert.match(stdout, new RegExp(`^${name}: session ${session} snapshot, \\d+ bids, \\d+ asks, best [\\d.]+ / [\\d.]+$`, "m"), all)
      }
      assert.match(stdout, new RegExp(`^${name}: session 2 lost \\(1006, no close frame\\), reconnecting$`, "m"), all)
      assert.match(stdout, new RegExp(`^${name} +best [\\d.]+ / [\\d.]+ +session 3, 3 snapshots, \\d+ updates, 1 gap\\(s\\) caught, checksum (ok|n/a): consistent$`, "m"), all)
    }
    assert.strictEqual(stdout.match(/^t=\ds {2}okx /gm)?.length, 6, all)
    assert.match(stdout, /^consistent: 3\/3 books, gaps caught: 3\/3$/m, all)
  })
})
