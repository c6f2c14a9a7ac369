/**
 * The implementation behind `Inbox` (see Inbox.ts for what it does): the
 * batching, the shared microtask flush, the pause/resume watermark and the
 * connection's direct read (internal/direct.ts). Only the small surface in
 * Inbox.ts is public.
 */
import * as Effect from "effect/Effect"
import type * as Frame from "../Frame.ts"
import type { InboxOptions } from "../Inbox.ts"
import * as Direct from "./direct.ts"

/** The method the shared flush calls: a symbol, so a transport's session extending the inbox cannot collide with it. */
export const Flush: unique symbol = Symbol.for("@kharbranth/core/internal/Inbox/Flush")

type Resume = (effect: Effect.Effect<ReadonlyArray<Frame.Frame>>) => void

/**
 * Inboxes with a read to hand over, flushed by one shared microtask: a
 * read costs no function or closure of its own, and an inbox holds none.
 * Socket reads are separate event-loop callbacks, each followed by a
 * microtask checkpoint, so this is almost always one inbox.
 */
const due: Array<{ [Flush](): void }> = []
let dueScheduled = false

const flushDue = (): void => {
  let i = 0
  try {
    for (; i < due.length; i++) due[i]![Flush]()
  } finally {
    // A throw (a bug; readers catch their users' throws) must not stall every inbox.
    due.splice(0, i + 1)
    dueScheduled = false
    if (due.length > 0) scheduleDue()
  }
}

const scheduleDue = (): void => {
  if (dueScheduled) return
  dueScheduled = true
  queueMicrotask(flushDue)
}

/** Wakes a reader whose direct path left it work: nothing more to take. */
const NOTHING: Effect.Effect<ReadonlyArray<Frame.Frame>> = Effect.succeed([])
const ENDED: Effect.Effect<ReadonlyArray<Frame.Frame>> = Effect.succeed(Direct.END)

/** One session's inbound frames, ended by a terminal error (the close). */
export class InboxImpl<E> implements Direct.Source<E> {
  // Made by a read's first push and handed over whole: a fresh array is in
  // the cache when the read is delivered, where a kept one would not be.
  #buffer: Array<Frame.Frame> | undefined = undefined
  #waiter: Resume | undefined = undefined
  #flushScheduled = false
  #ended: E | undefined = undefined
  /** Makes `ended` when first asked for (see `endWith`). */
  #makeEnded: (() => E) | undefined = undefined
  #paused = false
  // Not a number between reads: a field that only ever held numbers would
  // box them in a separate object, one more cache line per read.
  #stamp: number | undefined = undefined
  #direct: Direct.DirectReader | undefined = undefined
  /** Whether the session has ended (its terminal error is set). */
  done = false

  /** Kept whole and called as methods: a transport may pass itself, with no closure per callback. */
  readonly #options: InboxOptions

  /**
   * `options` may be left out only by a subclass that implements
   * `InboxOptions` itself: a transport's session can then be its own inbox,
   * one object where a socket read would otherwise touch two.
   */
  constructor(options?: InboxOptions) {
    this.#options = options ?? (this as unknown as InboxOptions)
  }

  /** Attaches the direct reader of the session's connection (internal/direct.ts). */
  [Direct.AttachDirect](reader: Direct.DirectReader | undefined): void {
    this.#direct = reader
  }

  /**
   * The receive time for a frame of the current socket read: the clock is
   * read once per read (per microtask), not once per frame.
   */
  now(): number {
    if (this.#stamp === undefined) {
      this.#stamp = this.#options.clock()
      // The flush clears the stamp: one microtask per read for both.
      if (!this.#flushScheduled) InboxImpl.#markDue(this)
    }
    return this.#stamp
  }

  /** Adds one frame to the current batch. Frames after the end are ignored. */
  push(frame: Frame.Frame): void {
    if (this.done) return
    const buffer = this.#buffer
    let size = 1
    if (buffer === undefined) this.#buffer = [frame]
    else size = buffer.push(frame)
    if (!this.#paused && size >= this.#options.highWaterMark) {
      this.#paused = true
      this.#options.onPause()
    }
    InboxImpl.#schedule(this)
  }

  /** Ends the inbox: the reader gets what is buffered, then `error`. */
  end(error: E): void {
    if (this.done) return
    this.done = true
    this.#ended = error
    InboxImpl.#schedule(this)
  }

  /**
   * As `end`, but the error is made only when a reader asks for it, once:
   * an error class with a stack trace costs microseconds, and a session
   * its connection closed on purpose never reads its end's error.
   */
  endWith(make: () => E): void {
    if (this.done) return
    this.done = true
    this.#makeEnded = make
    InboxImpl.#schedule(this)
  }

  static #endedError<E>(self: InboxImpl<E>): E {
    const make = self.#makeEnded
    if (make !== undefined) {
      self.#makeEnded = undefined
      self.#ended = make()
    }
    return self.#ended as E
  }

