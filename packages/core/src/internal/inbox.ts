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

/**
 * Reads averaging at most this many frames are "small": a frame is then
 * worth handing over alone, as it is read (for a stream, a wake-up of its
 * fiber per frame); past it the frames wait for their read's batch (a
 * wake-up per read), as under a flood, where a read holds hundreds.
 */
const SMALL_READ = 16
/** A read past this many frames is large whatever the average: the rest of it waits for its batch. */
const LARGE_READ = 64
/** The weight of the latest read in the moving average of frames per read. */
const READ_AVERAGE_WEIGHT = 1 / 8

/**
 * The waiter of a reader detached by `TakeOrDetach`: never called as a
 * function; the inbox wakes the reader through its `Wake` instead.
 */
const DETACHED_WAITER: Resume = () => {}

/** Wakes a reader whose direct path left it work: nothing more to take. */
const NOTHING: Effect.Effect<ReadonlyArray<Frame.Frame>> = Effect.succeed([])
const ENDED: Effect.Effect<ReadonlyArray<Frame.Frame>> = Effect.succeed(Direct.END)

/**
 * One session's inbound frames, ended by a terminal error (the close). Its
 * own members are plain properties (the read path's fastest) named
 * `inbox…`, so a transport's session extending it (`Inbox.Base`) does not
 * collide with them.
 */
export class InboxImpl<E> implements Direct.Source<E> {
  // Made by a read's first push and handed over whole: a fresh array is in
  // the cache when the read is delivered, where a kept one would not be.
  private inboxBuffer: Array<Frame.Frame> | undefined = undefined
  private inboxWaiter: Resume | undefined = undefined
  private inboxFlushScheduled = false
  private inboxEnded: E | undefined = undefined
  /** Makes `ended` when first asked for (see `endWith`). */
  private inboxMakeEnded: (() => E) | undefined = undefined
  private inboxPaused = false
  // Not a number between reads: a field that only ever held numbers would
  // box them in a separate object, one more cache line per read.
  private inboxStamp: number | undefined = undefined
  private inboxDirect: Direct.DirectReader | undefined = undefined
  /** Frames pushed in the current socket read, and a moving average over reads (see `SMALL_READ`). */
  private inboxReadFrames = 0
  private inboxReadAverage = 0
  /** Whether the session has ended (its terminal error is set). */
  done = false

  /** Kept whole and called as methods: a transport may pass itself, with no closure per callback. */
  private readonly inboxOptions: InboxOptions

  /**
   * `options` may be left out only by a subclass that implements
   * `InboxOptions` itself: a transport's session can then be its own inbox,
   * one object where a socket read would otherwise touch two.
   */
  constructor(options?: InboxOptions) {
    this.inboxOptions = options ?? (this as unknown as InboxOptions)
  }

  /** Attaches the direct reader of the session's connection (internal/direct.ts). */
  [Direct.AttachDirect](reader: Direct.DirectReader | undefined): void {
    this.inboxDirect = reader
    // Detached for good: a reader that `TakeOrDetach` detached, or one
    // parked in `Park` whose fiber was interrupted (`Park` registers no
    // cleanup), is not woken again.
    if (reader === undefined) this.inboxWaiter = undefined
  }

  /**
   * The receive time for a frame of the current socket read: the clock is
   * read once per read (per microtask), not once per frame.
   */
  now(): number {
    if (this.inboxStamp === undefined) {
      this.inboxStamp = this.inboxOptions.clock()
      // The flush clears the stamp: one microtask per read for both.
      if (!this.inboxFlushScheduled) this.inboxMarkDue()
    }
    return this.inboxStamp
  }

  /**
   * Adds one frame to the current batch, or hands it over at once when the
   * reader waits (detached, or parked) with nothing buffered ahead of it and takes it
   * (internal/direct.ts). Frames after the end are ignored.
   */
  push(frame: Frame.Frame): void {
    if (this.done) return
    this.inboxReadFrames++
    const buffer = this.inboxBuffer
    let size = 1
    if (buffer === undefined) {
      const direct = this.inboxDirect
      if (direct !== undefined && this.inboxWaiter !== undefined) {
        const took = direct[Direct.ReadOne](
          frame,
          this.inboxReadAverage <= SMALL_READ && this.inboxReadFrames <= LARGE_READ
        )
        if (took === Direct.DELIVERED) return
        if (took === Direct.LEFT_WORK) {
          const waiter = this.inboxWaiter
          if (waiter !== undefined) {
            this.inboxWaiter = undefined
            this.inboxResume(waiter, NOTHING)
          }
          return
        }
      }
      this.inboxBuffer = [frame]
    } else size = buffer.push(frame)
    if (!this.inboxPaused && size >= this.inboxOptions.highWaterMark) {
      this.inboxPaused = true
      this.inboxOptions.onPause()
    }
    this.inboxSchedule()
  }

  /** Ends the inbox: the reader gets what is buffered, then `error`. */
  end(error: E): void {
    if (this.done) return
    this.done = true
    this.inboxEnded = error
    this.inboxSchedule()
  }

  /**
   * As `end`, but the error is made only when a reader asks for it, once:
   * an error class with a stack trace costs microseconds, and a session
   * its connection closed on purpose never reads its end's error.
   */
  endWith(make: () => E): void {
    if (this.done) return
    this.done = true
    this.inboxMakeEnded = make
    this.inboxSchedule()
  }

