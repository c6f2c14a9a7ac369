/**
 * The scope of one dial and the session it opens: a `Scope.Closeable` that
 * `Scope.provide`, `Scope.addFinalizer` and `Scope.close` take like every
 * other scope (they read and set its `state`), but an instance of a class whose
 * constant parts (the type marks, `strategy`, `parent`) live on its
 * prototype, so that each holds only its `state`. `Scope.makeUnsafe()`
 * makes an object literal of five properties, two of them keyed by marks a
 * literal cannot keep in the object: 96 B per open connection against 32.
 * The marks are copied from a scope `Scope.makeUnsafe()` made, so they are
 * the installed effect's, whatever they are named. Once the session is
 * open, the scope also keeps the session's release itself, outside its
 * state (`keepSole`), and `close` runs it: per idle connection, ~190 B less
 * than a scope made with `Scope.makeUnsafe()` holding that release
 * (packages/bench/src/heap.ts).
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"

const sample = Scope.makeUnsafe("sequential")
const EMPTY = sample.state

/** A finalizer as a scope keeps it. */
type Finalizer = (exit: Exit.Exit<unknown, unknown>) => Effect.Effect<unknown>

/** A dial's scope (see the module's comment). */
export interface DialScope extends Scope.Closeable {
  /** The finalizer `keepSole` took out of the scope's state, run after the scope's own at `close`. */
  sole: Finalizer | undefined
}

class DialScopeImpl {
  state: Scope.Scope["state"] = EMPTY
  sole: Finalizer | undefined = undefined
}
for (const key of Reflect.ownKeys(sample)) {
  if (key === "state") continue
  Object.defineProperty(DialScopeImpl.prototype, key, {
    value: (sample as unknown as Record<PropertyKey, unknown>)[key],
    enumerable: false,
    writable: false
  })
}

/** A new, empty dial scope, sequential and with no parent, as `Scope.makeUnsafe()`'s. */
export const make = (): DialScope => new DialScopeImpl() as unknown as DialScope

/**
 * Once the session is open: if the scope holds one finalizer (the session's
 * release, as a transport registers it), keeps that function on the scope
 * itself and leaves the scope's state `Empty`. A scope with one finalizer
 * holds it in a state object beside the key it was registered under (an
 * empty object for `Scope.addFinalizer`): ~112 B per open connection for
 * one function. Anything added to the scope later goes into its state as
 * before; `close` runs that first and the taken finalizer last, the
 * reverse of the order they were added in, as closing the scope would.
 * (A finalizer registered under a key its owner later removes, a forked
 * fiber's, then runs at `close` anyway: for a fiber, an interrupt of a
 * fiber that has ended, which does nothing.)
 */
export const keepSole = (scope: DialScope): void => {
  const state = scope.state
  if (state._tag !== "Open" || state.finalizer === undefined || scope.sole !== undefined) return
  scope.sole = state.finalizer
  scope.state = EMPTY
}

/**
 * Closes the scope, as `Scope.close` does, then runs the finalizer
 * `keepSole` took, if any, even when a later one died (a scope runs every
 * finalizer, whatever the others did).
 */
export const close = (scope: DialScope, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> => {
  const sole = scope.sole
  if (sole === undefined) return Scope.close(scope, exit)
  scope.sole = undefined
  return Effect.uninterruptible(
    Effect.ensuring(
      Scope.close(scope, exit),
      Effect.suspend(() => {
        try {
          return Effect.asVoid(sole(exit))
        } catch (defect) {
          // As a scope runs a finalizer that throws: a defect of the close.
          return Effect.die(defect)
        }
      })
    )
  )
}
