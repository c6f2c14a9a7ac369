/**
 * The connection's lifecycle union on its own: which transitions each phase
 * allows, what each hands back, and that finishing is final.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as DialScope from "../src/internal/dialScope.ts"
import * as Lifecycle from "../src/internal/lifecycle.ts"
import type * as Transport from "../src/Transport.ts"

const socket = { session: 7 } as unknown as Transport.Session
const opened = (since: number) => ({ _tag: "Open" as const, session: 7, since, protocol: "" })

describe("Lifecycle", () => {
  it.effect("a dial goes Idle → Dialing → Open → Ended → Idle, handing its scope back once", () =>
    Effect.gen(function*() {
      const self: Lifecycle.Holder = { phase: Lifecycle.IDLE }
      const scope = DialScope.make()
      assert.isTrue(Lifecycle.dial(self, scope))
      assert.isFalse(Lifecycle.dial(self, scope), "a second dial while dialing is refused")
      assert.isUndefined(Lifecycle.usable(self))
      const open = Lifecycle.open(self, socket, opened(100))
      assert.strictEqual(open?.state.session, 7)
      assert.strictEqual(Lifecycle.usable(self), open)
      assert.isUndefined(Lifecycle.open(self, socket, opened(200)), "open is refused unless dialing")
      Lifecycle.end(self)
      assert.strictEqual(self.phase._tag, "Ended")
      assert.strictEqual(Lifecycle.release(self), scope)
      assert.isUndefined(Lifecycle.release(self), "the scope is handed back once")
      assert.strictEqual(self.phase._tag, "Idle")
      yield* DialScope.close(scope, Exit.void)
    }))

  it.effect("waiting is only from Idle; finishing is final and hands back an open scope", () =>
    Effect.gen(function*() {
      const self: Lifecycle.Holder = { phase: Lifecycle.IDLE }
      const wake = yield* Deferred.make<Lifecycle.Outcome>()
      assert.isTrue(Lifecycle.wait(self, wake))
      assert.isFalse(Lifecycle.wait(self, wake))
      assert.isFalse(Lifecycle.dial(self, DialScope.make()), "no dial while waiting")
      Lifecycle.waited(self)
      const scope = DialScope.make()
      Lifecycle.dial(self, scope)
      Lifecycle.open(self, socket, opened(0))
      const first = Lifecycle.finish(self)
      assert.isTrue(first.first)
      assert.strictEqual(first.scope, scope)
      assert.deepStrictEqual(Lifecycle.finish(self), { first: false, scope: undefined })
      assert.isFalse(Lifecycle.dial(self, scope), "no dial once finishing")
      assert.isFalse(Lifecycle.wait(self, wake), "no wait once finishing")
      assert.isFalse(Lifecycle.isFinished(self))
      Lifecycle.finished(self)
      assert.isTrue(Lifecycle.isFinished(self))
      assert.isUndefined(Lifecycle.usable(self))
      yield* DialScope.close(scope, Exit.void)
    }))
})
