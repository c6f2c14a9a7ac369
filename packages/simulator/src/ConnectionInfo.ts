/**
 * Read-only views of the simulator's state: one record per open connection (venue, path, subscriptions,
 * active faults, traffic counters), traffic totals per venue, and the REST snapshot endpoints' counters. They are snapshots; call again for
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

/**
 * Counters of one venue's REST depth snapshot endpoint since start: requests and answers by status, the
 * weight counted, and the most weight one IP used in a single window (`restWindow`, a minute by default),
 * which a client that honours the budget keeps at or under `restWeightPerMinute`.
 *
 * @category models
 * @since 0.2.0
 */
export interface RestVenueStats {
  readonly requests: number
  readonly ok: number
  readonly badRequest: number
  /** 429 answers (over budget, or a `restRefuse` fault). */
  readonly tooManyRequests: number
  /** 418 answers (asked again before a `Retry-After` passed, or a `restRefuse` fault with status 418). */
  readonly banned: number
  /** Weight counted in total. */
  readonly weight: number
  readonly maxWeightPerWindow: number
}

/**
 * REST counters of the venues that serve depth snapshots.
 *
 * @category models
 * @since 0.2.0
 */
export interface RestStats {
  readonly binance: RestVenueStats
  readonly binanceUsdm: RestVenueStats
}
