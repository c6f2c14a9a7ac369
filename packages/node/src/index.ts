/**
 * Kharbranth for Node: the `Transport` over the `ws` package.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as NodeTransport from "./NodeTransport.ts"

/** @since 0.1.0 */
export * as Dashboard from "./Dashboard.ts"
