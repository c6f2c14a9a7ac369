import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { DialOutcome, MemoryServer } from "../src/MemoryTransport.ts"
import * as MemoryTransport from "../src/MemoryTransport.ts"
import * as Transport from "../src/Transport.ts"

const req = (overrides: Partial<Transport.OpenRequest> = {}) =>
  Transport.request({ url: "ws://venue.test/ws", connection: "test", ...overrides })

const open = (overrides: Partial<Transport.OpenRequest> = {}) =>
  Effect.flatMap(Transport.Transport, (t) => t.open(req(overrides)))

describe("MemoryTransport", () => {
  it.effect("accepts a dial, records it and hands the server connection out", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const session = yield* open({ session: 7, protocols: ["v1"], headers: { "x-api": "k" } })
      const peer = yield* server.accepted
      assert.strictEqual(session.session, 7)
      assert.strictEqual(peer.request.session, 7)
      const dials = yield* server.dials
      assert.strictEqual(dials.length, 1)
      assert.strictEqual(dials[0]!.outcome, "Accept")
      assert.deepStrictEqual(dials[0]!.protocols, ["v1"])
      assert.deepStrictEqual(dials[0]!.headers, { "x-api": "k" })
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("delivers one server send as one batch, stamped with session and clock time", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* TestClock.adjust("5 seconds")
      const session = yield* open({ session: 3 })
      const peer = yield* server.accepted
      const bytes = new Uint8Array([1, 2, 3])
      yield* peer.send("a", "b", bytes)
      const batch = yield* session.take
      assert.deepStrictEqual(batch.map((f) => f._tag), ["Text", "Text", "Binary"])
      assert.isTrue(batch.every((f) => f.session === 3 && f.receivedAt === 5000))
      assert.strictEqual(batch[2]!._tag === "Binary" && batch[2]!.data, bytes, "binary payload is not copied")
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("a reader waiting on take wakes with every frame sent meanwhile", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const session = yield* open()
      const peer = yield* server.accepted
      const reader = yield* Effect.forkChild(session.take)
      yield* Effect.yieldNow
      yield* peer.send("1")
      yield* peer.send("2")
      const batch = yield* Fiber.join(reader)
      assert.deepStrictEqual(batch.map((f) => f._tag === "Text" && f.data), ["1", "2"])
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("refuses a dial with the scripted status and Retry-After", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* server.script(DialOutcome.refuse(429, 2000))
      const error = yield* Effect.flip(open())
      assert.strictEqual(error._tag, "ConnectFailed")
      if (error._tag === "ConnectFailed") {
        assert.strictEqual(error.status, 429)
        assert.strictEqual(error.retryAfter, 2000)
      }
      const second = yield* Effect.exit(open())
      assert.strictEqual(second._tag, "Success", "after the script, dials use the default outcome")
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("a stalled dial ends with ConnectTimeout after exactly connectTimeout", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* server.setDefault(DialOutcome.stall)
      const fiber = yield* Effect.forkChild(Effect.flip(open({ connectTimeout: 3000 })))
      yield* TestClock.adjust(2999)
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust(1)
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "ConnectTimeout")
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("a refused TCP dial is ConnectFailed without a status", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* server.script(DialOutcome.fail("ECONNREFUSED"))
      const error = yield* Effect.flip(open())
      assert.strictEqual(error._tag, "ConnectFailed")
      assert.isTrue(error._tag === "ConnectFailed" && error.status === undefined)
      assert.include(error.message, "ECONNREFUSED")
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("answers client pings with pongs carrying the same payload", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const session = yield* open()
      const peer = yield* server.accepted
      yield* session.ping(new Uint8Array([9]))
      const [pong] = yield* session.take
      assert.strictEqual(pong!._tag, "Pong")
      assert.deepStrictEqual(pong!._tag === "Pong" && Array.from(pong!.data), [9])
      const received = yield* peer.received
      assert.deepStrictEqual(received.map((m) => m._tag), ["Ping"])
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("ignores pings when auto-pong is off", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const session = yield* open()
      const peer = yield* server.accepted
      yield* peer.setAutoPong(false)
      yield* session.ping()
      yield* peer.send("after")
      const batch = yield* session.take
      assert.deepStrictEqual(batch.map((f) => f._tag), ["Text"])
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("records everything the client sends, in order", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const session = yield* open()
      const peer = yield* server.accepted
      yield* session.send("sub")
      yield* session.send(new Uint8Array([1]))
      yield* session.close(1000, "bye")
      const received = yield* peer.received
      assert.deepStrictEqual(received.map((m) => m._tag), ["Text", "Binary", "Close"])
      assert.deepStrictEqual(yield* peer.takeReceived, { _tag: "Text", data: "sub" })
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("a server close ends take with the Close frame, then Closed with the code", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const session = yield* open()
      const peer = yield* server.accepted
      yield* peer.close(4001, "rotate")
      const batch = yield* session.take
      const last = batch[batch.length - 1]!
      assert.strictEqual(last._tag, "Close")
      assert.isTrue(last._tag === "Close" && last.code === 4001 && last.reason === "rotate")
      const end = yield* Effect.flip(session.take)
      assert.strictEqual(end._tag, "Closed")
      assert.strictEqual(end.code, 4001)
      assert.deepStrictEqual(yield* peer.closed, { code: 4001, reason: "rotate", by: "server" })
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("an abrupt drop is a close with 1006", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const session = yield* open()
      const peer = yield* server.accepted
      yield* peer.drop
      yield* session.take
      const end = yield* Effect.flip(session.take)
      assert.strictEqual(end.code, 1006)
      const sent = yield* Effect.flip(session.send("late"))
      assert.strictEqual(sent._tag, "SendFailed")
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("a stalled (half-open) connection answers nothing, not even the close", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const session = yield* open()
      const peer = yield* server.accepted
      yield* peer.stall
      yield* session.ping()
      yield* session.close(1000, "")
      assert.isTrue(yield* peer.isOpen)
      const reader = yield* Effect.forkChild(session.take)
      yield* TestClock.adjust("1 hour")
      assert.isUndefined(reader.pollUnsafe(), "nothing arrives from a half-open peer")
      yield* session.terminate
      const batch = yield* Fiber.join(reader)
      assert.strictEqual(batch[0]!._tag === "Close" && batch[0]!.code, 1006)
      assert.strictEqual((yield* peer.closed).by, "terminate")
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("closing the scope closes the socket with 1000", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      yield* Effect.scoped(open())
      const peer = yield* server.accepted
      assert.deepStrictEqual(yield* peer.closed, { code: 1000, reason: "", by: "client" })
      assert.strictEqual((yield* server.connections).length, 0)
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("replies to client text through the reply option", () =>
    Effect.gen(function*() {
      const session = yield* open()
      yield* session.send("ping")
      const batch = yield* session.take
      assert.deepStrictEqual(batch.map((f) => f._tag === "Text" && f.data), ["pong"])
    }).pipe(Effect.provide(MemoryTransport.layer({ reply: (m) => (m === "ping" ? "pong" : undefined) }))))

  it.effect("pauses the server past the high-water mark until the client reads", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const session = yield* open({ highWaterMark: 4 })
      const peer = yield* server.accepted
      yield* peer.send("1", "2", "3", "4")
      const blocked = yield* Effect.forkChild(peer.send("5"))
      yield* TestClock.adjust("1 minute")
      assert.isUndefined(blocked.pollUnsafe(), "the server waits while the client is paused")
      const first = yield* session.take
      assert.strictEqual(first.length, 4)
      yield* Fiber.join(blocked)
      const second = yield* session.take
      assert.deepStrictEqual(second.map((f) => f._tag === "Text" && f.data), ["5"])
    }).pipe(Effect.provide(MemoryTransport.layer())))
})
