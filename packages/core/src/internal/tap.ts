/**
 * How a `WSManager` observes the connections it makes without a fiber or a
 * subscription per connection: `Connection.make` reads this reference once
 * and hands each delivered batch, event and state to it. Outside a manager
 * it is absent and costs nothing.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { ConnectionEvent } from "../ConnectionEvent.ts"
import type { ConnectionState } from "../ConnectionState.ts"
import type * as Frame from "../Frame.ts"

export interface Tap {
  /** Delivered frames of one socket read; may apply backpressure. */
  readonly frames: (connection: string, batch: ReadonlyArray<Frame.Frame>) => Effect.Effect<void>
  readonly event: (connection: string, event: ConnectionEvent) => Effect.Effect<void>
  readonly state: (connection: string, state: ConnectionState) => Effect.Effect<void>
  /** Whether the connection keeps its first frames for its own first subscriber (a manager's connections do not). */
  readonly retainFrames: boolean
}

export const CurrentTap = Context.Reference<Tap | undefined>("@kharbranth/core/internal/CurrentTap", {
  defaultValue: () => undefined
})
