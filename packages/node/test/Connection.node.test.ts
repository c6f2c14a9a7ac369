import { assert, describe, it } from "@effect/vitest"
import { Connection, Heartbeat } from "@kharbranth/core"
import type { ConnectionEvent, Frame } from "@kharbranth/core"
import { Effect, Schedule, Stream } from "effect"
import { spawn } from "node:child_process"
import * as NodeTransport from "../src/NodeTransport.ts"
import { wsServer } from "./utils/servers.ts"

/** Starts the feed server in a child process; the scope kills it. */
const feedProcess = (port: number) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly port: number; readonly kill: () => void }>((resume) => {
      const child = spawn(process.execPath, [
        new URL("./fixtures/feed-server.mjs", import.meta.url).pathname,
        String(port)
      ], {
        stdio: ["ignore", "pipe", "inherit"]
      })
      child.stdout.setEncoding("utf8")
      child.stdout.on("data", (line: string) => {
        const match = /listening (\d+)/.exec(line)
        if (match) resume(Effect.succeed({ port: Number(match[1]), kill: () => child.kill("SIGKILL") }))
      })
    }),
    (server) => Effect.sync(() => server.kill())
  )

/** Polls `check` every 10 ms, for at most `ms`. */
const eventually = (check: () => boolean, ms = 5000) =>
  Effect.gen(function*() {
    const deadline = performance.now() + ms
    while (!check()) {
      if (performance.now() > deadline) throw new Error("condition not met in time")
      yield* Effect.sleep("10 millis")
    }
  })

describe("Connection over NodeTransport", () => {
  it.live(
    "the server process is killed and restarted: frames flow again on a new session",
    () =>
      Effect.gen(function*() {
        const frames: Array<Frame.Frame> = []
        const events: Array<ConnectionEvent.ConnectionEvent> = []
        const server = yield* feedProcess(0)
        const conn = yield* Connection.make("feed", {
          url: `ws://127.0.0.1:${server.port}`,
          heartbeat: Heartbeat.protocol({ interval: "200 millis", timeout: "200 millis" }),
          reconnect: Schedule.spaced("50 millis")
        })
        yield* Effect.forkScoped(Stream.runForEach(conn.frames, (f) => Effect.sync(() => void frames.push(f))))
        yield* Effect.forkScoped(Stream.runForEach(conn.events, (e) => Effect.sync(() => void events.push(e))))
        yield* eventually(() => frames.filter((f) => f._tag === "Text").length >= 20)
        server.kill()
        yield* eventually(() => events.some((e) => e._tag === "Disconnected"))
        const restarted = yield* feedProcess(server.port)
        assert.strictEqual(restarted.port, server.port)
        yield* eventually(() => frames.some((f) => f._tag === "Text" && f.session >= 2))
        const disconnected = events.find((e) => e._tag === "Disconnected")
        assert.strictEqual(disconnected?._tag === "Disconnected" && disconnected.error._tag, "Closed")
        // Within each session every frame arrived once, in order.
        for (const session of new Set(frames.map((f) => f.session))) {
          const values = frames.flatMap((f) => (f._tag === "Text" && f.session === session ? [Number(f.data)] : []))
          assert.deepStrictEqual(values, values.map((_, i) => i), `session ${session}`)
        }
        assert.strictEqual(conn.state.value._tag, "Open")
      }).pipe(Effect.provide(NodeTransport.layer())),
    20_000
  )

  it.live("a server that stops answering pings is detected within interval + timeout", () =>
    Effect.gen(function*() {
      const server = yield* wsServer({ autoPong: false })
      const events: Array<{ readonly at: number; readonly event: ConnectionEvent.ConnectionEvent }> = []
      const conn = yield* Connection.make("silent", {
        url: server.url,
        heartbeat: Heartbeat.protocol({ interval: "200 millis", timeout: "200 millis" }),
        reconnect: Schedule.spaced("1 hour")
      })
      yield* Effect.forkScoped(
        Stream.runForEach(conn.events, (event) => Effect.sync(() => void events.push({ at: performance.now(), event })))
      )
      yield* eventually(() => events.some((e) => e.event._tag === "Disconnected"))
      const opened = events.find((e) => e.event._tag === "Opened")!
      const lost = events.find((e) => e.event._tag === "Disconnected")!
      assert.strictEqual(lost.event._tag === "Disconnected" && lost.event.error._tag, "HeartbeatTimeout")
      const elapsed = lost.at - opened.at
      assert.isAtLeast(elapsed, 390)
      assert.isAtMost(elapsed, 400 * 1.1 + 50)
    }).pipe(Effect.provide(NodeTransport.layer())), 10_000)
})
