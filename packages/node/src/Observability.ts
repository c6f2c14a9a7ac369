/**
 * Metrics and traces out of the process, each with one layer: a Prometheus
 * `/metrics` endpoint (`layerPrometheus`, or `layerPrometheusRoutes` to
 * mount it on an `HttpRouter` of your own) or OTLP/HTTP export of metrics,
 * spans and logs (`layerOtlp`), both from `effect/observability`. Each also
 * turns the library's metrics and spans on (`Metrics.layer` of
 * `@kharbranth/core`): what the program builds with the layer has them.
 * Servers bind to 127.0.0.1 unless told otherwise. Imported by its subpath
 * (`@kharbranth/node/Observability`), not from the package's index, so that
 * a program without it loads no HTTP server or exporter.
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Metrics } from "@kharbranth/core"
import type * as Duration from "effect/Duration"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpRouter from "effect/http/HttpRouter"
import type * as HttpServerError from "effect/http/HttpServerError"
import * as Layer from "effect/Layer"
import * as Otlp from "effect/observability/Otlp"
import type * as OtlpExporter from "effect/observability/OtlpExporter"
import * as PrometheusMetrics from "effect/observability/PrometheusMetrics"
import * as http from "node:http"

/**
 * The Prometheus route (`GET /metrics` by default, in the text exposition
 * format) on the `HttpRouter` the program serves, with the metrics on.
 *
 * @example
 * ```ts
 * import * as Observability from "@kharbranth/node/Observability"
 * import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
 * import * as HttpRouter from "effect/http/HttpRouter"
 * import { Layer } from "effect"
 * import * as http from "node:http"
 *
 * // Beside the program's own routes, on its own server.
 * const server = HttpRouter.serve(Observability.layerPrometheusRoutes(), { disableListenLog: true }).pipe(
 *   Layer.provide(NodeHttpServer.layer(() => http.createServer(), { port: 9464, host: "127.0.0.1" }))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPrometheusRoutes = (options?: {
  /** Default `/metrics`. */
  readonly path?: HttpRouter.PathInput | undefined
}): Layer.Layer<never, never, HttpRouter.HttpRouter> =>
  Layer.merge(PrometheusMetrics.layerHttp({ path: options?.path ?? "/metrics" }), Metrics.layer)

/**
 * An HTTP server of its own serving the Prometheus route, on
 * `host:port` (default host 127.0.0.1), with the metrics on. Fails with
 * the server's error if the port is taken.
 *
 * @example
 * ```ts
 * import { NodeTransport } from "@kharbranth/node"
 * import * as Observability from "@kharbranth/node/Observability"
 * import { Layer } from "effect"
 *
 * // Provide beside the transport: every connection made with it exports its series.
 * const AppLayer = Layer.mergeAll(NodeTransport.layer(), Observability.layerPrometheus({ port: 9464 }))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPrometheus = (options: {
  readonly port: number
  /** Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** Default `/metrics`. */
  readonly path?: HttpRouter.PathInput | undefined
}): Layer.Layer<never, HttpServerError.ServeError> =>
  Layer.merge(
    HttpRouter.serve(PrometheusMetrics.layerHttp({ path: options.path ?? "/metrics" }), {
      disableLogger: true,
      disableListenLog: true
    }).pipe(
      Layer.provide(
        NodeHttpServer.layer(() => http.createServer(), { port: options.port, host: options.host ?? "127.0.0.1" })
      )
    ),
    Metrics.layer
  )

/**
 * OTLP/HTTP (JSON) export of metrics, spans and logs to a collector at `url`
 * (its base: `/v1/metrics`, `/v1/traces`, `/v1/logs` are appended), over
 * `fetch`, with the metrics on. The exporters flush what they hold when the
 * layer is released.
 *
 * @example
 * ```ts
 * import { NodeTransport } from "@kharbranth/node"
 * import * as Observability from "@kharbranth/node/Observability"
 * import { Layer } from "effect"
 *
 * const AppLayer = Layer.mergeAll(
 *   NodeTransport.layer(),
 *   Observability.layerOtlp({ url: "http://127.0.0.1:4318", serviceName: "feeds" })
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerOtlp = (options: {
  /** The collector's base URL, such as `http://127.0.0.1:4318`. */
  readonly url: string
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  /** Resource attributes beside the service's name and version. */
  readonly attributes?: Record<string, unknown> | undefined
  /** Request headers, such as an API key. */
  readonly headers?: Record<string, string> | undefined
  /** How often metrics are exported (default 10 seconds). */
  readonly metricsExportInterval?: Duration.Input | undefined
  /** How often spans and logs are exported (default 5 seconds and 1 second). */
  readonly tracesExportInterval?: Duration.Input | undefined
}): Layer.Layer<OtlpExporter.Flusher> =>
  Layer.merge(
    Otlp.layerJson({
      baseUrl: options.url,
      resource: {
        serviceName: options.serviceName,
        serviceVersion: options.serviceVersion,
        ...(options.attributes === undefined ? {} : { attributes: options.attributes })
      },
      headers: options.headers,
      metricsExportInterval: options.metricsExportInterval,
      tracerExportInterval: options.tracesExportInterval
    }).pipe(Layer.provide(FetchHttpClient.layer)),
    Metrics.layer
  )
