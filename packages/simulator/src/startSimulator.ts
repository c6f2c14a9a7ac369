/**
 * A Promise API for callers that do not use Effect (a benchmark child process, a plain script): start the
 * simulator, script faults, close it. It is the same engine as `Simulator.make`.
 *
 * @since 0.1.0
 */
import type { ConnectionInfo, RestStats, Stats } from "./ConnectionInfo.ts"
import type { FaultResult, FaultSpec } from "./Fault.ts"
import { type Endpoints, start } from "./internal/Server.ts"
import type { Options, VenueName } from "./Options.ts"
import type { SimulatorEvent } from "./SimulatorEvent.ts"
import type { BookVenue, TrueBook } from "./TrueBook.ts"

/**
 * A running simulator driven with Promises.
 *
 * @category models
 * @since 0.1.0
 */
export interface SimulatorHandle {
  readonly port: number
  readonly endpoints: Endpoints
  /** Applies a fault; rejects with `InvalidFault` for a spec that cannot apply. */
  readonly fault: (spec: FaultSpec) => Promise<FaultResult>
  /** Ends a lasting fault or refusal by id, or all of them. */
  readonly heal: (id?: number) => void
  readonly connections: () => ReadonlyArray<ConnectionInfo>
  readonly stats: () => Stats
  /** Registers an event listener; returns its removal. */
  readonly onEvent: (listener: (event: SimulatorEvent) => void) => () => void
  /** The true book of an instrument, as `Simulator.trueBook`. */
  readonly trueBook: (venue: BookVenue, instrument: string, depth?: number) => TrueBook | undefined
  /** Stops the market timer. */
  readonly pause: () => void
  /** Restarts the market timer. */
  readonly resume: () => void
  /** Generates and sends `n` updates on every subscribed stream, as `Simulator.advance`. */
  readonly advance: (n: number) => Promise<void>
  /** The REST depth snapshot endpoints' counters. */
  readonly restStats: () => RestStats
  /** Ends the authentication of a venue's private sessions, as `Simulator.expireAuth`; returns how many. */
  readonly expireAuth: (venue: VenueName) => number
  /** Closes every connection and the server; resolves when nothing is left open. Idempotent. */
  readonly close: () => Promise<void>
}

/**
 * Starts the simulator; resolves once it listens.
 *
 * @category constructors
 * @since 0.1.0
 */
export const startSimulator = async (options?: Options): Promise<SimulatorHandle> => {
  const engine = await start(options)
  return {
    port: engine.port,
    endpoints: engine.endpoints,
    fault: async (spec) => engine.fault(spec),
    heal: engine.heal,
    connections: engine.connections,
    stats: engine.stats,
    onEvent: engine.onEvent,
    trueBook: engine.trueBook,
    pause: engine.pause,
    resume: engine.resume,
    advance: engine.advance,
    restStats: engine.restStats,
    expireAuth: engine.expireAuth,
    close: engine.close
  }
}
