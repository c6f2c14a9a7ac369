/**
 * Many named connections, safely. `add` makes a `Connection` in a scope of
 * its own (so `remove` closes exactly that connection's socket, fibers and
 * timers); a second `add` of a live name, or of one being added, fails
 * with `DuplicateConnection` and dials nothing. The names are kept in one
 * `Ref`, each change one atomic `Ref.modify` of a map updated in place
 * (never copied per `add`), so opening n connections costs O(n). All
 * connections share one dial governor (dials in flight, and dials per host
 * over a 1.1 s window that keeps a margin for transit: see
 * `ManagerOptions`), so a thousand connections that drop together
 * reconnect spread out, not in lockstep.
 * Frames, events and states of every connection are merged into single
 * streams without a fiber or a subscription per connection.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as Connection from "./Connection.ts"
import type { ConnectionConfig } from "./ConnectionConfig.ts"
import * as Errors from "./ConnectionError.ts"
import type { ConnectionEvent } from "./ConnectionEvent.ts"
import type { ConnectionState } from "./ConnectionState.ts"
import type * as Frame from "./Frame.ts"
import { currentState } from "./internal/currentState.ts"
import { governed } from "./internal/governor.ts"
import { Hub, RETAINED_FRAMES } from "./internal/hub.ts"
import { makeObserved, shutdown } from "./internal/make.ts"
import type { Observer } from "./internal/observer.ts"
import { SettingsCache } from "./internal/settings.ts"
import * as Transport from "./Transport.ts"

/**
 * Options of a manager.
 *
 * @category models
 * @since 0.1.0
 */
export interface ManagerOptions {
  /**
   * Dials in flight at once, across all hosts. Default 8: enough to reopen
   * hundreds of connections in seconds, few enough not to look like a flood.
   */
  readonly maxConcurrentDials?: number | undefined
  /**
   * Dials per host, counted over any window of 1.1 s: a second, and a tenth
   * of margin for transit. The governor counts a dial when it starts, the
   * venue when its upgrade request arrives; with the margin, dials whose
   * transit times differ by up to 100 ms still never put more than this many
   * into any one-second window at the server. So a full window's next dial
   * starts 1.1 s after the oldest in it. Default 3: OKX's per-IP limit
   * (3 connection requests per second), the strictest of the major venues;
   * Binance allows 300 per 5 minutes. Raise it for hosts you control.
   */
  readonly dialsPerSecond?: number | undefined
  /** Merged `frames` buffer per subscriber (default 16384) and its strategy (default `suspend`). */
  readonly inbound?: {
    readonly capacity?: number | undefined
    readonly strategy?: "suspend" | "sliding" | "dropping" | undefined
  } | undefined
}

/**
 * A frame and the name of the connection it arrived on.
 *
 * @category models
 * @since 0.1.0
 */
export interface NamedFrame {
  readonly connection: string
  readonly frame: Frame.Frame
}

/**
 * Built by a constructor, not an object literal, for the reason `Frame`'s
 * data frames are: a literal made per frame in a hot loop may be pretenured,
 * and then every dead one keeps its frame and payload until a full GC.
 */
interface NamedFrameConstructor {
  new(connection: string, frame: Frame.Frame): NamedFrame
}
const NamedFrameObject = function(
  this: { connection: string; frame: Frame.Frame },
  connection: string,
  frame: Frame.Frame
) {
  this.connection = connection
  this.frame = frame
} as unknown as NamedFrameConstructor
NamedFrameObject.prototype = Object.prototype

/**
 * An event and the name of its connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface NamedEvent {
  readonly connection: string
  readonly event: ConnectionEvent
}

/**
 * A state change and the name of its connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface NamedState {
  readonly connection: string
  readonly state: ConnectionState
}

/**
 * Per-connection stats and their totals.
 *
 * @category models
 * @since 0.1.0
 */
export interface ManagerStats {
  readonly connections: Readonly<Record<string, Connection.ConnectionStats>>
  readonly totals: {
    readonly connections: number
    readonly open: number
    readonly framesIn: number
    readonly bytesIn: number
    readonly framesOut: number
    readonly bytesOut: number
    readonly dropped: number
    readonly reconnects: number
    readonly failedDials: number
  }
}

/**
 * The manager.
 *
 * @category models
 * @since 0.1.0
 */
