/**
 * Runs the quick start as a user would and checks what it prints: trades
 * from both sessions around the dropped connection, and a clean close.
 */
import { assert, describe, it } from "@effect/vitest"
import { runExample } from "@kharbranth/test-utils/example"

describe("pnpm quickstart", () => {
  it("prints 25 trades across a reconnect and closes cleanly", async () => {
    const { code, stdout } = await runExample(import.meta.url, { timeout: 20_000 })
    assert.strictEqual(code, 0)
    assert.strictEqual(stdout.match(/^trade #\d+ BTCUSDT/gm)?.length, 25)
    assert.match(stdout, /session 2 open, subscribing/)
    assert.match(stdout, /over 2 sessions \(1 reconnect\), closed cleanly/)
  })
})
