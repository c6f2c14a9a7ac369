/**
 * `pnpm demo --web [PORT]`: the browser dashboard (`Dashboard.layer` of
 * `@kharbranth/node`) over the demo's manager, on 127.0.0.1, in the
 * program's scope. The demo feeds it what only the demo knows: the faults it
 * injects, the sequence gaps it detects, and each recovery it judges.
 */
import { WSManager } from "@kharbranth/core"
import * as Dashboard from "@kharbranth/node/Dashboard"
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"

export interface Web {
  readonly url: string
  readonly mark: (mark: Dashboard.Mark) => Effect.Effect<void>
}

/** Starts the dashboard; fails with a line to print when the port cannot be had. */
export const start = Effect.fnUntraced(function*(manager: WSManager.WSManagerShape, port: number) {
  const context = yield* Layer.build(
    Dashboard.layer({ port, title: "Kharbranth demo" }).pipe(
      Layer.provide(Layer.succeed(WSManager.WSManager, manager))
    )
  ).pipe(
    Effect.mapError((error) => `dashboard: cannot listen on 127.0.0.1:${port}: ${String(error.cause)}`)
  )
  const address = Context.get(context, HttpServer.HttpServer).address
  const dashboard = Context.get(context, Dashboard.Dashboard)
  const web: Web = {
    url: `http://127.0.0.1:${"port" in address ? address.port : port}/`,
    mark: dashboard.mark
  }
  return web
})
