/**
 * Runner processes for the cluster's integration tests: each is
 * `kharbranth-runner` started with `process.execPath` (the node binary
 * itself, so its PID is the one a signal must reach), its output kept for
 * the test's failure message, killed by PID when the test ends.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url))
const definitions = fileURLToPath(new URL("./definitions.ts", import.meta.url))

export interface Runner {
  readonly port: number
  readonly address: string
  readonly pid: number
  readonly output: Array<string>
  readonly process: ChildProcess
  /** Resolves with the exit code or signal when the process ends. */
  readonly exited: Promise<
    { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly at: number }
  >
  readonly signal: (signal: NodeJS.Signals) => void
}

export const startRunner = (options: {
  readonly url: string
  readonly port: number
  readonly prefix?: string
  readonly env?: Readonly<Record<string, string>>
}): Runner => {
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      KHARBRANTH_PG_URL: options.url,
      KHARBRANTH_RUNNER_HOST: "127.0.0.1",
      KHARBRANTH_RUNNER_PORT: String(options.port),
      KHARBRANTH_DEFINITIONS: definitions,
      KHARBRANTH_RECONCILE_INTERVAL: "2 seconds",
      ...(options.prefix === undefined ? {} : { KHARBRANTH_PREFIX: options.prefix }),
      ...options.env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const output: Array<string> = []
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) if (line.length > 0) output.push(line)
    if (output.length > 2000) output.splice(0, output.length - 2000)
  }
  child.stdout!.on("data", keep)
  child.stderr!.on("data", keep)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() }))
  )
  return {
    port: options.port,
    address: `127.0.0.1:${options.port}`,
    pid: child.pid!,
    output,
    process: child,
    exited,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    }
  }
}

/** Kills what is left (SIGCONT first, for a frozen one) and waits for every exit. */
export const stopAll = async (runners: ReadonlyArray<Runner>) => {
  for (const r of runners) {
    r.signal("SIGCONT")
    r.signal("SIGKILL")
  }
  await Promise.all(runners.map((r) => r.exited))
}
