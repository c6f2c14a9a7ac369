/**
 * The Kharbranth demo: nine feeds across six exchange-like venues served by
 * the local simulator, one `WSManager`, every connection-level fault kind injected on a
 * schedule, a live dashboard, and a summary that ends with
 * `recovered: N/N connections, F/F faults`. Exit code 0 only when every
 * connection recovered from every fault.
 *
 *   pnpm demo [--duration S] [--live] [--errors] [--web [PORT]] [--metrics PORT]
 *
 * On a terminal the dashboard is redrawn in place at the terminal's width;
 * key `e` (or `--errors`) shows every connection's full last error. `--web`
 * also serves the browser dashboard on 127.0.0.1 (see `web.ts`).
 * Ctrl-C ends the run early: the summary then says "interrupted", counts only
 * the faults injected so far, and the exit code is 0. When no connection has
 * opened after 10 s and every one has failed to dial (`--live` without
 * internet), it stops with each connection's last error and exit code 1.
 */
import { Frame, WSManager } from "@kharbranth/core"
import type { ConnectionEvent } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import type * as Dashboard from "@kharbranth/node/Dashboard"
import * as Observability from "@kharbranth/node/Observability"
import { Simulator } from "@kharbranth/simulator"
import { Deferred, Duration, Effect, Fiber, Layer, References, Result, Stream } from "effect"
import { parseArgs } from "./args.ts"
import type { Options } from "./args.ts"
import { type PlannedFault, schedule } from "./faults.ts"
import { ms, pad, type Screen } from "./terminal.ts"
import * as Tty from "./tty.ts"
import { type Feed, feeds } from "./venues.ts"
import * as Web from "./web.ts"

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
  /** A session of this connection has opened at least once. */
  opened: boolean
  dialFailures: number
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
/** With no connection ever open and every one failed to dial for this long, the run stops. */
const giveUpAfterMs = 10_000

