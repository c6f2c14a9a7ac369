/**
 * Runs the demo as a user would (`node src/main.ts --duration 8`) and checks
 * that it ends with every connection and every fault recovered, exit code 0;
 * and that `--live` with nothing reachable stops early with the reasons.
 */
import { assert, describe, it } from "@effect/vitest"
import { runExample } from "@kharbranth/test-utils/example"
import { createServer } from "node:net"

const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runExample(import.meta.url, { args, env, timeout: 45_000 })

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
const closedPort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(
        () => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")))
      )
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

  it("--live where nothing can connect stops after 10 s with each connection's last error, exit code 1", async () => {
    // What a machine without internet sees: every dial fails at once (here: refused by 127.0.0.1).
    const port = await closedPort()
    const started = performance.now()
    const { code, stdout, stderr } = await run(["--live"], { KHARBRANTH_DEMO_LIVE_ORIGIN: `ws://127.0.0.1:${port}` })
    const took = performance.now() - started
    const lines = stdout.trim().split("\n")
    assert.match(
      lines[lines.length - 1]!,
      /^stopped after 1\d\.\d s: none of the 9 connections could open, every dial failed \(last errors above; --live needs internet access\)$/,
      stdout + stderr
    )
    assert.isBelow(took, 20_000, "stops at 10 s, not at the end of the 30 s run")
    // Progress lines name the connections that are not open and why; the summary shows each one's last error.
    assert.match(stdout, /^ {2}not open: binance-btc, binance-eth — last error: ConnectFailed: .*ECONNREFUSED/m)
    for (const name of ["binance-btc", "okx-eth", "bybit-btc", "coinbase-btc", "kraken-btc", "hyperliquid-btc"]) {
      assert.match(stdout, new RegExp(`^${name} +0 +\\d+ +0 +ConnectFailed: .*ECONNREFUSED`, "m"), name)
    }
    assert.strictEqual(code, 1)
  }, 40_000)

  it("rejects a bad argument with usage and exit code 2", async () => {
    const { code, stderr } = await run(["--duration", "soon"])
    assert.strictEqual(code, 2)
    assert.include(stderr, "usage: pnpm demo")
  })
})
