/**
 * Kharbranth venue profiles: for Binance, Bybit, OKX, Coinbase, Kraken and
 * Hyperliquid, the public URLs, subscribe/unsubscribe framing, answer
 * matching, heartbeat style, idle rules, limits and disconnect notices, plus
 * `Schema` decoders for market data; and `Feed`, which keeps a venue feed
 * correct for days on top of them (a registry that retries, paced replay,
 * rotation, staleness, gap detection, sharding), with the venues' per-IP
 * limits shared in `VenueBudgets`; and `OrderBook`, local L2 books kept by
 * each venue's sync rules (REST snapshots for Binance, through a shared
 * weight budget and Effect's `HttpClient`). Builds on `@kharbranth/core`; imports
 * nothing platform-specific, so it runs wherever `effect` runs.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Binance from "./Binance.ts"
/** @since 0.1.0 */
export * as Bybit from "./Bybit.ts"
/** @since 0.1.0 */
export * as Coinbase from "./Coinbase.ts"
/** @since 0.1.0 */
export * as Hyperliquid from "./Hyperliquid.ts"
/** @since 0.1.0 */
export * as Kraken from "./Kraken.ts"
/** @since 0.1.0 */
export * as Okx from "./Okx.ts"
/** @since 0.1.0 */
export * as Venue from "./Venue.ts"
/** @since 0.1.0 */
export * as Feed from "./Feed.ts"

/**
 * Authenticated (private) streams: credentials (`Redacted`) and how a venue profile logs in.
 *
 * @since 0.1.0
 */
export * as Auth from "./Auth.ts"
/** @since 0.1.0 */
export * as VenueBudgets from "./VenueBudgets.ts"
/** @since 0.1.0 */
export * as OrderBook from "./OrderBook.ts"
