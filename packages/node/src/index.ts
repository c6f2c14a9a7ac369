/**
 * Kharbranth for Node: the `Transport` over the `ws` package, and the
 * browser `Dashboard`. Metrics and trace export live at
 * `@kharbranth/node/Observability`, not here: a program that exports none
 * should not load the Prometheus and OTLP exporters at import.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as NodeTransport from "./NodeTransport.ts"

/** @since 0.1.0 */
export * as Dashboard from "./Dashboard.ts"
