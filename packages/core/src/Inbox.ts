/**
 * The inbound half of a transport session, for `Transport` implementations:
 * frames are pushed from socket callbacks, gathered in a plain array, and
 * handed to the one reader as a whole batch, so the reader wakes once per
 * socket read (a microtask flush), never once per message and never once
 * per event-loop turn. Above a high water mark the inbox asks the transport
 * to pause the socket, and resumes it when the reader catches up:
 * backpressure reaches the TCP window instead of growing memory.
 *
 * A connection reads a session built on an inbox without waking its fiber
 * when it can (plain-function hooks, subscribers with room), and then takes
 * a frame the moment it is pushed rather than with the rest of its read,
 * while reads are small (a few frames each; under a flood, reads of
 * hundreds of frames keep one hand-over per read), for plain-function
 * hooks and subscribers that are waiting. A session not built on an inbox is read through
 * its `take`, like every other session.
 *
 * @example
 * ```ts
 * import { Frame, Inbox } from "@kharbranth/core"
 * import { Clock, Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const clock = yield* Clock.Clock
 *   const inbox = Inbox.make<string>({
 *     highWaterMark: 1024,
 *     onPause: () => {}, // socket.pause()
 *     onResume: () => {}, // socket.resume()
 *     clock: () => clock.currentTimeMillisUnsafe()
 *   })
 *   // in the socket's 'message' handler:
 *   inbox.push(Frame.text("hello", 1, inbox.now()))
 *   // in its 'close' handler:
 *   inbox.end("closed")
 *   const batch = yield* inbox.take // [Text "hello"]
 *   return batch.length
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Frame from "./Frame.ts"
import { InboxImpl } from "./internal/inbox.ts"

/**
 * How an inbox meets its socket. The inbox keeps this object and calls its
 * functions as methods, so a transport's session may pass itself.
 *
 * @category models
 * @since 0.1.0
 */
export interface InboxOptions {
  /** Frames buffered before `onPause` is called. */
  readonly highWaterMark: number
  /** Stop reading from the socket. */
  readonly onPause: () => void
  /** Read from the socket again. */
  readonly onResume: () => void
  /** Epoch milliseconds, from the `Clock`. */
  readonly clock: () => number
}

/**
 * One session's inbound frames, ended by a terminal error `E` (the close).
 * The transport pushes; the connection takes.
 *
 * @category models
 * @since 0.1.0
 */
export interface Inbox<E> {
  /**
   * Adds one frame to the current socket read's batch, or hands it to a
   * waiting connection at once (see above). Frames after the end are ignored.
   */
  push(frame: Frame.Frame): void
  /** Ends the inbox: the reader gets what is buffered, then `error`. Once; later ends are ignored. */
  end(error: E): void
  /**
   * As `end`, but the error is made only when a reader asks for it, once:
   * an error class with a stack trace costs microseconds, and a session its
   * connection closed on purpose never reads its end's error.
   */
  endWith(make: () => E): void
  /**
   * The receive time for a frame of the current socket read (`clock`, epoch
   * ms): read once per read, not once per frame.
   */
  now(): number
  /** Whether the inbox has ended. */
  readonly done: boolean
  /** Frames not yet taken by the reader. */
  readonly size: number
  /**
   * Takes every buffered frame at once, waiting if there is none; fails
   * with the terminal error once the buffer is empty and the inbox has
   * ended. One effect, built once: a session's `take` may be this.
   */
  readonly take: Effect.Effect<ReadonlyArray<Frame.Frame>, E>
}

/**
 * Makes an inbox that calls `options` to pause and resume its socket.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <E>(options: InboxOptions): Inbox<E> => new InboxImpl<E>(options)

/**
 * A base class for a transport session that is its own inbox: the subclass
 * implements `InboxOptions` itself (its `highWaterMark`, `onPause`,
 * `onResume` and `clock`), so a socket read touches one object, not two.
 * `@kharbranth/node`'s sessions are built this way.
 *
 * @example
 * ```ts
 * import { Inbox } from "@kharbranth/core"
 *
 * class MySession extends Inbox.Base<string> implements Inbox.InboxOptions {
 *   readonly highWaterMark = 1024
 *   readonly epochMillis: () => number
 *   constructor(epochMillis: () => number) {
 *     super()
 *     this.epochMillis = epochMillis
 *   }
 *   onPause(): void {}
 *   onResume(): void {}
 *   clock(): number {
 *     return this.epochMillis()
 *   }
 * }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const Base: abstract new<E>() => Inbox<E> = InboxImpl
