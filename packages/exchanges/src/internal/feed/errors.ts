/**
 * The typed errors of a feed, shared by its modules; `Feed` re-exports them.
 */
import * as Schema from "effect/Schema"

/**
 * A subscribe or unsubscribe the venue rejected, or did not answer within
 * `confirmTimeout`; or topics the feed cannot take. `permanent` is true when
 * the topics were dropped for good (a rejection the venue documents as
 * final, a venue cap); false when they stay registered and are retried with
 * backoff (a transient rejection, a late answer).
 *
 * @category errors
 * @since 0.1.0
 */
export class SubscriptionError extends Schema.TaggedError<SubscriptionError>()("SubscriptionError", {
  feed: Schema.String,
  op: Schema.Literals(["subscribe", "unsubscribe"]),
  topics: Schema.Array(Schema.String),
  reason: Schema.String,
  permanent: Schema.optionalKey(Schema.Boolean)
}) {
  override get message(): string {
    const outlook = this.op === "unsubscribe" || this.permanent === undefined
      ? ""
      : this.permanent
      ? " (final: not retried)"
      : " (kept: retried with backoff)"
    return `feed "${this.feed}": ${this.op} ${this.topics.join(", ")} failed: ${this.reason}${outlook}`
  }
}
