/**
 * A connection's lifetime: `start` forks the dial loop, `shutdown` ends the
 * connection for good (its scope's finalizer, or its manager's call),
 * `close` ends it gracefully, and `finish` runs once when the loop ends
 * however it ends. Also how a session is ended, once,
 * by whoever ends it first (close, restart, heartbeat, idle timer).
 *
 * `close`: the read loop drains the close handshake. Past `closeTimeout`
 * the socket is terminated; if the loop is still held (a slow subscriber,
 * a hook that never ends), past two more it is interrupted and the
 * connection finishes anyway; `close` always returns. During a dial, one
 * timer gives the dial up at `closeTimeout` (the loop's fiber is
 * interrupted; it finishes as closed by the caller) whether or not the
 * caller still waits, so that a handshake about to succeed can still be
 * closed with a close frame rather than cut; a dial that ends first stops
 * it. A dial still waiting for its slot (`Queued`) is given up at once.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import { ConnectionEvent } from "../ConnectionEvent.ts"
import { ConnectionState } from "../ConnectionState.ts"
import type { ConnectionImpl } from "./connection.ts"
import { CurrentState } from "./currentState.ts"
import * as Dial from "./dial.ts"
import * as DialScope from "./dialScope.ts"
import * as Direct from "./direct.ts"
import * as Heartbeat from "./heartbeat.ts"
import * as Idle from "./idle.ts"
import * as Lifecycle from "./lifecycle.ts"
import * as Send from "./send.ts"

const encoder = new TextEncoder()

/** `text` cut to at most `bytes` UTF-8 bytes, on a character boundary. */
export const truncateUtf8 = (text: string, bytes: number): string => {
  if (encoder.encode(text).byteLength <= bytes) return text
  let out = ""
  let size = 0
  for (const char of text) {
    const length = encoder.encode(char).byteLength
    if (size + length > bytes) break
    out += char
    size += length
  }
  return out
}

const defectMessage = (defect: unknown): string => defect instanceof Error ? defect.message : String(defect)

/** Ends the session for `reason` (the first reason wins): a close frame, or cut. */
export const endSession = (
  current: Lifecycle.Open,
  reason: Lifecycle.EndReason,
  how: "terminate" | "close",
  code = 1000,
  text = ""
): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (current.endReason !== undefined) return Effect.void
    current.endReason = reason
    return how === "terminate" ? current.socket.terminate : current.socket.close(code, text)
  })

/**
 * How a loop fiber's exit ends the connection: a detached reader's fiber
 * ends with nothing to do; any other end runs `finish`, once. One frame
 * for every way out: the loop's end, an interruption, or a defect (a
 * throwing schedule, a bug), which closes the connection with its message
 * rather than leaving it silently stuck.
 */
const onLoopExit = (self: ConnectionImpl<any>, exit: Exit.Exit<Lifecycle.Final>): Effect.Effect<void> =>
  Exit.isSuccess(exit)
    ? exit.value === Lifecycle.DETACHED ? Effect.void : finish(self, exit.value)
    : Cause.hasInterrupts(exit.cause)
    ? finish(
      self,
      self.closeRequest !== undefined
        ? Lifecycle.CLOSED_BY_CALLER
        : { reason: "connection scope closed", error: undefined }
    )
    : finish(self, {
      reason: `defect in the dial loop: ${defectMessage(Cause.squash(exit.cause))}`,
      error: undefined
    })

/**
 * A loop fiber's body: it records itself as the connection's loop when it
 * starts (a detach clears it, internal/direct.ts), and its exit is handled
 * by `onLoopExit`. The body is built when the fiber runs it: the OnExit
 * frame keeps its effect for the fiber's whole life, and `Dial.run(self)`
 * built beforehand would keep the first dial's flatMap, its continuation
 * and the suspended `dial(self)` call with it, ~250 B per connection.
 */
const loopFiber = <R>(
  self: ConnectionImpl<R>,
  body: () => Effect.Effect<Lifecycle.Final, never, R>
): Effect.Effect<Lifecycle.Final, never, R> =>
  Effect.onExit(
    Effect.withFiber((fiber) => {
      self.loop = fiber as Fiber.Fiber<Lifecycle.Final>
      return body()
    }),
    (exit) => onLoopExit(self, exit)
  )

/**
 * Forks the dial loop; uninterruptible, so no fiber is forked without its
 * `self.loop` being set. With a scope, `shutdown` is that scope's one
 * finalizer (a connection of its own); without one, whoever made the
 * connection runs `shutdown` itself (a manager's: a scope per connection
 * would hold a scope, its finalizer and two closures, ~380 B, for nothing
 * the manager's registry does not already know). The loop runs in the
 * context of the fiber that made the connection, as is (a context per
 * connection would cost more than the connection); the context is kept
 * for the fibers that `wake` forks later.
 */
export const start = <R>(self: ConnectionImpl<R>, scope: Scope.Scope | undefined): Effect.Effect<void, never, R> =>
  Effect.uninterruptible(Effect.flatMap(Effect.context<R>(), (services) => {
    self.services = services
    return Effect.flatMap(Effect.forkDetach(loopFiber(self, () => Dial.run(self))), (main) => {
      self.loop = main
      return scope === undefined ? Effect.void : Scope.addFinalizer(scope, shutdown(self))
    })
  }))

/**
 * Goes on with a detached read loop (internal/direct.ts) on a new fiber,
 * run at once on the caller's stack (as a parked fiber's resume would be),
 * in the context the connection was made in. The fiber runs until the
 * reader detaches again, or the loop ends (the session's end, a reconnect,
 * a close); it is the connection's loop meanwhile.
 */
