/**
 * Running an example as a user would: `node src/main.ts` on this Node, in
 * the example's own folder, with its exit code and everything it printed.
 */
import { execFile } from "node:child_process"

/** How a run ended: the exit code (null when killed), stdout and stderr. */
export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `src/main.ts` of the example whose test file is `testUrl` (pass
 * `import.meta.url`), with `args`, killed after `timeout` ms.
 */
export const runExample = (
  testUrl: string,
  options: {
    readonly timeout: number
    readonly args?: ReadonlyArray<string> | undefined
    readonly env?: Readonly<Record<string, string>> | undefined
  }
): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      ["src/main.ts", ...(options.args ?? [])],
      {
        cwd: new URL("..", testUrl).pathname,
        timeout: options.timeout,
        ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } })
      },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    )
  })
