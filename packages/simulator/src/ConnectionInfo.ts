/**
 * Read-only views of the simulator's state: one record per open connection (venue, path, subscriptions,
 * active faults, traffic counters) and traffic totals per venue. They are snapshots; call again for
 * fresh numbers.
 *
 * @since 0.1.0
 */
import type { Kind } from "./Fault.ts"
import type { VenueName } from "./Options.ts"

/**
 * One open connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectionInfo {
  readonly id: number
  readonly venue: VenueName
  /** Request path and query, e.g. `/binance/stream?streams=btcusdt@trade`. */
  readonly path: string
  readonly openedAt: number
  /** Topics as the venue names them (`btcusdt@trade`, `trades:BTC-USDT`, `publicTrade.BTCUSDT`, ...). */
  readonly subscriptions: ReadonlyArray<string>
  /** Lasting faults currently active on this connection; a `mute` also names its stream. */
  readonly faults: ReadonlyArray<{ readonly id: number; readonly kind: Kind; readonly stream?: string }>
  /** Text messages written to the socket, and their bytes. */
  readonly messagesSent: number
  readonly bytesSent: number
  /** Text messages received from the client. */
  readonly messagesReceived: number
}

/**
 * Traffic counters of one venue since start (closed connections included).
 *
 * @category models
 * @since 0.1.0
 */
export interface VenueStats {
  readonly connections: number
  readonly openConnections: number
  readonly messagesSent: number
  readonly bytesSent: number
  readonly messagesReceived: number
  readonly refused: number
}

/**
 * Traffic counters of the whole simulator.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  readonly messagesSent: number
  readonly bytesSent: number
  readonly venues: Readonly<Record<VenueName, VenueStats>>
  readonly connections: ReadonlyArray<ConnectionInfo>
}
