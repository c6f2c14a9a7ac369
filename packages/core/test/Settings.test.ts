/**
 * A manager's connections share one object of resolved settings when their
 * configs resolve to the same values, and only then: a config that differs
 * in any field, or in its heartbeat, gets settings of its own.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type { ConnectionConfig } from "../src/ConnectionConfig.ts"
import * as Config from "../src/ConnectionConfig.ts"
import * as Heartbeat from "../src/Heartbeat.ts"
import { SettingsCache, settingsOf } from "../src/internal/settings.ts"

const resolve = (config: ConnectionConfig) => Config.resolve("venue", config)

const protocolHeartbeat = () => Heartbeat.protocol({ interval: Duration.seconds(20), timeout: Duration.seconds(5) })

describe("SettingsCache", () => {
  it.effect("gives configs that differ only in their URL one object of settings, heartbeat included", () =>
    Effect.gen(function*() {
      const cache = new SettingsCache()
      // Built separately, as a program building one config per connection does.
      const a = cache.of(yield* resolve({ url: "ws://venue.test/a", heartbeat: protocolHeartbeat() }))
      const b = cache.of(yield* resolve({ url: "ws://venue.test/b", heartbeat: protocolHeartbeat() }))
      assert.strictEqual(a, b)
      assert.notProperty(a, "url")
      assert.deepStrictEqual(a.heartbeat, { _tag: "Protocol", interval: 20_000, timeout: 5_000, payload: undefined })
    }))

  it.effect("gives a config that differs in any one field settings of its own, with that field's value", () =>
    Effect.gen(function*() {
      const base: ConnectionConfig = { url: "ws://venue.test/a", heartbeat: protocolHeartbeat() }
      const variants: ReadonlyArray<readonly [string, Partial<ConnectionConfig>]> = [
        ["protocols", { protocols: ["v2"] }],
        ["headers", { headers: { authorization: Redacted.make("secret") } }],
        ["heartbeat", {
          heartbeat: Heartbeat.protocol({ interval: Duration.seconds(21), timeout: Duration.seconds(5) })
        }],
        ["heartbeat", { heartbeat: Heartbeat.none }],
        ["idleTimeout", { idleTimeout: Duration.seconds(30) }],
        ["reconnect", { reconnect: Schedule.spaced("1 second") }],
        ["minUptime", { minUptime: Duration.seconds(7) }],
        ["shouldReconnect", { shouldReconnect: () => false }],
        ["connectTimeout", { connectTimeout: Duration.seconds(3) }],
        ["closeTimeout", { closeTimeout: Duration.seconds(3) }],
        ["maxPayload", { maxPayload: 1024 }],
        ["compression", { compression: true }],
        ["capacity", { inbound: { capacity: 64 } }],
        ["strategy", { inbound: { strategy: "sliding" } }],
        ["sendBuffer", { sendBuffer: 3 }],
        ["sendHighWaterMark", { sendHighWaterMark: 4096 }],
        ["tls", { tls: { servername: "venue.test" } }]
      ]
      for (const [field, change] of variants) {
        const cache = new SettingsCache()
        const shared = cache.of(yield* resolve(base))
        const resolved = yield* resolve({ ...base, url: "ws://venue.test/b", ...change })
        const own = cache.of(resolved)
        assert.notStrictEqual(own, shared, field)
        assert.deepStrictEqual(own, settingsOf(resolved), field)
        // And the cache now gives the new settings to the next config like it.
        assert.strictEqual(cache.of(yield* resolve({ ...base, url: "ws://venue.test/c", ...change })), own, field)
      }
    }))

  it.effect("shares message heartbeats only when their functions are the same", () =>
    Effect.gen(function*() {
      const isPong = (text: string) => text === "pong"
      const message = () => "ping"
      const heartbeat = (pong: (text: string) => boolean) =>
        Heartbeat.message({ interval: Duration.seconds(20), timeout: Duration.seconds(5), message, isPong: pong })
      const cache = new SettingsCache()
      const a = cache.of(yield* resolve({ url: "ws://venue.test/a", heartbeat: heartbeat(isPong) }))
      const b = cache.of(yield* resolve({ url: "ws://venue.test/b", heartbeat: heartbeat(isPong) }))
      const c = cache.of(yield* resolve({ url: "ws://venue.test/c", heartbeat: heartbeat((text) => text === "pong") }))
      assert.strictEqual(a, b)
      assert.notStrictEqual(c, b)
      // A ping given as a string is one function for every config giving that string.
      const text = (ping: string) =>
        Heartbeat.message({ interval: Duration.seconds(20), timeout: Duration.seconds(5), message: ping, isPong })
      const d = cache.of(yield* resolve({ url: "ws://venue.test/d", heartbeat: text("ping") }))
      const e = cache.of(yield* resolve({ url: "ws://venue.test/e", heartbeat: text("ping") }))
      const f = cache.of(yield* resolve({ url: "ws://venue.test/f", heartbeat: text("PING") }))
      assert.strictEqual(d, e)
      assert.notStrictEqual(f, e)
      assert.strictEqual(d.heartbeat._tag === "Message" && d.heartbeat.message(), "ping")
      assert.strictEqual(f.heartbeat._tag === "Message" && f.heartbeat.message(), "PING")
    }))
})
