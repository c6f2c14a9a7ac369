/**
 * A dial's scope: a `Scope.Closeable` any of effect's scope functions take,
 * holding the session's one finalizer outside its state once the session is
 * open, and closing as a scope closes (finalizers in the reverse of the
 * order they were added in, each once, with the close's exit).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as DialScope from "../src/internal/dialScope.ts"

describe("DialScope", () => {
  it.effect("is a scope effect's functions provide, add to and close", () =>
    Effect.gen(function*() {
      const scope = DialScope.make()
      assert.strictEqual(scope.strategy, "sequential")
      assert.isUndefined(scope.parent)
      assert.strictEqual(scope.state._tag, "Empty")
      const ran: Array<string> = []
      yield* Scope.provide(
        Effect.andThen(Effect.scope, (inner) => Scope.addFinalizer(inner, Effect.sync(() => ran.push("provided")))),
        scope
      )
      assert.strictEqual(scope.state._tag, "Open")
      const resource = yield* Scope.provide(
        Effect.acquireRelease(Effect.succeed("socket"), () => Effect.sync(() => ran.push("released"))),
        scope
      )
      assert.strictEqual(resource, "socket")
      yield* DialScope.close(scope, Exit.void)
      assert.deepStrictEqual(ran, ["released", "provided"])
      assert.strictEqual(scope.state._tag, "Closed")
    }))

  it.effect("keeps a lone finalizer outside the state, runs it last and once, with the close's exit", () =>
    Effect.gen(function*() {
      const scope = DialScope.make()
      const ran: Array<string> = []
      yield* Scope.addFinalizerExit(scope, (exit) => Effect.sync(() => ran.push(`release ${exit._tag}`)))
      DialScope.keepSole(scope)
      assert.strictEqual(scope.state._tag, "Empty", "the state no longer holds it")
      assert.isFunction(scope.sole)
      // Added after the session opened: runs first, as the later of the two.
      yield* Scope.addFinalizer(scope, Effect.sync(() => ran.push("later")))
      const failure = Exit.fail("boom")
      yield* DialScope.close(scope, failure)
      assert.deepStrictEqual(ran, ["later", "release Failure"])
      yield* DialScope.close(scope, Exit.void)
      assert.deepStrictEqual(ran, ["later", "release Failure"], "a second close runs nothing")
    }))

  it.effect("leaves two finalizers in the state, and a scope already keeping one as it is", () =>
    Effect.gen(function*() {
      const scope = DialScope.make()
      const ran: Array<number> = []
      yield* Scope.addFinalizer(scope, Effect.sync(() => ran.push(1)))
      yield* Scope.addFinalizer(scope, Effect.sync(() => ran.push(2)))
      DialScope.keepSole(scope)
      assert.isUndefined(scope.sole)
      assert.strictEqual(scope.state._tag, "Open")
      yield* DialScope.close(scope, Exit.void)
      assert.deepStrictEqual(ran, [2, 1])

      const kept = DialScope.make()
      yield* Scope.addFinalizer(kept, Effect.sync(() => ran.push(3)))
      DialScope.keepSole(kept)
      yield* Scope.addFinalizer(kept, Effect.sync(() => ran.push(4)))
      DialScope.keepSole(kept)
      yield* DialScope.close(kept, Exit.void)
      assert.deepStrictEqual(ran, [2, 1, 4, 3], "the second keepSole took nothing")
    }))

  it.effect("a fiber forked into it is interrupted at close, after the scope kept it", () =>
    Effect.gen(function*() {
      const scope = DialScope.make()
      const fiber = yield* Effect.forkIn(Effect.never, scope)
      DialScope.keepSole(scope)
      yield* DialScope.close(scope, Exit.void)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.hasInterrupts(exit))
    }))

  it.effect("the kept release runs even when a finalizer added later dies, and the close is that defect", () =>
    Effect.gen(function*() {
      const scope = DialScope.make()
      const ran: Array<string> = []
      yield* Scope.addFinalizer(scope, Effect.sync(() => ran.push("released")))
      DialScope.keepSole(scope)
      yield* Scope.addFinalizer(scope, Effect.die(new Error("later died")))
      const exit = yield* Effect.exit(DialScope.close(scope, Exit.void))
      assert.deepStrictEqual(ran, ["released"])
      assert.isTrue(Exit.hasDies(exit))
    }))

  it.effect("a finalizer that throws is a defect of the close, after the later ones ran", () =>
    Effect.gen(function*() {
      const scope = DialScope.make()
      const ran: Array<string> = []
      yield* Scope.addFinalizerExit(scope, () => {
        throw new Error("release threw")
      })
      DialScope.keepSole(scope)
      yield* Scope.addFinalizer(scope, Effect.sync(() => ran.push("later")))
      const exit = yield* Effect.exit(DialScope.close(scope, Exit.void))
      assert.deepStrictEqual(ran, ["later"])
      assert.isTrue(Exit.hasDies(exit))
    }))
})
