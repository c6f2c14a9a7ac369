/**
 * The CLI end to end: spawn `node src/cli.ts --port 0`, read the endpoints it prints, connect a real
 * client, apply a fault typed on stdin, then SIGTERM and expect a clean exit (code 0).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { connect, msg } from "./utils/client.ts"

const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url))

describe("cli", () => {
  it.live("prints endpoints, serves clients, applies stdin faults, exits 0 on SIGTERM", () =>
    Effect.gen(function*() {
      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn(process.execPath, [cli, "--port", "0", "--rate", "50"], { stdio: ["pipe", "pipe", "pipe"] })
        ),
        (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
      )
      let out = ""
      const waiters = new Set<() => void>()
      const append = (chunk: Buffer) => {
        out += chunk.toString()
        for (const w of [...waiters]) w()
      }
      child.stdout.on("data", append)
      child.stderr.on("data", append)
      const waitOutput = (pattern: RegExp) =>
        Effect.callback<RegExpExecArray>((resume) => {
          const check = () => {
            const m = pattern.exec(out)
            if (m !== null) {
              waiters.delete(check)
              resume(Effect.succeed(m))
            }
          }
          waiters.add(check)
          check()
          return Effect.sync(() => waiters.delete(check))
        }).pipe(Effect.timeout("10 seconds"), Effect.orDie)
      yield* waitOutput(/Simulator listening on/)
      const okx = /^okx\s+(ws:\S+)$/m.exec(out)?.[1]
      assert.match(okx ?? "", /^ws:\/\/127\.0\.0\.1:\d+\/okx\/ws\/v5\/public$/)
      for (
        const venue of [
          "binance",
          "binanceCombined",
          "binanceUsdmPublic",
          "binanceUsdmPublicCombined",
          "binanceUsdmMarket",
          "binanceUsdmMarketCombined",
          "binanceUsdmLegacy",
          "binanceUsdmLegacyCombined",
          "bybit",
          "coinbase",
          "kraken",
          "hyperliquid"
        ]
      ) {
        assert.match(out, new RegExp(`^${venue}\\s+ws://`, "m"))
      }
      assert.match(out, /^binanceUsdmMarket\s+ws:\/\/127\.0\.0\.1:\d+\/binance-usdm\/market\/ws$/m)
      const c = yield* connect(okx!)
      c.send({ op: "subscribe", args: [{ channel: "trades", instId: "BTC-USDT" }] })
      yield* c.nextN(3, msg((j) => j.data !== undefined))
      child.stdin.write("close:okx,code=4321,reason=from-stdin\n")
      const closed = yield* c.closed
      assert.deepStrictEqual([closed.code, closed.reason], [4321, "from-stdin"])
      const exit = Effect.callback<number | null>((resume) => {
        child.once("exit", (code) => resume(Effect.succeed(code)))
      })
      child.kill("SIGTERM")
      assert.strictEqual(yield* exit, 0)
      assert.match(out, /Closed\./)
    }))

  it.live("one Ctrl-C delivered twice (by the terminal and by pnpm) still closes gracefully, exit code 0", () =>
    Effect.gen(function*() {
      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn(process.execPath, [cli, "--port", "0", "--quiet"], { stdio: ["pipe", "pipe", "pipe"] })
        ),
        (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
      )
      let out = ""
      const exit = Effect.callback<number | null>((resume) => {
        if (child.exitCode !== null) return resume(Effect.succeed(child.exitCode))
        child.once("exit", (code) => resume(Effect.succeed(code)))
      })
      const waitOutput = (pattern: RegExp) =>
        Effect.callback<void>((resume) => {
          const check = () => {
            if (pattern.test(out)) {
              child.stdout.off("data", check)
              resume(Effect.void)
            }
          }
          child.stdout.on("data", check)
          check()
          return Effect.sync(() => child.stdout.off("data", check))
        }).pipe(Effect.timeout("10 seconds"), Effect.orDie)
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
      child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()))
      yield* waitOutput(/Simulator listening on/)
      // A client that never answers the close frame keeps the server in its close grace (500 ms), so the
      // second SIGINT surely arrives while it is closing.
      const c = yield* connect(/^okx\s+(ws:\S+)$/m.exec(out)![1]!)
      ;(c.ws as unknown as { _socket: { pause: () => void } })._socket.pause()
      child.kill("SIGINT")
      yield* waitOutput(/Received SIGINT/)
      assert.isTrue(child.kill("SIGINT"), "the second SIGINT reached the process while it was closing")
      assert.strictEqual(yield* exit.pipe(Effect.timeout("10 seconds"), Effect.orDie), 0, out)
      assert.strictEqual(out.match(/Received SIGINT/g)?.length, 1)
      assert.match(out, /Closed\./)
    }))

  it.live("--help prints usage and exits 0", () =>
    Effect.callback<{ code: number | null; out: string }>((resume) => {
      const child = spawn(process.execPath, [cli, "--help"], { stdio: ["ignore", "pipe", "pipe"] })
      let out = ""
      child.stdout.on("data", (c: Buffer) => (out += c.toString()))
      child.once("exit", (code) => resume(Effect.succeed({ code, out })))
      return Effect.sync(() => child.kill("SIGKILL"))
    }).pipe(Effect.map(({ code, out }) => {
      assert.strictEqual(code, 0)
      assert.match(out, /--fault SPEC/)
      assert.match(out, /binanceUsdm/)
      assert.match(out, /seqReset/)
    })))
})
