/**
 * Runs the quick start as a user would and checks what it prints: trades
 * from both sessions around the dropped connection, and a clean close.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"

describe("pnpm quickstart", () => {
  it("prints 25 trades across a reconnect and closes cleanly", async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        ["src/main.ts"],
        { cwd: new URL("..", import.meta.url).pathname, timeout: 20_000 },
        (error, stdout) =>
          resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout })
      )
    })
    assert.strictEqual(code, 0)
    assert.strictEqual(stdout.match(/^trade #\d+ BTCUSDT/gm)?.length, 25)
    assert.match(stdout, /session 2 open, subscribing/)
    assert.match(stdout, /over 2 sessions \(1 reconnect\), closed cleanly/)
  })
})
