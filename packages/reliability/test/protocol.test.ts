/**
 * Bad input from the peer: protocol violations written byte by byte by a raw
 * server, a ping flood, refused upgrades and untrusted certificates. Each
 * ends in a typed error that names what was wrong (never a bare 1006), the
 * reconnect policy decides what follows, and nothing crashes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Connection, Heartbeat } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Effect, Schedule } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import type * as net from "node:net"
import { WebSocketServer } from "ws"
import { eventually, frame, listen, rawWsServer } from "./utils/peers.ts"
import { watch } from "./utils/watch.ts"

const violations: ReadonlyArray<readonly [string, () => Buffer, number, RegExp]> = [
  ["invalid UTF-8 in a text frame", () => frame(0x1, Buffer.from([0xff, 0xfe])), 1007, /UTF-8/i],
  [
    "invalid UTF-8 split across fragments",
    () => Buffer.concat([frame(0x1, Buffer.from([0xe2, 0x82]), { fin: false }), frame(0x0, Buffer.from([0x28]))]),
    1007,
    /UTF-8/i
  ],
  ["a masked server frame", () => frame(0x1, "hi", { mask: true }), 1002, /MASK/i],
  ["reserved bits set", () => frame(0x1, "hi", { rsv: 2 }), 1002, /RSV/i],
  ["an unknown opcode", () => frame(0x3, "hi"), 1002, /opcode/i],
  ["a control frame over 125 bytes", () => frame(0x9, Buffer.alloc(126)), 1002, /payload length|CONTROL/i],
  ["a fragmented ping", () => frame(0x9, "x", { fin: false }), 1002, /FIN/i],
  ["an invalid close code", () => frame(0x8, Buffer.from([0x03, 0xe6])), 1002, /status code|close code/i],
  [
    "a 64-bit length beyond maxPayload",
    () => frame(0x2, Buffer.alloc(0), { length: 2n ** 40n }),
    1009,
    /length|payload/i
  ]
]

describe("protocol violations", () => {
  for (const [what, bytes, code, pattern] of violations) {
    it.live(`${what}: ProtocolError ${code} naming it, then a reconnect by policy`, () =>
      Effect.gen(function*() {
        let accepted = 0
        const port = yield* rawWsServer((socket) => {
          accepted++
          if (accepted === 1) socket.write(bytes())
          else socket.write(frame(0x1, "ok"))
        })
        const conn = yield* Connection.make("bad-peer", {
          url: `ws://127.0.0.1:${port}`,
          heartbeat: Heartbeat.none,
          maxPayload: 1024 * 1024,
          reconnect: Schedule.spaced("20 millis"),
          // The raw peer never answers a close frame: keep teardown short.
          closeTimeout: "100 millis"
        })
        const w = yield* watch(conn)
        yield* eventually(
          "the second session's frame",
          () => w.frames.some((f) => f._tag === "Text" && f.data === "ok")
        )
        const lost = w.first("Disconnected")!.event
        assert.strictEqual(lost._tag === "Disconnected" && lost.error._tag, "ProtocolError")
        if (lost._tag !== "Disconnected" || lost.error._tag !== "ProtocolError") return
        assert.strictEqual(lost.error.code, code)
        assert.match(lost.error.violation, pattern)
        assert.include(lost.error.message, "bad-peer")
      }).pipe(Effect.provide(NodeTransport.layer())))
  }

  it.live("a ping flood is reported as a ProtocolError (1008) and the connection recovers", () =>
    Effect.gen(function*() {
      let accepted = 0
      const port = yield* rawWsServer((socket) => {
        accepted++
        if (accepted === 1) socket.write(Buffer.concat(Array.from({ length: 200 }, () => frame(0x9))))
        else socket.write(frame(0x1, "ok"))
      })
      const conn = yield* Connection.make("flood", {
        url: `ws://127.0.0.1:${port}`,
        heartbeat: Heartbeat.none,
        reconnect: Schedule.spaced("20 millis"),
        closeTimeout: "100 millis"
      })
      const w = yield* watch(conn)
      yield* eventually("recovered", () => w.frames.some((f) => f._tag === "Text" && f.data === "ok"))
      const lost = w.first("Disconnected")!.event
      assert.isTrue(lost._tag === "Disconnected" && lost.error._tag === "ProtocolError" && lost.error.code === 1008)
      assert.include(lost._tag === "Disconnected" ? lost.error.message : "", "ping flood")
    }).pipe(Effect.provide(NodeTransport.layer())))
})

/** An HTTP server refusing upgrades with `status` the first `times` times, then accepting. */
const refusing = (status: number, times: number, headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    let refused = 0
    const dials: Array<number> = []
    const server = http.createServer()
    const wss = new WebSocketServer({ noServer: true })
    server.on("upgrade", (req, socket, head) => {
      dials.push(performance.now())
      if (refused < times) {
        refused++
        const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")
        socket.end(`HTTP/1.1 ${status} Refused\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`)
        return
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on("error", () => {})
        ws.send("welcome")
      })
    })
    const port = yield* listen(server as unknown as net.Server, () => {
      for (const client of wss.clients) client.terminate()
    })
    return { port, dials }
  })

