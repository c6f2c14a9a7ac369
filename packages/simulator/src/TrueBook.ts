/**
 * The true order book the simulator keeps for one venue's instrument, as tests read it with
 * `Simulator.trueBook`: exactly what a client following the venue's rules rebuilds from the messages it
 * was sent (faulty messages aside: a `crossed` or `badChecksum` message is wrong, the truth is not).
 *
 * @since 0.2.0
 */
import type { VenueName } from "./Options.ts"

/**
 * A book: the last update id applied and the levels, best first (bids high to low, asks low to high),
 * only non-zero sizes, as numbers (`97000.1`, `0.5`).
 *
 * **Details**: `updateId` is the book's update id: Binance's `u` / `lastUpdateId` (the same number the
 * REST snapshot and the depth streams carry). Other venues number their messages their own way (OKX
 * `seqId`, Bybit `u` per depth); for them `updateId` is the simulator's internal update id, which only
 * tells two states of the book apart.
 *
 * @category models
 * @since 0.2.0
 */
export interface TrueBook {
  readonly updateId: number
  readonly bids: ReadonlyArray<readonly [price: number, size: number]>
  readonly asks: ReadonlyArray<readonly [price: number, size: number]>
}

/**
 * A venue as `trueBook` names it: the simulator's venue names, with `"binance-usdm"` accepted for
 * `"binanceUsdm"` (its path prefix).
 *
 * @category models
 * @since 0.2.0
 */
export type BookVenue = VenueName | "binance-usdm"
