/**
 * Fan-out of batches to the subscribers of a stream (a connection's frames
 * or events, a manager's merged frames). Each subscriber has its own buffer,
 * bounded with the configured strategy, that holds the published batches
 * themselves: a batch is handed to every subscriber without copying, and a
 * subscriber's pull returns it as it is (several waiting batches are joined
 * into one array). A parked subscriber is resumed by the publish itself, on
 * the publisher's stack, with no scheduler hop: the consumer runs as soon as
 * the socket read's frames are delivered, once per batch, never per item.
 * Items published before the first subscriber ever arrives are kept for it
 * (up to the retain limit), so a program that subscribes right after making a
 * connection misses nothing.
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

export type Strategy = "suspend" | "sliding" | "dropping"

/**
 * One subscriber's next items: a non-empty array, or a failure with
 * `Cause.Done` once the hub has ended and everything given was read.
 */
export type Pull<A> = Effect.Effect<Arr.NonEmptyReadonlyArray<A>, Cause.Done>

type Resume<A> = (effect: Pull<A>) => void

const DONE: Pull<never> = Cause.done()

/**
 * Frames kept for a stream's first subscriber, at most (fewer if the
 * subscriber's capacity is smaller); past that many, none. Enough for a
 * program that subscribes right after making its connections; small
 * enough that a program that never subscribes (hooks only) keeps its
 * first frames for a moment, not for seconds: kept frames outlive young
 * collections, and each copy of them lengthens a pause.
 */
export const RETAINED_FRAMES = 1024

/** Who would take a batch published now (see `Hub.readers`). */
export type Readers = typeof NO_READERS | typeof READERS_WAITING | typeof READERS_BUSY
export const NO_READERS = 0
export const READERS_WAITING = 1
export const READERS_BUSY = 2

/** One subscriber's buffer of whole batches. */
class Subscriber<A> {
  private batches: Array<ReadonlyArray<A>> = []
  /** Items buffered. */
  size = 0
  private waiter: Resume<A> | undefined = undefined
  /** Publishers waiting for room (`suspend` only). */
  private roomWaiters: Array<() => void> | undefined = undefined
  private ended = false
  /** Unsubscribed: takes nothing more and holds no publisher. */
  closed = false
  /** The hub's publish count when it subscribed: a batch being published then is not its own. */
  readonly joined: number

  private readonly capacity: number

  constructor(capacity: number, joined: number) {
    this.capacity = capacity
    this.joined = joined
  }

  /** Adds a batch that fits (the caller checked the strategy); wakes a parked reader. */
  put(batch: ReadonlyArray<A>): void {
    this.batches.push(batch)
    this.size += batch.length
    const waiter = this.waiter
    if (waiter !== undefined) {
      this.waiter = undefined
      waiter(Effect.succeed(this.takeAll()))
    }
  }

  /** Whether a reader is parked waiting for the next batch. */
  get waiting(): boolean {
    return this.waiter !== undefined
  }

  /** `suspend`: whether a batch may be put now. A batch larger than the capacity goes into an empty buffer whole. */
  fits(length: number): boolean {
    return this.closed || this.size === 0 || this.capacity - this.size >= length
  }

  /** `sliding`: drops the oldest items beyond the capacity; returns how many. */
  trim(): number {
    let excess = this.size - this.capacity
    if (excess <= 0) return 0
    const lost = excess
    // Batches are shared with other subscribers: slice, never mutate.
    while (excess > 0) {
      const first = this.batches[0]!
      if (first.length <= excess) {
        this.batches.shift()
        excess -= first.length
      } else {
        this.batches[0] = first.slice(excess)
        excess = 0
      }
    }
    this.size -= lost
    return lost
  }

  end(): void {
    this.ended = true
    const waiter = this.waiter
    if (waiter !== undefined && this.size === 0) {
      this.waiter = undefined
      waiter(DONE)
    }
  }

  close(): void {
    this.closed = true
    this.batches = []
    this.size = 0
    this.wakePublishers()
  }

  /** Waits until a `suspend` publisher may try again. */
  readonly room: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.closed || this.size === 0) return resume(Effect.void)
    const wake = () => resume(Effect.void)
    ;(this.roomWaiters ??= []).push(wake)
    return Effect.sync(() => {
      const waiters = this.roomWaiters
      const i = waiters === undefined ? -1 : waiters.indexOf(wake)
      if (i >= 0) waiters!.splice(i, 1)
    })
  })

  /** Everything buffered, or a park until the next batch or the end. Built once. */
  readonly pull: Pull<A> = Effect.callback<Arr.NonEmptyReadonlyArray<A>, Cause.Done>((resume) => {
    if (this.size > 0) return resume(Effect.succeed(this.takeAll()))
    if (this.ended || this.closed) return resume(DONE)
    this.waiter = resume
    return this.cancelPull
  })

  private readonly cancelPull: Effect.Effect<void> = Effect.sync(() => {
    this.waiter = undefined
  })

  /** Everything buffered (at least one item), as one array. */
  private takeAll(): Arr.NonEmptyReadonlyArray<A> {
    const batches = this.batches
    const taken = (batches.length === 1 ? batches[0]! : batches.flat()) as Arr.NonEmptyReadonlyArray<A>
    this.batches = []
    this.size = 0
    this.wakePublishers()
    return taken
  }

  private wakePublishers(): void {
    const waiters = this.roomWaiters
    if (waiters === undefined) return
    this.roomWaiters = undefined
    for (const wake of waiters) wake()
  }
}

/**
 * A broadcast of batches: `publish` hands a batch to every subscriber's own
 * buffer (bounded by `capacity` with `strategy`), `stream` subscribes when it
 * starts, `end` ends every subscriber's stream after what it was given. Up to
 * `retainLimit` items published before the first subscriber are kept for it.
 */
