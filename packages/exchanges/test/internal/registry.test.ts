/**
 * The registry's per-topic state machine on its own: which transitions are
 * allowed, what each does to waiters, and the retry backoff.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Registry from "../../src/internal/feed/registry.ts"

describe("Registry", () => {
  it("backoff doubles from 1 s and stops at 60 s", () => {
    assert.deepStrictEqual([1, 2, 3, 4, 6, 7, 50].map(Registry.retryDelay), [
      1_000,
      2_000,
      4_000,
      8_000,
      32_000,
      60_000,
      60_000
    ])
  })

  it.effect("a transient rejection goes to retrying with backoff; its waiter fails with permanent false", () =>
    Effect.gen(function*() {
      const entry = Registry.make("t", 0, undefined)
      const waiter = Registry.wait(entry)
      assert.strictEqual(Registry.reject(entry, "f", "busy", false, 10_000), "retrying")
      assert.strictEqual(entry.retryAt, 11_000)
      assert.isFalse(Registry.isDue(entry, 10_999))
      assert.isTrue(Registry.isDue(entry, 11_000))
      const error = yield* Effect.flip(Deferred.await(waiter))
      assert.strictEqual(error._tag, "SubscriptionError")
      if (error._tag === "SubscriptionError") assert.isFalse(error.permanent)
      assert.isTrue(Registry.request(entry))
      assert.strictEqual(entry.state, "pending")
      assert.strictEqual(Registry.reject(entry, "f", "busy", false, 20_000), "retrying")
      assert.strictEqual(entry.retryAt, 22_000)
    }))

  it.effect("a confirmation settles waiters and resets the failure count; a permanent rejection is final", () =>
    Effect.gen(function*() {
      const entry = Registry.make("t", 0, undefined)
      Registry.reject(entry, "f", "busy", false, 0)
      const waiter = Registry.wait(entry)
      assert.isTrue(Registry.confirm(entry, 5))
      yield* Deferred.await(waiter)
      assert.deepStrictEqual([entry.state, entry.failures, entry.lastData], ["confirmed", 0, 5])
      // A repair's confirmation of a confirmed topic settles nothing new.
      assert.isFalse(Registry.confirm(entry, 9))
      assert.strictEqual(entry.lastData, 5)
      assert.strictEqual(Registry.reject(entry, "f", "unknown instrument", true, 10), "failed")
      // Failed is final: no request, no replay, no confirmation, no second rejection.
      assert.isFalse(Registry.request(entry))
      assert.isFalse(Registry.replaying(entry))
      assert.isFalse(Registry.confirm(entry, 11))
      assert.isUndefined(Registry.reject(entry, "f", "again", false, 12))
      assert.strictEqual(entry.state, "failed")
      assert.isFalse(Registry.isActive(entry))
    }))
})
