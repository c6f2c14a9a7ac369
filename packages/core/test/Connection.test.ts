import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Duration, Effect, Fiber, Layer, Queue, Ref, Schedule, Stream, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import * as Connection from "../src/Connection.ts"
import * as ConnectionError from "../src/ConnectionError.ts"
import type { ConnectionEvent } from "../src/ConnectionEvent.ts"
import * as Frame from "../src/Frame.ts"
import * as Heartbeat from "../src/Heartbeat.ts"
import * as Inbox from "../src/Inbox.ts"
import { DialOutcome, MemoryServer } from "../src/MemoryTransport.ts"
import * as MemoryTransport from "../src/MemoryTransport.ts"
import * as ReconnectPolicy from "../src/ReconnectPolicy.ts"
import * as Transport from "../src/Transport.ts"
import { advance, awaitState, collect, settle } from "./utils/harness.ts"

const url = "ws://venue.test/ws"
const noHeartbeat = { url, heartbeat: Heartbeat.none }
const steady = ReconnectPolicy.exponential({ jitter: false })
const texts = (frames: ReadonlyArray<Frame.Frame>) => frames.flatMap((f) => (f._tag === "Text" ? [f.data] : []))
const tags = (events: ReadonlyArray<ConnectionEvent>) => events.map((e) => e._tag)

