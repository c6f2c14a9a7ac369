/**
 * A live dashboard in the browser for a `WSManager`: every connection's
 * state, messages per second, RTT, reconnects, gaps and last error, with
 * sparklines of rate and RTT over the last minute and a timeline of faults
 * and recoveries, updated about twice a second over server-sent events.
 *
 * `Dashboard.layer({ port })` serves it on 127.0.0.1; `Dashboard.routes()`
 * adds its routes to an `HttpRouter` of your own. The page is one
 * self-contained HTML document (inline CSS and script, no build step).
 * `GET /api/snapshot` answers the same numbers as JSON. The dashboard samples
 * `manager.stats` on a timer (never per frame) and keeps bounded history.
 * Gaps and other marks come from the program: `dashboard.mark(...)`, or a
 * `Stream` of marks in the options.
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type { ConnectionEvent } from "@kharbranth/core"
import { WSManager } from "@kharbranth/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import type * as HttpServer from "effect/http/HttpServer"
import type * as HttpServerError from "effect/http/HttpServerError"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import * as Model from "./internal/dashboard/model.ts"
import { page } from "./internal/dashboard/page.ts"

/**
 * What a timeline entry says happened: a `fault` (red), a recovery
 * (`recovered`, green), a sequence `gap` (counted in the connection's gaps),
 * or `info`.
 *
 * @category models
 * @since 0.1.0
 */
export type MarkKind = Model.MarkKind

/**
 * A mark the program adds to the timeline: which connection, what kind, and
 * a line of text. A `gap` mark also counts in that connection's gaps and
 * becomes its last error.
 *
 * @category models
 * @since 0.1.0
 */
export type Mark = Model.Mark

/**
 * A timeline entry: a mark (the program's, or one the dashboard made from a
 * connection event) with its id (increasing) and time (epoch ms).
 *
 * @category models
 * @since 0.1.0
 */
export type TimelineEntry = Model.TimelineEntry

/**
 * One connection as the dashboard shows it. `rate` is frames received per
 * second over the last sample interval, `rtt` the latest ping round trip in
 * ms (`null` until one is answered), `history` the kept samples of both,
 * oldest first. Plain JSON: no `undefined`.
 *
 * @category models
 * @since 0.1.0
 */
export type ConnectionView = Model.ConnectionView

/**
 * Sums over every connection: `open` and `reconnects` are the manager's own
 * totals (`manager.stats`), `rate` the sum of the connections' rates, `gaps`
 * the gap marks counted.
 *
 * @category models
 * @since 0.1.0
 */
export type Totals = Model.Totals

/**
 * What `GET /api/snapshot` answers: the time of the latest sample (epoch
 * ms), the sampling `interval` (ms) and how many `samples` a full history
 * holds, every connection as sampled, the totals, and the kept timeline,
 * oldest first.
 *
 * @category models
 * @since 0.1.0
 */
export type Snapshot = Model.Snapshot

/**
 * What the event stream carries: a `Snapshot` each sample (its `timeline`
 * empty), and the timeline entries as they are made.
 *
 * @category models
 * @since 0.1.0
 */
export type Update =
  | { readonly _tag: "Snapshot"; readonly snapshot: Snapshot }
  | { readonly _tag: "Timeline"; readonly entries: ReadonlyArray<TimelineEntry> }

/**
 * The dashboard's data: its latest snapshot, its updates as a stream, and
 * `mark` for the program's own timeline entries.
 *
 * @category models
 * @since 0.1.0
 */
export interface DashboardShape {
  /** The latest sample, with the timeline kept so far. */
  readonly snapshot: Effect.Effect<Snapshot>
  /**
   * The latest snapshot and timeline first, then every update; ends when the
   * dashboard closes. A subscriber that falls behind loses its oldest updates.
   */
  readonly updates: Stream.Stream<Update>
  /** Adds an entry to the timeline (and counts a `gap`). */
  readonly mark: (mark: Mark) => Effect.Effect<void>
}

/**
 * The dashboard service.
 *
 * @category services
 * @since 0.1.0
 */
export class Dashboard extends Context.Service<Dashboard, DashboardShape>()("@kharbranth/node/Dashboard") {}