export interface WSManagerShape {
  /**
   * Makes and starts a connection; fails with `DuplicateConnection` if the
   * name is live or being added, and with `ConnectionStopped` once the
   * manager has closed (also when it closes while this `add` is making the
   * connection, which it then closes). The name is reserved from the start:
   * until `add` returns, `get`, `remove` and the other operations by name do
   * not find it. The dial itself happens after `add` returns.
   */
  readonly add: <R = never>(
    name: string,
    config: ConnectionConfig,
    hooks?: Connection.ReadHooks<R>
  ) => Effect.Effect<
    Connection.ConnectionShape,
    Errors.DuplicateConnection | Errors.InvalidConfig | Errors.ConnectionStopped,
    R
  >
  /**
   * The live connection of that name. Fails with `ConnectionNotFound` when
   * there is none, which includes a name whose `add` has not returned yet and
   * every name once the manager has closed.
   */
  readonly get: (name: string) => Effect.Effect<Connection.ConnectionShape, Errors.ConnectionNotFound>
  /**
   * Closes exactly that connection (gracefully) and frees the name. A name
   * whose `add` has not returned is not found (it fails at once): that add
   * goes on.
   */
  readonly remove: (name: string) => Effect.Effect<void, Errors.ConnectionNotFound>
  /**
   * The named connection's `restart`: an open session is closed now and
   * redialed without backoff, a backoff wait ends in a dial now, and a dial
   * in progress goes on; the redial waits its turn at the manager's dial
   * governor like every dial. Fails with `ConnectionNotFound` when no live
   * connection has that name, and with `ConnectionStopped` when that
   * connection has stopped (closed, or gave up reconnecting).
   */
  readonly restart: (
    name: string,
    reason?: string
  ) => Effect.Effect<void, Errors.ConnectionNotFound | Errors.ConnectionStopped>
  /** Restarts every live connection; the dial governor spreads the redials. */
  readonly restartAll: (reason?: string) => Effect.Effect<void>
  /**
   * `send` on the named connection's open session, with that connection's
   * rules: while it is not open, fails with `NotConnected`, or with a
   * `sendBuffer` waits for the next session (`SendFailed` when the buffer is
   * full, `ConnectionStopped` if the connection closes first). Fails with
   * `ConnectionNotFound` when no live connection has that name.
   */
  readonly send: (
    name: string,
    data: Frame.Outbound
  ) => Effect.Effect<
    void,
    Errors.ConnectionNotFound | Errors.SendFailed | Errors.NotConnected | Errors.ConnectionStopped
  >
  /** Live names, in the order they were added. */
  readonly names: Effect.Effect<ReadonlyArray<string>>
  /** Every live connection's current state. */
  readonly states: Effect.Effect<ReadonlyMap<string, ConnectionState>>
  /**
   * State changes of every connection, merged. The first subscriber also
   * gets the changes made before it subscribed (up to 4,096, as `events`);
   * a later one gets them from the moment its stream starts. `states` gives
   * every connection's state now.
   */
  readonly stateChanges: Stream.Stream<NamedState>
  /**
   * Frames of every connection, merged; each connection's frames keep their
   * order. The first subscriber also gets the frames that arrived before it
   * subscribed (up to 1,024, or `inbound.capacity` if smaller; past that
   * many, none: a program that never subscribes does not hold its first
   * frames for seconds). A socket read's frames arrive as
   * one array (a subscriber waiting while reads are small gets each frame as
   * it is read): read a flood with `Stream.runForEachArray` (one effect per
   * array, not per frame).
   */
  readonly frames: Stream.Stream<NamedFrame>
  /**
   * Events of every connection, merged; each connection's events keep their
   * order. The first subscriber also gets the events published before it
   * subscribed (up to 4,096; past that many, none), as `frames` keeps frames
   * for it: subscribe before adding connections, or right after, and nothing
   * is missed. A later subscriber gets them from the moment its stream starts.
   */
  readonly events: Stream.Stream<NamedEvent>
  /**
   * An Effect, not a function (`yield* manager.stats`): every live
   * connection's `stats` by name as they are when it runs, and their sums.
   * `totals.open` counts the connections whose state is `Open`, and
   * `totals.dropped` adds the frames the manager's own `frames` stream
   * dropped for a `sliding`/`dropping` subscriber.
   */
  readonly stats: Effect.Effect<ManagerStats>
}