export const wake = <R>(
  self: ConnectionImpl<R>,
  body: Effect.Effect<Lifecycle.Final, never, R>
): Fiber.Fiber<Lifecycle.Final> => Effect.runForkWith(self.services!)(loopFiber(self, () => body))

/**
 * Interrupts the dial loop's fiber; for a detached reader (no fiber), a
 * fiber interrupted at once, which finishes the connection as the parked
 * loop's interruption did.
 */
const interruptLoop = (self: ConnectionImpl<any>): Effect.Effect<void> =>
  Effect.suspend(() => {
    const main = self.loop
    if (main !== undefined) return Fiber.interrupt(main)
    return self.phase._tag === "Open" ? Fiber.interrupt(wake(self, Effect.interrupt)) : Effect.void
  })

/**
 * Ends a connection for good, as closing its scope does: closes it
 * gracefully, makes sure the dial loop's fiber is gone, then removes its
 * metrics' series. Runs on the connection's clock, whichever fiber runs it;
 * uninterruptible, as a scope's close is. Run it once (a second run finds
 * the connection finished and the loop gone, and only waits for nothing).
 */
export const shutdown = (self: ConnectionImpl<any>): Effect.Effect<void> =>
  Effect.uninterruptible(
    Effect.provideService(
      Effect.andThen(
        Effect.andThen(close(self), interruptLoop(self)),
        Effect.sync(() => self.metrics?.remove())
      ),
      Clock.Clock,
      self.clock
    )
  )

/**
 * Runs once, at the end of the dial loop or when the loop is interrupted
 * (the interruption may land while the first run is finishing): detaches
 * the reader of a session still open from it, closes what
 * an interruption left open, fails waiting sends, reports `Closed`, ends
 * the hubs, and wakes the `close` calls waiting.
 */
const finish = Effect.fnUntraced(function*(self: ConnectionImpl<any>, result: Lifecycle.Final) {
  // A session still open (its loop was interrupted, or its reader detached
  // had no fiber to interrupt) keeps its reader attached: detached here for
  // good, before anything can yield, so no frame read from now on reaches
  // it or wakes it (internal/direct.ts).
  const phase = self.phase
  if (phase._tag === "Open") Direct.sourceOf(phase.socket)?.[Direct.AttachDirect](undefined)
  const { first, scope } = Lifecycle.finish(self)
  if (!first) return
  // An interrupted dial or session leaves its timers and its scope open: stopped and closed here, first.
  Heartbeat.stop(self)
  Idle.stop(self)
  if (scope !== undefined) yield* DialScope.close(scope, Exit.void)
  Send.failQueued(self, result.reason)
  yield* self.setState(ConnectionState.Closed(result))
  yield* self.emit(ConnectionEvent.Closed({ at: self.now(), ...result }))
  Lifecycle.finished(self)
  self.framesHubValue?.endNow()
  self.eventsHubValue?.endNow()
  const ended = self.closeRequest?.ended
  if (ended !== undefined) Deferred.doneUnsafe(ended, Exit.void)
})

/** Waits until the connection has finished; the deferred it waits on exists only while someone waits. */
const awaitFinished = (self: ConnectionImpl<any>, request: Lifecycle.CloseRequest): Effect.Effect<void> =>
  Effect.suspend(() =>
    Lifecycle.isFinished(self) ? Effect.void : Deferred.await(request.ended ??= Deferred.makeUnsafe<void>())
  )

/** The handle's `close` (see the module's comment). */
export const close = Effect.fnUntraced(
  function*(self: ConnectionImpl<any>, requestedCode = 1000, requestedReason = "") {
    let request = self.closeRequest
    if (request === undefined) {
      const code =
        requestedCode === 1000 || (Number.isInteger(requestedCode) && requestedCode >= 3000 && requestedCode <= 4999)
          ? requestedCode
          : 1000
      const reason = truncateUtf8(requestedReason, 123)
      request = self.closeRequest = { code, reason, ended: undefined }
      const phase = self.phase
      switch (phase._tag) {
        case "Waiting":
          Deferred.doneUnsafe(phase.wake, Exit.succeed(Lifecycle.STOPPED))
          break
        case "Open":
          yield* endSession(phase, "stop", "close", code, reason)
          break
        case "Dialing": {
          const main = self.loop
          if (main === undefined) break
          // A dial still waiting for its slot has no handshake to finish: it is given up at once.
          const grace = self[CurrentState]()._tag === "Queued"
            ? Effect.void
            : Effect.sleep(Duration.millis(self.cfg.closeTimeout))
          phase.giveUp = yield* Effect.forkDetach(
            Effect.andThen(grace, Fiber.interrupt(main)).pipe(Effect.provideService(Clock.Clock, self.clock))
          )
        }
      }
    }
    const closeTimeout = Duration.millis(self.cfg.closeTimeout)
    yield* awaitFinished(self, request).pipe(
      Effect.timeoutOrElse({
        duration: closeTimeout,
        orElse: () =>
          Effect.andThen(
            Effect.suspend(() => self.phase._tag === "Open" ? self.phase.socket.terminate : Effect.void),
            awaitFinished(self, request).pipe(
              Effect.timeoutOrElse({
                duration: Duration.times(closeTimeout, 2),
                orElse: () => interruptLoop(self)
              })
            )
          )
      })
    )
  }
)
