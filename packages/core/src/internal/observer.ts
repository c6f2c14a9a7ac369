/**
 * How a `WSManager` observes the connections it makes without a fiber or a
 * subscription per connection: it hands its observer to each connection it
 * makes (internal/connection.ts, `makeObserved`), which hands each
 * delivered batch, event and state to it. A connection of its own has
 * none, at no cost.
 */
import type * as Effect from "effect/Effect"
import type { ConnectionEvent } from "../ConnectionEvent.ts"
import type { ConnectionState } from "../ConnectionState.ts"
import type * as Frame from "../Frame.ts"
import type { Readers } from "./hub.ts"

export interface Observer {
  /** Who would take a batch `frames` hands over now (see `Hub.readers`). */
  readonly frameReaders: () => Readers
  /** Delivered frames of one socket read; may apply backpressure. */
  readonly frames: (connection: string, batch: ReadonlyArray<Frame.Frame>) => Effect.Effect<void>
  readonly event: (connection: string, event: ConnectionEvent) => Effect.Effect<void>
  readonly state: (connection: string, state: ConnectionState) => Effect.Effect<void>
  /** Whether the connection keeps its first frames for its own first subscriber (a manager's connections do not). */
  readonly retainFrames: boolean
}
