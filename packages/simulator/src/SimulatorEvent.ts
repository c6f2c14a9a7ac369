/**
 * Server-side events, as seen by the simulator: a connection opened, subscribed, closed (with the code and
 * who closed it), a handshake was refused, a fault was applied or healed, a book fault hit a message, a
 * REST depth snapshot was answered. Tests use them to measure how
 * long a client takes to detect a fault and to recover. Each event carries `at`, the server's wall-clock
 * time in milliseconds.
 *
 * @since 0.1.0
 */
import type { Kind } from "./Fault.ts"
import type { VenueName } from "./Options.ts"

/**
 * A WebSocket handshake completed.
 *
 * @category models
 * @since 0.1.0
 */
export interface Connected {
  readonly _tag: "Connected"
  readonly connection: number
  readonly venue: VenueName
  readonly path: string
  readonly at: number
}

/**
 * A connection subscribed to (or unsubscribed from) topics, named as the venue names them.
 *
 * @category models
 * @since 0.1.0
 */
export interface Subscribed {
  readonly _tag: "Subscribed" | "Unsubscribed"
  readonly connection: number
  readonly venue: VenueName
  readonly topics: ReadonlyArray<string>
  readonly at: number
}

/**
 * A connection ended. `by` is `"server"` when the simulator closed it (fault, deadline, rate limit,
 * lifetime, shutdown; `code` is then the code it sent, 1006 for `drop`), `"client"` otherwise.
 *
 * @category models
 * @since 0.1.0
 */
export interface Closed {
  readonly _tag: "Closed"
  readonly connection: number
  readonly venue: VenueName
  readonly code: number
  readonly reason: string
  readonly by: "client" | "server"
  readonly at: number
}

/**
 * A handshake was refused: by a `refuse` fault, or by a venue's per-IP limit (Hyperliquid connections, Coinbase connection requests; status 429).
 *
 * @category models
 * @since 0.1.0
 */
export interface Refused {
  readonly _tag: "Refused"
  readonly venue: VenueName
  readonly status: number
  readonly at: number
}

/**
 * A fault was applied (or, for `FaultHealed`, ended). A `mute` that a resubscribe heals on one connection
 * also reports `FaultHealed` naming just that connection, when it happens; once none of its connections is
 * muted (and it is not sticky) that is its last event.
 *
 * @category models
 * @since 0.1.0
 */
export interface FaultEvent {
  readonly _tag: "FaultApplied" | "FaultHealed"
  readonly fault: number
  readonly kind: Kind
  readonly connections: ReadonlyArray<number>
  readonly at: number
}

/**
 * A one-shot book fault (`bookGap`, `crossed`, `badChecksum`) hit one message of one book stream of one
 * connection: `first`..`last` are the message's sequence range as the venue numbers it (Binance spot `U`..`u`,
 * USD-M `pu` + 1..`u`, OKX `seqId`, Bybit `u`; the internal update sequence for Kraken, Coinbase and
 * Hyperliquid).
 *
 * @category models
 * @since 0.2.0
 */
export interface BookFaultInjected {
  readonly _tag: "BookFaultInjected"
  readonly fault: number
  readonly kind: "bookGap" | "crossed" | "badChecksum"
  readonly connection: number
  readonly venue: VenueName
  /** The stream, as the venue's subscription names it (`btcusdt@depth`, `books:BTC-USDT`, `book:BTC/USD`). */
  readonly stream: string
  readonly first: number
  readonly last: number
  readonly at: number
}

/**
 * One answer of a REST depth snapshot endpoint: its HTTP `status` (200, 400, 429 or 418), the request's
 * `weight` (counted for 200 and 400 answers only), the weight the caller's IP has used in the current
 * window after it, and the fault that shaped it, when there is one (`restRefuse`, `restSlow`, `staleSnapshot`).
 * `lastUpdateId` is the snapshot's, for a 200.
 *
 * @category models
 * @since 0.2.0
 */
export interface RestAnswered {
  readonly _tag: "RestAnswered"
  readonly venue: "binance" | "binanceUsdm"
  readonly path: string
  readonly address: string
  readonly symbol: string
  readonly limit: number
  readonly status: number
  readonly weight: number
  readonly usedWeight: number
  readonly retryAfter: number | undefined
  readonly lastUpdateId: number | undefined
  readonly fault: number | undefined
  readonly at: number
}

/**
 * A private endpoint checked a login (an OKX `login`, a Bybit `auth`, a Binance signed subscribe, a
 * Coinbase signed subscribe, a Kraken token request or a subscribe with a token): the account's `apiKey`
 * as sent, the `proof` the client sent (its signature, or the token), whether it was `accepted`, and the
 * refusal's code or text when not. `connection` is 0 for a REST token request. A secrets test uses it as
 * its positive control: the proof reached the venue, and must appear nowhere else.
 *
 * @category models
 * @since 0.1.0
 */
export interface LoginChecked {
  readonly _tag: "LoginChecked"
  readonly connection: number
  readonly venue: VenueName
  readonly apiKey: string
  readonly proof: string
  readonly accepted: boolean
  readonly reason: string
  readonly at: number
}

/**
 * Any simulator event.
 *
 * @category models
 * @since 0.1.0
 */
export type SimulatorEvent =
  | Connected
  | Subscribed
  | Closed
  | Refused
  | FaultEvent
  | BookFaultInjected
  | RestAnswered
  | LoginChecked
