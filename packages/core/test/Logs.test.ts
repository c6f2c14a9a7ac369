import { assert, describe, it } from "@effect/vitest"
import { capture, type Line } from "@kharbranth/test-utils/logs"
import { Effect, Schedule } from "effect"
import * as Connection from "../src/Connection.ts"
import * as Heartbeat from "../src/Heartbeat.ts"
import { DialOutcome, MemoryServer } from "../src/MemoryTransport.ts"
import * as MemoryTransport from "../src/MemoryTransport.ts"
import * as ReconnectPolicy from "../src/ReconnectPolicy.ts"
import * as WSManager from "../src/WSManager.ts"
import { advance, settle } from "./utils/harness.ts"

const url = "ws://venue.test/ws"

const find = (lines: ReadonlyArray<Line>, event: string) => lines.filter((l) => l.annotations.event === event)

describe("Logs", () => {
  it.effect("open and close by the caller: debug connecting, info opened and closed, with connection, session and url", () => {
    const { lines, provide } = capture("All")
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      const conn = yield* Connection.make("btc", { url, heartbeat: Heartbeat.none })
      yield* server.accepted
      yield* settle
      yield* conn.close()
      assert.deepStrictEqual(lines, [
        {
          level: "Debug",
          message: "connecting (attempt 1)",
          annotations: { connection: "btc", event: "Connecting", url }
        },
        {
          level: "Info",
          message: "opened session 1 (attempt 1)",
          annotations: { connection: "btc", event: "Opened", session: 1, url }
        },
        {
          level: "Info",
          message: "closed: closed by the caller",
          annotations: { connection: "btc", event: "Closed", url }
        }
      ])
    }).pipe(Effect.provide(MemoryTransport.layer()), provide)
  })

  it.effect("a hook that fails on every frame warns once per session; its later failures are debug", () => {
    const { lines, provide } = capture("All")
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      const conn = yield* Connection.make("btc", { url, heartbeat: Heartbeat.none }, {
        onText: () => {
          throw new Error("bad frame")
        }
      })
      const first = yield* server.accepted
      yield* settle
      yield* first.send("a")
      yield* first.send("b")
      yield* first.send("c")
      yield* settle
      yield* conn.restart("test")
      const second = yield* server.accepted
      yield* settle
      yield* second.send("d")
      yield* settle
      const failed = find(lines, "HookFailed").map((l) => [l.level, l.annotations.session])
      assert.deepStrictEqual(failed, [["Warn", 1], ["Debug", 1], ["Debug", 1], ["Warn", 2]])
      assert.include(find(lines, "HookFailed")[0]!.message, "Error: bad frame")
    }).pipe(Effect.provide(MemoryTransport.layer()), provide)
  })

  it.effect("a failed dial warns, the backoff is debug, and a schedule that runs out is an error", () => {
    const { lines, provide } = capture("All")
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* server.setDefault(DialOutcome.fail("ECONNREFUSED"))
      const conn = yield* Connection.make("btc", {
        url,
        heartbeat: Heartbeat.none,
        reconnect: ReconnectPolicy.exponential({ base: "500 millis", jitter: false, maxAttempts: 2 })
      })
      yield* settle
      yield* advance(500)
      assert.strictEqual(conn.state.value._tag, "Closed")
      const failed = find(lines, "DialFailed")
      assert.deepStrictEqual(failed.map((l) => l.level), ["Warn", "Warn"])
      assert.strictEqual(
        failed[0]!.message,
        `dial attempt 1 failed: ConnectFailed: connection "btc": could not connect to ${url}: ECONNREFUSED`
      )
      assert.deepStrictEqual(failed[0]!.annotations, { connection: "btc", event: "DialFailed", url })
      const reconnecting = find(lines, "Reconnecting")
      assert.deepStrictEqual(reconnecting.map((l) => [l.level, l.message]), [[
        "Debug",
        "reconnecting in 500 ms (attempt 2)"
      ]])
      const closed = find(lines, "Closed")
      assert.strictEqual(closed.length, 1)
      assert.strictEqual(closed[0]!.level, "Error")
      assert.match(closed[0]!.message, /^gave up \(ConnectFailed\): reconnect schedule ended after 2 attempts: /)
    }).pipe(Effect.provide(MemoryTransport.layer()), provide)
  })

  it.effect("a missed heartbeat warns twice: the miss, then the unasked disconnect, both with the session", () => {
    const { lines, provide } = capture("All")
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* Connection.make("btc", {
        url,
        heartbeat: Heartbeat.protocol({ interval: "1 second", timeout: "500 millis" }),
        reconnect: Schedule.spaced("2 seconds")
      })
      const peer = yield* server.accepted
      yield* peer.setAutoPong(false)
      yield* advance(1500)
      const warnings = lines.filter((l) => l.level === "Warn")
      assert.deepStrictEqual(warnings.map((l) => [l.annotations.event, l.annotations.session]), [
        ["HeartbeatMissed", 1],
        ["Disconnected", 1]
      ])
      assert.strictEqual(warnings[0]!.message, "heartbeat missed on session 1: no pong within 500 ms")
      assert.match(warnings[1]!.message, /^session 1 ended unexpectedly: HeartbeatTimeout: /)
    }).pipe(Effect.provide(MemoryTransport.layer()), provide)
  })

  it.effect("an idle timeout is a warning", () => {
    const { lines, provide } = capture("All")
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* Connection.make("btc", {
        url,
        heartbeat: Heartbeat.none,
        idleTimeout: "5 seconds",
        reconnect: Schedule.spaced("1 second")
      })
      yield* server.accepted
      yield* advance(5000)
      const disconnected = find(lines, "Disconnected")
      assert.strictEqual(disconnected.length, 1)
      assert.strictEqual(disconnected[0]!.level, "Warn")
      assert.match(disconnected[0]!.message, /^session 1 ended unexpectedly: IdleTimeout: .*5000 ms/)
    }).pipe(Effect.provide(MemoryTransport.layer()), provide)
  })

  it.effect("a manager's connection logs too: a dial held at the governor is debug, with its URL", () => {
    const { lines, provide } = capture("All")
    return Effect.gen(function*() {
      const m = yield* WSManager.make({ maxConcurrentDials: 1, dialsPerSecond: 100 })
      yield* settle
      yield* m.add("a", { url: "ws://venue.test/a", heartbeat: Heartbeat.none })
      yield* m.add("b", { url: "ws://venue.test/b", heartbeat: Heartbeat.none })
      yield* advance(300, 50)
      assert.deepStrictEqual(lines.filter((l) => l.annotations.connection === "b").map((l) => [l.level, l.message]), [
        ["Debug", "dial attempt 1 queued at the dial governor"],
        ["Debug", "connecting (attempt 1)"],
        ["Info", "opened session 1 (attempt 1)"]
      ])
      assert.deepStrictEqual(find(lines, "Queued")[0]!.annotations, {
        connection: "b",
        event: "Queued",
        url: "ws://venue.test/b"
      })
    }).pipe(Effect.provide(MemoryTransport.layer({ dialLatency: "100 millis" })), provide)
  })

  it.effect("with the minimum at Warn, the info and debug lines are not logged", () => {
    const { lines, provide } = capture("Warn")
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* server.script(DialOutcome.fail("ECONNREFUSED"))
      const conn = yield* Connection.make("btc", {
        url,
        heartbeat: Heartbeat.none,
        reconnect: ReconnectPolicy.exponential({ base: "500 millis", jitter: false })
      })
      yield* settle
      yield* advance(500)
      yield* server.accepted
      yield* conn.close()
      assert.deepStrictEqual(lines.map((l) => [l.level, l.annotations.event]), [["Warn", "DialFailed"]])
    }).pipe(Effect.provide(MemoryTransport.layer()), provide)
  })

  it.effect("with the minimum at None, nothing is logged", () => {
    const { lines, provide } = capture("None")
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* server.script(DialOutcome.fail("ECONNREFUSED"))
      const conn = yield* Connection.make("btc", { url, heartbeat: Heartbeat.none })
      yield* advance(30_000)
      yield* server.accepted
      yield* conn.close()
      assert.deepStrictEqual(lines, [])
    }).pipe(Effect.provide(MemoryTransport.layer()), provide)
  })

  it.effect("a URL's secrets appear in no record at every level: dial failures, timeouts, disconnects, reconnects, restart, close", () => {
    const { lines, provide } = capture("All")
    const secretUrl = "ws://kh-user:kh-pass@venue.test/ws?token=s3cr3t&symbol=btc"
    return Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* server.script(
        DialOutcome.fail(`could not reach ${secretUrl}`),
        DialOutcome.refuse(503),
        DialOutcome.stall,
        DialOutcome.accept()
      )
      const conn = yield* Connection.make("btc", {
        url: secretUrl,
        heartbeat: Heartbeat.none,
        connectTimeout: "1 second",
        idleTimeout: "5 seconds",
        reconnect: ReconnectPolicy.exponential({ base: "500 millis", jitter: false })
      })
      // Fail, 503, a stalled dial cut at 1 s, then a session that goes silent past idleTimeout.
      yield* advance(10_000, 250)
      // In the backoff after the idle session: a restart dials at once; then one of the open session.
      yield* conn.restart("now")
      yield* advance(250)
      yield* conn.restart("rotate")
      yield* advance(250)
      yield* conn.close()
      const events = new Set(lines.map((l) => l.annotations.event))
      for (
        const tag of [
          "Connecting",
          "DialFailed",
          "Reconnecting",
          "Opened",
          "Disconnected",
          "RestartRequested",
          "Closed"
        ]
      ) {
        assert.isTrue(events.has(tag), `logged ${tag}`)
      }
      assert.isTrue(lines.some((l) => l.message.includes("ConnectTimeout")), "a dial timed out")
      assert.isTrue(lines.some((l) => l.message.includes("IdleTimeout")), "a session went idle")
      const text = lines.map((l) => `${l.message} ${JSON.stringify(l.annotations)}`).join("\n")
      for (const secret of ["s3cr3t", "kh-user", "kh-pass"]) assert.notInclude(text, secret)
      assert.include(text, "token=***")
    }).pipe(Effect.provide(MemoryTransport.layer()), provide)
  })
})
