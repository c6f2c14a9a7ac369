/**
 * A real, throwaway PostgreSQL (>= 14) on 127.0.0.1 for tests: `startPostgres`
 * runs `initdb` into a fresh temp dir and starts a server there (as user
 * `postgres` when the process runs as root), `stop` ends it and removes the
 * dir. `createDatabase`/`dropDatabase` give each test file its own database
 * through `psql`. The binaries are Debian's (`apt-get install -y postgresql`)
 * or those in `$PG_BIN`.
 */
import { execFile } from "node:child_process"
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs"
import { chown, mkdtemp, readFile, rm } from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

declare module "vitest" {
  /** What `postgres-global-setup` hands to tests: `inject("pgAdminUrl")`. */
  export interface ProvidedContext {
    pgAdminUrl: string
  }
}

/** A running throwaway server. */
export interface Postgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string
  /** The superuser's URL (the same as `url`): for `createDatabase`/`dropDatabase`. */
  readonly adminUrl: string
  readonly port: number
  /** Stops the server at once and removes its temp dir; idempotent, never throws. */
  readonly stop: () => Promise<void>
}

const installHint = "PostgreSQL >= 14 binaries (initdb, pg_ctl) not found. Install them with " +
  "`sudo apt-get install -y postgresql` (Debian/Ubuntu; they land in /usr/lib/postgresql/<n>/bin), " +
  "or set PG_BIN to the directory that holds initdb and pg_ctl."

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const hasServerBins = (dir: string): boolean =>
  isExecutable(path.join(dir, "initdb")) && isExecutable(path.join(dir, "pg_ctl"))

/**
 * The directory holding `initdb` and `pg_ctl`: `$PG_BIN` if set, else the
 * highest `/usr/lib/postgresql/<n>/bin` (Debian's layout, not on PATH), else
 * the directory of a `pg_ctl` on PATH (symlinks followed, so the real bin dir
 * with `initdb` beside it is preferred). `undefined` when there is none.
 */
export const findPgBin = (): string | undefined => {
  const fromEnv = process.env["PG_BIN"]
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv
  const debian = "/usr/lib/postgresql"
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name) && hasServerBins(path.join(debian, name, "bin")))
      .sort((a, b) => Number(b) - Number(a))
    if (versions[0] !== undefined) return path.join(debian, versions[0], "bin")
  }
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (dir === "") continue
    const pgCtl = path.join(dir, "pg_ctl")
    if (!isExecutable(pgCtl)) continue
    try {
      const real = path.dirname(realpathSync(pgCtl))
      if (hasServerBins(real)) return real
    } catch {
      // a dangling symlink: keep the PATH dir
    }
    return dir
  }
  return undefined
}

interface Output {
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command; rejects with its stderr/stdout in the message. */
const run = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly timeout?: number } = {}
): Promise<Output> =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { cwd: options.cwd, timeout: options.timeout ?? 60_000, env: { ...process.env, LC_ALL: "C" } },
      (error, stdout, stderr) => {
        if (error === null) return resolve({ stdout, stderr })
        const output = `${stderr}${stdout}`.trim()
        const why = error.killed ? `killed (${error.signal ?? "timeout"})` : `exit ${String(error.code)}`
        reject(
          new Error(`${file} ${args.join(" ")} failed, ${why}${output === "" ? "" : `:\n${output}`}`, { cause: error })
        )
      }
    )
  })

const isRoot = (): boolean => process.getuid?.() === 0

/** Runs a server binary: as user `postgres` under root (initdb and pg_ctl refuse root), else as is. */
const runPg = (bin: string, args: ReadonlyArray<string>, cwd: string): Promise<Output> =>
  isRoot() ? run("runuser", ["-u", "postgres", "--", bin, ...args], { cwd }) : run(bin, args, { cwd })

/** Whether something already listens on 127.0.0.1:`port`. */
const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = net.createServer()
    server.once("error", () => resolve(false))
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)))
  })

/** A free port in 25400–25999: below the ephemeral range, so no outgoing connection holds it. */
const pickPort = async (): Promise<number> => {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 25400 + Math.floor(Math.random() * 600)
    if (await portFree(port)) return port
  }
  throw new Error("no free port for PostgreSQL in 25400-25999 after 20 tries")
}

/** The postmaster's pid from `postmaster.pid`, if the file is there. */
const postmasterPid = (dataDir: string): number | undefined => {
  try {
    const pid = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0])
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Synchronous last resort (process exit, signals): SIGQUIT is PostgreSQL's
 * immediate shutdown; waits up to 5 s for the postmaster, then removes the dir.
 */
const killSync = (dir: string, target: number | undefined): void => {
  if (target !== undefined && alive(target)) {
    try {
      process.kill(target, "SIGQUIT")
    } catch {
      // gone already
    }
    for (let waited = 0; waited < 5000 && alive(target); waited += 20) sleepSync(20)
    if (alive(target)) {
      try {
        process.kill(target, "SIGKILL")
      } catch {
        // gone already
      }
    }
  }
  rmSync(dir, { recursive: true, force: true })
}

const serverVersion = async (bin: string): Promise<number> => {
  const { stdout } = await run(path.join(bin, "pg_ctl"), ["--version"])
  const major = /\(PostgreSQL\)\s+(\d+)/.exec(stdout)?.[1]
  if (major === undefined) throw new Error(`cannot read the PostgreSQL version from: ${stdout.trim()}`)
  return Number(major)
}