/**
 * How the dashboard samples and what it keeps.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Time between two samples of `manager.stats` (default 500 ms). */
  readonly interval?: Duration.Input | undefined
  /** How far back the sparklines reach (default 60 s). */
  readonly history?: Duration.Input | undefined
  /** Timeline entries kept (default 200). */
  readonly timeline?: number | undefined
  /** Marks to add to the timeline as they come, e.g. a feed's gap events. */
  readonly marks?: Stream.Stream<Mark> | undefined
  /** The page's title, for `Dashboard.layer` (default "Kharbranth"; `routes` takes its own). */
  readonly title?: string | undefined
}

/**
 * Makes a dashboard over the `WSManager`: a sampler fiber reads
 * `manager.stats` and `manager.states` every `interval`, an event fiber
 * folds `manager.events` into last errors and the timeline. Both live in
 * the caller's scope; closing it ends them and every `updates` stream.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(
  options: Options = {}
): Effect.fn.Return<DashboardShape, never, WSManager.WSManager | Scope.Scope> {
  const manager = yield* WSManager.WSManager
  const interval = Duration.toMillis(Duration.fromInputUnsafe(options.interval ?? "500 millis"))
  const history = Duration.toMillis(Duration.fromInputUnsafe(options.history ?? "60 seconds"))
  const model = new Model.Model({
    interval,
    samples: Math.max(2, Math.ceil(history / Math.max(1, interval))),
    timeline: Math.max(1, options.timeline ?? 200)
  })
  const pubsub = yield* PubSub.sliding<Update>(256)
  const closed = yield* Deferred.make<void>()
  yield* Effect.addFinalizer(() => Deferred.succeed(closed, undefined))

  const publishEntry = (entry: TimelineEntry | undefined) =>
    entry === undefined ? Effect.void : PubSub.publish(pubsub, { _tag: "Timeline", entries: [entry] })
  const mark = (m: Mark) => Effect.flatMap(Clock.currentTimeMillis, (at) => publishEntry(model.mark(at, m)))
  const onEvent = (connection: string, event: ConnectionEvent.ConnectionEvent) =>
    Effect.suspend(() => publishEntry(model.event(connection, event)))
  const sample = Effect.gen(function*() {
    const at = yield* Clock.currentTimeMillis
    const snapshot = model.sample(at, yield* manager.stats, yield* manager.states)
    yield* PubSub.publish(pubsub, { _tag: "Snapshot", snapshot })
  })

  yield* Effect.forkScoped(Stream.runForEach(manager.events, ({ connection, event }) => onEvent(connection, event)))
  if (options.marks !== undefined) yield* Effect.forkScoped(Stream.runForEach(options.marks, mark))
  yield* sample
  yield* Effect.forkScoped(Effect.repeat(sample, Schedule.spaced(Duration.millis(interval))))

  const updates: Stream.Stream<Update> = Stream.unwrap(Effect.gen(function*() {
    // Subscribe first, then read the current state: nothing falls between (an entry may come twice; ids tell).
    const subscription = yield* PubSub.subscribe(pubsub)
    const now = model.snapshot()
    const first: Array<Update> = [{ _tag: "Snapshot", snapshot: { ...now, timeline: [] } }]
    if (now.timeline.length > 0) first.push({ _tag: "Timeline", entries: now.timeline })
    return Stream.concat(Stream.fromIterable(first), Stream.fromSubscription(subscription))
  })).pipe(Stream.interruptWhen(Deferred.await(closed)))

  return {
    snapshot: Effect.sync(() => model.snapshot()),
    updates,
    mark
  }
})

/**
 * The `Dashboard` service alone, for a program that serves it itself
 * (`Dashboard.routes`) or only reads its snapshots.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerService = (options?: Options): Layer.Layer<Dashboard, never, WSManager.WSManager> =>
  Layer.effect(Dashboard, make(options))

const sse = (update: Update) =>
  update._tag === "Snapshot"
    ? `event: snapshot\ndata: ${JSON.stringify(update.snapshot)}\n\n`
    : `event: timeline\ndata: ${JSON.stringify(update.entries)}\n\n`

/**
 * The dashboard's routes, to add to an `HttpRouter` of your own: `GET
 * {prefix}/` the page, `GET {prefix}/events` the server-sent events (a
 * `snapshot` event per sample, `timeline` events with new entries), `GET
 * {prefix}/api/snapshot` the latest `Snapshot` as JSON. `prefix` is empty by
 * default; with one (`"/dashboard"`), the page is served with or without the
 * trailing slash (its script finds the other routes either way).
 *
 * **Gotchas**
 *
 * An open event stream is a request that never ends by itself. Node's
 * server, closing, waits for its requests (`NodeHttpServer`'s preemptive
 * shutdown, up to `gracefulShutdownTimeout`, 20 s by default) before the
 * request fibers are interrupted: give your server
 * `disablePreemptiveShutdown: true` (as `Dashboard.layer` does) or a short
 * `gracefulShutdownTimeout`.
 *
 * @example
 * ```ts
 * import * as Dashboard from "@kharbranth/node/Dashboard"
 * import { WSManager } from "@kharbranth/core"
 * import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
 * import { Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 * import { createServer } from "node:http"
 *
 * // The dashboard under /dashboard/ beside your own routes, on your own server.
 * const App = HttpRouter.serve(Dashboard.routes({ prefix: "/dashboard" })).pipe(
 *   Layer.provideMerge(Dashboard.layerService()),
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 8080, host: "127.0.0.1", disablePreemptiveShutdown: true }))
 * )
 * const _check: Layer.Layer<Dashboard.Dashboard, unknown, WSManager.WSManager> = App
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const routes = (
  options: { readonly prefix?: `/${string}` | undefined; readonly title?: string | undefined } = {}
): Layer.Layer<never, never, HttpRouter.HttpRouter | Dashboard> => {
  const prefix: "" | `/${string}` = options.prefix === undefined || options.prefix === "/"
    ? ""
    : options.prefix.endsWith("/")
    ? options.prefix.slice(0, -1) as `/${string}`
    : options.prefix
  const html = HttpServerResponse.html(page(options.title ?? "Kharbranth"))
  const noCache = { "cache-control": "no-store" }
  return HttpRouter.addAll(Effect.map(Dashboard, (dashboard: DashboardShape) => {
    const list: Array<HttpRouter.Route<never, never>> = [
      HttpRouter.route("GET", `${prefix}/`, HttpServerResponse.setHeaders(html, noCache)),
      HttpRouter.route(
        "GET",
        `${prefix}/api/snapshot`,
        Effect.flatMap(
          dashboard.snapshot,
          (snapshot) => Effect.orDie(HttpServerResponse.json(snapshot, { headers: noCache }))
        )
      ),
      HttpRouter.route(
        "GET",
        `${prefix}/events`,
        Effect.sync(() =>
          HttpServerResponse.stream(dashboard.updates.pipe(Stream.map(sse), Stream.encodeText), {
            contentType: "text/event-stream",
            headers: { ...noCache, "x-accel-buffering": "no" }
          })
        )
      )
    ]
    return list
  }))
}

/**
 * Serves the dashboard on its own HTTP server: `http://{host}:{port}/`
 * (host `127.0.0.1` by default; port `0` takes a free port, see
 * `HttpServer.HttpServer`'s `address`). Closing the layer stops the server,
 * the sampler and every event stream.
 *
 * @example
 * ```ts
 * import { NodeTransport } from "@kharbranth/node"
import * as Dashboard from "@kharbranth/node/Dashboard"
 * import { WSManager } from "@kharbranth/core"
 * import { Effect, Layer } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const manager = yield* WSManager.WSManager
 *   yield* manager.add("btc", { url: "wss://example.com/ws" })
 *   const dashboard = yield* Dashboard.Dashboard
 *   yield* dashboard.mark({ connection: "btc", kind: "info", text: "subscribed" })
 * })
 *
 * const Live = Dashboard.layer({ port: 8080 }).pipe(
 *   Layer.provideMerge(WSManager.layer()),
 *   Layer.provide(NodeTransport.layer())
 * )
 * const _run: Effect.Effect<void, unknown> = program.pipe(Effect.provide(Live))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options & { readonly port: number; readonly host?: string | undefined }
): Layer.Layer<Dashboard | HttpServer.HttpServer, HttpServerError.ServeError, WSManager.WSManager> =>
  HttpRouter.serve(routes({ title: options.title }), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(layerService(options)),
    Layer.provideMerge(
      NodeHttpServer.layerServer(createServer, {
        port: options.port,
        host: options.host ?? "127.0.0.1",
        // Open event streams end with the dashboard's scope; nothing else to wait for.
        disablePreemptiveShutdown: true
      })
    )
  )
