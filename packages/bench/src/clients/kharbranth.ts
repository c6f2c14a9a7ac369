/**
 * Kharbranth, three ways a user consumes it: `stream` (one `WSManager`, every
 * frame read from the merged `manager.frames` Stream with
 * `Stream.runForEach`, an effect per frame), `arrays` (the same stream read
 * with `Stream.runForEachArray`, one effect per array of frames, the form
 * the README advises for hot streams) and `hooks` (the same manager, frames
 * handled by an `onText` hook per connection written as a plain function,
 * the form the README advises for hot hooks; no stream). All use
 * `NodeTransport` (the `ws` package underneath), no compression, and the
 * manager's dial governor with limits raised for a local host, as the README
 * advises. Each calls the same handler once per text message. `stream` and
 * `hooks` also run with the library's metrics on (`+metrics`: `Metrics.layer`
 * and the Prometheus text built once a second, as a scrape every second
 * would), to measure what metrics cost on the hot path.
 */
import { Heartbeat, Metrics, ReconnectPolicy, WSManager } from "@kharbranth/core"
import type { ConnectionConfig, ConnectionEvent } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as PrometheusMetrics from "effect/observability/PrometheusMetrics"
import * as References from "effect/References"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { ClientConfig } from "../protocol.ts"
import type { Adapter, Handlers } from "./Adapter.ts"

/** The connection config every Kharbranth connection in the benchmark gets. */
export const connectionConfig = (config: ClientConfig, url: string): ConnectionConfig.ConnectionConfig => ({
  url,
  heartbeat: config.heartbeat === undefined
    ? Heartbeat.none
    : Heartbeat.protocol({
      interval: Duration.millis(config.heartbeat.intervalMs),
      timeout: Duration.millis(config.heartbeat.timeoutMs)
    }),
  // The default policy (500 ms, ×2, jittered), or the same fixed delay every client gets.
  ...(config.reconnect.kind === "fixed"
    ? {
      reconnect: ReconnectPolicy.exponential({
        base: Duration.millis(config.reconnect.delayMs),
        factor: 1,
        jitter: false
      })
    }
    : {}),
  connectTimeout: Duration.seconds(10)
})

const makeAdapter = (mode: "stream" | "arrays" | "hooks", metrics = false): Adapter => ({
  start: (config, url, handlers: Handlers) =>
    new Promise((resolve, reject) => {
      const index = new Map<string, number>()
      const program = Effect.gen(function*() {
        const manager = yield* WSManager.make({
          maxConcurrentDials: config.dialConcurrency,
          dialsPerSecond: config.dialsPerSecond
        })
        if (metrics) {
          // What a Prometheus scrape every second costs: every series read and formatted.
          yield* Effect.forkScoped(Effect.repeat(PrometheusMetrics.format(), Schedule.spaced("1 second")))
        }
        if (mode === "stream") {
          yield* Effect.forkScoped(
            manager.frames.pipe(
              Stream.runForEach(({ connection, frame }) =>
                frame._tag === "Text"
                  ? Effect.sync(() => handlers.onMessage(index.get(connection)!, frame.data))
                  : Effect.void
              )
            )
          )
        }
        if (mode === "arrays") {
          yield* Effect.forkScoped(
            manager.frames.pipe(
              Stream.runForEachArray((named) =>
                Effect.sync(() => {
                  for (const { connection, frame } of named) {
                    if (frame._tag === "Text") handlers.onMessage(index.get(connection)!, frame.data)
                  }
                })
              )
            )
          )
        }
        yield* Effect.forkScoped(
          manager.events.pipe(
            Stream.runForEach(({ connection, event }: { connection: string; event: ConnectionEvent.ConnectionEvent }) =>
              event._tag === "Disconnected" ? Effect.sync(() => handlers.onClose(index.get(connection)!)) : Effect.void
            )
          )
        )
        for (let i = 0; i < config.connections; i++) {
          const name = `c${i}`
          index.set(name, i)
          const onOpen = () => Effect.sync(() => handlers.onOpen(i))
          yield* manager.add(
            name,
            connectionConfig(config, url(i)),
            mode === "hooks"
              // The plain-function form, as the README advises for hot hooks: no effect per frame.
              ? { onOpen, onText: (frame) => handlers.onMessage(i, frame.data) }
              : { onOpen }
          )
        }
        resolve({ stop: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined) })
        return yield* Effect.never
      }).pipe(
        Effect.scoped,
        Effect.provide(NodeTransport.layer()),
        // The library's log lines are off, as the other clients log nothing: a scenario that opens or
        // drops a thousand connections would otherwise time a thousand lines written to stderr.
        Effect.provideService(References.MinimumLogLevel, "None"),
        Effect.provideService(Metrics.enabled, metrics)
      )
      const fiber = Effect.runFork(program)
      fiber.addObserver((exit) => {
        if (exit._tag === "Failure") reject(new Error(`kharbranth client failed: ${String(exit.cause)}`))
      })
    })
})

/** Kharbranth read through `manager.frames` (a Stream). */
export const streamAdapter: Adapter = makeAdapter("stream")

/** Kharbranth read through `manager.frames`, an array at a time. */
export const arraysAdapter: Adapter = makeAdapter("arrays")

/** Kharbranth read through `onText` hooks. */
export const hooksAdapter: Adapter = makeAdapter("hooks")

/** `stream` with the library's metrics on. */
export const streamMetricsAdapter: Adapter = makeAdapter("stream", true)

/** `hooks` with the library's metrics on. */
export const hooksMetricsAdapter: Adapter = makeAdapter("hooks", true)
