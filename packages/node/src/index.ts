/**
 * Kharbranth for Node: the `Transport` over the `ws` package. Metrics and
 * trace export live at `@kharbranth/node/Observability`, not here: they load
 * `@effect/platform-node`'s HTTP server and the OTLP exporters, which a
 * program without them should not pay for at import.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as NodeTransport from "./NodeTransport.ts"
