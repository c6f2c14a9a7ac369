#!/usr/bin/env node
/**
 * The simulator's command line: `kharbranth-simulator` once the package is installed (its `bin` is the
 * built `dist/cli.js`, where tsc keeps the shebang above), `pnpm simulator` in this repository (this file,
 * run by Node's type stripping). It starts the server, prints one line per venue endpoint, applies `--fault`
 * specs (each `kind:target@at+duration`), reads more fault commands from stdin, one per line, and closes
 * gracefully on Ctrl-C or SIGTERM.
 */
import { Result } from "effect"
import { createInterface, type Interface } from "node:readline"
import { parseArgs } from "node:util"
import * as Fault from "./Fault.ts"
import { start } from "./internal/Server.ts"
import type { SimulatorEvent } from "./SimulatorEvent.ts"

const usage =
  `Usage: kharbranth-simulator [--port N] [--host H] [--rate R] [--seed S] [--fault SPEC]... [--quiet] [--help]

Starts a local exchange-like WebSocket server (Binance spot, Binance USD-M futures, OKX, Bybit,
Coinbase, Kraken, Hyperliquid) on one port and prints every endpoint. Runs until Ctrl-C or SIGTERM.
In the Kharbranth repository: pnpm simulator [options].

  --port N        port to listen on (default 0: a free port)
  --host H        interface (default 127.0.0.1)
  --rate R        market-data messages per second per subscribed stream (default 20; 0 = none)
  --seed S        seed of the synthetic market (default 1)
  --fault SPEC    a scripted fault, repeatable (see below)
  --quiet         do not print server events
  --help          this text

Fault SPEC: kind[:target][,key=value...][@at][+duration]
  kind     ${Fault.kinds.join(" | ")}
  target   binance | binanceUsdm | okx | bybit | coinbase | kraken | hyperliquid | all (default)
           | #<connection id>
  @at      apply after this delay (5s, 300ms, 2m); +duration  heal after this long
  keys     code, reason (close); status, retryAfter, count (refuse); skip (gap); bps (slow);
           latency (latency); closeAfter (notice); sticky=true (also hit later connections);
           stream, until=resubscribe|reconnect (mute: one stream's data stops until the client
           resubscribes it, or only a new connection gets it; stream as the venue names it:
           btcusdt@trade, trades:BTC-USDT, publicTrade.BTCUSDT, matches:BTC-USD, trade:BTC/USD,
           trades:BTC; a trailing @<duration> is always @at);
           seqId, stream (seqReset: OKX books continue from a lower seqId, default 1;
           stream=books:BTC-USDT for one book); stream (bookGap, crossed, badChecksum,
           bookRestart: one book stream, default all the target holds); status=429|418,
           retryAfter, count (restRefuse); delay, count (restSlow); behind, count
           (staleSnapshot: the Binance REST depth snapshot is that many updates old)
  e.g.     drop:binance@5s   halfOpen:okx@10s+3s   close:all,code=4000,reason=bye
           refuse:bybit,status=503,count=2   latency:kraken,latency=300ms+10s   gap:okx,skip=5
           mute:binance,stream=btcusdt@trade,until=reconnect   mute:kraken,stream=trade:BTC/USD+30s
           seqReset:okx,seqId=5@10s   bookGap:binance   crossed:kraken   badChecksum:okx
           bookRestart:bybit   restRefuse:binance,count=3   restSlow:all,delay=2s
           staleSnapshot:binanceUsdm,behind=50

Stdin: one SPEC per line is applied at once; also "list", "stats", "heal [id]", "help".
`

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      host: { type: "string", default: "127.0.0.1" },
      rate: { type: "string" },
      seed: { type: "string" },
      fault: { type: "string", multiple: true, default: [] },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", default: false }
    }
  })
  if (values.help) {
    process.stdout.write(usage)
    return
  }
  const specs: Array<Fault.FaultSpec> = []
  for (const text of values.fault) {
    const parsed = Fault.parse(text)
    if (Result.isFailure(parsed)) {
      process.stderr.write(`Invalid --fault "${text}": ${parsed.failure.message}\n`)
      process.exitCode = 2
      return
    }
    specs.push(parsed.success)
  }
  const starting = start({
    port: Number(values.port),
    host: values.host,
    ...(values.rate !== undefined ? { rate: Number(values.rate) } : {}),
    ...(values.seed !== undefined ? { seed: Number(values.seed) } : {})
  })

  // Ctrl-C and SIGTERM close gracefully, from before the server is up (so a signal never finds the
  // process without its handler). A terminal sends Ctrl-C's SIGINT to the whole process group, so under
  // `pnpm simulator` the same Ctrl-C arrives twice (from the terminal, and forwarded by pnpm): a repeat
  // within a second is that one Ctrl-C, one after that means "stop now" (exit code 1).
  let rl: Interface | undefined
  let stoppingAt: number | undefined
  const stop = (signal: string) => {
    if (stoppingAt !== undefined) {
      if (performance.now() - stoppingAt > 1000) process.exit(1)
      return
    }
    stoppingAt = performance.now()
    process.stdout.write(`Received ${signal}, closing...\n`)
    rl?.close()
    void starting.then((engine) => engine.close()).then(() => {
      process.stdout.write("Closed.\n", () => process.exit(0))
    })
  }
  process.on("SIGINT", () => stop("SIGINT"))
  process.on("SIGTERM", () => stop("SIGTERM"))

  const engine = await starting
  if (stoppingAt !== undefined) return
  const width = Math.max(...Object.keys(engine.endpoints).map((name) => name.length)) + 2
  for (const [name, url] of Object.entries(engine.endpoints)) process.stdout.write(`${name.padEnd(width)}${url}\n`)
  process.stdout.write(`Simulator listening on ${engine.host}:${engine.port} (Ctrl-C to stop)\n`)

  if (!values.quiet) {
    engine.onEvent((e: SimulatorEvent) => {
      const { _tag, at: _at, ...rest } = e
      process.stdout.write(`[event] ${_tag} ${JSON.stringify(rest)}\n`)
    })
  }

  const apply = (spec: Fault.FaultSpec, text: string): void => {
    try {
      const result = engine.fault(spec)
      process.stdout.write(
        `[fault] #${result.id} ${text} ${
          result.scheduled ? "scheduled" : `hit ${result.connections.length} connection(s)`
        }\n`
      )
    } catch (error) {
      process.stdout.write(`[fault] ${text}: ${error instanceof Fault.InvalidFault ? error.message : String(error)}\n`)
    }
  }
  values.fault.forEach((text, i) => {
    const spec = specs[i]
    if (spec !== undefined) apply(spec, text)
  })

  rl = createInterface({ input: process.stdin, terminal: false })
  rl.on("line", (raw) => {
    const line = raw.trim()
    if (line === "") return
    if (line === "help") return void process.stdout.write(usage)
    if (line === "list") {
      for (const c of engine.connections()) process.stdout.write(`${JSON.stringify(c)}\n`)
      return
    }
    if (line === "stats") {
      const { connections: _c, ...stats } = engine.stats()
      return void process.stdout.write(`${JSON.stringify(stats)}\n`)
    }
    const heal = /^heal(?:\s+#?(\d+))?$/.exec(line)
    if (heal !== null) {
      engine.heal(heal[1] !== undefined ? Number(heal[1]) : undefined)
      return void process.stdout.write(`[heal] ${heal[1] ?? "all"}\n`)
    }
    const parsed = Fault.parse(line)
    if (Result.isFailure(parsed)) return void process.stdout.write(`[fault] ${line}: ${parsed.failure.message}\n`)
    apply(parsed.success, line)
  })
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
