/**
 * Runs the hello example as a user would (`node src/main.ts`) and checks
 * what it prints: the subscription ack, nine trades, and a clean close.
 */
import { assert, describe, it } from "@effect/vitest"
import { runExample } from "@kharbranth/test-utils/example"

describe("hello", () => {
  it("prints ten text frames from the simulator's Binance feed and closes", async () => {
    const { code, stdout, stderr } = await runExample(import.meta.url, { timeout: 15_000 })
    assert.strictEqual(code, 0, stdout + stderr)
    assert.match(stdout, /^simulator listening on ws:\/\/127\.0\.0\.1:\d+\/binance\/ws$/m)
    assert.strictEqual(stdout.match(/^session 1: /gm)?.length, 10)
    assert.match(stdout, /^session 1: \{"result":null,"id":1\}$/m)
    assert.strictEqual(stdout.match(/^session 1: \{"e":"trade",.*"s":"BTCUSDT"/gm)?.length, 9)
    assert.match(stdout, /^closed after \d+ frames$/m)
  })
})