describe("refused upgrades", () => {
  for (const status of [401, 403]) {
    it.live(`${status} stops the connection by default: no retry fixes credentials`, () =>
      Effect.gen(function*() {
        const server = yield* refusing(status, 100)
        const conn = yield* Connection.make("auth", {
          url: `ws://127.0.0.1:${server.port}`,
          heartbeat: Heartbeat.none,
          reconnect: Schedule.spaced("10 millis")
        })
        yield* eventually("closed", () => conn.state.value._tag === "Closed")
        const state = conn.state.value
        assert.isTrue(state._tag === "Closed" && state.error?._tag === "ConnectFailed" && state.error.status === status)
        yield* Effect.sleep("200 millis")
        assert.strictEqual(server.dials.length, 1)
      }).pipe(Effect.provide(NodeTransport.layer())))
  }

  it.live("429 with Retry-After: the next dial waits at least that long", () =>
    Effect.gen(function*() {
      const server = yield* refusing(429, 1, { "Retry-After": "1" })
      const conn = yield* Connection.make("limited", {
        url: `ws://127.0.0.1:${server.port}`,
        heartbeat: Heartbeat.none,
        reconnect: Schedule.spaced("10 millis")
      })
      const w = yield* watch(conn)
      yield* eventually("welcome", () => w.frames.some((f) => f._tag === "Text"), 5000)
      assert.strictEqual(server.dials.length, 2)
      assert.isAtLeast(server.dials[1]! - server.dials[0]!, 990)
      const wait = w.events.find((e) => e.event._tag === "Reconnecting")!.event
      assert.strictEqual(wait._tag === "Reconnecting" && wait.delay, 1000)
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("503 is retried by the schedule", () =>
    Effect.gen(function*() {
      const server = yield* refusing(503, 3)
      const conn = yield* Connection.make("busy", {
        url: `ws://127.0.0.1:${server.port}`,
        heartbeat: Heartbeat.none,
        reconnect: Schedule.spaced("30 millis")
      })
      const w = yield* watch(conn)
      yield* eventually("welcome", () => w.frames.some((f) => f._tag === "Text"))
      assert.strictEqual(server.dials.length, 4)
      assert.strictEqual(w.events.filter((e) => e.event._tag === "DialFailed").length, 3)
    }).pipe(Effect.provide(NodeTransport.layer())))
})

const fixture = (name: string) => fs.readFileSync(new URL(`../../node/test/fixtures/${name}`, import.meta.url))

describe("TLS", () => {
  const tlsServer = Effect.gen(function*() {
    const server = https.createServer({ cert: fixture("server.pem"), key: fixture("server.key") })
    const wss = new WebSocketServer({ server })
    wss.on("connection", (ws) => {
      ws.on("error", () => {})
      ws.send("secure")
    })
    return yield* listen(server as unknown as net.Server, () => {
      for (const client of wss.clients) client.terminate()
    })
  })

  it.live("a self-signed certificate is rejected by default with a clear error", () =>
    Effect.gen(function*() {
      const port = yield* tlsServer
      const conn = yield* Connection.make("tls", {
        url: `wss://127.0.0.1:${port}`,
        heartbeat: Heartbeat.none,
        reconnect: Schedule.recurs(0)
      })
      const w = yield* watch(conn)
      yield* eventually("dial failed", () => w.first("DialFailed") !== undefined)
      const failed = w.first("DialFailed")!.event
      assert.isTrue(failed._tag === "DialFailed" && failed.error._tag === "ConnectFailed")
      assert.match(failed._tag === "DialFailed" ? failed.error.message : "", /certificate/i)
      assert.isFalse(w.frames.some((f) => f._tag === "Text"), "nothing was read from an untrusted peer")
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("a certificate for another host is rejected, even with its CA trusted", () =>
    Effect.gen(function*() {
      const port = yield* tlsServer
      const conn = yield* Connection.make("tls", {
        url: `wss://127.0.0.1:${port}`,
        heartbeat: Heartbeat.none,
        reconnect: Schedule.recurs(0)
      })
      const w = yield* watch(conn)
      yield* eventually("dial failed", () => w.first("DialFailed") !== undefined)
      const failed = w.first("DialFailed")!.event
      assert.match(failed._tag === "DialFailed" ? failed.error.message : "", /altnames|does not match|certificate/i)
    }).pipe(Effect.provide(NodeTransport.layer({ tls: { ca: fixture("ca.pem"), servername: "exchange.example" } }))))

  it.live("accepted only with an explicit CA", () =>
    Effect.gen(function*() {
      const port = yield* tlsServer
      const conn = yield* Connection.make("tls", { url: `wss://127.0.0.1:${port}`, heartbeat: Heartbeat.none })
      const w = yield* watch(conn)
      yield* eventually("secure frame", () => w.frames.some((f) => f._tag === "Text" && f.data === "secure"))
    }).pipe(Effect.provide(NodeTransport.layer({ tls: { ca: fixture("ca.pem") } }))))
})
