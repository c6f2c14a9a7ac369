/**
 * `@kharbranth/simulator`: a local exchange-like WebSocket server (Binance spot and USD-M futures, OKX,
 * Bybit, Coinbase, Kraken, Hyperliquid on one port) with scripted faults, for demos, tests and benchmarks.
 * It depends on no other Kharbranth package, so a protocol mistake in the client cannot be mirrored by the
 * server.
 */

/** Start the server in a scope, script faults, watch events. */
export * as Simulator from "./Simulator.ts"

/** Fault specs, validation and the CLI spec parser. */
export * as Fault from "./Fault.ts"

/** Options and defaults. */
export * as Options from "./Options.ts"

/** Server-side events. */
export * as SimulatorEvent from "./SimulatorEvent.ts"

/** Connection and traffic snapshots. */
export * as ConnectionInfo from "./ConnectionInfo.ts"

/** Order-book checksums (Kraken v2, OKX), as the simulator computes them. */
export * as Checksum from "./Checksum.ts"

/** Promise API for non-Effect callers. */
export { type SimulatorHandle, startSimulator } from "./startSimulator.ts"
