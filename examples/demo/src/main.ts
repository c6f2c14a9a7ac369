/**
 * The Kharbranth demo: nine feeds across six exchange-like venues served by
 * the local simulator, one `WSManager`, every connection-level fault kind injected on a
 * schedule, a live dashboard, and a summary that ends with
 * `recovered: N/N connections, F/F faults`. Exit code 0 only when every
 * connection recovered from every fault.
 *
 *   pnpm demo [--duration S] [--live]
 */
import { Frame, WSManager } from "@kharbranth/core"
import type { ConnectionEvent } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Simulator } from "@kharbranth/simulator"
import { Deferred, Duration, Effect, Fiber, Stream } from "effect"
import { type PlannedFault, schedule } from "./faults.ts"
import { type Feed, feeds } from "./venues.ts"

// ---- arguments -----------------------------------------------------------

const usage = `usage: pnpm demo [--duration S] [--live]

  --duration S  run for S seconds (default 30), then print the summary; Ctrl-C ends it early
  --live        connect to the venues' public endpoints instead of the local simulator (no faults)
`

const parseArgs = (argv: ReadonlyArray<string>) => {
  let duration = 30
  let live = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") continue
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(usage)
      process.exit(0)
    } else if (arg === "--live") live = true
    else if (arg === "--duration" || arg.startsWith("--duration=")) {
      const value = arg.includes("=") ? arg.split("=")[1] : argv[++i]
      duration = Number(value)
      if (!Number.isFinite(duration) || duration < 4) {
        process.stderr.write(`--duration must be a number of seconds, at least 4 (got ${String(value)})\n${usage}`)
        process.exit(2)
      }
    } else {
      process.stderr.write(`unknown argument: ${arg}\n${usage}`)
      process.exit(2)
    }
  }
  return { duration, live }
}

// ---- what is tracked ---------------------------------------------------

interface Row {
  readonly feed: Feed
  frames: number
  data: number
  dataAtLastTick: number
  rate: number
  session: number
  lastDataAt: number
  lastTradeId: number | undefined
  gaps: number
  lastError: string
}

interface FaultRun {
  readonly planned: PlannedFault
  readonly appliedAt: number
  readonly targets: ReadonlyArray<string>
  readonly sessionAtFault: Map<string, number>
  detectedAt: number | undefined
  readonly recoveredAt: Map<string, number>
}

const now = () => performance.now()
const ms = (value: number | undefined) => (value === undefined ? "—" : `${Math.round(value)} ms`)
const pad = (text: string, width: number) => (text.length >= width ? text.slice(0, width) : text + " ".repeat(width - text.length))

