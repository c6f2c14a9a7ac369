/**
 * The demo's command line: `pnpm demo [--duration S] [--live] [--errors] [--web [PORT]] [--metrics PORT]`. Parsing
 * prints the usage and exits on `--help` (code 0) and on a bad argument
 * (code 2).
 */

export const usage = `usage: pnpm demo [--duration S] [--live] [--errors] [--web [PORT]] [--metrics PORT]

  --duration S  run for S seconds (default 30), then print the summary; Ctrl-C ends it early
  --live        connect to the venues' public endpoints instead of the local simulator (no faults;
                needs internet: when nothing can connect it stops after 10 s with the errors)
  --errors      show every connection's full last error (in a terminal, key e toggles it; without
                one, each new last error is printed in full)
  --web [PORT]  also serve the live dashboard in the browser at http://127.0.0.1:PORT/
                (default port 8080; 0 takes a free port)
  --metrics PORT  serve the library's metrics for Prometheus on http://127.0.0.1:PORT/metrics
`

export interface Options {
  readonly duration: number
  readonly live: boolean
  readonly errors: boolean
  /** The browser dashboard's port (`--web`), when given. */
  readonly web: number | undefined
  /** The Prometheus endpoint's port (`--metrics`), when given. */
  readonly metrics: number | undefined
}

const fail = (message: string): never => {
  process.stderr.write(`${message}\n${usage}`)
  process.exit(2)
}

export const parseArgs = (argv: ReadonlyArray<string>): Options => {
  let duration = 30
  let live = false
  let errors = false
  let web: number | undefined
  let metrics: number | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    // `--name=value` or `--name value`.
    const value = () => (arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[++i])
    const name = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg
    if (arg === "--") continue
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(usage)
      process.exit(0)
    } else if (arg === "--live") live = true
    else if (arg === "--errors") errors = true
    else if (name === "--web") {
      // The port is optional: `--web`, `--web 9000`, `--web=9000`.
      const text = arg.includes("=") ? value() : /^\d+$/.test(argv[i + 1] ?? "") ? value() : "8080"
      web = Number(text)
      if (!Number.isInteger(web) || web < 0 || web > 65535) fail(`--web takes a port, 0 to 65535 (got ${String(text)})`)
    } else if (name === "--metrics") {
      const text = value()
      metrics = Number(text)
      if (!Number.isInteger(metrics) || metrics < 1 || metrics > 65535) {
        fail(`--metrics takes a port, 1 to 65535 (got ${String(text)})`)
      }
    } else if (name === "--duration") {
      const text = value()
      duration = Number(text)
      if (!Number.isFinite(duration) || duration < 4) {
        fail(`--duration must be a number of seconds, at least 4 (got ${String(text)})`)
      }
    } else {
      fail(`unknown argument: ${arg}`)
    }
  }
  return { duration, live, errors, web, metrics }
}
