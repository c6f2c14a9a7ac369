/**
 * Secrets stay secret: header values given as `Redacted` and credentials in
 * URLs reach the server, and never appear in errors, events, states, stats
 * or logs, whatever goes wrong. The test gathers every one of those and
 * searches them for the secrets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Connection, Heartbeat, WSManager } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Cause, Effect, Logger, Redacted, References, Schedule, Stream, SubscriptionRef } from "effect"
import * as http from "node:http"
import type * as net from "node:net"
import { inspect } from "node:util"
import { WebSocketServer } from "ws"
import { exposed } from "./utils/exposed.ts"
import { eventually, listen } from "./utils/peers.ts"

const TOKEN = "tok-9f3a1c77e2"
const PASSWORD = "pw-51d0b8"
const API_KEY = "key-7c44aa09"
const SIGNATURE = "sig-0e9b3d21"
const secrets = [TOKEN, PASSWORD, API_KEY, SIGNATURE]

const assertClean = (text: string) => {
  for (const secret of secrets) assert.notInclude(text, secret, `a secret leaked: ${secret}`)
}

describe("secrets", () => {
  const logs: Array<string> = []

  it.live("never appear in errors, events, states, stats or logs; the server still gets them", () =>
    Effect.gen(function*() {
      const seenByServer: Array<string> = []
      let refuse = 2
      const server = http.createServer()
      const wss = new WebSocketServer({ noServer: true })
      server.on("upgrade", (req, socket, head) => {
        seenByServer.push(`${req.headers.authorization ?? ""} ${req.url ?? ""}`)
        if (refuse-- > 0) {
          socket.end(`HTTP/1.1 ${refuse === 1 ? 401 : 503} No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
          return
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on("error", () => {})
          ws.send("data")
          setTimeout(() => ws.close(4001, "bye"), 50)
        })
      })
      const port = yield* listen(server as unknown as net.Server, () => {
        for (const client of wss.clients) client.terminate()
      })
      const url = `ws://user:${PASSWORD}@127.0.0.1:${port}/ws?apiKey=${API_KEY}&signature=${SIGNATURE}&symbol=btcusdt`

      const items: Array<unknown> = []
      const manager = yield* WSManager.make({ dialsPerSecond: 100 })
      yield* Effect.forkScoped(Stream.runForEach(manager.events, (e) => Effect.sync(() => void items.push(e))))
      yield* Effect.forkScoped(Stream.runForEach(manager.stateChanges, (s) => Effect.sync(() => void items.push(s))))
      const conn = yield* manager.add("secret", {
        url,
        headers: { authorization: Redacted.make(`Bearer ${TOKEN}`) },
        heartbeat: Heartbeat.none,
        shouldReconnect: () => true,
        reconnect: Schedule.spaced("20 millis")
      })
      yield* eventually("three sessions tried", () => (conn.stats.pipe(Effect.runSync)).sessions >= 2, 5000)
      items.push(yield* manager.stats, yield* conn.stats, yield* SubscriptionRef.get(conn.state))

      // Errors raised to callers: a bad config quoting the URL, a send while closed.
      const invalid = yield* Effect.flip(Connection.make("bad", { url: url.replace("ws://", "http://") }))
      items.push(invalid)
      const stopped = yield* Effect.scoped(Effect.gen(function*() {
        const c = yield* Connection.make("refused", {
          url,
          heartbeat: Heartbeat.none,
          headers: { authorization: Redacted.make(TOKEN) },
          reconnect: Schedule.recurs(0)
        })
        yield* eventually("closed", () => c.state.value._tag === "Closed", 5000)
        return yield* Effect.flip(c.send("x"))
      }))
      items.push(stopped)

      // Logs: everything the library and the runtime print, captured at the most verbose level.
      const exit = yield* Effect.exit(Effect.logDebug("probe", conn.state.value, items.slice(-3)))
      items.push(exit)

      assert.isTrue(seenByServer.some((s) => s.includes(`Bearer ${TOKEN}`)), "the Redacted header reached the server")
      assert.isTrue(seenByServer.some((s) => s.includes(API_KEY)), "the query reached the server")
      assert.isAtLeast(items.filter((i) => typeof i === "object" && i !== null && "event" in i).length, 8)
      assertClean(exposed(items))
      assertClean(logs.join("\n"))
      assertClean(Cause.pretty(Cause.fail(invalid)))
    }).pipe(
      Effect.provide(NodeTransport.layer()),
      Effect.provide(Logger.layer([Logger.make(({ message }) => void logs.push(inspect(message, { depth: 10 })))])),
      Effect.provideService(References.MinimumLogLevel, "All")
    ))
})