/**
 * The manager service.
 *
 * @category services
 * @since 0.1.0
 */
export class WSManager extends Context.Service<WSManager, WSManagerShape>()("@kharbranth/core/WSManager") {}

/** A live connection: ended with `shutdown` (no scope of its own, see `add`). */
type Entry = Connection.ConnectionShape

/**
 * What a manager holds, in one `Ref`. While open: the live connections by
 * name, in the order their `add`s returned, and the names whose `add` is
 * making their connection (reserved, not yet live). Both are updated in
 * place, each change one `Ref.modify` (copying the map per `add` made
 * opening n connections O(n²)); readers copy what they keep across a yield.
 * Once closed: nothing, and nothing is added again.
 *
 * **Details**
 *
 * A `Ref`, not a `SynchronizedRef`: every change is synchronous, so
 * `Ref.modify` is already atomic, and no change waits for another. The
 * effectful step, making the connection, runs between two changes (reserve,
 * then settle), outside any lock, so `get` and `remove` never wait for an
 * `add`. A `SynchronizedRef` would add a semaphore round trip to each change
 * (about 2 KB allocated and 1 µs of CPU more per `add`: FINDINGS.md in
 * packages/bench) and serialise nothing more.
 */
type Registry =
  | { readonly _tag: "Open"; readonly entries: Map<string, Entry>; readonly adding: Set<string> }
  | { readonly _tag: "Closed" }

const Closed: Registry = { _tag: "Closed" }

const noEntries: ReadonlyMap<string, Entry> = new Map()

/** The live connections now (none once closed); copy what you keep across a yield. */
const liveEntries = (registry: Ref.Ref<Registry>): ReadonlyMap<string, Entry> => {
  const current = Ref.getUnsafe(registry)
  return current._tag === "Open" ? current.entries : noEntries
}

/** Events and state changes kept for the first subscriber of `events` and of `stateChanges`. */
const RETAINED_EVENTS = 4096

