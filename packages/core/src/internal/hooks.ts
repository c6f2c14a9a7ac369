/**
 * The cold side of a connection's hooks: a batch whose hooks return effects
 * (run as one effect under one guard), and a hook that threw or failed
 * (reported as `HookFailed`, then the rest of the batch runs). The hot side,
 * plain-function hooks run where the batch is read, is `runHooks` in
 * internal/connection.ts.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { ConnectionEvent } from "../ConnectionEvent.ts"
import type * as Frame from "../Frame.ts"
import type { ConnectionImpl } from "./connection.ts"
import type * as Lifecycle from "./lifecycle.ts"

/** Runs `first` (the effect of `batch[start]`'s hook), then the hooks of the rest of the batch, as one effect. */
export const effectful = <R>(
  self: ConnectionImpl<R>,
  current: Lifecycle.Open,
  batch: ReadonlyArray<Frame.Frame>,
  start: number,
  first: Effect.Effect<void, unknown, R>
): Effect.Effect<void, never, R> => {
  let index = start
  return Effect.catchCause(
    Effect.gen(function*() {
      yield* first
      for (index = start + 1; index < batch.length; index++) {
        const result = self.hookFor(batch[index]!)
        if (result !== undefined && Effect.isEffect(result)) yield* result
      }
    }),
    (cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : failed(self, current, batch, index, cause)
  )
}

/** Reports the failure of `batch[index]`'s hook as `HookFailed`, then runs the hooks after it. */
export const failed = <R>(
  self: ConnectionImpl<R>,
  current: Lifecycle.Open,
  batch: ReadonlyArray<Frame.Frame>,
  index: number,
  cause: Cause.Cause<unknown>
): Effect.Effect<void, never, R> =>
  Effect.andThen(
    self.emit(
      ConnectionEvent.HookFailed({
        at: self.now(),
        session: current.state.session,
        hook: `on${batch[index]!._tag}`,
        cause
      })
    ),
    Effect.suspend(() => self.runHooks(current, batch, index + 1))
  )