describe("Connection", () => {
  describe("frames", () => {
    it.effect("delivers every frame in order to a subscriber that subscribes after make", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", noHeartbeat)
        const peer = yield* server.accepted
        yield* peer.send("a", "b")
        yield* peer.send("c")
        yield* settle
        // Subscribing only now: the frames that came first were kept for the first subscriber.
        const got = yield* collect(conn.frames)
        yield* peer.send("d")
        yield* settle
        assert.deepStrictEqual(texts(got.items), ["a", "b", "c", "d"])
        assert.isTrue(got.items.every((f) => f.session === 1))
      }).pipe(Effect.provide(MemoryTransport.layer())))

    // A session on Inbox that never ends, whatever the client asks: close()
    // gives up on it after closeTimeout, terminates, and after two more
    // interrupts the read loop, which is waiting for frames: detached (plain
    // hooks) or parked (hooks that return effects).
    const stuckTransport = (sessions: Array<Inbox.Inbox<Transport.SessionEnd>>) =>
      Transport.Transport.of({
        open: (request) =>
          Effect.sync(() => {
            const inbox = Inbox.make<Transport.SessionEnd>({
              highWaterMark: 16,
              onPause: () => {},
              onResume: () => {},
              clock: () => 0
            })
            sessions.push(inbox)
            return {
              session: request.session,
              protocol: "",
              take: inbox.take,
              send: () => Effect.void,
              ping: () => Effect.void,
              close: () => Effect.void,
              terminate: Effect.void,
              bufferedAmount: () => 0
            }
          })
      })
    for (const effectful of [false, true]) {
      it.effect(
        `a read loop interrupted while it waits for frames (${
          effectful ? "parked: hooks return effects" : "detached: plain hooks"
        }) is detached for good: later frames reach no hook`,
        () =>
          Effect.gen(function*() {
            const sessions: Array<Inbox.Inbox<Transport.SessionEnd>> = []
            const seen: Array<string> = []
            const conn = yield* Connection.make("stuck", { ...noHeartbeat, closeTimeout: "1 second" }, {
              onText: (frame) => effectful ? Effect.sync(() => void seen.push(frame.data)) : void seen.push(frame.data)
            }).pipe(Effect.provide(Layer.succeed(Transport.Transport, stuckTransport(sessions))))
            yield* awaitState(conn, "Open")
            sessions[0]!.push(Frame.text("a", 1, 0))
            yield* settle
            assert.deepStrictEqual(seen, ["a"])
            const closing = yield* Effect.forkChild(conn.close())
            yield* advance(3_000)
            yield* Fiber.join(closing)
            assert.strictEqual(conn.state.value._tag, "Closed")
            sessions[0]!.push(Frame.text("b", 1, 0))
            yield* settle
            assert.deepStrictEqual(seen, ["a"], "a frame read after the loop was interrupted reached the hook")
          })
      )
    }

    it.effect("a transport whose sessions are not built on Inbox is read through its take, end and all", () =>
      Effect.gen(function*() {
        // Each session's take is a plain queue: the connection cannot read it
        // directly, so its fiber takes every batch and the failing end.
        const sessions: Array<Queue.Queue<Frame.Frame, Transport.SessionEnd>> = []
        const transport = Transport.Transport.of({
          open: (request) =>
            Effect.map(Queue.unbounded<Frame.Frame, Transport.SessionEnd>(), (queue) => {
              sessions.push(queue)
              return {
                session: request.session,
                protocol: "",
                take: Queue.takeAll(queue),
                send: () => Effect.void,
                ping: () => Effect.void,
                close: (code = 1000, reason = "") =>
                  Effect.asVoid(
                    Queue.fail(
                      queue,
                      new ConnectionError.Closed({ connection: "plain", session: request.session, code, reason })
                    )
                  ),
                terminate: Effect.asVoid(
                  Queue.fail(
                    queue,
                    new ConnectionError.Closed({
                      connection: "plain",
                      session: request.session,
                      code: 1006,
                      reason: ""
                    })
                  )
                ),
                bufferedAmount: () => 0
              }
            })
        })
        const conn = yield* Connection.make("plain", { ...noHeartbeat, reconnect: Schedule.spaced("1 second") }).pipe(
          Effect.provide(Layer.succeed(Transport.Transport, transport))
        )
        const got = yield* collect(conn.frames)
        const events = yield* collect(conn.events)
        yield* settle
        yield* Queue.offerAll(sessions[0]!, [Frame.text("a", 1, 0), Frame.text("b", 1, 0)])
        yield* settle
        yield* Queue.fail(
          sessions[0]!,
          new ConnectionError.Closed({ connection: "plain", session: 1, code: 1001, reason: "bye" })
        )
        yield* advance(1_000)
        yield* Queue.offer(sessions[1]!, Frame.text("c", 2, 0))
        yield* settle
        assert.deepStrictEqual(texts(got.items), ["a", "b", "c"])
        assert.deepStrictEqual(events.items.map((e) => e._tag), [
          "Connecting",
          "Opened",
          "Disconnected",
          "Reconnecting",
          "Connecting",
          "Opened"
        ])
        assert.strictEqual(conn.state.value._tag, "Open")
      }))

    it.effect("each subscriber gets the frames from the moment it subscribes", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", noHeartbeat)
        const first = yield* collect(conn.frames)
        const peer = yield* server.accepted
        yield* peer.send("1")
        yield* settle
        const second = yield* collect(conn.frames)
        yield* settle
        yield* peer.send("2")
        yield* settle
        assert.deepStrictEqual(texts(first.items), ["1", "2"])
        assert.deepStrictEqual(texts(second.items), ["2"])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("frames across three reconnects arrive in order with increasing session numbers", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: Schedule.spaced("1 second") })
        const got = yield* collect(conn.frames)
        for (let session = 1; session <= 4; session++) {
          const peer = yield* server.accepted
          yield* peer.send(`s${session}-a`, `s${session}-b`)
          yield* settle
          if (session < 4) {
            yield* peer.drop
            yield* advance(1000)
          }
        }
        const data = got.items.filter((f) => f._tag === "Text")
        assert.deepStrictEqual(texts(data), ["s1-a", "s1-b", "s2-a", "s2-b", "s3-a", "s3-b", "s4-a", "s4-b"])
        assert.deepStrictEqual(data.map((f) => f.session), [1, 1, 2, 2, 3, 3, 4, 4])
        const closes = got.items.filter((f) => f._tag === "Close")
        assert.deepStrictEqual(closes.map((f) => f._tag === "Close" && f.code), [1006, 1006, 1006])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("with suspend and a consumer slower than the server, every frame arrives", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...noHeartbeat, inbound: { capacity: 16 } })
        const received: Array<string> = []
        yield* Effect.forkScoped(conn.frames.pipe(
          Stream.runForEach((f) =>
            Effect.andThen(Effect.sleep("1 millis"), Effect.sync(() => f._tag === "Text" && received.push(f.data)))
          )
        ))
        yield* settle
        const peer = yield* server.accepted
        const total = 500
        const producer = yield* Effect.forkScoped(Effect.forEach(
          Array.from({ length: total / 10 }, (_, i) => i),
          (i) => peer.send(...Array.from({ length: 10 }, (_, j) => String(i * 10 + j))),
          { discard: true }
        ))
        for (let i = 0; i < 200 && received.length < total; i++) yield* advance(10)
        yield* Fiber.join(producer)
        assert.strictEqual(received.length, total)
        assert.deepStrictEqual(received, Array.from({ length: total }, (_, i) => String(i)))
        assert.strictEqual((yield* conn.stats).dropped, 0)
      }).pipe(Effect.provide(MemoryTransport.layer())))

    for (const strategy of ["sliding", "dropping"] as const) {
      it.effect(`with ${strategy}, delivered + dropped = sent`, () =>
        Effect.gen(function*() {
          const server = yield* MemoryServer
          const conn = yield* Connection.make("btc", { ...noHeartbeat, inbound: { capacity: 8, strategy } })
          const got = yield* collect(conn.frames.pipe(Stream.tap(() => Effect.sleep("5 millis"))))
          yield* settle
          const peer = yield* server.accepted
          const total = 300
          for (let i = 0; i < total / 30; i++) {
            yield* peer.send(...Array.from({ length: 30 }, (_, j) => String(i * 30 + j)))
            yield* settle
          }
          yield* advance(5 * total, 50)
          const stats = yield* conn.stats
          assert.isAbove(stats.dropped, 0, "a slow consumer must lose frames under this strategy")
          assert.strictEqual(got.items.length + stats.dropped, total)
          const values = texts(got.items).map(Number)
          assert.deepStrictEqual(values, [...values].sort((a, b) => a - b), "what is delivered stays in order")
          if (strategy === "sliding") {
            assert.strictEqual(values[values.length - 1], total - 1, "sliding keeps the newest")
          } else assert.strictEqual(values[0], 0, "dropping keeps the oldest")
        }).pipe(Effect.provide(MemoryTransport.layer())))
    }
  })

  describe("heartbeat", () => {
    const protocol = {
      url,
      heartbeat: Heartbeat.protocol({ interval: "1 second", timeout: "500 millis" }),
      reconnect: Schedule.spaced("2 seconds")
    }

    it.effect("a missing pong ends the session with HeartbeatTimeout exactly after interval + timeout, then reconnects", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", protocol)
        const events = yield* collect(conn.events)
        const peer = yield* server.accepted
        yield* peer.setAutoPong(false)
        yield* advance(1499)
        assert.strictEqual(conn.state.value._tag, "Open")
        yield* advance(1)
        const disconnected = events.items.find((e) => e._tag === "Disconnected")
        assert.strictEqual(disconnected?._tag === "Disconnected" && disconnected.error._tag, "HeartbeatTimeout")
        assert.include(tags(events.items), "HeartbeatMissed")
        assert.strictEqual(conn.state.value._tag, "Reconnecting")
        assert.strictEqual((yield* peer.closed).by, "terminate", "a dead peer is terminated, not waited for")
        yield* advance(2000)
        const second = yield* server.accepted
        assert.strictEqual(second.request.session, 2)
        assert.strictEqual(conn.state.value._tag, "Open")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("pongs in time keep the session up over an hour of virtual time", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", protocol)
        const peer = yield* server.accepted
        yield* advance(3_600_000, 1000)
        assert.strictEqual(conn.state.value._tag, "Open")
        assert.strictEqual((yield* server.dials).length, 1)
        const pings = (yield* peer.received).filter((m) => m._tag === "Ping")
        assert.strictEqual(pings.length, 3600)
        assert.strictEqual((yield* conn.stats).lastRtt, 0)
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("a text heartbeat (ping/pong) keeps the session alive and pongs stay out of frames", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("okx", {
          url,
          heartbeat: Heartbeat.message({
            interval: "20 seconds",
            timeout: "5 seconds",
            message: "ping",
            isPong: (t) => t === "pong"
          })
        })
        const got = yield* collect(conn.frames)
        const peer = yield* server.accepted
        yield* advance(120_000, 1000)
        assert.strictEqual(conn.state.value._tag, "Open")
        const sent = yield* peer.received
        assert.strictEqual(sent.filter((m) => m._tag === "Text" && m.data === "ping").length, 6)
        assert.strictEqual((yield* conn.stats).lastRtt, 0, "the text pong's round trip is measured too")
        assert.deepStrictEqual(texts(got.items), [], "pongs are not delivered as data")
      }).pipe(Effect.provide(MemoryTransport.layer({ reply: (m) => (m === "ping" ? "pong" : undefined) }))))

    it.effect("a JSON heartbeat that goes unanswered ends the session after interval + timeout", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const replying = yield* Ref.make(true)
        const conn = yield* Connection.make("bybit", {
          url,
          heartbeat: Heartbeat.message({
            interval: "20 seconds",
            timeout: "5 seconds",
            message: () => JSON.stringify({ op: "ping" }),
            isPong: (t) => t.includes('"op":"pong"'),
            deliverPongs: true
          })
        })
        const events = yield* collect(conn.events)
        const got = yield* collect(conn.frames)
        const peer = yield* server.accepted
        yield* advance(20_000)
        yield* peer.send(JSON.stringify({ op: "pong", ret_msg: "pong" }))
        yield* advance(1000)
        assert.strictEqual(texts(got.items).length, 1, "deliverPongs hands the pong over")
        yield* Ref.set(replying, false)
        yield* advance(19_000 + 4_999)
        assert.strictEqual(conn.state.value._tag, "Open")
        yield* advance(1)
        const disconnected = events.items.find((e) => e._tag === "Disconnected")
        assert.strictEqual(disconnected?._tag === "Disconnected" && disconnected.error._tag, "HeartbeatTimeout")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("ping returns the round-trip time", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", noHeartbeat)
        const peer = yield* server.accepted
        yield* peer.setAutoPong(false)
        const pinging = yield* Effect.forkScoped(conn.ping)
        yield* advance(40)
        yield* peer.pong(new TextEncoder().encode("kh1"))
        const rtt = yield* Fiber.join(pinging)
        assert.strictEqual(Duration.toMillis(rtt), 40)
        assert.strictEqual((yield* conn.stats).lastRtt, 40)
      }).pipe(Effect.provide(MemoryTransport.layer())))
  })

  describe("round-trip time", () => {
    /**
     * The test clock as a real clock reads: epoch milliseconds in whole
     * numbers (as `Date.now()` gives them), nanoseconds exact.
     */
    const wholeMillis = Effect.map(TestClock.testClockWith(Effect.succeed), (test): Clock.Clock => ({
      ...test,
      currentTimeMillisUnsafe: () => Math.floor(test.currentTimeMillisUnsafe()),
      currentTimeMillis: Effect.sync(() => Math.floor(test.currentTimeMillisUnsafe()))
    }))

    it.effect("ping and stats.lastRtt measure a sub-millisecond round trip from the Clock's nanoseconds", () =>
      Effect.gen(function*() {
        const test = yield* TestClock.testClockWith(Effect.succeed)
        const clock = yield* wholeMillis
        yield* Effect.gen(function*() {
          const server = yield* MemoryServer
          const conn = yield* Connection.make("btc", noHeartbeat)
          const peer = yield* server.accepted
          yield* peer.setAutoPong(false)
          const pinging = yield* Effect.forkScoped(conn.ping)
          yield* settle
          yield* test.adjust(Duration.micros(250n))
          yield* peer.pong(new TextEncoder().encode("kh1"))
          const rtt = yield* Fiber.join(pinging)
          assert.strictEqual(Duration.toNanosUnsafe(rtt), 250_000n)
          assert.strictEqual(Duration.toMillis(rtt), 0.25)
          assert.strictEqual((yield* conn.stats).lastRtt, 0.25)
        }).pipe(Effect.provide(MemoryTransport.layer()), Effect.provideService(Clock.Clock, clock))
      }))

    it.effect("a text heartbeat's round trip is measured in fractions of a millisecond too", () =>
      Effect.gen(function*() {
        const test = yield* TestClock.testClockWith(Effect.succeed)
        const clock = yield* wholeMillis
        yield* Effect.gen(function*() {
          const server = yield* MemoryServer
          const conn = yield* Connection.make("okx", {
            url,
            heartbeat: Heartbeat.message({
              interval: "20 seconds",
              timeout: "5 seconds",
              message: "ping",
              isPong: (t) => t === "pong"
            })
          })
          const peer = yield* server.accepted
          yield* test.adjust("20 seconds")
          yield* settle
          assert.deepStrictEqual(yield* peer.takeReceived, { _tag: "Text", data: "ping" })
          yield* test.adjust(Duration.micros(1500n))
          yield* peer.send("pong")
          yield* settle
          assert.strictEqual((yield* conn.stats).lastRtt, 1.5)
        }).pipe(Effect.provide(MemoryTransport.layer()), Effect.provideService(Clock.Clock, clock))
      }))
  })

  describe("idle timeout", () => {
    const idle = {
      url,
      heartbeat: Heartbeat.protocol({ interval: "1 second", timeout: "500 millis" }),
      idleTimeout: "5 seconds" as const,
      reconnect: Schedule.spaced("1 second")
    }

    it.effect("fires on a feed that sends nothing", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...idle, heartbeat: Heartbeat.none })
        const events = yield* collect(conn.events)
        yield* server.accepted
        yield* advance(4999)
        assert.strictEqual(conn.state.value._tag, "Open")
        yield* advance(1)
        const disconnected = events.items.find((e) => e._tag === "Disconnected")
        assert.strictEqual(disconnected?._tag === "Disconnected" && disconnected.error._tag, "IdleTimeout")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("fires when only heartbeats flow", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", idle)
        const events = yield* collect(conn.events)
        const peer = yield* server.accepted
        yield* peer.ping()
        yield* advance(5000, 250)
        const disconnected = events.items.find((e) => e._tag === "Disconnected")
        assert.strictEqual(disconnected?._tag === "Disconnected" && disconnected.error._tag, "IdleTimeout")
        assert.isAbove((yield* peer.received).filter((m) => m._tag === "Ping").length, 3, "pongs kept coming")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("against a peer that does not answer the close frame, the session is cut after closeTimeout", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...idle, heartbeat: Heartbeat.none, closeTimeout: "1 second" })
        const events = yield* collect(conn.events)
        const peer = yield* server.accepted
        yield* peer.stall
        yield* advance(5000)
        assert.strictEqual(conn.state.value._tag, "Open", "the close frame went unanswered")
        yield* advance(1000)
        assert.strictEqual((yield* peer.closed).by, "terminate")
        const disconnected = events.items.find((e) => e._tag === "Disconnected")
        assert.strictEqual(disconnected?._tag === "Disconnected" && disconnected.error._tag, "IdleTimeout")
        yield* advance(1000)
        yield* server.accepted
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("does not fire while data keeps arriving", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", idle)
        const peer = yield* server.accepted
        for (let i = 0; i < 60; i++) {
          yield* peer.send(`tick ${i}`)
          yield* advance(4000)
        }
        assert.strictEqual(conn.state.value._tag, "Open")
        assert.strictEqual((yield* server.dials).length, 1)
      }).pipe(Effect.provide(MemoryTransport.layer())))
  })

  describe("reconnection", () => {
    it.effect("backoff delays follow the schedule: 500 ms doubling, no jitter", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.setDefault(DialOutcome.fail("ECONNREFUSED"))
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: steady })
        const events = yield* collect(conn.events)
        yield* advance(64_000, 100)
        const delays = events.items.flatMap((e) => (e._tag === "Reconnecting" ? [e.delay] : []))
        assert.deepStrictEqual(delays.slice(0, 6), [500, 1000, 2000, 4000, 8000, 16000])
        const at = (yield* server.dials).map((d) => d.at)
        assert.deepStrictEqual(at.slice(0, 7), [0, 500, 1500, 3500, 7500, 15500, 31500])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("the default policy caps delays at 30 s and jitters within ±20%", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.setDefault(DialOutcome.fail())
        const conn = yield* Connection.make("btc", noHeartbeat)
        const events = yield* collect(conn.events)
        yield* advance(400_000, 500)
        const delays = events.items.flatMap((e) => (e._tag === "Reconnecting" ? [e.delay] : []))
        assert.isAtLeast(delays.length, 12)
        delays.forEach((delay, i) => {
          const nominal = Math.min(500 * 2 ** i, 30_000)
          assert.isAtLeast(delay, nominal * 0.8 - 1, `attempt ${i + 1}`)
          assert.isAtMost(delay, Math.min(nominal * 1.2, 30_000) + 1, `attempt ${i + 1}`)
        })
        assert.isTrue(delays.slice(-3).every((d) => d <= 30_000))
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("the attempt count starts again after a session stays up minUptime", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: steady, minUptime: "10 seconds" })
        const events = yield* collect(conn.events)
        yield* server.script(DialOutcome.accept(), DialOutcome.fail(), DialOutcome.fail(), DialOutcome.accept())
        // Session 1 is short-lived: failures then continue the backoff.
        let peer = yield* server.accepted
        yield* advance(1000)
        yield* peer.drop
        yield* advance(500 + 1000 + 2000, 100)
        peer = yield* server.accepted
        // Session 2 lives past minUptime: the next failure starts from 500 ms again.
        yield* advance(10_000)
        yield* peer.drop
        yield* settle
        const delays = events.items.flatMap((e) => (e._tag === "Reconnecting" ? [e.delay] : []))
        assert.deepStrictEqual(delays, [500, 1000, 2000, 500])
        const connecting = events.items.flatMap((e) => (e._tag === "Connecting" ? [e.attempt] : []))
        assert.deepStrictEqual(connecting, [1, 2, 3, 4])
        assert.strictEqual(conn.state.value._tag === "Reconnecting" && conn.state.value.attempt, 1)
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("shouldReconnect returning false stops with state Closed and dials no more", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...noHeartbeat, shouldReconnect: (e) => e._tag !== "Closed" })
        const frames = yield* collect(conn.frames)
        const peer = yield* server.accepted
        yield* peer.close(1000, "bye")
        yield* settle
        const state = conn.state.value
        assert.strictEqual(state._tag, "Closed")
        assert.strictEqual(state._tag === "Closed" && state.error?._tag, "Closed")
        yield* advance(3_600_000, 60_000)
        assert.strictEqual((yield* server.dials).length, 1)
        yield* Fiber.join(frames.fiber)
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("by default a server close with 1000 is recovered from", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: steady })
        const peer = yield* server.accepted
        yield* peer.close(1000, "")
        yield* advance(500)
        yield* server.accepted
        assert.strictEqual(conn.state.value._tag, "Open")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    for (const status of [401, 403]) {
      it.effect(`by default an upgrade refused with ${status} is not retried`, () =>
        Effect.gen(function*() {
          const server = yield* MemoryServer
          yield* server.script(DialOutcome.refuse(status))
          const conn = yield* Connection.make("btc", noHeartbeat)
          const state = yield* awaitState(conn, "Closed")
          assert.strictEqual(state._tag === "Closed" && state.error?._tag, "ConnectFailed")
          yield* advance(600_000, 60_000)
          assert.strictEqual((yield* server.dials).length, 1)
        }).pipe(Effect.provide(MemoryTransport.layer())))
    }

    it.effect("503 is retried by the schedule, 429 waits at least its Retry-After", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.script(DialOutcome.refuse(503), DialOutcome.refuse(429, 7000))
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: steady })
        yield* advance(10_000, 100)
        assert.strictEqual(conn.state.value._tag, "Open")
        assert.deepStrictEqual((yield* server.dials).map((d) => d.at), [0, 500, 7500])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("a dial that stalls ends with ConnectTimeout after connectTimeout and is retried", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.script(DialOutcome.stall)
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: steady, connectTimeout: "3 seconds" })
        const events = yield* collect(conn.events)
        yield* advance(3000)
        const failed = events.items.find((e) => e._tag === "DialFailed")
        assert.strictEqual(failed?._tag === "DialFailed" && failed.error._tag, "ConnectTimeout")
        yield* advance(500)
        assert.strictEqual(conn.state.value._tag, "Open")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("a URL effect is evaluated on every attempt", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.script(DialOutcome.fail(), DialOutcome.fail())
        const counter = yield* Ref.make(0)
        yield* Connection.make("btc", {
          ...noHeartbeat,
          reconnect: steady,
          url: Ref.updateAndGet(counter, (n) => n + 1).pipe(Effect.map((n) => `ws://edge-${n}.venue.test/ws`))
        })
        yield* advance(2000, 100)
        assert.deepStrictEqual((yield* server.dials).map((d) => d.url), [
          "ws://edge-1.venue.test/ws",
          "ws://edge-2.venue.test/ws",
          "ws://edge-3.venue.test/ws"
        ])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("a schedule that runs out stops the connection with the last error", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.setDefault(DialOutcome.fail("ECONNREFUSED"))
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: Schedule.recurs(2) })
        yield* advance(1000, 100)
        const state = yield* awaitState(conn, "Closed")
        assert.include(state._tag === "Closed" ? state.reason : "", "schedule ended")
        assert.strictEqual((yield* server.dials).length, 3)
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("a schedule that throws closes the connection with the defect's message, and its streams end", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.setDefault(DialOutcome.fail("ECONNREFUSED"))
        const broken = Schedule.map(Schedule.spaced("1 second"), (): number => {
          throw new Error("schedule bug")
        })
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: broken })
        const events = yield* collect(conn.events)
        yield* advance(3000, 100)
        const state = yield* awaitState(conn, "Closed")
        assert.include(state._tag === "Closed" ? state.reason : "", "schedule bug")
        assert.include(tags(events.items), "Closed")
        assert.strictEqual((yield* server.dials).length, 1, "no dial after the defect")
      }).pipe(Effect.provide(MemoryTransport.layer())))
  })

  describe("hooks", () => {
    it.effect("onOpen runs after every reconnect, before that session's first frame", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const log: Array<string> = []
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: Schedule.spaced("1 second") }, {
          onOpen: ({ send, session }) =>
            Effect.andThen(Effect.sync(() => log.push(`open ${session}`)), send(`subscribe ${session}`)),
          onText: (frame) => Effect.sync(() => void log.push(`${frame.session}: ${frame.data}`))
        })
        for (let session = 1; session <= 3; session++) {
          const peer = yield* server.accepted
          assert.deepStrictEqual(yield* peer.takeReceived, { _tag: "Text", data: `subscribe ${session}` })
          yield* peer.send(`hello ${session}`)
          yield* settle
          if (session < 3) {
            yield* peer.drop
            yield* advance(1000)
          }
        }
        assert.deepStrictEqual(log, ["open 1", "1: hello 1", "open 2", "2: hello 2", "open 3", "3: hello 3"])
        assert.strictEqual(conn.state.value._tag, "Open")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("what onOpen forks with forkScoped lives as long as its session", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const log: Array<string> = []
        yield* Connection.make("btc", { ...noHeartbeat, reconnect: Schedule.spaced("1 second") }, {
          onOpen: ({ session }) =>
            Effect.asVoid(Effect.forkScoped(
              Effect.onInterrupt(Effect.never, () => Effect.sync(() => void log.push(`ended ${session}`)))
            ))
        })
        const first = yield* server.accepted
        yield* settle
        assert.deepStrictEqual(log, [])
        yield* first.drop
        yield* settle
        assert.deepStrictEqual(log, ["ended 1"], "ended with the first session, before the next dial")
        yield* advance(1000)
        yield* server.accepted
        yield* settle
        assert.deepStrictEqual(log, ["ended 1"])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("frames reach the hook of their kind, in receive order", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const log: Array<string> = []
        const push = (s: string) => Effect.sync(() => void log.push(s))
        yield* Connection.make("btc", noHeartbeat, {
          onText: (f) => push(`text ${f.data}`),
          onBinary: (f) => push(`binary ${f.data.length}`),
          onPing: () => push("ping"),
          onPong: () => push("pong"),
          onClose: (f) => push(`close ${f.code}`)
        })
        const peer = yield* server.accepted
        yield* peer.send("a", new Uint8Array(3), "b")
        yield* peer.ping()
        yield* peer.pong()
        yield* peer.close(4001, "bye")
        yield* settle
        assert.deepStrictEqual(log, ["text a", "binary 3", "text b", "ping", "pong", "close 4001"])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("a failing hook is reported as an event and the connection lives on", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const seen: Array<string> = []
        const conn = yield* Connection.make("btc", noHeartbeat, {
          onText: (f) => (f.data === "bad" ? Effect.fail("cannot parse") : Effect.sync(() => void seen.push(f.data))),
          onBinary: () => Effect.die(new Error("boom"))
        })
        const events = yield* collect(conn.events)
        const peer = yield* server.accepted
        yield* peer.send("ok1", "bad", new Uint8Array(1), "ok2")
        yield* settle
        assert.deepStrictEqual(seen, ["ok1", "ok2"])
        const failures = events.items.filter((e) => e._tag === "HookFailed")
        assert.deepStrictEqual(failures.map((e) => e._tag === "HookFailed" && e.hook), ["onText", "onBinary"])
        assert.isTrue(failures[1]!._tag === "HookFailed" && Cause.hasDies(failures[1]!.cause))
        assert.strictEqual(conn.state.value._tag, "Open")
      }).pipe(Effect.provide(MemoryTransport.layer())))
  })

  describe("plain-function hooks", () => {
    it.effect("run in receive order, mixed with effectful hooks, a throw reported and the batch going on", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const log: Array<string> = []
        const conn = yield* Connection.make("btc", noHeartbeat, {
          onText: (f) => {
            if (f.data === "throw") throw new Error("bad frame")
            log.push(`text ${f.data}`)
          },
          onBinary: (f) => Effect.sync(() => void log.push(`binary ${f.data.length}`)),
          onPing: () => {
            log.push("ping")
          }
        })
        const events = yield* collect(conn.events)
        const peer = yield* server.accepted
        yield* peer.send("a", new Uint8Array(2), "throw", "b", new Uint8Array(3), "c")
        yield* peer.ping()
        yield* settle
        assert.deepStrictEqual(log, ["text a", "binary 2", "text b", "binary 3", "text c", "ping"])
        const failed = events.items.filter((e) => e._tag === "HookFailed")
        assert.strictEqual(failed.length, 1)
        assert.isTrue(
          failed[0]!._tag === "HookFailed" && failed[0]!.hook === "onText" && Cause.hasDies(failed[0]!.cause)
        )
        assert.strictEqual(conn.state.value._tag, "Open")
      }).pipe(Effect.provide(MemoryTransport.layer())))
  })

  describe("send", () => {
    it.effect("while not connected fails with NotConnected by default", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.setDefault(DialOutcome.stall)
        const conn = yield* Connection.make("btc", noHeartbeat)
        const error = yield* Effect.flip(conn.send("x"))
        assert.strictEqual(error._tag, "NotConnected")
        assert.include(error.message, "btc")
        // close() gives the dial in flight closeTimeout (2 s) to finish before cutting it.
        const closing = yield* Effect.forkScoped(conn.close())
        yield* advance(1999)
        assert.isUndefined(closing.pollUnsafe())
        yield* advance(1)
        yield* Fiber.join(closing)
        assert.strictEqual(conn.state.value._tag, "Closed")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("with a send buffer, waits and is sent after onOpen; overflow is a typed error", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.script(DialOutcome.fail())
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: steady, sendBuffer: 2 }, {
          onOpen: ({ send }) => send("subscribe")
        })
        yield* settle
        const first = yield* Effect.forkScoped(conn.send("order-1"))
        const second = yield* Effect.forkScoped(conn.send("order-2"))
        yield* settle
        const overflow = yield* Effect.flip(conn.send("order-3"))
        assert.strictEqual(overflow._tag, "SendFailed")
        yield* advance(500)
        yield* Fiber.join(first)
        yield* Fiber.join(second)
        const peer = yield* server.accepted
        assert.deepStrictEqual((yield* peer.received).map((m) => m._tag === "Text" && m.data), [
          "subscribe",
          "order-1",
          "order-2"
        ])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("sends on the open session and counts it", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", noHeartbeat)
        const peer = yield* server.accepted
        yield* conn.send("hello")
        yield* conn.send(new Uint8Array(4))
        assert.deepStrictEqual((yield* peer.received).map((m) => m._tag), ["Text", "Binary"])
        const stats = yield* conn.stats
        assert.strictEqual(stats.framesOut, 2)
        assert.strictEqual(stats.bytesOut, 9)
      }).pipe(Effect.provide(MemoryTransport.layer())))
  })

  describe("restart and close", () => {
    it.effect("restart reconnects at once, without waiting for backoff", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: Schedule.spaced("1 hour") })
        const events = yield* collect(conn.events)
        const peer = yield* server.accepted
        yield* advance(5000)
        yield* conn.restart("sequence gap")
        const next = yield* server.accepted
        assert.strictEqual(next.request.session, 2)
        assert.deepStrictEqual((yield* server.dials).map((d) => d.at), [0, 5000])
        const closed = yield* peer.closed
        assert.strictEqual(closed.reason, "sequence gap")
        assert.include(tags(events.items), "RestartRequested")
        yield* awaitState(conn, "Open")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("restart during backoff dials at once", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.script(DialOutcome.fail())
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: Schedule.spaced("1 hour") })
        yield* awaitState(conn, "Reconnecting")
        yield* advance(1000)
        yield* conn.restart()
        yield* server.accepted
        assert.deepStrictEqual((yield* server.dials).map((d) => d.at), [0, 1000])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("close sends a close frame, stops reconnecting and ends the streams", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", noHeartbeat)
        const frames = yield* collect(conn.frames)
        const events = yield* collect(conn.events)
        const peer = yield* server.accepted
        yield* peer.send("last")
        yield* conn.close(1000, "shutdown")
        assert.deepStrictEqual(yield* peer.closed, { code: 1000, reason: "shutdown", by: "client" })
        yield* Fiber.join(frames.fiber)
        yield* Fiber.join(events.fiber)
        assert.deepStrictEqual(texts(frames.items), ["last"])
        assert.strictEqual(events.items[events.items.length - 1]!._tag, "Closed")
        assert.strictEqual(conn.state.value._tag, "Closed")
        const late = yield* Effect.flip(conn.send("x"))
        assert.strictEqual(late._tag, "ConnectionStopped")
        yield* advance(3_600_000, 600_000)
        assert.strictEqual((yield* server.dials).length, 1)
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("close with a code no endpoint may send closes with 1000; a long reason is cut to 123 bytes", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", noHeartbeat)
        const peer = yield* server.accepted
        yield* conn.close(1006, "é".repeat(100))
        const closed = yield* peer.closed
        assert.strictEqual(closed.code, 1000)
        assert.strictEqual(
          new TextEncoder().encode(closed.reason).byteLength,
          122,
          "61 two-byte characters fit in 123 bytes"
        )
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("close against a peer that never answers terminates after closeTimeout", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...noHeartbeat, closeTimeout: "2 seconds" })
        const peer = yield* server.accepted
        yield* peer.stall
        const closing = yield* Effect.forkScoped(conn.close())
        yield* advance(1999)
        assert.isUndefined(closing.pollUnsafe())
        yield* advance(1)
        yield* Fiber.join(closing)
        assert.strictEqual((yield* peer.closed).by, "terminate")
        assert.strictEqual(conn.state.value._tag, "Closed")
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("after the scope closes, a day of virtual time sends and runs nothing", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const peer = yield* Effect.scoped(Effect.gen(function*() {
          yield* Connection.make("btc", {
            url,
            heartbeat: Heartbeat.protocol({ interval: "1 second", timeout: "500 millis" }),
            idleTimeout: "1 minute"
          })
          return yield* server.accepted
        }))
        assert.strictEqual((yield* peer.closed).code, 1000)
        const before = (yield* peer.received).length
        yield* advance(86_400_000, 3_600_000)
        assert.strictEqual((yield* peer.received).length, before)
        assert.strictEqual((yield* server.dials).length, 1)
        assert.strictEqual((yield* server.connections).length, 0)
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("close during a handshake lets it finish, then closes the session with a close frame", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", noHeartbeat)
        yield* advance(500)
        const closing = yield* Effect.forkScoped(conn.close(1000, "bye"))
        yield* advance(500)
        yield* Fiber.join(closing)
        const peer = yield* server.accepted
        assert.deepStrictEqual(yield* peer.closed, { code: 1000, reason: "bye", by: "client" })
        assert.strictEqual(conn.state.value._tag, "Closed")
      }).pipe(Effect.provide(MemoryTransport.layer({ dialLatency: "1 second" }))))

    it.effect("close during a handshake that outlasts closeTimeout gives the dial up, and no socket is left", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...noHeartbeat, closeTimeout: "1 second" })
        yield* advance(500)
        const closing = yield* Effect.forkScoped(conn.close())
        yield* advance(1000)
        yield* Fiber.join(closing)
        const state = conn.state.value
        assert.strictEqual(state._tag, "Closed")
        assert.strictEqual(state._tag === "Closed" ? state.reason : "", "closed by the caller")
        yield* advance(10_000)
        assert.strictEqual((yield* server.connections).length, 0)
        assert.strictEqual((yield* server.dials).length, 1)
      }).pipe(Effect.provide(MemoryTransport.layer({ dialLatency: "5 seconds" }))))

    it.effect("a close during a dial gives the dial up at closeTimeout even when its caller stops waiting", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.setDefault(DialOutcome.stall)
        const conn = yield* Connection.make("btc", { ...noHeartbeat, closeTimeout: "1 second" })
        yield* advance(100)
        const closing = yield* Effect.forkScoped(conn.close())
        yield* advance(10)
        yield* Fiber.interrupt(closing)
        yield* advance(989)
        assert.strictEqual(conn.state.value._tag, "Connecting", "the dial still has its closeTimeout")
        yield* advance(1)
        const state = conn.state.value
        assert.strictEqual(state._tag, "Closed")
        assert.strictEqual(state._tag === "Closed" ? state.reason : "", "closed by the caller")
        assert.strictEqual((yield* server.dials).length, 1)
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("restart after close fails with ConnectionStopped", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", noHeartbeat)
        yield* server.accepted
        yield* conn.close()
        const error = yield* Effect.flip(conn.restart())
        assert.strictEqual(error._tag, "ConnectionStopped")
      }).pipe(Effect.provide(MemoryTransport.layer())))
  })

  describe("state, events and stats", () => {
    it.effect("state walks Connecting → Open → Reconnecting → Connecting → Open", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.script(DialOutcome.fail())
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: steady })
        yield* awaitState(conn, "Reconnecting")
        const states = yield* collect(SubscriptionRef.changes(conn.state))
        yield* settle
        yield* advance(500)
        const peer = yield* server.accepted
        yield* peer.drop
        // The backoff goes on from the failed dial: 1000 ms now.
        yield* advance(1000)
        yield* server.accepted
        yield* settle
        assert.deepStrictEqual(states.items.map((s) => s._tag), [
          "Reconnecting",
          "Connecting",
          "Open",
          "Reconnecting",
          "Connecting",
          "Open"
        ])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("a new connection starts Idle", () =>
      Effect.gen(function*() {
        const conn = yield* Connection.make("btc", noHeartbeat).pipe(Effect.provide(MemoryTransport.layer()))
        // make forks the dial loop; nothing has run yet when it returns.
        assert.strictEqual(conn.state.value._tag, "Idle")
      }))

    it.effect("events name every step, as the original crate's did", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* server.script(DialOutcome.fail())
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: steady })
        const events = yield* collect(conn.events)
        yield* advance(500)
        const peer = yield* server.accepted
        yield* peer.drop
        yield* settle
        yield* conn.close()
        yield* Fiber.join(events.fiber)
        assert.deepStrictEqual(tags(events.items), [
          "Connecting",
          "DialFailed",
          "Reconnecting",
          "Connecting",
          "Opened",
          "Disconnected",
          "Reconnecting",
          "Closed"
        ])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("events that come before the first subscriber are kept for it; a later one gets them from when it subscribes", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: steady })
        const peer = yield* server.accepted
        yield* settle
        const first = yield* collect(conn.events)
        yield* settle
        const later = yield* collect(conn.events)
        yield* settle
        yield* peer.drop
        yield* settle
        assert.deepStrictEqual(tags(first.items), ["Connecting", "Opened", "Disconnected", "Reconnecting"])
        assert.deepStrictEqual(tags(later.items), ["Disconnected", "Reconnecting"])
      }).pipe(Effect.provide(MemoryTransport.layer())))

    it.effect("stats count frames, bytes, sessions and uptime", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const conn = yield* Connection.make("btc", { ...noHeartbeat, reconnect: steady })
        let peer = yield* server.accepted
        yield* peer.send("abcd", new Uint8Array(6))
        yield* settle
        yield* peer.drop
        yield* advance(500)
        peer = yield* server.accepted
        yield* advance(2000)
        const stats = yield* conn.stats
        assert.strictEqual(stats.framesIn, 3)
        assert.strictEqual(stats.bytesIn, 10)
        assert.strictEqual(stats.sessions, 2)
        assert.strictEqual(stats.reconnects, 1)
        assert.strictEqual(stats.uptime, 2000)
        assert.strictEqual(stats.lastFrameAt, 0)
      }).pipe(Effect.provide(MemoryTransport.layer())))
  })

  describe("config validation", () => {
    const cases: ReadonlyArray<readonly [string, Partial<Parameters<typeof Connection.make>[1]>, string]> = [
      ["an http URL", { url: "http://venue.test" }, "url"],
      ["a string that is no URL", { url: "not a url" }, "url"],
      [
        "a zero heartbeat interval",
        { heartbeat: Heartbeat.protocol({ interval: 0, timeout: "1 second" }) },
        "heartbeat.interval"
      ],
      [
        "a negative heartbeat timeout",
        { heartbeat: Heartbeat.protocol({ interval: "1 second", timeout: -5 }) },
        "heartbeat.timeout"
      ],
      ["a ping payload over 125 bytes", {
        heartbeat: Heartbeat.protocol({ interval: "1 second", timeout: "1 second", payload: new Uint8Array(126) })
      }, "heartbeat.payload"],
      ["a zero idle timeout", { idleTimeout: 0 }, "idleTimeout"],
      ["a zero connect timeout", { connectTimeout: "0 millis" }, "connectTimeout"],
      ["a non-integer capacity", { inbound: { capacity: 1.5 } }, "inbound.capacity"],
      ["an unknown strategy", { inbound: { strategy: "lossy" as never } }, "inbound.strategy"],
      ["a negative send buffer", { sendBuffer: -1 }, "sendBuffer"],
      ["an empty name", {}, "name"],
      ["a subprotocol with a space", { protocols: ["v1 v2"] }, "protocols"],
      ["a header name with a colon", { headers: { "x:y": "1" } }, "headers"],
      ["a header value with a line break", { headers: { "x-key": "a\r\nInjected: yes" } }, "headers.x-key"],
      ["a reconnect that is not a Schedule", { reconnect: 5 as never }, "reconnect"],
      ["a shouldReconnect that is not a function", { shouldReconnect: true as never }, "shouldReconnect"],
      ["a zero close timeout", { closeTimeout: 0 }, "closeTimeout"],
      ["a negative minUptime", { minUptime: -1 }, "minUptime"],
      ["a zero maxPayload", { maxPayload: 0 }, "maxPayload"],
      ["a non-boolean compression", { compression: "yes" as never }, "compression"],
      ["a zero sendHighWaterMark", { sendHighWaterMark: 0 }, "sendHighWaterMark"],
      ["a message heartbeat with an empty message", {
        heartbeat: Heartbeat.message({ interval: "1 second", timeout: "1 second", message: "", isPong: () => true })
      }, "heartbeat.message"],
      ["a message heartbeat without isPong", {
        heartbeat: Heartbeat.message({
          interval: "1 second",
          timeout: "1 second",
          message: "ping",
          isPong: undefined as never
        })
      }, "heartbeat.isPong"],
      ["a duration that is not one", { connectTimeout: "soon" as never }, "connectTimeout"]
    ]
    for (const [what, config, field] of cases) {
      it.effect(`${what} is InvalidConfig naming ${field}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(Connection.make(field === "name" ? "" : "btc", { url, ...config }))
          assert.strictEqual(error._tag, "InvalidConfig")
          assert.strictEqual(error.field, field)
          assert.include(error.message, field)
          assert.strictEqual((yield* (yield* MemoryServer).dials).length, 0, "nothing was dialed")
        }).pipe(Effect.provide(MemoryTransport.layer())))
    }

    it.effect("a URL effect that yields a bad URL stops the connection with InvalidConfig", () =>
      Effect.gen(function*() {
        const conn = yield* Connection.make("btc", { ...noHeartbeat, url: Effect.succeed("https://venue.test") })
        const state = yield* awaitState(conn, "Closed")
        assert.strictEqual(state._tag === "Closed" && state.error?._tag, "InvalidConfig")
      }).pipe(Effect.provide(MemoryTransport.layer())))
  })

  it.effect("Connection.layer provides a connection closed with the layer", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* Effect.gen(function*() {
        const conn = yield* Connection.Connection
        assert.strictEqual(conn.name, "layered")
        yield* awaitState(conn, "Open")
      }).pipe(Effect.provide(Connection.layer("layered", noHeartbeat)))
      const peer = yield* server.accepted
      assert.strictEqual((yield* peer.closed).code, 1000)
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("TestClock drives every timer: nothing waits on the wall clock", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* server.setDefault(DialOutcome.fail())
      yield* Connection.make("btc", { ...noHeartbeat, reconnect: Schedule.spaced("1 hour") })
      yield* settle
      assert.strictEqual((yield* server.dials).length, 1)
      yield* TestClock.adjust("1 hour")
      yield* settle
      assert.strictEqual((yield* server.dials).length, 2)
    }).pipe(Effect.provide(MemoryTransport.layer())))
})

describe("README", () => {
  it.effect("the testing example resubscribes after a drop", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* Connection.make("feed", { url: "ws://venue.test/ws", heartbeat: Heartbeat.none }, {
        onOpen: ({ send }) => send("subscribe")
      })
      const first = yield* server.accepted
      yield* first.drop
      yield* TestClock.adjust("1 minute")
      const second = yield* server.accepted
      assert.deepStrictEqual(yield* second.takeReceived, { _tag: "Text", data: "subscribe" })
    }).pipe(Effect.provide(MemoryTransport.layer())))
})

describe("subscribers", () => {
  it.effect("a slow subscriber that leaves while the read loop waits on it does not stall the others", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const conn = yield* Connection.make("btc", { ...noHeartbeat, inbound: { capacity: 4 } })
      const fast = yield* collect(conn.frames)
      // Takes two frames slowly, then ends: its queue is shut down mid-flood.
      const slow = yield* Effect.forkScoped(conn.frames.pipe(
        Stream.tap(() => Effect.sleep("1 second")),
        Stream.take(2),
        Stream.runDrain
      ))
      yield* settle
      const peer = yield* server.accepted
      const producer = yield* Effect.forkScoped(Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => peer.send(...Array.from({ length: 5 }, (_, j) => String(i * 5 + j))),
        { discard: true }
      ))
      yield* advance(3000, 100)
      yield* Fiber.join(slow)
      yield* Fiber.join(producer)
      yield* settle
      assert.strictEqual(texts(fast.items).length, 100)
      assert.deepStrictEqual(texts(fast.items).map(Number), Array.from({ length: 100 }, (_, i) => i))
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("a ping in flight when the session ends fails with NotConnected, not an interruption", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const conn = yield* Connection.make("btc", noHeartbeat)
      const peer = yield* server.accepted
      yield* peer.setAutoPong(false)
      const pinging = yield* Effect.forkScoped(Effect.flip(conn.ping))
      yield* settle
      yield* peer.drop
      const error = yield* Fiber.join(pinging)
      assert.strictEqual(error._tag, "NotConnected")
    }).pipe(Effect.provide(MemoryTransport.layer())))
})