/**
 * The defaults of `ManagerOptions`.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaults = {
  maxConcurrentDials: 8,
  dialsPerSecond: 3,
  capacity: 16_384,
  strategy: "suspend" as const
}

const positiveInteger = (field: string, value: number | undefined, fallback: number) => {
  if (value === undefined) return Effect.succeed(fallback)
  return Number.isInteger(value) && value > 0
    ? Effect.succeed(value)
    : Effect.fail(
      new Errors.InvalidConfig({ connection: "WSManager", field, reason: `must be a positive integer, got ${value}` })
    )
}

/**
 * Makes a manager living as long as the scope; closing the scope closes
 * every connection gracefully (close frame, then terminate after each
 * connection's `closeTimeout`), all at once, and ends the merged streams.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: ManagerOptions = {}
): Effect.Effect<WSManagerShape, Errors.InvalidConfig, Transport.Transport | Scope.Scope> =>
  Effect.gen(function*() {
    const maxConcurrentDials = yield* positiveInteger(
      "maxConcurrentDials",
      options.maxConcurrentDials,
      defaults.maxConcurrentDials
    )
    const dialsPerSecond = yield* positiveInteger("dialsPerSecond", options.dialsPerSecond, defaults.dialsPerSecond)
    const capacity = yield* positiveInteger("inbound.capacity", options.inbound?.capacity, defaults.capacity)
    const strategy = options.inbound?.strategy ?? defaults.strategy

    const clock = yield* Clock.Clock
    const transport = yield* governed(yield* Transport.Transport, { maxConcurrentDials, dialsPerSecond })
    const registry = yield* Ref.make<Registry>({ _tag: "Open", entries: new Map(), adding: new Set() })

    // Connections whose configs resolve to the same settings share one object of them (internal/settings.ts).
    const settings = new SettingsCache()
    const frames = new Hub<NamedFrame>(capacity, strategy, Math.min(capacity, RETAINED_FRAMES))
    const events = new Hub<NamedEvent>(Number.POSITIVE_INFINITY, "suspend", RETAINED_EVENTS)
    const states = new Hub<NamedState>(Number.POSITIVE_INFINITY, "suspend", RETAINED_EVENTS)

    const observer: Observer = {
      retainFrames: false,
      frameReaders: () => frames.readers,
      frames: (connection, batch) => {
        if (!frames.wanted) return Effect.void
        const named = new Array<NamedFrame>(batch.length)
        for (let i = 0; i < batch.length; i++) named[i] = new NamedFrameObject(connection, batch[i]!)
        return frames.publish(named)
      },
      event: (connection, event) => events.wanted ? events.publish([{ connection, event }]) : Effect.void,
      state: (connection, state) => states.wanted ? states.publish([{ connection, state }]) : Effect.void
    }

    const lookup = (name: string) =>
      Effect.suspend(() => {
        const entry = liveEntries(registry).get(name)
        return entry === undefined ? Effect.fail(new Errors.ConnectionNotFound({ name })) : Effect.succeed(entry)
      })

    const stopped = (name: string) =>
      new Errors.ConnectionStopped({ connection: name, reason: "the manager has closed" })

    /** Reserves the name for an `add`, or gives the reason it cannot have it. */
    const reserve = (name: string) =>
      Ref.modify(registry, (current): readonly [
        Errors.ConnectionStopped | Errors.DuplicateConnection | undefined,
        Registry
      ] => {
        if (current._tag === "Closed") return [stopped(name), current]
        if (current.entries.has(name) || current.adding.has(name)) {
          return [new Errors.DuplicateConnection({ name }), current]
        }
        current.adding.add(name)
        return [undefined, current]
      })

    /**
     * Ends a reservation with what making the connection gave: the connection
     * goes live, or, if the manager has closed meanwhile (its finalizer did
     * not see this one), it is shut down here. A failed make made nothing.
     */
    const settle = (
      name: string,
      made: Exit.Exit<Connection.ConnectionShape, Errors.InvalidConfig>
    ): Effect.Effect<Connection.ConnectionShape, Errors.InvalidConfig | Errors.ConnectionStopped> =>
      Effect.flatMap(
        Ref.modify(registry, (current) => {
          if (current._tag === "Closed") return [false, current] as const
          current.adding.delete(name)
          if (Exit.isSuccess(made)) current.entries.set(name, made.value)
          return [true, current] as const
        }),
        (open): Effect.Effect<Connection.ConnectionShape, Errors.InvalidConfig | Errors.ConnectionStopped> => {
          if (Exit.isFailure(made) || open) return made
          return Effect.andThen(shutdown(made.value), Effect.fail(stopped(name)))
        }
      )

    const add = <R>(
      name: string,
      config: ConnectionConfig,
      hooks: Connection.ReadHooks<R> = {}
    ): Effect.Effect<
      Connection.ConnectionShape,
      Errors.InvalidConfig | Errors.ConnectionStopped | Errors.DuplicateConnection,
      R
    > =>
      // Interruptible only while the connection is made, so that a reserved
      // name always ends live or free.
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(reserve(name), (refused): Effect.Effect<
          Connection.ConnectionShape,
          Errors.InvalidConfig | Errors.ConnectionStopped | Errors.DuplicateConnection,
          R
        > => {
          if (refused !== undefined) return Effect.fail(refused)
          // No scope of its own: the manager ends it with `shutdown`, from
          // `remove` or from its finalizer, which ends all connections in
          // parallel rather than one after another.
          // Making the connection validates its config and forks its dial loop;
          // the dial itself happens outside, after add returns. Meanwhile the
          // name is reserved: `get` and `remove` of it fail at once.
          return Effect.flatMap(
            Effect.exit(restore(makeObserved(name, config, hooks, transport, clock, observer, undefined, settings))),
            (made) => settle(name, made)
          )
        })
      )

    const remove = (name: string) =>
      Effect.gen(function*() {
        const entry = yield* Ref.modify(registry, (current) => {
          if (current._tag === "Closed") return [undefined, current] as const
          const entry = current.entries.get(name)
          current.entries.delete(name)
          return [entry, current] as const
        })
        if (entry === undefined) return yield* new Errors.ConnectionNotFound({ name })
        yield* shutdown(entry)
      })

    const all = Effect.sync(() => Array.from(liveEntries(registry).values()))

    // Closing the manager closes every connection at once, so shutdown takes
    // one closeTimeout, not one per connection. No add starts after; one in
    // progress closes its connection itself when it finds the manager closed.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const closing = yield* Ref.modify(
          registry,
          (current) => [current._tag === "Open" ? Array.from(current.entries.values()) : [], Closed] as const
        )
        yield* Effect.forEach(closing, shutdown, {
          concurrency: "unbounded",
          discard: true
        })
        yield* frames.end
        yield* events.end
        yield* states.end
      })
    )

    return {
      add,
      get: (name) => Effect.map(lookup(name), (entry) => entry),
      remove,
      restart: (name, reason) => Effect.flatMap(lookup(name), (entry) => entry.restart(reason)),
      restartAll: (reason) =>
        Effect.flatMap(all, (list) =>
          Effect.forEach(list, (entry) => Effect.ignore(entry.restart(reason)), {
            concurrency: "unbounded",
            discard: true
          })),
      send: (name, data) => Effect.flatMap(lookup(name), (entry) => entry.send(data)),
      names: Effect.sync(() => Array.from(liveEntries(registry).keys())),
      states: Effect.sync(() =>
        new Map(Array.from(liveEntries(registry), ([name, entry]) => [name, currentState(entry)] as const))
      ),
      stateChanges: states.stream,
      frames: frames.stream,
      events: events.stream,
      stats: Effect.gen(function*() {
        const list = Array.from(liveEntries(registry))
        const connections: Record<string, Connection.ConnectionStats> = {}
        const totals = {
          connections: list.length,
          open: 0,
          framesIn: 0,
          bytesIn: 0,
          framesOut: 0,
          bytesOut: 0,
          dropped: 0,
          reconnects: 0,
          failedDials: 0
        }
        for (const [name, entry] of list) {
          const s = yield* entry.stats
          connections[name] = s
          if (currentState(entry)._tag === "Open") totals.open++
          totals.framesIn += s.framesIn
          totals.bytesIn += s.bytesIn
          totals.framesOut += s.framesOut
          totals.bytesOut += s.bytesOut
          totals.dropped += s.dropped
          totals.reconnects += s.reconnects
          totals.failedDials += s.failedDials
        }
        totals.dropped += frames.dropped
        return { connections, totals }
      })
    } satisfies WSManagerShape
  })

