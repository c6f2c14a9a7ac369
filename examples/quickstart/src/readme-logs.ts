/**
 * The README's logs example, kept here so `pnpm typecheck` proves it
 * compiles; it runs on `MemoryTransport`, with no network:
 * `pnpm exec node examples/quickstart/src/readme-logs.ts`.
 */
import { Connection, Heartbeat, MemoryTransport } from "@kharbranth/core"
import { Effect, Logger, References } from "effect"

const program = Effect.gen(function*() {
  const server = yield* MemoryTransport.MemoryServer
  yield* server.script(MemoryTransport.DialOutcome.refuse(503))
  const conn = yield* Connection.make("okx", {
    url: "wss://ws.okx.com:8443/ws/v5/private?token=s3cr3t",
    heartbeat: Heartbeat.none
  })
  yield* server.accepted
  yield* conn.close()
}).pipe(
  Effect.scoped,
  Effect.provide(MemoryTransport.layer()),
  // One JSON object per line, with the annotations; the default logger prints them too.
  Effect.provide(Logger.layer([Logger.consoleJson])),
  // "Debug" adds the per-session detail; "Warn" keeps warnings and errors; "None" turns them off.
  Effect.provideService(References.MinimumLogLevel, "Debug")
)

Effect.runPromise(program)
