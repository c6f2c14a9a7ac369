/**
 * Frames handed over as the transport reads them (internal/direct.ts,
 * `ReadOne`): a plain-function hook, and a waiting stream while reads are
 * small, get a frame before the rest of its read; large reads and
 * effect-returning hooks keep the batch per read. A `MemoryServer` send of
 * several messages is one socket read: its frames are pushed one after
 * another, then the read is flushed in a microtask.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Connection from "../src/Connection.ts"
import * as Frame from "../src/Frame.ts"
import * as Heartbeat from "../src/Heartbeat.ts"
import { MemoryServer } from "../src/MemoryTransport.ts"
import * as MemoryTransport from "../src/MemoryTransport.ts"
import * as WSManager from "../src/WSManager.ts"
import { awaitState, settle } from "./utils/harness.ts"

const config = { url: "ws://venue.test/ws", heartbeat: Heartbeat.none }
const texts = (frames: ReadonlyArray<Frame.Frame>) => frames.flatMap((f) => (f._tag === "Text" ? [f.data] : []))

/** Messages "<prefix>0" … "<prefix>n-1". */
const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

/**
 * A managed connection, open, whose frames a consumer of `manager.frames`
 * reads an array at a time: `arrays` holds each array it was handed.
 */
const streamedConnection = (name: string) =>
  Effect.gen(function*() {
    const server = yield* MemoryServer
    const manager = yield* WSManager.make()
    const arrays: Array<ReadonlyArray<string>> = []
    yield* Effect.forkScoped(
      Stream.runForEachArray(
        manager.frames,
        (named) => Effect.sync(() => void arrays.push(texts(named.map((n) => n.frame))))
      )
    )
    const conn = yield* manager.add(name, config)
    const peer = yield* server.accepted
    yield* awaitState(conn, "Open")
    yield* settle
    return { arrays, peer }
  })

describe("frames handed over as they are read", () => {
  it.effect("a plain-function hook has each frame before the rest of its read is read", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const seen: Array<string> = []
      // What the hook saw when each frame of the read was pushed: batched, it
      // would see nothing of a read until the read's microtask.
      const seenWhenPushed: Array<number> = []
      const conn = yield* Connection.make("hooked", config, {
        onText: (frame) => void seen.push(frame.data)
      })
      const peer = yield* server.accepted
      yield* awaitState(conn, "Open")
      yield* settle
      yield* Effect.sync(() => {
        // One read: the peer's three messages are pushed one after another.
        for (const message of ["a", "b", "c"]) {
          seenWhenPushed.push(seen.length)
          Effect.runSync(peer.send(message))
        }
      })
      assert.deepStrictEqual(seenWhenPushed, [0, 1, 2])
      assert.deepStrictEqual(seen, ["a", "b", "c"])
      const stats = yield* conn.stats
      assert.strictEqual(stats.framesIn, 3)
      assert.strictEqual(stats.bytesIn, 3)
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("once reads are large, a plain-function hook gets a read's frames after the read, as one batch", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const seen: Array<string> = []
      const conn = yield* Connection.make("flooded", config, { onText: (frame) => void seen.push(frame.data) })
      const peer = yield* server.accepted
      yield* awaitState(conn, "Open")
      yield* settle
      for (let i = 0; i < 8; i++) {
        yield* peer.send(...numbered(`r${i}-`, 50))
        yield* settle
      }
      seen.length = 0
      const seenWhenPushed: Array<number> = []
      yield* Effect.sync(() => {
        for (const message of numbered("big-", 50)) {
          seenWhenPushed.push(seen.length)
          Effect.runSync(peer.send(message))
        }
      })
      assert.isTrue(seenWhenPushed.every((n) => n === 0))
      yield* settle
      assert.deepStrictEqual(seen, numbered("big-", 50))
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("a waiting stream has each frame of a small read at once; a large read comes as one array", () =>
    Effect.gen(function*() {
      const { arrays, peer } = yield* streamedConnection("streamed")
      // A small read: its frame is in the consumer's hands when the send returns.
      yield* peer.send("x")
      assert.deepStrictEqual(arrays, [["x"]])
      yield* peer.send("y")
      assert.deepStrictEqual(arrays, [["x"], ["y"]])
      // Reads of 50 frames: once the average read is large, a read is handed
      // over whole, one array (one wake-up of the consumer) per read.
      for (let i = 0; i < 8; i++) {
        yield* peer.send(...numbered(`r${i}-`, 50))
        yield* settle
      }
      arrays.length = 0
      yield* peer.send(...numbered("big-", 50))
      yield* settle
      assert.deepStrictEqual(arrays, [numbered("big-", 50)])
    }).pipe(Effect.scoped, Effect.provide(MemoryTransport.layer())))

  it.effect("a read larger than 64 frames waits for its batch from its 65th frame on, even after small reads", () =>
    Effect.gen(function*() {
      const { arrays, peer } = yield* streamedConnection("burst")
      yield* peer.send(...numbered("m", 100))
      yield* settle
      assert.strictEqual(arrays.length, 65)
      assert.isTrue(arrays.slice(0, 64).every((a) => a.length === 1))
      assert.strictEqual(arrays[64]!.length, 36)
      assert.deepStrictEqual(arrays.flat(), numbered("m", 100))
    }).pipe(Effect.scoped, Effect.provide(MemoryTransport.layer())))

  it.effect("once a hook returns an effect, frames wait for their read's batch, in order", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const seen: Array<string> = []
      const seenWhenPushed: Array<number> = []
      const conn = yield* Connection.make("effectful", config, {
        onText: (frame) => Effect.sync(() => void seen.push(frame.data))
      })
      const peer = yield* server.accepted
      yield* awaitState(conn, "Open")
      yield* settle
      yield* peer.send("first")
      yield* settle
      assert.deepStrictEqual(seen, ["first"])
      yield* Effect.sync(() => {
        for (const message of ["a", "b", "c"]) {
          seenWhenPushed.push(seen.length)
          Effect.runSync(peer.send(message))
        }
      })
      // Nothing ran while the read was being pushed: the fiber runs the hooks after it.
      assert.deepStrictEqual(seenWhenPushed, [1, 1, 1])
      yield* settle
      assert.deepStrictEqual(seen, ["first", "a", "b", "c"])
    }).pipe(Effect.provide(MemoryTransport.layer())))

  it.effect("a hook that throws on a frame read alone is reported, and the next frames still come", () =>
    Effect.gen(function*() {
      const server = yield* MemoryServer
      const seen: Array<string> = []
      const conn = yield* Connection.make("throwing", config, {
        onText: (frame) => {
          if (frame.data === "bad") throw new Error("boom")
          seen.push(frame.data)
        }
      })
      const failures: Array<string> = []
      yield* Effect.forkScoped(
        Stream.runForEach(conn.events, (event) =>
          Effect.sync(() => {
            if (event._tag === "HookFailed") failures.push(event.hook)
          }))
      )
      const peer = yield* server.accepted
      yield* awaitState(conn, "Open")
      yield* settle
      yield* peer.send("a")
      yield* peer.send("bad")
      yield* peer.send("b")
      yield* settle
      assert.deepStrictEqual(seen, ["a", "b"])
      assert.deepStrictEqual(failures, ["onText"])
    }).pipe(Effect.scoped, Effect.provide(MemoryTransport.layer())))
})
