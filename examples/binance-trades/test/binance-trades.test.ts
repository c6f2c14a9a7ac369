/**
 * Runs the binance-trades example as a user would (`node src/main.ts`) and
 * checks what it prints: a running VWAP over 60 decoded trades, the decode
 * failure reported and skipped, the refused upgrade (429) in the events and
 * the recovery on session 2, and the final stop with typed errors, exit 0.
 */
import { assert, describe, it } from "@effect/vitest"
import { runExample } from "@kharbranth/test-utils/example"

describe("binance-trades", () => {
  it("decodes 60 trades across a refused reconnect, reports a decode failure, stops for good", async () => {
    const { code, stdout, stderr } = await runExample(import.meta.url, { timeout: 20_000 })
    const all = stdout + stderr
    assert.strictEqual(code, 0, all)
    assert.strictEqual(
      stdout.match(/^\d+ trades, last #\d+ [\d.]+ BTCUSDT @ [\d.]+, VWAP 9\d{4}\.\d\d$/gm)?.length,
      6,
      all
    )
    assert.match(stdout, /^skipped a message that is neither a trade nor an ack: \{"e":"serverShutdown"/m, all)
    assert.match(stdout, /^ {2}SchemaError: /m, all)
    assert.match(stdout, /^ {2}event: Disconnected from session 1: Closed \(code 1006\)$/m, all)
    assert.match(
      stdout,
      /^ {2}event: DialFailed \(attempt \d+\): ConnectFailed \(HTTP 429, Retry-After 1000 ms\)$/m,
      all
    )
    assert.match(stdout, /^ {2}event: Reconnecting in 1000 ms/m, all)
    assert.match(stdout, /^session 2 open, subscribing/m, all)
    assert.match(stdout, /^VWAP of 60 trades: 9\d{4}\.\d\d over [\d.]+ BTC$/m, all)
    assert.match(stdout, /^ {2}event: DialFailed \(attempt \d+\): ConnectFailed \(HTTP 503/m, all)
    assert.match(stdout, /^stopped for good: ConnectFailed \(HTTP 503/m, all)
    assert.match(stdout, /^send refused: ConnectionStopped/m, all)
    assert.match(stdout, /^restart refused: ConnectionStopped/m, all)
    assert.match(stdout, /^done: 60 trades over 2 sessions, 2 refused dials$/m, all)
  })
})