const program = (
  options: Options,
  interrupted: Deferred.Deferred<void>
) =>
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
      lastError: "",
      opened: false,
      dialFailures: 0
    }]))
    const runs: Array<FaultRun> = []
    const tty = process.stdout.isTTY === true

    const manager = yield* WSManager.make({ maxConcurrentDials: 16, dialsPerSecond: options.live ? 3 : 1000 })

    // --web: the browser dashboard, fed the faults the demo injects, the gaps it detects, its recoveries.
    const webStarted = options.web === undefined ? undefined : yield* Effect.result(Web.start(manager, options.web))
    if (webStarted !== undefined && Result.isFailure(webStarted)) {
      console.error(webStarted.failure)
      return false
    }
    const web = webStarted?.success
    if (web !== undefined && !tty) console.log(`dashboard: ${web.url}`)
    const mark = (m: Dashboard.Mark) => (web === undefined ? Effect.void : web.mark(m))

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
          if (recovered) {
            run.recoveredAt.set(connection, at)
            yield* mark({
              connection,
              kind: "recovered",
              text: `recovered from ${run.planned.label} in ${ms(at - run.appliedAt)}`
            })
          }
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
          yield* mark({ connection, kind: "gap", text: gap })
          // The feed went bad: a new session now, without backoff.
          yield* Effect.ignore(manager.restart(connection, gap))
        }
      })

    const onEvent = (connection: string, event: ConnectionEvent.ConnectionEvent) =>
      Effect.sync(() => {
        const row = rows.get(connection)
        if (row === undefined) return
        if (event._tag === "Opened") row.opened = true
        if (event._tag === "DialFailed") row.dialFailures++
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
        for (const connection of targets) yield* mark({ connection, kind: "fault", text: `injected: ${planned.label}` })
        yield* Effect.ignore(sim!.fault(planned.spec))
      }), { discard: true }))

    // ---- the dashboard ---------------------------------------------------
    // Live: open, with data in the last 2 s.
    const liveConnections = () => {
      const states = manager.states.pipe(Effect.runSync)
      return Array.from(rows.values()).filter((row) =>
        states.get(row.feed.name)?._tag === "Open" && now() - row.lastDataAt < 2000
      ).map((row) => row.feed.name)
    }
    const recoveredConnections = () => liveConnections().length
    const recoveredFaults = () => runs.filter((run) => run.recoveredAt.size === run.targets.length).length
    // Nothing can connect (no internet for --live, a venue unreachable from here): not one session has
    // opened and every connection has had at least one dial fail.
    const nothingConnects = () => Array.from(rows.values()).every((row) => !row.opened && row.dialFailures > 0)
    // Without a TTY: the connections that are not open, grouped by their last error, whenever that changes.
    let notOpenShown = ""
    const notOpenLines = (states: ReadonlyMap<string, { readonly _tag: string }>) => {
      const byError = new Map<string, Array<string>>()
      for (const row of rows.values()) {
        if (states.get(row.feed.name)?._tag === "Open" || row.lastError === "") continue
        const names = byError.get(row.lastError) ?? []
        names.push(row.feed.name)
        byError.set(row.lastError, names)
      }
      return Array.from(byError, ([error, names]) => `  not open: ${names.join(", ")} — last error: ${error}`)
    }

    // On a TTY: a screen redrawn in place (keys: e for the full last errors). Without one: progress lines.
    const screen = tty
      ? yield* Effect.acquireRelease(
        Effect.sync(() =>
          Tty.make({ errors: options.errors, onInterrupt: () => void process.kill(process.pid, "SIGINT") })
        ),
        (screen) => Effect.sync(() => screen.close())
      )
      : undefined
    // Without a TTY and with --errors: each connection's last error in full, whenever it changes.
    const errorsShown = new Map<string, string>()
    const newErrorLines = () => {
      const lines: Array<string> = []
      for (const row of rows.values()) {
        if (row.lastError === "" || errorsShown.get(row.feed.name) === row.lastError) continue
        errorsShown.set(row.feed.name, row.lastError)
        lines.push(`  last error: ${row.feed.name} — ${row.lastError}`)
      }
      return lines
    }

    const render = Effect.gen(function*() {
      const states = yield* manager.states
      const stats = yield* manager.stats
      const elapsed = (now() - started) / 1000
      for (const row of rows.values()) {
        row.rate = (row.data - row.dataAtLastTick) * 2
        row.dataAtLastTick = row.data
      }
      if (screen === undefined) return
      screen.draw(
        {
          ...(web === undefined ? {} : { link: `dashboard: ${web.url}` }),
          title: `Kharbranth demo · ${options.live ? "live venues" : "simulator"} · ${
            elapsed.toFixed(1)
          }/${options.duration} s · faults ${runs.length}/${plan.length} injected, ${recoveredFaults()} recovered`,
          connections: Array.from(rows.values()).map((row) => {
            const s = stats.connections[row.feed.name]
            return {
              name: row.feed.name,
              state: states.get(row.feed.name)?._tag ?? "?",
              rate: row.rate,
              rtt: s?.lastRtt,
              reconnects: s?.reconnects ?? 0,
              gaps: row.gaps,
              lastError: row.lastError
            }
          }),
          faults: runs.map((run) => ({
            label: run.planned.label,
            venue: run.planned.venue,
            detected: run.detectedAt === undefined ? undefined : run.detectedAt - run.appliedAt,
            recovered: run.recoveredAt.size,
            targets: run.targets.length
          }))
        } satisfies Screen
      )
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
        const notOpen = notOpenLines(yield* manager.states).join("\n")
        if (notOpen !== notOpenShown && notOpen !== "") console.log(notOpen)
        notOpenShown = notOpen
        if (options.errors) { for (const line of newErrorLines()) console.log(line) }
      }
    })))

    // ---- run (until the end, Ctrl-C, or nothing can connect), then give recoveries in flight a grace
    const endsAt = started + options.duration * 1000
    const unreachable = () => now() - started >= giveUpAfterMs && nothingConnects()
    while (!Deferred.isDoneUnsafe(interrupted) && now() < endsAt && !unreachable()) {
      yield* Effect.raceFirst(Effect.sleep("100 millis"), Deferred.await(interrupted))
    }
    const graceUntil = now() + 8000
    while (
      !Deferred.isDoneUnsafe(interrupted) && now() < graceUntil && !nothingConnects() &&
      (recoveredFaults() < plan.length || runs.length < plan.length || recoveredConnections() < rows.size)
    ) yield* Effect.raceFirst(Effect.sleep("100 millis"), Deferred.await(interrupted))
    const wasInterrupted = Deferred.isDoneUnsafe(interrupted)
    const elapsed = ((now() - started) / 1000).toFixed(1)
    yield* Fiber.interrupt(dashboard)
    // The summary is printed below the last screen; keys are plain again (Ctrl-C is a signal).
    screen?.close()

    // ---- summary -------------------------------------------------------
    const stats = yield* manager.stats
    const out: Array<string> = [
      "",
      `${pad("connection", 22)}${pad("frames", 10)}${pad("reconnects", 12)}${pad("gaps", 6)}last error`,
      ...Array.from(rows.values()).map((row) =>
        `${pad(row.feed.name, 22)}${pad(String(row.frames), 10)}${
          pad(String(stats.connections[row.feed.name]?.reconnects ?? 0), 12)
        }${pad(String(row.gaps), 6)}${row.lastError === "" ? "—" : row.lastError}`
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
            pad(
              run.planned.disrupts
                ? ms(run.detectedAt === undefined ? undefined : run.detectedAt - run.appliedAt)
                : "(degraded)",
              13
            )
          }${
            recovered !== undefined
              ? ms(recovered)
              : `${
                wasInterrupted ? "still recovering when interrupted" : "not recovered"
              } (${run.recoveredAt.size}/${run.targets.length})`
          }`
        )
      }
    }
    const connectionsOk = recoveredConnections()
    const faultsOk = recoveredFaults()
    if (wasInterrupted) {
      // Ctrl-C: count only what happened. Faults never injected are "not reached"; a connection or a fault
      // whose recovery was still under way is "recovering", not failed.
      const live = new Set(liveConnections())
      const recoveringConnections = Array.from(rows.keys()).filter((name) =>
        !live.has(name) && runs.some((run) => run.targets.includes(name) && !run.recoveredAt.has(name))
      ).length
      const recoveringFaults = runs.length - faultsOk
      const notes = [
        ...(recoveringFaults > 0 ? [`${recoveringFaults} still recovering`] : []),
        ...(plan.length > runs.length ? [`${plan.length - runs.length} not reached`] : [])
      ]
      out.push(
        "",
        `interrupted after ${elapsed} s of ${options.duration} s: recovered: ${live.size}/${rows.size} connections${
          recoveringConnections > 0 ? ` (${recoveringConnections} still recovering)` : ""
        }, ${faultsOk}/${runs.length} faults injected so far${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`
      )
      console.log(out.join("\n"))
      return true
    }
    if (nothingConnects()) {
      out.push(
        "",
        `stopped after ${elapsed} s: none of the ${rows.size} connections could open, every dial failed (last errors above${
          options.live ? "; --live needs internet access" : ""
        })`
      )
      console.log(out.join("\n"))
      return false
    }
    out.push("", `recovered: ${connectionsOk}/${rows.size} connections, ${faultsOk}/${plan.length} faults`)
    console.log(out.join("\n"))
    return connectionsOk === rows.size && faultsOk === plan.length && runs.length === plan.length
  })

const options = parseArgs(process.argv.slice(2))

// Ctrl-C ends the run early, with the summary. A terminal sends SIGINT to the whole process group, so one
// Ctrl-C can reach this process twice (from the terminal, and forwarded by pnpm): repeats within a second
// are that same Ctrl-C; one after that ends the process at once, without a summary. The listener stays
// until the process exits, so a late repeat never kills it by the default action.
const interrupted = Deferred.makeUnsafe<void>()
let interruptedAt: number | undefined
process.on("SIGINT", () => {
  if (interruptedAt === undefined) {
    interruptedAt = now()
    Deferred.doneUnsafe(interrupted, Effect.void)
  } else if (now() - interruptedAt > 1000) {
    process.stderr.write("interrupted again: exiting without a summary\n")
    process.exit(130)
  }
})

// The reader of stdout is gone (`pnpm demo | head`, or a pipeline's other end ended by the same Ctrl-C):
// nobody is watching, so the run ends as if interrupted, without crashing on EPIPE.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error
  Deferred.doneUnsafe(interrupted, Effect.void)
})

// The library's own log lines are off: the dashboard shows the same events, and a line printed between
// two redraws would break them (and the summary's last line).
Effect.runPromiseExit(
  program(options, interrupted).pipe(
    Effect.scoped,
    Effect.provide(NodeTransport.layer()),
    Effect.provide(
      options.metrics === undefined ? Layer.empty : Observability.layerPrometheus({ port: options.metrics })
    ),
    Effect.provideService(References.MinimumLogLevel, "None")
  )
).then(
  (exit) => {
    if (exit._tag === "Failure") {
      console.error(exit.cause)
      process.exitCode = 1
    } else {
      process.exitCode = exit.value ? 0 : 1
    }
  }
)
