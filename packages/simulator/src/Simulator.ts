/**
 * The Effect API of the simulator: `make` starts the server in the caller's scope (closing the scope
 * closes every socket and the port), and returns a `Simulator` to script faults, inspect connections and
 * traffic, watch server-side events, read the true order books, and drive the market deterministically
 * (`pause`, `advance`, `resume`). `Service` and `layer` provide the same thing as a service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Simulator } from "@kharbranth/simulator"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const sim = yield* Simulator.make({ rate: 20, venues: { binance: { pingInterval: "1 second" } } })
 *   console.log(sim.endpoints.binance)              // ws://127.0.0.1:PORT/binance/ws
 *   yield* sim.fault({ kind: "halfOpen", target: { venue: "okx" }, duration: "3 seconds" })
 * }))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ConnectionInfo, RestStats, Stats } from "./ConnectionInfo.ts"
import { type FaultResult, type FaultSpec, InvalidFault } from "./Fault.ts"
import { type Endpoints, type Engine, start } from "./internal/Server.ts"
import type { Options, VenueName } from "./Options.ts"
import type { SimulatorEvent } from "./SimulatorEvent.ts"
import type { BookVenue, TrueBook } from "./TrueBook.ts"

export type {
  /**
   * A venue as `trueBook` names it (`"binance-usdm"` is accepted for `"binanceUsdm"`).
   *
   * @category models
   * @since 0.2.0
   */
  BookVenue,
  /**
   * The true book of one instrument: `updateId` and the levels, best first, non-zero sizes only.
   *
   * @category models
   * @since 0.2.0
   */
  TrueBook
} from "./TrueBook.ts"

export type {
  /**
   * The WebSocket URL of every venue path on the running server (`binance`, `binanceCombined`, the Binance
   * USD-M routed and legacy paths, `okx`, `bybit`, `coinbase`, `kraken`, `hyperliquid`).
   *
   * @category models
   * @since 0.1.0
   */
  Endpoints
} from "./internal/Server.ts"

/**
 * The server could not listen (port in use, bad host, ...).
 *
 * @category errors
 * @since 0.1.0
 */
export class ListenError extends Schema.TaggedError<ListenError>()("ListenError", {
  host: Schema.String,
  port: Schema.Number,
  cause: Schema.Defect()
}) {
  /** A message a person can act on. */
  override get message(): string {
    return `Simulator could not listen on ${this.host}:${this.port}: ${String(this.cause)}`
  }
}

/**
 * A running simulator.
 *
 * @category models
 * @since 0.1.0
 */
export interface Simulator {
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number
  readonly host: string
  /** WebSocket URL of each venue. */
  readonly endpoints: Endpoints
  /** Applies a fault now (or after `spec.after`); fails with `InvalidFault` for a spec that cannot apply. */
  readonly fault: (spec: FaultSpec) => Effect.Effect<FaultResult, InvalidFault>
  /**
   * Ends a lasting fault or refusal by id, or all of them; also drops book and REST faults still waiting for
   * their message or request.
   */
  readonly heal: (id?: number) => Effect.Effect<void>
  /** The open connections. */
  readonly connections: Effect.Effect<ReadonlyArray<ConnectionInfo>>
  /** Traffic counters per venue and per connection. */
  readonly stats: Effect.Effect<Stats>
  /** Server-side events from the moment the stream is run. */
  readonly events: Stream.Stream<SimulatorEvent>
  /** Subscribes to events now (nothing after this call is missed) and returns them as a stream. */
  readonly subscribe: Effect.Effect<Stream.Stream<SimulatorEvent>, never, Scope.Scope>
  /** Raw TCP sockets still open on the server. */
  readonly openSockets: Effect.Effect<number>
  /**
   * The true book of `instrument` (as the venue spells it: `BTCUSDT`, `BTC-USDT`, `BTC-USD`, `BTC/USD`,
   * `BTC`), truncated to the top `depth` levels per side when given; undefined until a stream or a REST
   * snapshot of it was asked for. A subscription of depth D (Kraken `depth`, Bybit `orderbook.D`, OKX
   * `books` = 400, Hyperliquid `l2Book` = 20) rebuilds exactly `trueBook(venue, instrument, D)`; Binance
   * diff depth and Coinbase `level2` carry the whole book (`depth` omitted).
   */
  readonly trueBook: (venue: BookVenue, instrument: string, depth?: number) => Effect.Effect<TrueBook | undefined>
  /** Stops the market timer: no market data is generated or sent until `resume`, except by `advance`. */
  readonly pause: Effect.Effect<void>
  /** Restarts the market timer. */
  readonly resume: Effect.Effect<void>
  /**
   * Generates `n` updates on every subscribed stream (books, trades, ...) and sends them at once, in
   * batches that let the sockets drain; meant for a paused simulator, so a test drives the market
   * deterministically. Completes when every message was handed to its socket.
   */
  readonly advance: (n: number) => Effect.Effect<void>
  /** The REST depth snapshot endpoints' counters (requests, 429/418 answers, most weight in a window). */
  readonly restStats: Effect.Effect<RestStats>
  /**
   * Ends the authentication of every private session of `venue` as that venue ends one, and returns how
   * many sessions held one: Binance ends each user data subscription with `eventStreamTerminated`; OKX
   * closes the connection with 4007 (its "API key has been updated or deleted" close); Bybit closes it
   * (1000); Kraken invalidates every token it issued and closes its authenticated connections (1000).
   */
  readonly expireAuth: (venue: VenueName) => Effect.Effect<number>
}