const tail = async (file: string): Promise<string> => {
  try {
    return (await readFile(file, "utf8")).split("\n").slice(-20).join("\n")
  } catch {
    return "(no log)"
  }
}

const signals: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM", "SIGHUP"]

/**
 * Starts a throwaway PostgreSQL on 127.0.0.1: `initdb` (trust auth,
 * superuser `postgres`, no fsync) into a `kh-pg-` temp dir and `pg_ctl
 * start`, waiting until it accepts connections. The port is `options.port`
 * or a free one in 25400–25999 (another is tried if the server cannot bind).
 * Under root the server runs as user `postgres`. Should the process exit or
 * get SIGINT/SIGTERM/SIGHUP before `stop`, the server is killed and its dir
 * removed. Throws, with install instructions, when no binaries are found.
 */
export const startPostgres = async (options: { readonly port?: number } = {}): Promise<Postgres> => {
  const bin = findPgBin()
  if (bin === undefined || !hasServerBins(bin)) {
    throw new Error(bin === undefined ? installHint : `${installHint} (PG_BIN=${bin} has no initdb/pg_ctl)`)
  }
  const version = await serverVersion(bin)
  if (version < 14) throw new Error(`PostgreSQL ${version} in ${bin} is too old: >= 14 is needed. ${installHint}`)

  const dir = await mkdtemp(path.join(os.tmpdir(), "kh-pg-"))
  const dataDir = path.join(dir, "data")
  const logFile = path.join(dir, "pg.log")
  let pid: number | undefined
  // Before `pid` is known (still starting), the pid file is the one just written, never a stale one.
  const onExit = () => killSync(dir, pid ?? postmasterPid(dataDir))
  const onSignal = (signal: NodeJS.Signals) => {
    onExit()
    unhook()
    // Run first (prepended), so the other listeners are still counted: with none, die of the signal as if we had not
    // listened; with some (vitest's), leave the exit to them.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
  }
  const unhook = () => {
    process.off("exit", onExit)
    for (const signal of signals) process.off(signal, onSignal)
  }
  process.on("exit", onExit)
  for (const signal of signals) process.prependListener(signal, onSignal)

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await runPg(path.join(bin, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "-t", "30", "stop"], dir)
        await rm(dir, { recursive: true, force: true })
      } catch {
        // not running, or pg_ctl failed: signal the postmaster we started, if any, and remove the dir
        try {
          killSync(dir, pid)
        } catch {
          // never throws
        }
      }
      unhook()
    })()
    return stopping
  }

  try {
    if (isRoot()) {
      const ids = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]).catch((error) => {
        throw new Error(
          "running as root, the server must run as user `postgres`, and there is none " +
            "(Debian's postgresql package makes it): run as another user, or create it",
          { cause: error }
        )
      })
      await chown(dir, Number(ids[0].stdout.trim()), Number(ids[1].stdout.trim()))
    }
    await runPg(
      path.join(bin, "initdb"),
      ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"],
      dir
    )
    const tries = options.port === undefined ? 3 : 1
    for (let attempt = 1;; attempt++) {
      const port = options.port ?? await pickPort()
      const serverOptions = `-p ${port} -k '${dir}' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`
      try {
        await runPg(
          path.join(bin, "pg_ctl"),
          ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "-o", serverOptions, "start"],
          dir
        )
      } catch (error) {
        const log = await tail(logFile)
        if (attempt < tries && /could not bind|could not create any TCP\/IP sockets/i.test(log)) continue
        throw new Error(`${(error as Error).message}\n--- ${logFile} ---\n${log}`, { cause: error })
      }
      pid = postmasterPid(dataDir)
      const url = `postgres://postgres@127.0.0.1:${port}/postgres`
      return { url, adminUrl: url, port, stop }
    }
  } catch (error) {
    await stop()
    throw error
  }
}

const validName = /^[a-z_][a-z0-9_]*$/

/** `psql` from the server's bin dir, else the one on PATH. */
const psqlBin = (): string => {
  const bin = findPgBin()
  return bin !== undefined && isExecutable(path.join(bin, "psql")) ? path.join(bin, "psql") : "psql"
}

/** Runs one SQL command through `psql` against `url`, stopping on the first error; resolves with its stdout. */
export const psql = async (url: string, sql: string): Promise<string> =>
  (await run(psqlBin(), [url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], { timeout: 30_000 }))
    .stdout

/** The URL of database `name` on the server of `adminUrl`. */
const databaseUrl = (adminUrl: string, name: string): string => {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

const checkName = (name: string): void => {
  if (!validName.test(name)) throw new Error(`invalid database name ${JSON.stringify(name)}: /^[a-z_][a-z0-9_]*$/`)
}

/** Creates database `name` (/^[a-z_][a-z0-9_]*$/) on the server of `adminUrl`; resolves with its URL. */
export const createDatabase = async (adminUrl: string, name: string): Promise<string> => {
  checkName(name)
  await psql(adminUrl, `CREATE DATABASE ${name}`)
  return databaseUrl(adminUrl, name)
}

/** Drops database `name` if it exists, closing its connections (`WITH (FORCE)`). */
export const dropDatabase = async (adminUrl: string, name: string): Promise<void> => {
  checkName(name)
  await psql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
}
