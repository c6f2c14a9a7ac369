/**
 * Sending on a connection: a send goes to the open session, or waits in
 * the `sendBuffer` while there is none (flushed when the next session
 * opens, failed when the connection closes), or fails at once.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Errors from "../ConnectionError.ts"
import { ConnectionEvent } from "../ConnectionEvent.ts"
import type * as Frame from "../Frame.ts"
import type { ConnectionImpl } from "./connection.ts"
import { CurrentState } from "./currentState.ts"
import * as Lifecycle from "./lifecycle.ts"

/** A send waiting for a session. */
export interface Queued {
  readonly data: Frame.Outbound
  readonly done: Deferred.Deferred<void, Errors.SendFailed | Errors.ConnectionStopped>
}

/** Sends on `current`, counting what went out; a failure is also reported as `SendFailed`. */
export const sendOn = (
  self: ConnectionImpl<any>,
  current: Lifecycle.Open,
  data: Frame.Outbound
): Effect.Effect<void, Errors.SendFailed> =>
  Effect.tap(current.socket.send(data), () =>
    Effect.sync(() => {
      self.framesOut++
      self.bytesOut += typeof data === "string" ? data.length : data.byteLength
    })).pipe(
      Effect.tapError((error) =>
        self.emit(ConnectionEvent.SendFailed({ at: self.now(), session: current.state.session, error }))
      )
    )

/** The handle's `send`. */
export const send = (
  self: ConnectionImpl<any>,
  data: Frame.Outbound
): Effect.Effect<void, Errors.SendFailed | Errors.NotConnected | Errors.ConnectionStopped> =>
  Effect.suspend((): Effect.Effect<void, Errors.SendFailed | Errors.NotConnected | Errors.ConnectionStopped> => {
    const open = Lifecycle.usable(self)
    if (open !== undefined) return sendOn(self, open, data)
    const current = self[CurrentState]()
    if (current._tag === "Closed") {
      return Effect.fail(new Errors.ConnectionStopped({ connection: self.name, reason: current.reason }))
    }
    const sendBuffer = self.cfg.sendBuffer
    if (sendBuffer === 0) return Effect.fail(new Errors.NotConnected({ connection: self.name, state: current._tag }))
    if ((self.sendQueue?.length ?? 0) >= sendBuffer) {
      return Effect.fail(
        new Errors.SendFailed({
          connection: self.name,
          reason: `send buffer full (${sendBuffer} messages waiting for a connection)`
        })
      )
    }
    const done = Deferred.makeUnsafe<void, Errors.SendFailed | Errors.ConnectionStopped>()
    const queue = self.sendQueue ??= []
    queue.push({ data, done })
    return Deferred.await(done)
  })

/** Sends what waited for this session, in order, until the queue is empty or the session is being ended. */
export const flushQueue = (self: ConnectionImpl<any>, current: Lifecycle.Open): Effect.Effect<void> =>
  Effect.gen(function*() {
    while (self.sendQueue !== undefined && self.sendQueue.length > 0 && current.endReason === undefined) {
      const item = self.sendQueue.shift()!
      const exit = yield* Effect.exit(sendOn(self, current, item.data))
      Deferred.doneUnsafe(item.done, exit)
    }
  })

/** Fails every waiting send: the connection has closed for `reason`. */
export const failQueued = (self: ConnectionImpl<any>, reason: string): void => {
  const waiting = self.sendQueue
  self.sendQueue = undefined
  if (waiting === undefined || waiting.length === 0) return
  const stopped = new Errors.ConnectionStopped({ connection: self.name, reason })
  for (const item of waiting) Deferred.doneUnsafe(item.done, Effect.fail(stopped))
}
