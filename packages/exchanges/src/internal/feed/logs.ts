/**
 * The log line of each `FeedEvent`: its level, chosen for an operator
 * (warning: a sequence gap, a held stream, a rotation that failed, topics the
 * venue refused, a stale topic, a user function that threw, a login refused
 * and retried, a corrected clock, an authorization the venue ended; error: a
 * resync that failed, a login refused for good; info: a rotation done, a
 * venue's numbering reset, a session logged in; debug: the rest), a short message with the figures that matter, and the annotations
 * `feed`, `event`, and `shard`, `stream` or `topic` where the event names
 * one. `Connection` events are not logged here: the core connection logs
 * each of its own events already. The feed's `emit` calls `logEvent` once
 * per event; below the fiber's minimum log level it returns before building
 * anything.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as References from "effect/References"
import type { FeedEvent } from "./model.ts"

/** The level an event is logged at; `undefined` for events not logged here. */
export const levelOf = (event: FeedEvent): LogLevel.Severity | undefined => {
  switch (event._tag) {
    case "Connection":
      return undefined
    case "GapDetected":
    case "Held":
    case "RotationFailed":
    case "SubscribeFailed":
    case "Stale":
    case "ReaderFailed":
      return "Warn"
    case "ResyncFailed":
      return "Error"
    case "AuthRefused":
      return event.action === "stop" ? "Error" : "Warn"
    case "ClockAdjusted":
    case "AuthEnded":
      return "Warn"
    case "Rotated":
    case "SequenceReset":
    case "Authenticated":
      return "Info"
    case "Subscribed":
    case "Unsubscribed":
    case "ShardAdded":
    case "ShardRemoved":
    case "Replayed":
    case "RotationStarted":
    case "Released":
      return "Debug"
  }
}

/** What a failure says, in one line. */
const errorMessage = (error: unknown): string =>
  error instanceof Error ? (error.message === "" ? error.name : `${error.name}: ${error.message}`) : String(error)

const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`

/** The message of an event's log line. */
export const messageOf = (event: FeedEvent): string => {
  switch (event._tag) {
    case "Subscribed":
      return `venue confirmed ${count(event.topics.length, "topic")}`
    case "SubscribeFailed":
      return `venue refused ${count(event.topics.length, "topic")} (${
        event.permanent ? "permanent" : "retrying"
      }): ${event.reason}`
    case "Unsubscribed":
      return `unsubscribed ${count(event.topics.length, "topic")}`
    case "ShardAdded":
      return `shard ${event.shard} added (connection ${event.connection})`
    case "ShardRemoved":
      return `shard ${event.shard} removed`
    case "Replayed":
      return `replayed session ${event.session}: ${event.confirmed} confirmed, ${event.failed.length} failed, ${
        count(event.requests, "request")
      } in ${event.took} ms`
    case "RotationStarted":
      return `rotation started: ${event.reason}`
    case "Rotated":
      return `rotation done: generation ${event.generation} in ${event.took} ms${
        event.overlapped ? "" : " (forced, no overlap)"
      }`
    case "RotationFailed":
      return `rotation failed: ${event.reason}`
    case "Stale":
      return `topic quiet for ${event.quietFor} ms: ${event.action}`
    case "GapDetected":
      return `sequence gap: expected ${event.expected}, got ${event.got}${
        event.sessionStart ? " (at session start)" : ""
      }: ${event.action}`
    case "Held":
      return `stream held: ${event.reason}`
    case "Released":
      return `stream released: ${count(event.frames, "frame")} delivered, ${event.dropped} dropped`
    case "SequenceReset":
      return `venue reset the numbering: ${event.from} to ${event.to}`
    case "ReaderFailed":
      return `${event.reader} function threw: ${errorMessage(event.error)}`
    case "ResyncFailed":
      return `resync failed: ${errorMessage(Cause.squash(event.cause))}`
    case "Authenticated":
      return `${event.connection}: session ${event.session} logged in in ${event.took} ms`
    case "AuthRefused":
      return `${event.connection}: login refused (${event.kind}): ${event.code} ${event.reason}: ${
        event.action === "stop"
          ? "feed stopped"
          : event.action === "retry"
          ? "clock corrected, logging in again"
          : "restarting the session"
      }`
    case "ClockAdjusted":
      return `venue clock is ${event.offset} ms from this machine's: signing with it`
    case "AuthEnded":
      return `${event.connection}: the venue ended the session's authorization: logging in again`
    case "Connection":
      return `${event.connection}: ${event.event._tag}`
  }
}

/** The annotations of an event's log line. */
const annotationsOf = (feed: string, event: FeedEvent): Record<string, unknown> => {
  const annotations: Record<string, unknown> = { feed, event: event._tag }
  if ("shard" in event) annotations.shard = event.shard
  if ("stream" in event) annotations.stream = event.stream
  if ("topic" in event) annotations.topic = event.topic
  else if ("topics" in event) annotations.topic = event.topics.join(",")
  return annotations
}

/**
 * Logs `event` of feed `feed`. Nothing is built for a `Connection` event or
 * when the level is below the fiber's `References.MinimumLogLevel`.
 */
export const logEvent = (feed: string, event: FeedEvent): Effect.Effect<void> => {
  const level = levelOf(event)
  if (level === undefined) return Effect.void
  return Effect.withFiber((fiber) => {
    if (LogLevel.isGreaterThan(fiber.getRef(References.MinimumLogLevel), level)) return Effect.void
    return Effect.annotateLogs(Effect.logWithLevel(level)(messageOf(event)), annotationsOf(feed, event))
  })
}