const listen = (engine: Engine): Effect.Effect<Queue.Queue<SimulatorEvent>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<SimulatorEvent>()
    yield* Effect.acquireRelease(
      Effect.sync(() => engine.onEvent((event) => Queue.offerUnsafe(queue, event))),
      (off) => Effect.sync(off)
    )
    return queue
  })

const fromEngine = (engine: Engine): Simulator => ({
  port: engine.port,
  host: engine.host,
  endpoints: engine.endpoints,
  fault: (spec) =>
    Effect.try({
      try: () => engine.fault(spec),
      catch: (
        e
      ) => (e instanceof InvalidFault ? e : new InvalidFault({ spec: JSON.stringify(spec), message: String(e) }))
    }),
  heal: (id) => Effect.sync(() => engine.heal(id)),
  connections: Effect.sync(() => engine.connections()),
  stats: Effect.sync(() => engine.stats()),
  events: Stream.callback<SimulatorEvent>((queue) =>
    Effect.acquireRelease(
      Effect.sync(() => engine.onEvent((event) => Queue.offerUnsafe(queue, event))),
      (off) => Effect.sync(off)
    )
  ),
  subscribe: Effect.map(listen(engine), Stream.fromQueue),
  openSockets: Effect.sync(() => engine.openSockets()),
  trueBook: (venue, instrument, depth) => Effect.sync(() => engine.trueBook(venue, instrument, depth)),
  pause: Effect.sync(() => engine.pause()),
  resume: Effect.sync(() => engine.resume()),
  advance: (n) => Effect.promise(() => engine.advance(n)),
  restStats: Effect.sync(() => engine.restStats()),
  expireAuth: (venue) => Effect.sync(() => engine.expireAuth(venue))
})

/**
 * Starts a simulator that lives as long as the current scope. All venues share one port on
 * `127.0.0.1` (port 0 picks a free one).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: (options?: Options) => Effect.Effect<Simulator, ListenError, Scope.Scope> = Effect.fnUntraced(
  function*(options?: Options) {
    const engine = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => start(options),
        catch: (cause) => new ListenError({ host: options?.host ?? "127.0.0.1", port: options?.port ?? 0, cause })
      }),
      (engine) => Effect.promise(() => engine.close())
    )
    return fromEngine(engine)
  }
)

/**
 * The simulator as a service, for programs that take it from the context.
 *
 * @category services
 * @since 0.1.0
 */
export class Service extends Context.Service<Service, Simulator>()("@kharbranth/simulator/Simulator") {}

/**
 * A layer that starts the simulator and stops it when the layer is released.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<Service, ListenError> => Layer.effect(Service, make(options))
