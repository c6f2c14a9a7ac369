/**
 * Network and peer faults against real sockets: a killed server, a reset
 * connection, a frozen process, a peer that stops answering pings, a path
 * that blackholes, a feed that stalls. Each is detected with the right
 * typed error, within its deadline, and recovered from without losing or
 * repeating a frame inside a session.
 */
import { assert, describe, it } from "@effect/vitest"
import { Connection, Heartbeat } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Effect, Schedule } from "effect"
import * as net from "node:net"
import { WebSocketServer } from "ws"
import { eventually, feedProcess, tcpProxy } from "./utils/peers.ts"
import { inSequence, watch } from "./utils/watch.ts"

const fast = Heartbeat.protocol({ interval: "500 millis", timeout: "500 millis" })
/** interval + timeout + 10% */
const deadline = 1000 * 1.1

describe("faults", () => {
  it.live("server killed with SIGKILL mid-stream: Closed(1006), reconnect, every frame of each session once and in order", () =>
    Effect.gen(function*() {
      const server = yield* feedProcess(0)
      const conn = yield* Connection.make("kill", {
        url: `ws://127.0.0.1:${server.port}`,
        heartbeat: fast,
        reconnect: Schedule.spaced("50 millis")
      })
      const w = yield* watch(conn)
      yield* eventually("frames of session 1", () => w.values(1).length >= 50)
      server.signal("SIGKILL")
      yield* eventually("disconnect", () => w.first("Disconnected") !== undefined)
      const lost = w.first("Disconnected")!.event
      assert.isTrue(lost._tag === "Disconnected" && lost.error._tag === "Closed" && lost.error.code === 1006)
      yield* feedProcess(server.port)
      yield* eventually("frames of session 2", () => w.values(2).length >= 50)
      assert.isTrue(inSequence(w.values(1)), "session 1: every frame once, in order")
      assert.isTrue(inSequence(w.values(2)), "session 2: every frame once, in order")
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("a TCP reset: Closed(1006), then a new session", () =>
    Effect.gen(function*() {
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" })
      yield* Effect.addFinalizer(() => Effect.sync(() => wss.close()))
      yield* Effect.callback<void>((resume) => void wss.on("listening", () => resume(Effect.void)))
      const sockets: Array<net.Socket> = []
      wss.on("connection", (ws, req) => {
        sockets.push(req.socket)
        let n = 0
        const timer = setInterval(() => ws.readyState === ws.OPEN && ws.send(String(n++)), 5)
        ws.on("close", () => clearInterval(timer))
        ws.on("error", () => {})
      })
      const port = (wss.address() as net.AddressInfo).port
      const conn = yield* Connection.make("reset", {
        url: `ws://127.0.0.1:${port}`,
        heartbeat: fast,
        reconnect: Schedule.spaced("50 millis")
      })
      const w = yield* watch(conn)
      yield* eventually("frames", () => w.values(1).length >= 20)
      sockets[0]!.resetAndDestroy()
      yield* eventually("session 2", () => w.values(2).length >= 20)
      const lost = w.first("Disconnected")!.event
      assert.isTrue(lost._tag === "Disconnected" && lost.error._tag === "Closed" && lost.error.code === 1006)
      assert.isTrue(inSequence(w.values(1)) && inSequence(w.values(2)))
      for (const client of wss.clients) client.terminate()
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("a frozen server (SIGSTOP): HeartbeatTimeout within interval + timeout + 10%, recovery after SIGCONT", () =>
    Effect.gen(function*() {
      const server = yield* feedProcess(0)
      const conn = yield* Connection.make("frozen", {
        url: `ws://127.0.0.1:${server.port}`,
        heartbeat: fast,
        reconnect: Schedule.spaced("100 millis"),
        connectTimeout: "300 millis"
      })
      const w = yield* watch(conn)
      yield* eventually("frames", () => w.values(1).length >= 20)
      const frozenAt = performance.now()
      server.signal("SIGSTOP")
      yield* eventually("heartbeat timeout", () => w.first("Disconnected") !== undefined)
      const lost = w.first("Disconnected")!
      assert.strictEqual(lost.event._tag === "Disconnected" && lost.event.error._tag, "HeartbeatTimeout")
      assert.isAtMost(lost.at - frozenAt, deadline, "detected within interval + timeout + 10%")
      server.signal("SIGCONT")
      yield* eventually("a new session delivers", () => w.frames.some((f) => f._tag === "Text" && f.session >= 2))
      assert.isTrue(inSequence(w.values(1)))
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("a server that stops answering pings: HeartbeatTimeout in time, recovery once it answers again", () =>
    Effect.gen(function*() {
      let answering = false
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", autoPong: false })
      yield* Effect.addFinalizer(() => Effect.sync(() => wss.close()))
      yield* Effect.callback<void>((resume) => void wss.on("listening", () => resume(Effect.void)))
      wss.on("connection", (ws) => {
        ws.on("error", () => {})
        ws.on("ping", (data) => answering && ws.pong(data))
      })
      const conn = yield* Connection.make("mute", {
        url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`,
        heartbeat: fast,
        reconnect: Schedule.spaced("50 millis")
      })
      const w = yield* watch(conn)
      yield* eventually("opened", () => w.first("Opened") !== undefined)
      const openedAt = w.first("Opened")!.at
      yield* eventually("heartbeat timeout", () => w.first("Disconnected") !== undefined)
      const lost = w.first("Disconnected")!
      assert.strictEqual(lost.event._tag === "Disconnected" && lost.event.error._tag, "HeartbeatTimeout")
      assert.isAtMost(lost.at - openedAt, deadline)
      answering = true
      const healedAt = performance.now()
      yield* eventually(
        "stays up past three heartbeats",
        () => conn.state.value._tag === "Open" && performance.now() - healedAt > 1800,
        5000
      )
      assert.strictEqual(w.events.filter((e) => e.event._tag === "Disconnected" && e.at > healedAt + 200).length, 0)
      for (const client of wss.clients) client.terminate()
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("a path that blackholes both directions: HeartbeatTimeout in time, recovery when it heals", () =>
    Effect.gen(function*() {
      const server = yield* feedProcess(0)
      const proxy = yield* tcpProxy(server.port)
      const conn = yield* Connection.make("blackhole", {
        url: `ws://127.0.0.1:${proxy.port}`,
        heartbeat: fast,
        reconnect: Schedule.spaced("100 millis"),
        connectTimeout: "300 millis"
      })
      const w = yield* watch(conn)
      yield* eventually("frames", () => w.values(1).length >= 20)
      const holedAt = performance.now()
      proxy.blackhole()
      yield* eventually("heartbeat timeout", () => w.first("Disconnected") !== undefined)
      const lost = w.first("Disconnected")!
      assert.strictEqual(lost.event._tag === "Disconnected" && lost.event.error._tag, "HeartbeatTimeout")
      assert.isAtMost(lost.at - holedAt, deadline)
      yield* Effect.sleep("500 millis")
      assert.notStrictEqual(conn.state.value._tag, "Open", "no session opens through a blackhole")
      proxy.heal()
      yield* eventually("frames on a new session", () => w.frames.some((f) => f._tag === "Text" && f.session >= 2))
      assert.isTrue(inSequence(w.values(1)))
    }).pipe(Effect.provide(NodeTransport.layer())))

  it.live("a stalled feed (data stops, pongs continue) ends with IdleTimeout", () =>
    Effect.gen(function*() {
      let stalled = false
      const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" })
      yield* Effect.addFinalizer(() => Effect.sync(() => wss.close()))
      yield* Effect.callback<void>((resume) => void wss.on("listening", () => resume(Effect.void)))
      wss.on("connection", (ws) => {
        ws.on("error", () => {})
        let n = 0
        const timer = setInterval(() => stalled || ws.send(String(n++)), 10)
        ws.on("close", () => clearInterval(timer))
      })
      const conn = yield* Connection.make("stall", {
        url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`,
        heartbeat: Heartbeat.protocol({ interval: "100 millis", timeout: "100 millis" }),
        idleTimeout: "600 millis",
        reconnect: Schedule.spaced("1 hour")
      })
      const w = yield* watch(conn)
      yield* eventually("frames", () => w.values(1).length >= 10)
      const stalledAt = performance.now()
      stalled = true
      yield* eventually("idle timeout", () => w.first("Disconnected") !== undefined)
      const lost = w.first("Disconnected")!
      assert.strictEqual(lost.event._tag === "Disconnected" && lost.event.error._tag, "IdleTimeout")
      assert.isAtLeast(lost.at - stalledAt, 550)
      assert.isAtMost(lost.at - stalledAt, 600 * 1.1 + 50)
      assert.strictEqual(w.events.filter((e) => e.event._tag === "HeartbeatMissed").length, 0, "the heartbeat was fine")
      for (const client of wss.clients) client.terminate()
    }).pipe(Effect.provide(NodeTransport.layer())))
})