export class Hub<A> {
  /** Made with the first subscriber: most hubs never have one. */
  private subscribers: Set<Subscriber<A>> | undefined
  private retained: Array<A> | undefined
  private ended = false
  /** Publishes begun: a subscriber that joins during one (on the stack of a reader it woke) skips it. */
  private published = 0
  /** Items a `sliding` or `dropping` subscriber lost. */
  dropped = 0

  private readonly capacity: number
  private readonly strategy: Strategy
  private readonly retainLimit: number

  constructor(capacity: number, strategy: Strategy, retainLimit: number) {
    this.capacity = capacity
    this.strategy = strategy
    this.retainLimit = retainLimit
    this.retained = retainLimit > 0 ? [] : undefined
  }

  // Built on first use: most connections under a manager never have a subscriber.
  private streamValue: Stream.Stream<A> | undefined

  /**
   * Subscribes now, for the life of the scope: the pull gives everything
   * published since the previous pull (waiting for it), then `Cause.Done`
   * once the hub has ended.
   */
  get subscribe(): Effect.Effect<Pull<A>, never, Scope.Scope> {
    return Effect.flatMap(Effect.scope, (scope) => this.subscribeIn(scope))
  }

  /** A stream that subscribes when it starts running, for as long as it runs. */
  get stream(): Stream.Stream<A> {
    return this.streamValue ??= Stream.fromChannel(Channel.fromTransform((_, scope) => this.subscribeIn(scope)))
  }

  /** Hands a batch to every subscriber; suspends only when a `suspend` subscriber is full. */
  publish(batch: ReadonlyArray<A>): Effect.Effect<void> {
    if (batch.length === 0 || this.ended) return Effect.void
    if (this.retained !== undefined) {
      if (this.retained.length + batch.length <= this.retainLimit) {
        for (const item of batch) this.retained.push(item)
      } else {
        this.retained = undefined
      }
      return Effect.void
    }
    if (this.subscribers === undefined) return Effect.void
    let blocked: Array<Subscriber<A>> | undefined
    const round = ++this.published
    for (const subscriber of this.subscribers) {
      // A `put` may wake a reader on this stack; it may finish, unsubscribe and have a new subscriber
      // join before this loop ends. A Set's iteration visits what is added meanwhile: without this the
      // newcomer would get the batch its predecessor already took.
      if (subscriber.joined === round) continue
      if (this.strategy === "suspend") {
        if (subscriber.fits(batch.length)) subscriber.put(batch)
        else (blocked ??= []).push(subscriber)
      } else if (this.strategy === "dropping") {
        const room = this.capacity - subscriber.size
        if (room >= batch.length) subscriber.put(batch)
        else {
          if (room > 0) subscriber.put(batch.slice(0, room))
          this.dropped += batch.length - Math.max(0, room)
        }
      } else {
        subscriber.put(batch)
        this.dropped += subscriber.trim()
      }
    }
    if (blocked === undefined) return Effect.void
    return Effect.forEach(blocked, (subscriber) => this.offerWhenRoom(subscriber, batch), { discard: true })
  }

  private offerWhenRoom(subscriber: Subscriber<A>, batch: ReadonlyArray<A>): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (subscriber.closed) return Effect.void
      if (subscriber.fits(batch.length)) {
        subscriber.put(batch)
        return Effect.void
      }
      return Effect.flatMap(subscriber.room, () => this.offerWhenRoom(subscriber, batch))
    })
  }

  /**
   * Ends every subscriber's stream once it has read what it was given. Items
   * kept for a first subscriber stay for it: it reads them, then the end.
   */
  get end(): Effect.Effect<void> {
    // Made when asked for: a hub ends once, and most hubs are idle connections'.
    return Effect.sync(() => this.endNow())
  }

  /** `end`, run now. */
  endNow(): void {
    this.ended = true
    if (this.subscribers !== undefined) { for (const subscriber of this.subscribers) subscriber.end() }
  }

  /** Whether a published batch would reach anyone (a subscriber, or the first one's retained buffer). */
  get wanted(): boolean {
    return !this.ended && ((this.subscribers !== undefined && this.subscribers.size > 0) || this.retained !== undefined)
  }

  /**
   * Who would take a batch published now: `NO_READERS` (nobody: it would be
   * dropped), `READERS_WAITING` (every subscriber is parked waiting for
   * one, or it would be kept for the first subscriber), or `READERS_BUSY`
   * (a subscriber is busy with earlier items).
   */
  get readers(): Readers {
    if (this.ended) return NO_READERS
    if (this.retained !== undefined) return READERS_WAITING
    const subscribers = this.subscribers
    if (subscribers === undefined || subscribers.size === 0) return NO_READERS
    for (const subscriber of subscribers) if (!subscriber.waiting) return READERS_BUSY
    return READERS_WAITING
  }

  private subscribeIn(scope: Scope.Scope): Effect.Effect<Pull<A>> {
    return Effect.suspend(() => {
      const subscriber = new Subscriber<A>(this.capacity, this.published)
      if (this.retained !== undefined) {
        if (this.retained.length > 0) subscriber.put(this.retained)
        this.retained = undefined
      }
      if (this.ended) {
        subscriber.end()
        return Effect.succeed(subscriber.pull)
      }
      if (this.subscribers === undefined) this.subscribers = new Set()
      this.subscribers.add(subscriber)
      return Effect.as(
        Scope.addFinalizer(
          scope,
          Effect.sync(() => {
            this.subscribers?.delete(subscriber)
            subscriber.close()
          })
        ),
        subscriber.pull
      )
    })
  }
}