  private inboxEndedError(): E {
    const make = this.inboxMakeEnded
    if (make !== undefined) {
      this.inboxMakeEnded = undefined
      this.inboxEnded = make()
    }
    return this.inboxEnded as E
  }

  /** Number of frames not yet taken by the reader. */
  get size(): number {
    return this.inboxBuffer?.length ?? 0
  }

  // Built on first use, once: a connection reads through `TakeOrDetach`
  // (a method: the reader makes its effect) and never makes `take`.
  private inboxTakeValue: Effect.Effect<ReadonlyArray<Frame.Frame>, E> | undefined = undefined

  /**
   * Takes every buffered frame at once, waiting if there is none; fails with
   * the terminal error once the buffer is empty and the inbox has ended.
   */
  get take(): Effect.Effect<ReadonlyArray<Frame.Frame>, E> {
    if (this.inboxTakeValue === undefined) {
      // An interrupted take drops its parked resume, so that frames pushed
      // later wait for the next take.
      const cancel = Effect.sync(() => {
        this.inboxWaiter = undefined
      })
      const takeOrEnd = Effect.callback<ReadonlyArray<Frame.Frame>>((resume) => {
        const ready = this.inboxPoll()
        if (ready !== undefined) return resume(ready)
        this.inboxWaiter = resume
        return cancel
      })
      this.inboxTakeValue = Effect.flatMap(
        takeOrEnd,
        (batch) => batch === Direct.END ? Effect.fail(this.inboxEndedError()) : Effect.succeed(batch)
      )
      Direct.register(this.inboxTakeValue, this)
    }
    return this.inboxTakeValue
  }

  /**
   * The connection's take (internal/direct.ts): what is buffered, or `END`,
   * or, with nothing to take, `DETACHED` after detaching the reader, which
   * the flush then wakes through its `Wake` rather than a parked fiber.
   */
  [Direct.TakeOrDetach](): ReadonlyArray<Frame.Frame> {
    if (this.inboxBuffer !== undefined) return this.inboxDrain()
    if (this.done) return Direct.END
    const direct = this.inboxDirect!
    if (direct[Direct.KeepsFiber]) return Direct.PARK
    this.inboxWaiter = DETACHED_WAITER
    direct[Direct.Detached]()
    return Direct.DETACHED
  }

  /**
   * Parks the reader's fiber until there is something to take
   * (`Direct.PARK`). Made for each call, not kept: the reader makes it once
   * per fiber and holds it (internal/connection.ts).
   */
  get [Direct.Park](): Effect.Effect<ReadonlyArray<Frame.Frame>> {
    return Effect.callback<ReadonlyArray<Frame.Frame>>((resume) => {
      const ready = this.inboxPoll()
      if (ready !== undefined) return resume(ready)
      this.inboxWaiter = resume
    })
  }

  /** The terminal error, once `TakeOrDetach` has given `Direct.END`. */
  [Direct.EndedWith](): E {
    return this.inboxEndedError()
  }

  /** Takes the buffered frames (at least one), resuming a paused socket. */
  private inboxDrain(): ReadonlyArray<Frame.Frame> {
    const batch = this.inboxBuffer!
    this.inboxBuffer = undefined
    if (this.inboxPaused) {
      this.inboxPaused = false
      if (!this.done) this.inboxOptions.onResume()
    }
    return batch
  }

  private inboxPoll(): Effect.Effect<ReadonlyArray<Frame.Frame>> | undefined {
    if (this.inboxBuffer !== undefined) return Effect.succeed(this.inboxDrain())
    if (this.done) return ENDED
    return undefined
  }

  private inboxSchedule(): void {
    if (this.inboxFlushScheduled || this.inboxWaiter === undefined) return
    this.inboxMarkDue()
  }

  /** Queues this inbox for the shared flush, once per read. */
  private inboxMarkDue(): void {
    this.inboxFlushScheduled = true
    due.push(this)
    scheduleDue()
  }

  /** Hands the read over: to the detached direct reader, or by waking the parked `take`. The shared flush calls it, once per socket read. */
  [Flush](): void {
    this.inboxFlushScheduled = false
    this.inboxStamp = undefined
    this.inboxReadAverage += (this.inboxReadFrames - this.inboxReadAverage) * READ_AVERAGE_WEIGHT
    this.inboxReadFrames = 0
    const waiter = this.inboxWaiter
    if (waiter === undefined) return
    // The reader waits: a detached direct reader delivers the batch without waking it.
    const direct = this.inboxDirect
    if (direct !== undefined && this.inboxBuffer !== undefined) {
      if (!direct[Direct.ReadDirect](this.inboxDrain())) {
        if (this.inboxWaiter === waiter) {
          this.inboxWaiter = undefined
          this.inboxResume(waiter, NOTHING)
        }
        return
      }
      if (this.inboxWaiter !== waiter) return
    }
    const ready = this.inboxPoll()
    if (ready === undefined) return
    this.inboxWaiter = undefined
    this.inboxResume(waiter, ready)
  }

  /** Resumes a parked `take`, or wakes a reader detached by `TakeOrDetach`. */
  private inboxResume(waiter: Resume, frames: Effect.Effect<ReadonlyArray<Frame.Frame>>): void {
    if (waiter === DETACHED_WAITER) this.inboxDirect![Direct.Wake](frames)
    else waiter(frames)
  }
}
