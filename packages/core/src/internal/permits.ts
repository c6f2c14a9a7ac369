/**
 * A count of permits taken in arrival order: the dial governor's limit on
 * dials in flight, and `RateWindow`'s one turn at a time.
 *
 * Effect's `Semaphore` copies its whole set of waiters on every release, to
 * wake each that fits. When a thousand connections queue for 64 dial slots,
 * that is a copy of up to a thousand entries per dial: work and garbage that
 * grow with the square of the queue (7.6 KB allocated per connection opened
 * at 3,000, more at 10,000, where it set how far V8's young generation grew;
 * FINDINGS.md). Here every waiter takes one permit, so a release hands its
 * permit to the oldest waiter, in constant time, with no copy.
 *
 * A woken waiter runs on the releaser's stack, as a `Deferred` completion
 * does. Handing over is a loop, not a recursion: a waiter that finishes and
 * releases within the hand-over (a dial that fails at once) adds its permit
 * to the loop's, so ten thousand of them do not deepen the stack.
 */
import * as Effect from "effect/Effect"

interface Waiter {
  resume: (effect: Effect.Effect<void>) => void
  next: Waiter | undefined
  prev: Waiter | undefined
  /** Handed a permit by a release (it then owns it, used or not). */
  granted: boolean
  /** Still queued. */
  queued: boolean
}

export class Permits {
  private free: number
  private head: Waiter | undefined = undefined
  private tail: Waiter | undefined = undefined
  private handing = false

  constructor(permits: number) {
    this.free = permits
  }

  /** Whether a permit could be taken now without waiting, ahead of nobody. */
  get available(): boolean {
    return this.free > 0 && this.head === undefined
  }

  /** Waits for a permit, in arrival order. Interrupted while waiting, it leaves the queue (and passes on a permit it was just handed). */
  readonly acquire: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.available) {
      this.free--
      return resume(Effect.void)
    }
    const waiter: Waiter = { resume, next: undefined, prev: this.tail, granted: false, queued: true }
    if (this.tail === undefined) this.head = waiter
    else this.tail.next = waiter
    this.tail = waiter
    return Effect.sync(() => this.cancel(waiter))
  })

  /** Returns a permit: to the oldest waiter if there is one. */
  release(): void {
    this.free++
    // A release made by a waiter woken below adds to the permits this loop hands out.
    if (this.handing) return
    this.handing = true
    try {
      while (this.free > 0 && this.head !== undefined) {
        const waiter = this.head
        this.unlink(waiter)
        this.free--
        waiter.granted = true
        waiter.resume(Effect.void)
      }
    } finally {
      this.handing = false
    }
  }

  /** Runs `effect` holding a permit; the permit is returned however it ends. */
  with<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.andThen(restore(this.acquire), Effect.ensuring(restore(effect), this.releaseEffect))
    )
  }

  private readonly releaseEffect: Effect.Effect<void> = Effect.sync(() => this.release())

  private cancel(waiter: Waiter): void {
    if (waiter.queued) this.unlink(waiter)
    // Handed a permit in the instant it was interrupted: pass it on.
    else if (waiter.granted) this.release()
  }

  private unlink(waiter: Waiter): void {
    waiter.queued = false
    if (waiter.prev === undefined) this.head = waiter.next
    else waiter.prev.next = waiter.next
    if (waiter.next === undefined) this.tail = waiter.prev
    else waiter.next.prev = waiter.prev
    waiter.next = undefined
    waiter.prev = undefined
  }
}
