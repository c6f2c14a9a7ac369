/**
 * A control, not a library: raw `ws` whose text messages are read by one
 * `Stream.runForEach` through the thinnest pull Effect allows (a fiber
 * parked in `Effect.callback`, resumed on `ws`'s stack with what was
 * pushed since its last pull), an `Effect.sync` per message around the
 * handler. Against `kharbranth-stream` it tells apart what reading frames
 * as an effect per frame costs in the Effect runtime itself from what
 * Kharbranth adds on top. Every message is resumed alone, as Kharbranth
 * does while reads are small: this control belongs in the fixed-rate
 * scenario, not in a flood, where Kharbranth hands over a read at a time.
 */
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type { Adapter } from "./Adapter.ts"
import { makeWs } from "./ws.ts"

type Batch<A> = readonly [A, ...Array<A>]

/**
 * The thinnest Effect stream of pushed items: what was pushed since the
 * consumer's last pull, the consumer's resume while it is parked (called
 * by the push itself), nothing else. Also used by `src/streamFloor.ts`.
 */
export class Pending<A> {
  private buffer: Array<A> = []
  private waiter: ((batch: Effect.Effect<Batch<A>, Cause.Done>) => void) | undefined = undefined

  /** Adds an item; resumes the parked consumer with it. */
  push(item: A): void {
    this.buffer.push(item)
    const waiter = this.waiter
    if (waiter !== undefined) {
      this.waiter = undefined
      waiter(Effect.succeed(this.take()))
    }
  }

  private take(): Batch<A> {
    const batch = this.buffer as unknown as Batch<A>
    this.buffer = []
    return batch
  }

  /** Everything pushed, or a park until the next push. */
  readonly pull: Effect.Effect<Batch<A>, Cause.Done> = Effect.callback((resume) => {
    if (this.buffer.length > 0) return resume(Effect.succeed(this.take()))
    this.waiter = resume
  })

  readonly stream: Stream.Stream<A> = Stream.fromChannel(
    Channel.fromTransform(() => Effect.succeed(this.pull))
  )
}

interface Message {
  readonly index: number
  readonly data: string
}

/** Raw `ws` read through one Effect stream consumer: the control for an effect per frame. */
export const adapter: Adapter = {
  start: async (config, url, handlers) => {
    const pending = new Pending<Message>()
    const consumer = Effect.runFork(
      Stream.runForEach(pending.stream, (m) => Effect.sync(() => handlers.onMessage(m.index, m.data)))
    )
    const sockets = await makeWs({ batched: false, deliver: (index, data) => pending.push({ index, data }) }).start(
      config,
      url,
      handlers
    )
    return {
      stop: async () => {
        await sockets.stop()
        await Effect.runPromise(Fiber.interrupt(consumer))
      }
    }
  }
}
