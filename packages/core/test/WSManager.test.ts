import { assert, describe, it } from "@effect/vitest"
import { Clock, ConfigProvider, Context, Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import type * as Frame from "../src/Frame.ts"
import * as Heartbeat from "../src/Heartbeat.ts"
import { MemoryServer } from "../src/MemoryTransport.ts"
import * as MemoryTransport from "../src/MemoryTransport.ts"
import type { ServerConnection } from "../src/MemoryTransport.ts"
import * as ReconnectPolicy from "../src/ReconnectPolicy.ts"
import * as WSManager from "../src/WSManager.ts"
import { advance, collect, countFibers, settle } from "./utils/harness.ts"

const config = (name: string) => ({ url: `ws://venue.test/${name}`, heartbeat: Heartbeat.none })
const steady = ReconnectPolicy.exponential({ jitter: false })
const memory = (options?: MemoryTransport.Options) => MemoryTransport.layer(options)

/** A manager in the test's scope, over the memory transport in context. */
const manager = (options?: WSManager.ManagerOptions) => WSManager.make(options)

/**
 * The config, with `probe` run while `add` is making the connection: `add`
 * reads the config (to validate it) after reserving the name and before the
 * connection is live, so a getter runs code at that moment, synchronously.
 */
const duringAdd = (base: ReturnType<typeof config>, probe: () => void) => {
  let probed = false
  return {
    url: base.url,
    get heartbeat() {
      if (!probed) {
        probed = true
        probe()
      }
      return base.heartbeat
    }
  }
}

/** The accepted server connection for each name, by URL path. */
const acceptAll = (count: number) =>
  Effect.gen(function*() {
    const server = yield* MemoryServer
    const byName = new Map<string, ServerConnection>()
    for (let i = 0; i < count; i++) {
      const conn = yield* server.accepted
      byName.set(new URL(conn.request.url).pathname.slice(1), conn)
    }
    return byName
  })

/**
 * Adds ten connections, `${prefix}${from}` on, each with `configOf` its name, accepts them, records
 * their server side in `peers`, and lets everything settle.
 */
const openTen = (
  m: Effect.Success<ReturnType<typeof manager>>,
  peers: Map<string, ServerConnection>,
  prefix: string,
  from: number,
  configOf: (name: string) => Parameters<typeof m.add>[1]
) =>
  Effect.gen(function*() {
    for (let i = from; i < from + 10; i++) yield* m.add(`${prefix}${i}`, configOf(`${prefix}${i}`))
    for (const [name, peer] of yield* acceptAll(10)) peers.set(name, peer)
    yield* settle
  })

describe("WSManager", () => {
  describe("names", () => {
    it.effect("add returns the connection; get finds it; names lists live names in order", () =>
      Effect.gen(function*() {
        const m = yield* manager()
        const btc = yield* m.add("btc", config("btc"))
        yield* m.add("eth", config("eth"))
        assert.strictEqual(yield* m.get("btc"), btc)
        assert.deepStrictEqual(yield* m.names, ["btc", "eth"])
        yield* acceptAll(2)
        assert.strictEqual(btc.state.value._tag, "Open")
      }).pipe(Effect.provide(memory())))

    it.effect("a second add of a live name fails with DuplicateConnection and dials nothing", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const m = yield* manager()
        const first = yield* m.add("btc", config("btc"))
        yield* settle
        const error = yield* Effect.flip(m.add("btc", config("other")))
        assert.strictEqual(error._tag, "DuplicateConnection")
        assert.strictEqual(error._tag === "DuplicateConnection" && error.name, "btc")
        yield* settle
        assert.strictEqual((yield* server.dials).length, 1)
        assert.strictEqual(yield* m.get("btc"), first, "the first connection is kept, not replaced")
      }).pipe(Effect.provide(memory())))

    it.effect("50 concurrent adds of one name: exactly one dial and 49 DuplicateConnection", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const m = yield* manager()
        const results = yield* Effect.forEach(
          Array.from({ length: 50 }),
          () => Effect.exit(m.add("btc", config("btc"))),
          { concurrency: "unbounded" }
        )
        yield* settle
        const failures = results.filter(Exit.isFailure)
        assert.strictEqual(results.filter(Exit.isSuccess).length, 1)
        assert.strictEqual(failures.length, 49)
        assert.isTrue(
          failures.every((e) =>
            Exit.isFailure(e) && e.cause.reasons[0]?._tag === "Fail" &&
            e.cause.reasons[0].error._tag === "DuplicateConnection"
          )
        )
        assert.strictEqual((yield* server.dials).length, 1)
      }).pipe(Effect.provide(memory())))

    it.effect("while an add is making its connection, its name is reserved: another add is DuplicateConnection, get and remove are ConnectionNotFound, and the add goes on", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const m = yield* manager()
        const seen: Array<ReadonlyArray<string>> = []
        const tagOf = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
          Effect.runSync(Effect.match(effect, { onFailure: (e) => e._tag, onSuccess: () => "found" }))
        const added = yield* m.add(
          "btc",
          duringAdd(config("btc"), () =>
            seen.push([
              tagOf(m.add("btc", { url: "http://nope" })),
              tagOf(m.get("btc")),
              tagOf(m.remove("btc")),
              tagOf(m.send("btc", "x"))
            ]))
        )
        assert.isAbove(seen.length, 0, "the probe ran while add was making the connection")
        for (const tags of seen) {
          assert.deepStrictEqual(tags, [
            "DuplicateConnection",
            "ConnectionNotFound",
            "ConnectionNotFound",
            "ConnectionNotFound"
          ])
        }
        assert.strictEqual(yield* m.get("btc"), added)
        assert.deepStrictEqual(yield* m.names, ["btc"])
        yield* acceptAll(1)
        assert.strictEqual(added.state.value._tag, "Open")
        assert.strictEqual((yield* server.dials).length, 1)
      }).pipe(Effect.provide(memory())))

    it.effect("an add interrupted while it makes its connection frees the name and closes what it made", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const m = yield* manager()
        const go = yield* Deferred.make<void>()
        let adding: Fiber.Fiber<unknown, unknown> | undefined
        // Interrupted from inside, while the connection is made: the add sees it at its next interruptible step.
        adding = yield* Effect.forkChild(
          Effect.andThen(Deferred.await(go), m.add("btc", duringAdd(config("btc"), () => adding!.interruptUnsafe())))
        )
        yield* Deferred.succeed(go, undefined)
        assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(adding)))
        assert.deepStrictEqual(yield* m.names, [])
        yield* advance(5000, 100)
        assert.deepStrictEqual(yield* server.dials, [], "what the interrupted add made never dials")
        const again = yield* m.add("btc", config("btc"))
        yield* acceptAll(1)
        assert.strictEqual(again.state.value._tag, "Open")
      }).pipe(Effect.provide(memory())))

    it.effect("every per-name operation on an unknown name fails with ConnectionNotFound", () =>
      Effect.gen(function*() {
        const m = yield* manager()
        const errors = [
          yield* Effect.flip(m.get("nope")),
          yield* Effect.flip(m.remove("nope")),
          yield* Effect.flip(m.restart("nope")),
          yield* Effect.flip(m.send("nope", "x"))
        ]
        for (const error of errors) {
          assert.strictEqual(error._tag, "ConnectionNotFound")
          assert.include(error.message, "nope")
        }
      }).pipe(Effect.provide(memory())))

    it.effect("an invalid config fails add and leaves the name free", () =>
      Effect.gen(function*() {
        const m = yield* manager()
        const error = yield* Effect.flip(m.add("btc", { url: "http://nope" }))
        assert.strictEqual(error._tag, "InvalidConfig")
        assert.deepStrictEqual(yield* m.names, [])
        yield* m.add("btc", config("btc"))
        assert.deepStrictEqual(yield* m.names, ["btc"])
      }).pipe(Effect.provide(memory())))
  })

  describe("hooks", () => {
    it.effect("a connection's hooks get the services they need from the fiber that added it", () =>
      Effect.gen(function*() {
        class Sink extends Context.Service<Sink, { readonly push: (line: string) => void }>()("test/Sink") {}
        const lines: Array<string> = []
        const m = yield* manager()
        yield* m.add("btc", config("btc"), {
          onOpen: ({ session }) =>
            Effect.gen(function*() {
              ;(yield* Sink).push(`open ${session}`)
            }),
          onText: (frame) =>
            Effect.gen(function*() {
              ;(yield* Sink).push(frame.data)
            })
        }).pipe(Effect.provideService(Sink, { push: (line) => void lines.push(line) }))
        const peer = (yield* acceptAll(1)).get("btc")!
        yield* peer.send("a", "b")
        yield* settle
        assert.deepStrictEqual(lines, ["open 1", "a", "b"])
      }).pipe(Effect.provide(memory())))
  })

  describe("remove", () => {
    it.effect("removing one of three closes exactly its socket; the others keep their frames flowing", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const m = yield* manager()
        for (const name of ["a", "b", "c"]) {
          yield* m.add(name, {
            ...config(name),
            heartbeat: Heartbeat.protocol({ interval: "1 second", timeout: "500 millis" })
          })
        }
        const peers = yield* acceptAll(3)
        const frames = yield* collect(m.frames)
        yield* settle
        yield* m.remove("b")
        assert.deepStrictEqual(yield* peers.get("b")!.closed, { code: 1000, reason: "", by: "client" })
        assert.deepStrictEqual(yield* m.names, ["a", "c"])
        const pingsBefore = (yield* peers.get("b")!.received).length
        for (const name of ["a", "c"]) yield* peers.get(name)!.send(`${name}-1`)
        yield* advance(3_600_000, 600_000)
        assert.deepStrictEqual(frames.items.filter((f) => f.frame._tag === "Text").map((f) => f.connection), ["a", "c"])
        assert.isTrue(yield* peers.get("a")!.isOpen)
        assert.isTrue(yield* peers.get("c")!.isOpen)
        assert.strictEqual((yield* peers.get("b")!.received).length, pingsBefore, "nothing of b runs afterwards")
        assert.strictEqual((yield* server.dials).length, 3)
      }).pipe(Effect.provide(memory())))

    it.effect("a removed name can be added again", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const m = yield* manager()
        const first = yield* m.add("btc", config("btc"))
        yield* acceptAll(1)
        yield* m.remove("btc")
        assert.strictEqual(first.state.value._tag, "Closed")
        const second = yield* m.add("btc", config("btc"))
        yield* acceptAll(1)
        assert.notStrictEqual(second, first)
        assert.strictEqual((yield* server.dials).length, 2)
      }).pipe(Effect.provide(memory())))
  })

  describe("restart", () => {
    it.effect("restart(name) gives a new session to that connection only", () =>
      Effect.gen(function*() {
        const m = yield* manager()
        yield* m.add("a", config("a"))
        yield* m.add("b", config("b"))
        const peers = yield* acceptAll(2)
        yield* m.restart("a", "gap")
        const [again] = yield* acceptAll(1).pipe(Effect.map((map) => Array.from(map.entries())))
        assert.strictEqual(again![0], "a")
        assert.strictEqual(again![1].request.session, 2)
        assert.isFalse(yield* peers.get("a")!.isOpen)
        assert.isTrue(yield* peers.get("b")!.isOpen)
      }).pipe(Effect.provide(memory())))

    it.effect("restartAll gives every connection a new session", () =>
      Effect.gen(function*() {
        const m = yield* manager({ dialsPerSecond: 100 })
        for (const name of ["a", "b", "c"]) yield* m.add(name, config(name))
        yield* acceptAll(3)
        yield* m.restartAll("maintenance")
        const again = yield* acceptAll(3)
        assert.deepStrictEqual(Array.from(again.keys()).sort(), ["a", "b", "c"])
        assert.isTrue(Array.from(again.values()).every((p) => p.request.session === 2))
      }).pipe(Effect.provide(memory())))
  })

  describe("merged streams", () => {
    it.effect("frames carry their connection's name and keep per-connection order under interleaving", () =>
      Effect.gen(function*() {
        const m = yield* manager()
        const frames = yield* collect(m.frames)
        for (const name of ["a", "b", "c"]) yield* m.add(name, config(name))
        const peers = yield* acceptAll(3)
        for (let i = 0; i < 30; i++) {
          const name = ["a", "b", "c"][(i * 7) % 3]!
          yield* peers.get(name)!.send(`${name}${i}`, `${name}${i}+`)
        }
        yield* settle
        for (const name of ["a", "b", "c"]) {
          const own = frames.items.filter((f) => f.connection === name && f.frame._tag === "Text")
          const expected = Array.from({ length: 30 }, (_, i) => i)
            .flatMap((i) => ["a", "b", "c"][(i * 7) % 3] === name ? [`${name}${i}`, `${name}${i}+`] : [])
          assert.deepStrictEqual(own.map((f) => f.frame._tag === "Text" && f.frame.data), expected)
        }
      }).pipe(Effect.provide(memory())))

    it.effect("events and state changes are merged with names", () =>
      Effect.gen(function*() {
        const m = yield* manager()
        const events = yield* collect(m.events)
        const states = yield* collect(m.stateChanges)
        yield* settle
        yield* m.add("a", config("a"))
        yield* m.add("b", config("b"))
        yield* acceptAll(2)
        yield* settle
        for (const name of ["a", "b"]) {
          assert.deepStrictEqual(events.items.filter((e) => e.connection === name).map((e) => e.event._tag), [
            "Connecting",
            "Opened"
          ])
          assert.deepStrictEqual(states.items.filter((s) => s.connection === name).map((s) => s.state._tag), [
            "Connecting",
            "Open"
          ])
        }
        const now = yield* m.states
        assert.deepStrictEqual(Array.from(now, ([name, s]) => [name, s._tag]), [["a", "Open"], ["b", "Open"]])
      }).pipe(Effect.provide(memory())))

    it.effect("frames that come before the first subscriber are kept for it up to 1,024; past that many, none", () =>
      Effect.gen(function*() {
        const m = yield* manager()
        yield* m.add("a", config("a"))
        yield* m.add("b", config("b"))
        const peers = yield* acceptAll(2)
        yield* settle
        const numbered = (n: number) => Array.from({ length: n }, (_, i) => String(i))
        yield* peers.get("a")!.send(...numbered(1024))
        yield* settle
        const first = yield* collect(m.frames)
        yield* settle
        assert.strictEqual(first.items.length, 1024)
        assert.deepStrictEqual(first.items.slice(-1).map((n) => n.frame._tag === "Text" && n.frame.data), ["1023"])
        // A second manager whose connections read more than that before anyone subscribed keeps none.
        const other = yield* manager()
        yield* other.add("c", config("c"))
        const more = yield* acceptAll(1)
        yield* settle
        yield* more.get("c")!.send(...numbered(1025))
        yield* settle
        const late = yield* collect(other.frames)
        yield* settle
        yield* more.get("c")!.send("after")
        yield* settle
        assert.deepStrictEqual(late.items.map((n) => n.frame._tag === "Text" && n.frame.data), ["after"])
      }).pipe(Effect.provide(memory())))

    it.effect("events and state changes that come before the first subscriber are kept for it, as frames are", () =>
      Effect.gen(function*() {
        const m = yield* manager()
        yield* m.add("a", config("a"))
        yield* acceptAll(1)
        yield* settle
        // Subscribing only after the connection opened: the first subscriber gets what came before.
        const events = yield* collect(m.events)
        const states = yield* collect(m.stateChanges)
        yield* settle
        assert.deepStrictEqual(events.items.map((e) => e.event._tag), ["Connecting", "Opened"])
        assert.deepStrictEqual(states.items.map((s) => s.state._tag), ["Connecting", "Open"])
        // A later subscriber gets them from the moment it subscribes.
        const late = yield* collect(m.events)
        yield* settle
        yield* m.restart("a")
        yield* acceptAll(1)
        yield* settle
        assert.deepStrictEqual(late.items.map((e) => e.event._tag), ["RestartRequested", "Connecting", "Opened"])
      }).pipe(Effect.provide(memory())))

    it.effect("a managed connection's own frames and events streams work when first read mid-life, and end once it is removed", () =>
      Effect.gen(function*() {
        const m = yield* manager()
        const merged = yield* collect(m.frames)
        const a = yield* m.add("a", config("a"))
        const peer = (yield* acceptAll(1)).get("a")!
        yield* peer.send("before")
        yield* settle
        // The connection's own streams are made on first use: they see what comes after.
        const own = yield* collect(a.frames)
        const ownEvents = yield* collect(a.events)
        yield* settle
        yield* peer.send("after-1", "after-2")
        yield* settle
        const texts = (items: ReadonlyArray<Frame.Frame>) => items.flatMap((f) => f._tag === "Text" ? [f.data] : [])
        assert.deepStrictEqual(texts(own.items), ["after-1", "after-2"])
        assert.deepStrictEqual(texts(merged.items.map((f) => f.frame)), ["before", "after-1", "after-2"])
        yield* m.remove("a")
        yield* settle
        assert.isDefined(own.fiber.pollUnsafe(), "the connection's frames stream ended with it")
        assert.deepStrictEqual(ownEvents.items.map((e) => e._tag).slice(-1), ["Closed"])
        assert.isDefined(ownEvents.fiber.pollUnsafe(), "its events stream ended with it")
        // Streams first read after the connection is gone end at once.
        const b = yield* m.add("b", config("b"))
        yield* acceptAll(1)
        yield* m.remove("b")
        yield* settle
        const late = yield* collect(b.frames)
        const lateEvents = yield* collect(b.events)
        yield* settle
        assert.isDefined(late.fiber.pollUnsafe())
        assert.isDefined(lateEvents.fiber.pollUnsafe())
        assert.deepStrictEqual(late.items, [])
      }).pipe(Effect.provide(memory())))

    it.effect("send routes to the named connection", () =>
      Effect.gen(function*() {
        const m = yield* manager()
        yield* m.add("a", config("a"))
        yield* m.add("b", config("b"))
        const peers = yield* acceptAll(2)
        yield* m.send("b", "for b")
        assert.deepStrictEqual(yield* peers.get("b")!.received, [{ _tag: "Text", data: "for b" }])
        assert.deepStrictEqual(yield* peers.get("a")!.received, [])
      }).pipe(Effect.provide(memory())))

    it.effect("stats give each connection and the totals", () =>
      Effect.gen(function*() {
        const m = yield* manager()
        yield* m.add("a", config("a"))
        yield* m.add("b", config("b"))
        const peers = yield* acceptAll(2)
        yield* peers.get("a")!.send("12", "34")
        yield* peers.get("b")!.send("5")
        yield* settle
        const stats = yield* m.stats
        assert.strictEqual(stats.connections["a"]!.framesIn, 2)
        assert.strictEqual(stats.connections["b"]!.framesIn, 1)
        assert.strictEqual(stats.totals.framesIn, 3)
        assert.strictEqual(stats.totals.bytesIn, 5)
        assert.strictEqual(stats.totals.open, 2)
        assert.strictEqual(stats.totals.connections, 2)
      }).pipe(Effect.provide(memory())))
  })

  describe("dial governor", () => {
    it.effect(
      "1,000 connections dropped at once reopen spread out, never over the governor's limits",
      () =>
        Effect.gen(function*() {
          const server = yield* MemoryServer
          const limits = { maxConcurrentDials: 20, dialsPerSecond: 200 }
          const m = yield* manager(limits)
          const total = 1000
          for (let i = 0; i < total; i++) {
            yield* m.add(`c${i}`, { url: "ws://venue.test/feed", heartbeat: Heartbeat.none, reconnect: steady })
          }
          yield* advance(10_000, 50)
          assert.strictEqual((yield* server.connections).length, total, "all opened")
          const firstWave = (yield* server.dials).length
          const dropAt = yield* Clock.currentTimeMillis
          for (const peer of yield* server.connections) yield* peer.drop
          yield* advance(20_000, 50)
          assert.strictEqual((yield* server.connections).length, total, "all reopened")
          const dials = (yield* server.dials).slice(firstWave).map((d) => d.at)
          assert.strictEqual(dials.length, total)
          // At most 200 dials in any window of 1.1 s (a second and a margin for transit)…
          for (let i = limits.dialsPerSecond; i < dials.length; i++) {
            assert.isAtLeast(dials[i]! - dials[i - limits.dialsPerSecond]!, 1100, `dial ${i}`)
          }
          // …at most 20 in flight at once (each dial takes 100 ms here)…
          for (const t of dials) {
            const inFlight = dials.filter((d) => d <= t && t < d + 100).length
            assert.isAtMost(inFlight, limits.maxConcurrentDials)
          }
          // …and the spread is visible: not a single burst.
          assert.isAtLeast(dials[dials.length - 1]! - dials[0]!, 4000)
          assert.isAtLeast(dials[0]!, dropAt + 500 * 0.8 - 1)
        }).pipe(Effect.provide(memory({ dialLatency: "100 millis" }))),
      60_000
    )

    it.effect("the per-second limit is per host", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const m = yield* manager({ dialsPerSecond: 2 })
        for (const host of ["one", "two"]) {
          for (let i = 0; i < 3; i++) {
            yield* m.add(`${host}${i}`, { url: `ws://${host}.test/ws`, heartbeat: Heartbeat.none })
          }
        }
        yield* advance(2000, 100)
        const dials = yield* server.dials
        const at = (host: string) => dials.filter((d) => d.url.includes(host)).map((d) => d.at)
        assert.deepStrictEqual(at("one"), [0, 0, 1100])
        assert.deepStrictEqual(at("two"), [0, 0, 1100])
      }).pipe(Effect.provide(memory())))
  })

  describe("waiting for a dial slot", () => {
    /** One connection's events as `tag@at`. */
    const timeline = (events: ReadonlyArray<WSManager.NamedEvent>, name: string) =>
      events.filter((e) => e.connection === name).map((e) => `${e.event._tag}@${e.event.at}`)

    it.effect("a dial held back by maxConcurrentDials is Queued, then Connecting when it starts", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const m = yield* manager({ maxConcurrentDials: 1, dialsPerSecond: 100 })
        const events = yield* collect(m.events)
        const states = yield* collect(m.stateChanges)
        yield* settle
        yield* m.add("a", config("a"))
        yield* m.add("b", config("b"))
        yield* advance(300, 50)
        // Each dial takes 100 ms: b waits for a's dial to end.
        assert.deepStrictEqual(timeline(events.items, "a"), ["Connecting@0", "Opened@100"])
        assert.deepStrictEqual(timeline(events.items, "b"), ["Queued@0", "Connecting@100", "Opened@200"])
        assert.deepStrictEqual(states.items.filter((s) => s.connection === "b").map((s) => s.state._tag), [
          "Queued",
          "Connecting",
          "Open"
        ])
        const queued = events.items.find((e) => e.connection === "b" && e.event._tag === "Queued")!.event
        assert.deepStrictEqual(queued._tag === "Queued" && [queued.attempt, queued.url], [1, "ws://venue.test/b"])
        assert.deepStrictEqual((yield* server.dials).map((d) => [d.connection, d.at]), [["a", 0], ["b", 100]])
      }).pipe(Effect.provide(memory({ dialLatency: "100 millis" }))))

    it.effect("a dial held back by its host's window is Queued; connectTimeout counts from Connecting, not the wait", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const m = yield* manager({ dialsPerSecond: 1 })
        const events = yield* collect(m.events)
        yield* settle
        const short = { heartbeat: Heartbeat.none, connectTimeout: "200 millis" as const }
        yield* m.add("a", { url: "ws://venue.test/a", ...short })
        const b = yield* m.add("b", { url: "ws://venue.test/b", ...short })
        yield* advance(500, 50)
        // Half a second in, far past its connectTimeout, b is still waiting for the window: not dialing.
        assert.strictEqual(b.state.value._tag, "Queued")
        yield* advance(2000, 50)
        const dialedAt = (yield* server.dials).find((d) => d.connection === "b")!.at
        assert.isAbove(dialedAt, 500)
        assert.deepStrictEqual(timeline(events.items, "b"), [
          "Queued@0",
          `Connecting@${dialedAt}`,
          `Opened@${dialedAt}`
        ])
        assert.strictEqual(b.state.value._tag, "Open")
      }).pipe(Effect.provide(memory())))

    it.effect("removing a connection while it is Queued gives its dial up at once: it never dials", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const m = yield* manager({ dialsPerSecond: 1 })
        yield* m.add("a", config("a"))
        const b = yield* m.add("b", config("b"))
        const events = yield* collect(b.events)
        yield* settle
        assert.strictEqual(b.state.value._tag, "Queued")
        // No virtual time passes: the removal does not wait closeTimeout for a dial that has not begun.
        const removing = yield* Effect.forkChild(m.remove("b"))
        yield* settle
        assert.isDefined(removing.pollUnsafe(), "remove returned at once")
        assert.deepStrictEqual(b.state.value._tag === "Closed" && b.state.value.reason, "closed by the caller")
        assert.deepStrictEqual(events.items.map((e) => e._tag), ["Closed"])
        yield* advance(5000, 100)
        assert.deepStrictEqual((yield* server.dials).map((d) => d.connection), ["a"])
      }).pipe(Effect.provide(memory())))

    it.effect("dials that find a free slot are never Queued", () =>
      Effect.gen(function*() {
        const m = yield* manager({ maxConcurrentDials: 2 })
        const events = yield* collect(m.events)
        yield* settle
        yield* m.add("a", config("a"))
        yield* m.add("b", config("b"))
        yield* acceptAll(2)
        yield* settle
        assert.isFalse(events.items.some((e) => e.event._tag === "Queued"))
      }).pipe(Effect.provide(memory())))
  })

  describe("lifetime", () => {
    it.effect("an idle open connection holds no fiber; one whose hooks return effects keeps one, parked", () => {
      // Live fibers, counted through the runtime's fiber metrics hook.
      const fibers = countFibers()
      return Effect.gen(function*() {
        const m = yield* manager({ dialsPerSecond: 1000 })
        let plain = 0
        let effectful = 0
        const openPlain = (from: number) =>
          Effect.gen(function*() {
            for (let i = from; i < from + 10; i++) {
              yield* m.add(`p${i}`, config(`p${i}`), { onText: () => void plain++ })
            }
            const peers = yield* acceptAll(10)
            for (const peer of peers.values()) yield* peer.send("x")
            yield* settle
          })
        yield* openPlain(0)
        const tenOpen = fibers.live()
        yield* openPlain(10)
        assert.strictEqual(plain, 20)
        assert.strictEqual(fibers.live(), tenOpen, "ten more idle open connections added a fiber")
        yield* m.add("e", config("e"), { onText: () => Effect.sync(() => void effectful++) })
        const peer = (yield* acceptAll(1)).get("e")!
        yield* peer.send("x")
        yield* settle
        yield* peer.send("y")
        yield* settle
        assert.strictEqual(effectful, 2)
        assert.strictEqual(fibers.live(), tenOpen + 1, "its fiber waits for the next read")
      }).pipe(fibers.counting, Effect.provide(memory()))
    })

    it.effect("a heartbeat waits between rounds on the clock's shared timers, with no fiber per connection", () => {
      const fibers = countFibers()
      const beating = (name: string) => ({
        ...config(name),
        heartbeat: Heartbeat.protocol({ interval: "10 seconds", timeout: "2 seconds" })
      })
      return Effect.gen(function*() {
        const m = yield* manager({ dialsPerSecond: 1000 })
        const peers = new Map<string, ServerConnection>()
        const open = (from: number) => openTen(m, peers, "h", from, beating)
        yield* open(0)
        const tenOpen = fibers.live()
        yield* open(10)
        assert.strictEqual(fibers.live(), tenOpen, "ten more idle connections with a heartbeat added a fiber")
        // Two rounds: every peer is pinged and answers; each round's fiber ends with it.
        for (let round = 1; round <= 2; round++) {
          yield* advance(10_000, 100)
          for (const peer of peers.values()) {
            const pings = (yield* peer.received).filter((message) => message._tag === "Ping")
            assert.strictEqual(pings.length, round)
          }
          assert.strictEqual(fibers.live(), tenOpen, "a round's fiber outlived its round")
        }
        const states = yield* m.states
        assert.deepStrictEqual([...states.values()].filter((s) => s._tag !== "Open"), [])
        // A peer that stops answering is still caught, after interval + timeout.
        const silent = peers.get("h3")!
        yield* silent.setAutoPong(false)
        yield* advance(12_000, 100)
        assert.notStrictEqual((yield* m.states).get("h3")!._tag, "Open")
        assert.isTrue([...(yield* m.states)].every(([name, s]) => name === "h3" || s._tag === "Open"))
      }).pipe(fibers.counting, Effect.provide(memory()))
    })

    it.effect("an idle timer waits on the shared timers while data comes, with no fiber; a quiet session still ends", () => {
      const fibers = countFibers()
      return Effect.gen(function*() {
        const m = yield* manager({ dialsPerSecond: 1000 })
        const events = yield* collect(m.events)
        const peers = new Map<string, ServerConnection>()
        const open = (from: number) =>
          openTen(m, peers, "q", from, (name) => ({ ...config(name), idleTimeout: "5 seconds" }))
        yield* open(0)
        const tenOpen = fibers.live()
        yield* open(10)
        assert.strictEqual(fibers.live(), tenOpen, "ten more connections with an idle timer added a fiber")
        // Data every 3 s keeps every session open, past several idle periods, with no fiber left behind.
        for (let round = 0; round < 4; round++) {
          yield* advance(3000, 100)
          for (const peer of peers.values()) yield* peer.send("x")
          yield* settle
          assert.strictEqual(fibers.live(), tenOpen, "a look at the idle timer left a fiber")
        }
        assert.isTrue([...(yield* m.states).values()].every((s) => s._tag === "Open"))
        // One peer goes quiet: its session ends after 5 s; the others stay open.
        for (let round = 0; round < 2; round++) {
          yield* advance(3000, 100)
          for (const [name, peer] of peers) if (name !== "q7") yield* peer.send("x")
          yield* settle
        }
        const ended = events.items.filter((e) => e.event._tag === "Disconnected")
        assert.deepStrictEqual(
          ended.map((e) => [e.connection, e.event._tag === "Disconnected" && e.event.error._tag]),
          [["q7", "IdleTimeout"]]
        )
      }).pipe(fibers.counting, Effect.provide(memory()))
    })

    it.effect("closing the manager closes every connection with 1000 and ends the merged streams", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const scope = yield* Scope.make()
        const m = yield* manager({ dialsPerSecond: 100 }).pipe(Scope.provide(scope))
        const frames = yield* collect(m.frames)
        const events = yield* collect(m.events)
        for (let i = 0; i < 20; i++) yield* m.add(`c${i}`, config(`c${i}`))
        const peers = yield* acceptAll(20)
        yield* Scope.close(scope, Exit.void)
        for (const peer of peers.values()) {
          assert.deepStrictEqual(yield* peer.closed, { code: 1000, reason: "", by: "client" })
        }
        yield* Fiber.join(frames.fiber)
        yield* Fiber.join(events.fiber)
        assert.strictEqual(events.items.filter((e) => e.event._tag === "Closed").length, 20)
        yield* advance(3_600_000, 600_000)
        assert.strictEqual((yield* server.dials).length, 20)
      }).pipe(Effect.provide(memory())))

    it.effect("a manager that closes while an add is making its connection: the add fails with ConnectionStopped, its connection closes and never dials", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const scope = yield* Scope.make()
        const m = yield* manager().pipe(Scope.provide(scope))
        const error = yield* Effect.flip(
          m.add("late", duringAdd(config("late"), () => Effect.runSync(Scope.close(scope, Exit.void))))
        )
        assert.strictEqual(error._tag, "ConnectionStopped")
        assert.deepStrictEqual(yield* m.names, [])
        yield* advance(5000, 100)
        assert.deepStrictEqual(yield* server.dials, [])
      }).pipe(Effect.provide(memory())))

    it.effect("add after the manager has closed fails with ConnectionStopped and dials nothing", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        const scope = yield* Scope.make()
        const m = yield* manager().pipe(Scope.provide(scope))
        yield* Scope.close(scope, Exit.void)
        const error = yield* Effect.flip(m.add("late", config("late")))
        assert.strictEqual(error._tag, "ConnectionStopped")
        yield* settle
        assert.strictEqual((yield* server.dials).length, 0)
      }).pipe(Effect.provide(memory())))

    it.effect("closing the manager does not wait one closeTimeout per connection", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const m = yield* manager({ dialsPerSecond: 100 }).pipe(Scope.provide(scope))
        for (let i = 0; i < 10; i++) yield* m.add(`c${i}`, { ...config(`c${i}`), closeTimeout: "2 seconds" })
        const peers = yield* acceptAll(10)
        for (const peer of peers.values()) yield* peer.stall
        const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
        yield* advance(2000, 100)
        yield* settle
        assert.isDefined(closing.pollUnsafe(), "all ten closed within one closeTimeout")
        for (const peer of peers.values()) assert.strictEqual((yield* peer.closed).by, "terminate")
      }).pipe(Effect.provide(memory())))

    it.effect("WSManager.layer provides a manager; layerConfig reads its limits from configuration", () =>
      Effect.gen(function*() {
        const server = yield* MemoryServer
        yield* Effect.gen(function*() {
          const m = yield* WSManager.WSManager
          for (let i = 0; i < 3; i++) yield* m.add(`c${i}`, config(`c${i}`))
          yield* advance(2200, 100)
        }).pipe(
          Effect.provide(
            WSManager.layerConfig().pipe(
              Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ KHARBRANTH_DIALS_PER_SECOND: "1" })))
            )
          )
        )
        const dials = (yield* server.dials).map((d) => d.at)
        assert.deepStrictEqual(dials, [0, 1100, 2200], "one dial per 1.1 s window, from the config")
      }).pipe(Effect.provide(memory())))

    it.effect("bad manager options are InvalidConfig naming the option", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(manager({ maxConcurrentDials: 0 }))
        assert.strictEqual(error.field, "maxConcurrentDials")
      }).pipe(Effect.provide(memory())))
  })
})
