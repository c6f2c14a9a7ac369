/**
 * The adapter of a client kind, imported on demand: a client process loads
 * its own library and no other, so its memory baseline holds only that one.
 */
import type { ClientKind } from "../protocol.ts"
import type { Adapter } from "./Adapter.ts"

export const loadAdapter = async (kind: ClientKind): Promise<Adapter> => {
  switch (kind) {
    case "ws":
      return (await import("./ws.ts")).adapter
    case "ws-batched":
      return (await import("./ws.ts")).batchedAdapter
    case "ws+kharbranth-import":
      // Loaded and never used: what the library's modules (and effect's) do to the process alone.
      await import("@kharbranth/core")
      await import("@kharbranth/node")
      return (await import("./ws.ts")).adapter
    case "ws+effect-stream":
      return (await import("./wsEffect.ts")).adapter
    case "kharbranth-stream":
      return (await import("./kharbranth.ts")).streamAdapter
    case "kharbranth-arrays":
      return (await import("./kharbranth.ts")).arraysAdapter
    case "kharbranth-hooks":
      return (await import("./kharbranth.ts")).hooksAdapter
    case "kharbranth-stream+metrics":
      return (await import("./kharbranth.ts")).streamMetricsAdapter
    case "kharbranth-hooks+metrics":
      return (await import("./kharbranth.ts")).hooksMetricsAdapter
    case "partysocket":
      return (await import("./partysocket.ts")).adapter
    case "reconnecting-websocket":
      return (await import("./reconnectingWebsocket.ts")).adapter
  }
}
