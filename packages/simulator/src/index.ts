/**
 * `@kharbranth/simulator`: a local exchange-like WebSocket server (Binance spot and USD-M futures, OKX,
 * Bybit, Coinbase, Kraken, Hyperliquid on one port) with scripted faults, for demos, tests and benchmarks.
 * It depends on no other Kharbranth package, so a protocol mistake in the client cannot be mirrored by the
 * server.
 *
 * @since 0.1.0
 */

/**
 * Start the server in a scope, script faults, watch events.
 *
 * @since 0.1.0
 */
export * as Simulator from "./Simulator.ts"

/**
 * Fault specs, validation and the CLI spec parser.
 *
 * @since 0.1.0
 */
export * as Fault from "./Fault.ts"

/**
 * Book-breaking and REST snapshot faults.
 *
 * @since 0.2.0
 */
export * as BookFault from "./BookFault.ts"

/**
 * The true order book, as tests read it.
 *
 * @since 0.2.0
 */
export * as TrueBook from "./TrueBook.ts"

/**
 * Options and defaults.
 *
 * @since 0.1.0
 */
export * as Options from "./Options.ts"

/**
 * Server-side events.
 *
 * @since 0.1.0
 */
export * as SimulatorEvent from "./SimulatorEvent.ts"

/**
 * Connection and traffic snapshots.
 *
 * @since 0.1.0
 */
export * as ConnectionInfo from "./ConnectionInfo.ts"

/**
 * Order-book checksums (Kraken v2, OKX), as the simulator computes them.
 *
 * @since 0.1.0
 */
export * as Checksum from "./Checksum.ts"

export {
  /**
   * A running simulator driven with Promises, as `startSimulator` returns it.
   *
   * @category models
   * @since 0.1.0
   */
  type SimulatorHandle,
  /**
   * The Promise API for callers that do not use Effect: starts the simulator and resolves once it listens.
   *
   * @category constructors
   * @since 0.1.0
   */
  startSimulator
} from "./startSimulator.ts"