const program = (options: { readonly duration: number; readonly live: boolean }) =>
  Effect.gen(function*() {
    const started = now()
    const sim = options.live
      ? undefined
      : yield* Simulator.make({
        rate: 20,
        venues: {
          binance: { pingInterval: "2 seconds", pongTimeout: "4 seconds" },
          okx: { idleTimeout: "5 seconds" },
          coinbase: { subscribeDeadline: "3 seconds", heartbeatInterval: "500 millis" },
          kraken: { heartbeatInterval: "1 second" }
        }
      })
    const list = feeds(sim?.endpoints)
    const rows = new Map<string, Row>(list.map((feed) => [feed.name, {
      feed,
      frames: 0,
      data: 0,
      dataAtLastTick: 0,
      rate: 0,
      session: 0,
      lastDataAt: 0,
      lastTradeId: undefined,
      gaps: 0,
      lastError: ""
    }]))
    const runs: Array<FaultRun> = []
    const tty = process.stdout.isTTY === true

    const manager = yield* WSManager.make({ maxConcurrentDials: 16, dialsPerSecond: options.live ? 3 : 1000 })

    // Frames: count, detect sequence gaps within a session, judge recoveries.
    const onFrame = (connection: string, frame: Frame.Frame) =>
      Effect.gen(function*() {
        const row = rows.get(connection)
        if (row === undefined) return
        row.frames++
        if (!Frame.isData(frame)) return
        const at = now()
        if (frame.session !== row.session) {
          row.session = frame.session
          row.lastTradeId = undefined
        }
        row.data++
        row.lastDataAt = at
        for (const run of runs) {
          if (!run.targets.includes(connection) || run.recoveredAt.has(connection)) continue
          const recovered = run.planned.disrupts
            ? frame.session > (run.sessionAtFault.get(connection) ?? 0)
            : at >= run.appliedAt + run.planned.lasts
          if (recovered) run.recoveredAt.set(connection, at)
        }
        if (frame._tag !== "Text") return
        let gap: string | undefined
        for (const id of row.feed.tradeIds(frame.data)) {
          if (row.lastTradeId !== undefined && id !== row.lastTradeId + 1 && gap === undefined) {
            gap = `sequence gap: expected ${row.lastTradeId + 1}, got ${id}`
          }
          row.lastTradeId = id
        }
        if (gap !== undefined) {
          row.gaps++
          row.lastError = gap
          for (const run of runs) {
            if (run.targets.includes(connection) && run.detectedAt === undefined && run.planned.spec.kind === "gap") {
              run.detectedAt = at
            }
          }
          // The feed went bad: a new session now, without backoff.
          yield* Effect.ignore(manager.restart(connection, gap))
        }
      })

    const onEvent = (connection: string, event: ConnectionEvent.ConnectionEvent) =>
      Effect.sync(() => {
        const row = rows.get(connection)
        if (row === undefined) return
        if (event._tag === "Disconnected" || event._tag === "DialFailed") {
          row.lastError = `${event.error._tag}: ${event.error.message.replace(/^connection "[^"]+": /, "")}`
          const at = now()
          for (const run of runs) {
            if (!run.targets.includes(connection) || run.detectedAt !== undefined || at < run.appliedAt) continue
            const kind = run.planned.spec.kind
            if (kind === "refuse" ? event._tag === "DialFailed" : kind !== "gap" && event._tag === "Disconnected") {
              run.detectedAt = at
            }
          }
        }
      })

    yield* Effect.forkScoped(Stream.runForEach(manager.frames, ({ connection, frame }) => onFrame(connection, frame)))
    yield* Effect.forkScoped(Stream.runForEach(manager.events, ({ connection, event }) => onEvent(connection, event)))

    for (const feed of list) {
      yield* manager.add(feed.name, { url: feed.url, ...feed.config }, {
        onOpen: ({ send }) => Effect.forEach(feed.subscribe, send, { discard: true })
      })
    }

    // ---- the fault schedule --------------------------------------------
    const plan = sim === undefined ? [] : schedule(options.duration)
    yield* Effect.forkScoped(Effect.forEach(plan, (planned) =>
      Effect.gen(function*() {
        const wait = started + planned.at * 1000 - now()
        if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
        const targets = list.filter((f) => f.venue === planned.venue).map((f) => f.name)
        const sessionAtFault = new Map(targets.map((name) => [name, rows.get(name)!.session]))
        runs.push({ planned, appliedAt: now(), targets, sessionAtFault, detectedAt: undefined, recoveredAt: new Map() })
        yield* Effect.ignore(sim!.fault(planned.spec))
      }), { discard: true }))

    // ---- the dashboard ---------------------------------------------------
    const recoveredConnections = () =>
      Array.from(rows.values()).filter((row) =>
        manager.states.pipe(Effect.runSync).get(row.feed.name)?._tag === "Open" && now() - row.lastDataAt < 2000
      ).length
    const recoveredFaults = () => runs.filter((run) => run.recoveredAt.size === run.targets.length).length

    const render = Effect.gen(function*() {
      const states = yield* manager.states
      const stats = yield* manager.stats
      const elapsed = (now() - started) / 1000
      for (const row of rows.values()) {
        row.rate = (row.data - row.dataAtLastTick) * 2
        row.dataAtLastTick = row.data
      }
      if (!tty) return
      const lines = [
        `Kharbranth demo — ${options.live ? "live venues" : "local simulator"} — ${elapsed.toFixed(1)} s of ${options.duration} s — faults ${runs.length}/${plan.length} injected, ${recoveredFaults()} recovered`,
        "",
        `${pad("connection", 22)}${pad("state", 14)}${pad("msgs/s", 8)}${pad("rtt", 8)}${pad("reconn", 8)}${pad("gaps", 6)}last error`,
        ...Array.from(rows.values()).map((row) => {
          const s = stats.connections[row.feed.name]
          return `${pad(row.feed.name, 22)}${pad(states.get(row.feed.name)?._tag ?? "?", 14)}${pad(String(row.rate), 8)}${
            pad(s?.lastRtt === undefined ? "—" : `${s.lastRtt.toFixed(0)}ms`, 8)
          }${pad(String(s?.reconnects ?? 0), 8)}${pad(String(row.gaps), 6)}${row.lastError.slice(0, 60)}`
        }),
        "",
        ...runs.map((run) =>
          `  ${pad(`${run.planned.label} → ${run.planned.venue}`, 46)} detected ${pad(ms(run.detectedAt === undefined ? undefined : run.detectedAt - run.appliedAt), 9)} recovered ${run.recoveredAt.size}/${run.targets.length}`
        )
      ]
      process.stdout.write(`\x1b[H\x1b[2J${lines.join("\n")}\n`)
    })
    let ticks = 0
    const dashboard = yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      yield* Effect.sleep("500 millis")
      yield* render
      if (!tty && ++ticks % 4 === 0) {
        const open = Array.from((yield* manager.states).values()).filter((s) => s._tag === "Open").length
        const rate = Array.from(rows.values()).reduce((sum, row) => sum + row.rate, 0)
        console.log(
          `t=${((now() - started) / 1000).toFixed(0)}s open ${open}/${rows.size} msgs/s ${rate} reconnects ${
            (yield* manager.stats).totals.reconnects
          } faults ${runs.length}/${plan.length} injected, ${recoveredFaults()} recovered`
        )
      }
    })))

    // ---- run, then give recoveries in flight a short grace -------------
    const interrupted = yield* Deferred.make<void>()
    const onSigint = () => Deferred.doneUnsafe(interrupted, Effect.void)
    yield* Effect.acquireRelease(Effect.sync(() => process.once("SIGINT", onSigint)), () =>
      Effect.sync(() => process.off("SIGINT", onSigint)))
    yield* Effect.raceFirst(Effect.sleep(Duration.seconds(options.duration)), Deferred.await(interrupted))
    const graceUntil = now() + 8000
    while (
      !Deferred.isDoneUnsafe(interrupted) && now() < graceUntil &&
      (recoveredFaults() < plan.length || runs.length < plan.length || recoveredConnections() < rows.size)
    ) yield* Effect.sleep("100 millis")
    yield* Fiber.interrupt(dashboard)

    // ---- summary -------------------------------------------------------
    const stats = yield* manager.stats
    const out: Array<string> = [
      "",
      `${pad("connection", 22)}${pad("frames", 10)}${pad("reconnects", 12)}gaps`,
      ...Array.from(rows.values()).map((row) =>
        `${pad(row.feed.name, 22)}${pad(String(row.frames), 10)}${pad(String(stats.connections[row.feed.name]?.reconnects ?? 0), 12)}${row.gaps}`
      )
    ]
    if (runs.length > 0) {
      out.push("", `${pad("fault", 34)}${pad("venue", 13)}${pad("detected in", 13)}recovered in`)
      for (const run of runs) {
        const recovered = run.recoveredAt.size === run.targets.length
          ? Math.max(...run.recoveredAt.values()) - run.appliedAt
          : undefined
        out.push(
          `${pad(run.planned.label, 34)}${pad(run.planned.venue, 13)}${
            pad(run.planned.disrupts ? ms(run.detectedAt === undefined ? undefined : run.detectedAt - run.appliedAt) : "(degraded)", 13)
          }${recovered === undefined ? `not recovered (${run.recoveredAt.size}/${run.targets.length})` : ms(recovered)}`
        )
      }
    }
    const connectionsOk = recoveredConnections()
    const faultsOk = recoveredFaults()
    out.push("", `recovered: ${connectionsOk}/${rows.size} connections, ${faultsOk}/${plan.length} faults`)
    console.log(out.join("\n"))
    return connectionsOk === rows.size && faultsOk === plan.length && runs.length === plan.length
  })

const options = parseArgs(process.argv.slice(2))
Effect.runPromiseExit(program(options).pipe(Effect.scoped, Effect.provide(NodeTransport.layer()))).then((exit) => {
  if (exit._tag === "Failure") {
    console.error(exit.cause)
    process.exitCode = 1
  } else {
    process.exitCode = exit.value ? 0 : 1
  }
})
