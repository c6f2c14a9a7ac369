/**
 * Fan-out of batches to the subscribers of a stream (a connection's frames
 * or events). Each subscriber has its own queue, bounded with the configured
 * strategy and read in arrays; a batch is offered to it at once. Queues wake
 * their readers on the microtask queue, not once per event-loop turn.
 * Items published before the first subscriber ever arrives are kept for it
 * (up to the capacity), so a program that subscribes right after making a
 * connection misses nothing.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Scheduler from "effect/Scheduler"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/** Queue wake-ups through microtasks (the default scheduler waits for `setImmediate`). */
const microtaskScheduler = new Scheduler.MixedScheduler("sync")

export type Strategy = "suspend" | "sliding" | "dropping"

/**
 * A broadcast of batches: `publish` offers a batch to every subscriber's own
 * queue (bounded by `capacity` with `strategy`), `stream` subscribes when it
 * starts, `end` ends every subscriber's stream after what it was given. Up to
 * `retainLimit` items published before the first subscriber are kept for it.
 */
export class Hub<A> {
  /** Made with the first subscriber: most hubs never have one. */
  private subscribers: Set<Queue.Queue<A, Cause.Done>> | undefined
  private retained: Array<A> | undefined
  private ended = false
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
  private subscribeEffect: Effect.Effect<Queue.Dequeue<A, Cause.Done>, never, Scope.Scope> | undefined
  private streamValue: Stream.Stream<A> | undefined

  /** Subscribes now, for the life of the scope. */
  get subscribe(): Effect.Effect<Queue.Dequeue<A, Cause.Done>, never, Scope.Scope> {
    return this.subscribeEffect ??= this.makeSubscribe()
  }

  /** A stream that subscribes when it starts running. */
  get stream(): Stream.Stream<A> {
    return this.streamValue ??= Stream.unwrap(Effect.map(this.subscribe, Stream.fromQueue))
  }

  /** Offers a batch to every subscriber; suspends only when a `suspend` subscriber is full. */
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
    let blocked: Array<Queue.Queue<A, Cause.Done>> | undefined
    for (const queue of this.subscribers) {
      const size = Queue.sizeUnsafe(queue)
      if (this.strategy === "suspend") {
        if (this.capacity - size >= batch.length) Queue.offerAllUnsafe(queue, batch)
        else (blocked ??= []).push(queue)
      } else if (this.strategy === "dropping") {
        this.dropped += Queue.offerAllUnsafe(queue, batch).length
      } else {
        this.dropped += Math.max(0, size + batch.length - this.capacity)
        Queue.offerAllUnsafe(queue, batch)
      }
    }
    if (blocked === undefined) return Effect.void
    return Effect.forEach(blocked, (queue) => Queue.offerAll(queue, batch), { discard: true })
  }

  /** Ends every subscriber's stream once it has read what it was given (made when asked for: a hub ends once). */
  get end(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.ended = true
      this.retained = undefined
      if (this.subscribers !== undefined) for (const queue of this.subscribers) Queue.endUnsafe(queue)
    })
  }

  /** Whether a published batch would reach anyone (a subscriber, or the first one's retained buffer). */
  get wanted(): boolean {
    return !this.ended && ((this.subscribers !== undefined && this.subscribers.size > 0) || this.retained !== undefined)
  }

  private makeSubscribe(): Effect.Effect<Queue.Dequeue<A, Cause.Done>, never, Scope.Scope> {
    return Effect.acquireRelease(
    Effect.provideService(
      Queue.make<A, Cause.Done>({ capacity: this.capacity, strategy: this.strategy }),
      Scheduler.Scheduler,
      microtaskScheduler
    ).pipe(Effect.map((queue) => {
      if (this.ended) {
        Queue.endUnsafe(queue)
        return queue
      }
      if (this.retained !== undefined) {
        Queue.offerAllUnsafe(queue, this.retained)
        this.retained = undefined
      }
      if (this.subscribers === undefined) this.subscribers = new Set()
      this.subscribers.add(queue)
      return queue
    })),
    (queue) =>
      Effect.sync(() => {
        this.subscribers?.delete(queue)
        Queue.shutdownUnsafe(queue)
      })
    )
  }
}
