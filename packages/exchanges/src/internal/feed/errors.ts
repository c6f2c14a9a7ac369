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

/**
 * The venue refused a private feed's login for good: a bad API key, secret
 * or passphrase, a missing permission, or a clock the venue still refused
 * after one correction by its server time. `code` is the venue's own
 * (`60005`, `-2015`, `EAPI:Invalid key`…), `reason` its text; neither ever
 * holds a secret. The feed stops: its connections close, waiting calls fail
 * with this error, and it is not retried.
 *
 * @category errors
 * @since 0.1.0
 */
export class AuthFailed extends Schema.TaggedError<AuthFailed>()("AuthFailed", {
  feed: Schema.String,
  venue: Schema.String,
  code: Schema.String,
  reason: Schema.String,
  kind: Schema.Literals(["credentials", "clock", "config"])
}) {
  override get message(): string {
    const what = this.kind === "config"
      ? "cannot log in"
      : this.kind === "clock"
      ? "refused the login's timestamp even after correcting the clock by its server time"
      : "refused the login"
    return `feed "${this.feed}": ${this.venue} ${what}: ${this.code} ${this.reason} (the feed stopped; not retried)`
  }
}