/**
 * A layer providing a `WSManager`.
 *
 * @example
 * ```ts
 * import { WSManager } from "@kharbranth/core"
 * import { NodeTransport } from "@kharbranth/node"
 * import { Effect, Layer, Stream } from "effect"
 *
 * const Live = WSManager.layer({ maxConcurrentDials: 8, dialsPerSecond: 3 }).pipe(Layer.provide(NodeTransport.layer()))
 *
 * const program = Effect.gen(function*() {
 *   const manager = yield* WSManager.WSManager
 *   yield* manager.add("btc", { url: "wss://stream.binance.com:9443/ws/btcusdt@trade" })
 *   yield* manager.add("eth", { url: "wss://stream.binance.com:9443/ws/ethusdt@trade" })
 *   yield* manager.frames.pipe(
 *     Stream.take(10),
 *     Stream.runForEach(({ connection, frame }) => Effect.log(`${connection}: ${frame._tag}`))
 *   )
 * }).pipe(Effect.provide(Live))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: ManagerOptions): Layer.Layer<WSManager, Errors.InvalidConfig, Transport.Transport> =>
  Layer.effect(WSManager, make(options))

/**
 * The manager's options read from configuration: `KHARBRANTH_MAX_CONCURRENT_DIALS`
 * and `KHARBRANTH_DIALS_PER_SECOND`, each falling back to its default.
 *
 * @category configuration
 * @since 0.1.0
 */
export const config: Config.Config<ManagerOptions> = Config.all({
  maxConcurrentDials: Config.Int("KHARBRANTH_MAX_CONCURRENT_DIALS").pipe(
    Config.withDefault(defaults.maxConcurrentDials)
  ),
  dialsPerSecond: Config.Int("KHARBRANTH_DIALS_PER_SECOND").pipe(Config.withDefault(defaults.dialsPerSecond))
})

/**
 * A layer providing a `WSManager` whose options come from a `Config`
 * (by default `WSManager.config`, from the environment).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  options: Config.Config<ManagerOptions> = config
): Layer.Layer<WSManager, Errors.InvalidConfig | Config.ConfigError, Transport.Transport> =>
  Layer.effect(WSManager, Effect.flatMap(options, make))
