/**
 * The process layout: the orchestrator forks the feed server and one client
 * process at a time (`child_process.fork` on this same Node, with
 * `--expose-gc` for every client alike), talks to each over its IPC
 * channel, and always kills them: at the end of a run, on failure, on
 * Ctrl-C, and when the orchestrator exits. Children also exit by themselves
 * when the channel closes or after a maximum lifetime.
 */
import { type ChildProcess, fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { Adapter, Running } from "./clients/Adapter.ts"
import {
  type ChildMessage,
  type ClientCommand,
  type ClientConfig,
  parseMessage,
  type ServerCommand
} from "./protocol.ts"

const live = new Set<ChildProcess>()

const killAll = () => {
  for (const child of live) child.kill("SIGKILL")
  live.clear()
}
process.on("exit", killAll)
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

/** A child process and its messages, read one at a time. */
export class Child<Command> {
  private readonly inbox: Array<ChildMessage> = []
  private waiter: (() => void) | undefined
  private exited: string | undefined
  readonly process: ChildProcess
  readonly name: string

  constructor(name: string, child: ChildProcess) {
    this.name = name
    this.process = child
    child.on("message", (raw) => {
      const message = parseMessage(raw)
      this.inbox.push(message instanceof Error ? { type: "error", message: message.message } : message)
      this.waiter?.()
    })
    child.on("exit", (code, signal) => {
      live.delete(child)
      this.exited = `${name} exited (code ${code}, signal ${signal})`
      this.waiter?.()
    })
  }

  /** Sends a command. */
  send(command: Command): void {
    if (this.exited === undefined && this.process.connected) this.process.send(command as object)
  }

  /** The next message, which must be of `type`; an `error` message, an exit or the timeout throw. */
  async next<T extends ChildMessage["type"]>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const message = this.inbox.shift()
      if (message !== undefined) {
        if (message.type === type) return message as Extract<ChildMessage, { type: T }>
        if (message.type === "error") throw new Error(`${this.name}: ${message.message}`)
        throw new Error(`${this.name}: expected "${type}", got "${message.type}"`)
      }
      if (this.exited !== undefined) throw new Error(`${this.exited} while waiting for "${type}"`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${this.name}: no "${type}" within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiter = () => {
          clearTimeout(timer)
          this.waiter = undefined
          resolve()
        }
      })
    }
  }

  /** Sends a command and waits for the answer. */
  request<T extends ChildMessage["type"]>(command: Command, type: T, timeoutMs: number) {
    this.send(command)
    return this.next(type, timeoutMs)
  }

  /** Waits at most `timeoutMs` for the process to exit. */
  exit(timeoutMs: number): Promise<void> {
    if (this.exited !== undefined) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      this.process.once("exit", () => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /** Kills the process (no-op if gone). */
  kill(): void {
    if (this.exited === undefined) this.process.kill("SIGKILL")
    live.delete(this.process)
  }
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

const spawn = (file: string, args: Array<string>, execArgv: Array<string>) => {
  const child = fork(here(file), args, {
    execArgv,
    // Children's output goes to stderr: stdout carries only the result lines.
    stdio: ["ignore", 2, 2, "ipc"],
    serialization: "json",
    env: { ...process.env, NODE_OPTIONS: "" }
  })
  live.add(child)
  return child
}

/** A server process `file`, once it reports the port it listens on; killed if it does not. */
const startListening = async <Command>(
  name: string,
  file: string
): Promise<{ readonly child: Child<Command>; readonly port: number }> => {
  const child = new Child<Command>(name, spawn(file, [], []))
  try {
    const { port } = await child.next("listening", 15_000)
    return { child, port }
  } catch (error) {
    child.kill()
    throw error
  }
}

/** The feed server, once it listens. */
export const startServer = (): Promise<{ readonly child: Child<ServerCommand>; readonly port: number }> =>
  startListening<ServerCommand>("server", "./server.ts")

/** The silent server (`src/silentServer.ts`), once it listens: dials to it stay in flight. */
export const startSilentServer = (): Promise<{ readonly child: Child<never>; readonly port: number }> =>
  startListening<never>("silent server", "./silentServer.ts")

/** A client process, once every connection opened (or the ready timeout passed). */
export const startClient = async (
  config: ClientConfig
): Promise<{ readonly child: Child<ClientCommand>; readonly opened: number; readonly openMs: number }> => {
  // BENCH_CLIENT_NODE_FLAGS (for example `--cpu-prof --cpu-prof-dir=prof`) is for profiling a client by hand.
  const extra = (process.env.BENCH_CLIENT_NODE_FLAGS ?? "").split(" ").filter((flag) => flag.length > 0)
  const child = new Child<ClientCommand>(
    config.kind,
    spawn("./client.ts", [JSON.stringify(config)], ["--expose-gc", ...extra])
  )
  try {
    const ready = await child.next("ready", config.readyTimeoutMs + 20_000)
    return { child, opened: ready.opened, openMs: ready.openMs }
  } catch (error) {
    child.kill()
    throw error
  }
}

/** Runs `body` with a fresh server, always killing it (and its clients) afterwards. */
export const withServer = async <A>(body: (server: Child<ServerCommand>, port: number) => Promise<A>): Promise<A> => {
  const { child, port } = await startServer()
  try {
    return await body(child, port)
  } finally {
    child.kill()
  }
}

/** Runs `body` with a client process, always killing it afterwards. */
export const withClient = async <A>(
  config: ClientConfig,
  body: (client: Child<ClientCommand>, opened: number, openMs: number) => Promise<A>
): Promise<A> => {
  const { child, opened, openMs } = await startClient(config)
  try {
    return await body(child, opened, openMs)
  } finally {
    // Ask first (a profiled client writes its profile on exit), then kill.
    child.send({ type: "exit" })
    await child.exit(process.env.BENCH_CLIENT_NODE_FLAGS === undefined ? 500 : 15_000)
    child.kill()
  }
}

/** The client config with the defaults every scenario shares. */
export const clientConfig = (
  options: Pick<ClientConfig, "kind" | "connections" | "port"> & Partial<ClientConfig>
): ClientConfig => ({
  parse: true,
  heartbeat: undefined,
  reconnect: { kind: "default" },
  dialConcurrency: 256,
  dialsPerSecond: 100_000,
  readyTimeoutMs: 60_000,
  ...options
})

/**
 * Opens `connections` idle connections with `adapter` in this process (the
 * by-hand tools' setup, `src/alloc.ts` and `src/open.ts`) to the feed server
 * on `port`, each with `heartbeat` if given; resolves once every one has opened.
 */
export const openIdle = async (
  adapter: Adapter,
  kind: ClientConfig["kind"],
  connections: number,
  port: number,
  heartbeat?: ClientConfig["heartbeat"]
): Promise<Running> => {
  let opened = 0
  let allOpened = () => {}
  const allOpen = new Promise<void>((resolve) => {
    allOpened = resolve
  })
  const running = await adapter.start(
    clientConfig({ kind, connections, port, heartbeat }),
    (index) => `ws://127.0.0.1:${port}/c/${index}`,
    {
      onMessage: () => {},
      onOpen: () => {
        if (++opened === connections) allOpened()
      },
      onClose: () => {}
    }
  )
  await allOpen
  return running
}