  /** Number of frames not yet taken by the reader. */
  get size(): number {
    return this.#buffer?.length ?? 0
  }

  // Both takes are built on first use, once: a connection reads through
  // `TakeOrEnd` and never makes `take`.
  #takeValue: Effect.Effect<ReadonlyArray<Frame.Frame>, E> | undefined = undefined
  #takeOrEndValue: Effect.Effect<ReadonlyArray<Frame.Frame>> | undefined = undefined
  #cancelTakeValue: Effect.Effect<void> | undefined = undefined

  /**
   * Takes every buffered frame at once, waiting if there is none; fails with
   * the terminal error once the buffer is empty and the inbox has ended.
   */
  get take(): Effect.Effect<ReadonlyArray<Frame.Frame>, E> {
    if (this.#takeValue === undefined) {
      this.#takeValue = Effect.flatMap(
        this[Direct.TakeOrEnd],
        (batch) => batch === Direct.END ? Effect.fail(InboxImpl.#endedError(this)) : Effect.succeed(batch)
      )
      Direct.register(this.#takeValue, this)
    }
    return this.#takeValue
  }

  /** As `take`, but the end is `Direct.END` rather than a failure (internal/direct.ts). */
  get [Direct.TakeOrEnd](): Effect.Effect<ReadonlyArray<Frame.Frame>> {
    return this.#takeOrEndValue ??= Effect.callback<ReadonlyArray<Frame.Frame>>((resume) => {
      // A take that finds frames (or the end) resumes at once; otherwise the
      // reader parks until the next flush.
      const ready = InboxImpl.#poll(this)
      if (ready !== undefined) return resume(ready)
      this.#waiter = resume
      return InboxImpl.#cancelTake(this)
    })
  }

  /** Drops a parked reader that was interrupted; built once. */
  static #cancelTake(self: InboxImpl<any>): Effect.Effect<void> {
    return self.#cancelTakeValue ??= Effect.sync(() => {
      self.#waiter = undefined
    })
  }

  /** The terminal error, once `TakeOrEnd` has given `Direct.END`. */
  [Direct.EndedWith](): E {
    return InboxImpl.#endedError(this)
  }

  /** Takes the buffered frames (at least one), resuming a paused socket. */
  static #drain(self: InboxImpl<any>): ReadonlyArray<Frame.Frame> {
    const batch = self.#buffer!
    self.#buffer = undefined
    if (self.#paused) {
      self.#paused = false
      if (!self.done) self.#options.onResume()
    }
    return batch
  }

  static #poll(self: InboxImpl<any>): Effect.Effect<ReadonlyArray<Frame.Frame>> | undefined {
    if (self.#buffer !== undefined) return Effect.succeed(InboxImpl.#drain(self))
    if (self.done) return ENDED
    return undefined
  }

  static #schedule(self: InboxImpl<any>): void {
    if (self.#flushScheduled || self.#waiter === undefined) return
    InboxImpl.#markDue(self)
  }

  /** Queues this inbox for the shared flush, once per read. */
  static #markDue(self: InboxImpl<any>): void {
    self.#flushScheduled = true
    due.push(self)
    scheduleDue()
  }

  /** Hands the read over: to the direct reader, or by waking the parked `take`. The shared flush calls it, once per socket read. */
  [Flush](): void {
    this.#flushScheduled = false
    this.#stamp = undefined
    const waiter = this.#waiter
    if (waiter === undefined) return
    // The reader is parked: a direct reader delivers the batch without waking it.
    const direct = this.#direct
    if (direct !== undefined && this.#buffer !== undefined) {
      if (!direct[Direct.ReadDirect](InboxImpl.#drain(this))) {
        if (this.#waiter === waiter) {
          this.#waiter = undefined
          waiter(NOTHING)
        }
        return
      }
      if (this.#waiter !== waiter) return
    }
    const ready = InboxImpl.#poll(this)
    if (ready === undefined) return
    this.#waiter = undefined
    waiter(ready)
  }
}
