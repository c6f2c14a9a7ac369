/**
 * Runs the demo as a user would (`node src/main.ts --duration 8`) and checks
 * that it ends with every connection and every fault recovered, exit code 0.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"

const run = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
    execFile(process.execPath, ["src/main.ts", ...args], { cwd: new URL("..", import.meta.url).pathname, timeout: 45_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    })
  })

describe("pnpm demo", () => {
  it("--duration 8 injects every fault kind and ends with everything recovered", async () => {
    const { code, stdout, stderr } = await run(["--duration", "8"])
    const lines = stdout.trim().split("\n")
    assert.strictEqual(lines[lines.length - 1], "recovered: 9/9 connections, 9/9 faults", stdout + stderr)
    for (const kind of ["drop", "half-open", "stall", "refuse", "close", "sequence gap", "slow", "latency", "notice"]) {
      assert.match(stdout, new RegExp(`^${kind}`, "m"), `${kind} was injected and reported`)
    }
    assert.match(stdout, /^t=\d+s open \d\/9/m, "without a TTY it prints plain progress lines")
    assert.strictEqual(code, 0)
  }, 60_000)

  it("rejects a bad argument with usage and exit code 2", async () => {
    const { code, stderr } = await run(["--duration", "soon"])
    assert.strictEqual(code, 2)
    assert.include(stderr, "usage: pnpm demo")
  })
})
