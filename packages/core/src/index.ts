/**
 * Kharbranth core: named, self-healing WebSocket client connections for
 * exchange market-data feeds, on Effect. Runs wherever `effect` runs; the
 * socket comes from a `Transport` (`@kharbranth/node`, or `MemoryTransport`
 * in tests).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Connection from "./Connection.ts"
/** @since 0.1.0 */
export * as ConnectionConfig from "./ConnectionConfig.ts"
/** @since 0.1.0 */
export * as ConnectionError from "./ConnectionError.ts"
/** @since 0.1.0 */
export * as ConnectionEvent from "./ConnectionEvent.ts"
/** @since 0.1.0 */
export * as ConnectionState from "./ConnectionState.ts"
/** @since 0.1.0 */
export * as Frame from "./Frame.ts"
/** @since 0.1.0 */
export * as Heartbeat from "./Heartbeat.ts"
/** @since 0.1.0 */
export * as Hub from "./Hub.ts"
/** @since 0.1.0 */
export * as Inbox from "./Inbox.ts"
/** @since 0.1.0 */
export * as MemoryTransport from "./MemoryTransport.ts"
/** @since 0.1.0 */
export * as Metrics from "./Metrics.ts"
/** @since 0.1.0 */
export * as RateWindow from "./RateWindow.ts"
/** @since 0.1.0 */
export * as ReconnectPolicy from "./ReconnectPolicy.ts"
/** @since 0.1.0 */
export * as Timers from "./Timers.ts"
/** @since 0.1.0 */
export * as Transport from "./Transport.ts"
/** @since 0.1.0 */
export * as WSManager from "./WSManager.ts"
