import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as net from "node:net"
import WebSocket from "ws"
import { listen, serve, wsServer } from "../src/servers.ts"

const opened = (url: string) =>
  Effect.callback<WebSocket>((resume) => {
    const ws = new WebSocket(url)
    ws.on("error", () => {})
    ws.once("open", () => resume(Effect.succeed(ws)))
  })

const closed = (ws: WebSocket) =>
  Effect.callback<number>((resume) => {
    if (ws.readyState === WebSocket.CLOSED) return resume(Effect.succeed(-1))
    ws.once("close", (code) => resume(Effect.succeed(code)))
  })

describe("test servers", () => {
  it.effect("serve stops, dropping its clients, and starts again on the same port", () =>
    Effect.gen(function*() {
      const first = yield* serve(0, (ws) => ws.send("one"))
      const client = yield* opened(first.url)
      yield* first.stop
      assert.strictEqual(yield* closed(client), 1006, "dropped without a close frame")
      const second = yield* serve(first.port, (ws) => ws.send("two"))
      assert.strictEqual(second.port, first.port)
      const again = yield* opened(second.url)
      yield* second.stop
      yield* closed(again)
    }))

  it.effect("wsServer hands the test each connection with its request, and closes with the scope", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.provide(wsServer(), scope)
      const client = yield* opened(`${server.url}/path`)
      const { request } = yield* server.accepted
      assert.strictEqual(request.url, "/path")
      yield* Scope.close(scope, Exit.void)
      yield* closed(client)
    }))

  it.effect("listen destroys open sockets on close, so the close never waits for a client", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const port = yield* Scope.provide(listen(net.createServer()), scope)
      const socket = yield* Effect.callback<net.Socket>((resume) => {
        const s = net.connect(port, "127.0.0.1", () => resume(Effect.succeed(s)))
      })
      const ended = Effect.callback<void>((resume) => {
        socket.once("close", () => resume(Effect.void))
      })
      yield* Scope.close(scope, Exit.void)
      yield* ended
    }))
})
