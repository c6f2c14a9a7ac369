/**
 * Ctrl-C on `pnpm demo` and `pnpm simulator` as a terminal delivers it: SIGINT to the whole foreground
 * process group (pnpm, any shell it started, and the program). Each must end with exit code 0, without
 * pnpm's `ERR_PNPM_RECURSIVE_RUN_FIRST_FAIL … signal "SIGINT"`.
 *
 * pnpm is started the way a user starts it from a terminal: its own script (`npm_execpath`, set by
 * `pnpm test`) on the Node that runs it (`npm_node_execpath`), else `pnpm` from the PATH; with the
 * environment of a terminal (no `node_modules/.bin` on the PATH, no `npm_*`/`pnpm_*` variables).
 */
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { delimiter } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const env: Record<string, string> = {}
for (const [key, value] of Object.entries(process.env)) {
  if (value !== undefined && !/^(npm|pnpm)_/i.test(key)) env[key] = value
}
env["FORCE_COLOR"] = "0"
env["PATH"] = (process.env["PATH"] ?? "").split(delimiter).filter((dir) => !/node_modules[\\/]\.bin/.test(dir)).join(
  delimiter
)
const pnpmScript = process.env["npm_execpath"]
const [command, prefix] = pnpmScript !== undefined && /pnpm\.c?js$/.test(pnpmScript)
  ? [process.env["npm_node_execpath"] ?? process.execPath, [pnpmScript]]
  : ["pnpm", []]

interface Run {
  readonly child: ChildProcess
  readonly output: () => string
  /** Resolves when the output matches, rejects after `ms`. */
  readonly waitFor: (pattern: RegExp, ms: number) => Promise<void>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

/** `pnpm <args>` in a process group of its own (its leader is the pnpm process), as a terminal runs it. */
const start = (args: ReadonlyArray<string>): Run => {
  const child = spawn(command, [...prefix, ...args], {
    cwd: root,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    env
  })
  let out = ""
  const listeners = new Set<() => void>()
  const append = (chunk: Buffer) => {
    out += chunk.toString()
    for (const listener of [...listeners]) listener()
  }
  child.stdout!.on("data", append)
  child.stderr!.on("data", append)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal }))
  )
  const waitFor = (pattern: RegExp, ms: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(check)
        reject(new Error(`no ${pattern} within ${ms} ms:\n${out}`))
      }, ms)
      function check() {
        if (!pattern.test(out)) return
        clearTimeout(timer)
        listeners.delete(check)
        resolve()
      }
      listeners.add(check)
      check()
    })
  return { child, output: () => out, waitFor, exited }
}

/** Ctrl-C: SIGINT to the whole group. Then the group must be gone within `ms`, else it is killed and the test fails. */
const ctrlC = async (run: Run, ms: number) => {
  process.kill(-run.child.pid!, "SIGINT")
  const sent = performance.now()
  const timer = setTimeout(() => {
    try {
      process.kill(-run.child.pid!, "SIGKILL")
    } catch {
      // already gone
    }
  }, ms)
  const exit = await run.exited
  clearTimeout(timer)
  return { ...exit, took: performance.now() - sent }
}

const noPnpmError = (out: string) => {
  assert.notMatch(out, /ERR_PNPM|ELIFECYCLE|Command failed/, out)
}

/**
 * Starts `pnpm <args>`, waits for `ready` in its output, sends one Ctrl-C
 * (even if it never got ready, so nothing is left running), and checks what
 * every Ctrl-C must give: no pnpm error, exit code 0, a prompt stop.
 */
const interrupted = async (args: ReadonlyArray<string>, ready: RegExp, readyWithin: number) => {
  const run = start(args)
  const up = await run.waitFor(ready, readyWithin).then(() => undefined, (e: unknown) => e)
  const exit = await ctrlC(run, 10_000)
  if (up !== undefined) throw up
  const out = run.output()
  noPnpmError(out)
  assert.deepStrictEqual([exit.code, exit.signal], [0, null], out)
  assert.isBelow(exit.took, 5_000, "stops promptly")
  return out
}

describe("Ctrl-C", () => {
  it("on `pnpm demo`: the summary says interrupted, counts only the faults injected, exit code 0", async () => {
    // Without a TTY the demo prints a progress line every 2 s; wait until a fault has been injected.
    const out = await interrupted(
      ["demo", "--duration", "20"],
      /^t=\d+s open \d\/9 .* faults [1-9]\/9 injected/m,
      30_000
    )
    const last = out.trim().split("\n").at(-1)!
    const m =
      /^interrupted after [\d.]+ s of 20 s: recovered: \d\/9 connections(?: \(\d still recovering\))?, (\d)\/(\d) faults injected so far(?: \((.*)\))?$/
        .exec(last)
    assert.isNotNull(m, last)
    const injected = Number(m![2])
    assert.isAtLeast(injected, 1)
    assert.isBelow(injected, 9)
    assert.include(m![3] ?? "", `${9 - injected} not reached`, "faults never injected are not counted as failures")
  }, 60_000)

  it("on `pnpm simulator`: it closes, exit code 0", async () => {
    const out = await interrupted(["simulator", "--quiet"], /Simulator listening on/, 20_000)
    assert.match(out, /Received SIGINT, closing\.\.\.\nClosed\./)
  }, 40_000)
})
