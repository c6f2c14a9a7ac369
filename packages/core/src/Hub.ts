/**
 * The broadcast a connection uses for its `frames` and `events`, for
 * libraries built on Kharbranth that fan out batches of their own (the
 * exchange feeds of `@kharbranth/exchanges` do): each subscriber gets its own
 * bounded buffer of whole batches (shared, never copied or changed), read an
 * array at a time; a parked subscriber is resumed by the publish itself; and
 * items published before the first subscriber arrives are kept for it up to
 * a limit, even past the end.
 *
 * @example
 * ```ts
 * import { Hub } from "@kharbranth/core"
 * import { Effect, Stream } from "effect"
 *
 * const hub = new Hub.Hub<number>(1024, "suspend", 1024)
 * const program = Effect.gen(function*() {
 *   yield* hub.publish([1, 2, 3]) // kept for the first subscriber
 *   yield* hub.end
 *   return yield* Stream.runCollect(hub.stream) // [1, 2, 3]
 * })
 * ```
 *
 * @since 0.1.0
 */
export {
  /**
   * `new Hub(capacity, strategy, retainLimit)`: `publish(batch)` (suspends
   * only when a `suspend` subscriber is full; a batch larger than the
   * capacity waits for an empty buffer and goes in whole), `stream`,
   * `subscribe` (a scoped pull of the next non-empty array, failing with
   * `Cause.Done` after the end), `end`, `wanted`, `dropped`.
   *
   * @category models
   * @since 0.1.0
   */
  Hub,
  /**
   * What a full subscriber buffer does: `suspend` the publisher, or drop the
   * oldest (`sliding`) or the newest (`dropping`) items.
   *
   * @category models
   * @since 0.1.0
   */
  type Strategy
} from "./internal/hub.ts"
