/**
 * Kharbranth for Node: the `Transport` over the `ws` package. The browser
 * dashboard (`@kharbranth/node/Dashboard`) and metrics and trace export
 * (`@kharbranth/node/Observability`) are subpaths, not here: a program that
 * uses neither should not load an HTTP server and exporters at import
 * (+4 MB heap, +15 MB RSS).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as NodeTransport from "./NodeTransport.ts"
