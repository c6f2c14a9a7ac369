import { assert, describe, it } from "@effect/vitest"
import { WSManager } from "@kharbranth/core"
import { Effect, Exit, Logger, Schedule, Scope, Stream } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { WebSocketServer } from "ws"
import * as NodeTransport from "../src/NodeTransport.ts"

/** The library's log lines run and go nowhere: thousands of sessions would fill the test output with them. */
const quiet = Logger.layer([])

interface Greeter {
  readonly port: number
  readonly open: () => number
  /** Close codes of the connections that ended, as the server saw them. */
  readonly closes: Array<number>
  /** Drops every client (no close frame) and stops listening. */
  readonly stop: Effect.Effect<void>
}

/** A ws server on 127.0.0.1 that greets each connection with "hello". */
const greeter = (port: number) =>
  Effect.callback<Greeter>((resume) => {
    const server = http.createServer()
    const wss = new WebSocketServer({ server })
    const closes: Array<number> = []
    wss.on("connection", (ws) => {
      ws.on("error", () => {})
      ws.on("close", (code) => closes.push(code))
      ws.send("hello")
    })
    server.listen(port, "127.0.0.1", () =>
      resume(Effect.succeed({
        port: (server.address() as AddressInfo).port,
        open: () => wss.clients.size,
        closes,
        stop: Effect.callback<void>((done) => {
          for (const client of wss.clients) client.terminate()
          wss.close()
          server.close(() => done(Effect.void))
        })
      })))
  })

/** Polls every 20 ms; dies past the deadline so a hang is a clear failure. */
const eventually = (what: string, check: () => boolean, ms: number) =>
  Effect.gen(function*() {
    const deadline = performance.now() + ms
    while (!check()) {
      if (performance.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for: ${what}`))
      yield* Effect.sleep("20 millis")
    }
  })

describe("WSManager over NodeTransport", () => {
  it.live(
    "1,000 real connections open, receive, survive a server restart, and close cleanly",
    () =>
      Effect.gen(function*() {
        const total = 1000
        const first = yield* greeter(0)
        const managerScope = yield* Scope.make()
        const manager = yield* WSManager.make({ maxConcurrentDials: 64, dialsPerSecond: 2000 }).pipe(
          Scope.provide(managerScope)
        )
        const hellos: Array<number> = []
        yield* Effect.forkScoped(Stream.runForEach(manager.frames, ({ frame }) =>
          Effect.sync(() => {
            if (frame._tag === "Text") hellos[frame.session] = (hellos[frame.session] ?? 0) + 1
          })))

        const rssBefore = process.memoryUsage().rss
        const started = performance.now()
        for (let i = 0; i < total; i++) {
          yield* manager.add(`c${i}`, {
            url: `ws://127.0.0.1:${first.port}/c${i}`,
            reconnect: Schedule.spaced("200 millis")
          })
        }
        yield* eventually("every connection greeted", () => hellos[1] === total, 30_000)
        const rssOpen = process.memoryUsage().rss
        console.log(
          `1,000 connections open in ${Math.round(performance.now() - started)} ms; ` +
            `RSS +${
              ((rssOpen - rssBefore) / total / 1024).toFixed(1)
            } KiB per connection (client and server sides in one process)`
        )

        yield* first.stop
        const second = yield* greeter(first.port)
        const restarted = performance.now()
        yield* eventually("every connection greeted again", () => hellos[2] === total, 30_000)
        console.log(`after the server restart all 1,000 reopened in ${Math.round(performance.now() - restarted)} ms`)
        const states = yield* manager.states
        assert.strictEqual(Array.from(states.values()).filter((s) => s._tag === "Open").length, total)

        yield* Scope.close(managerScope, Exit.void)
        yield* eventually("every close seen by the server", () => second.closes.length === total, 10_000)
        assert.isTrue(second.closes.every((code) => code === 1000), "each closed with 1000")
        assert.strictEqual(second.open(), 0)
        yield* second.stop
      }).pipe(Effect.provide(NodeTransport.layer()), Effect.provide(quiet)),
    90_000
  )
})
