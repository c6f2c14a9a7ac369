/**
 * The log line of each `ConnectionEvent`: its level, chosen for an operator
 * (info: opened and closed by the caller; warning: a failed dial, a missed
 * heartbeat, an unasked disconnect such as an idle timeout, a failed send,
 * a session's first failed hook; error: the connection gave up; debug: per
 * session detail, and a session's later failed hooks), a short
 * message with the figures that matter, and the annotations `connection`,
 * `event`, `session` (where the event has one) and `url` (redacted). The
 * connection's `emit` calls `logEvent` once per event, never per frame;
 * below the fiber's minimum log level it returns before building anything.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as References from "effect/References"
import type { ConnectionEvent } from "../ConnectionEvent.ts"

/** The level an event is logged at. */
export const levelOf = (event: ConnectionEvent): LogLevel.Severity => {
  switch (event._tag) {
    case "Queued":
    case "Connecting":
    case "Reconnecting":
    case "RestartRequested":
      return "Debug"
    case "Opened":
      return "Info"
    case "DialFailed":
    case "Disconnected":
    case "HeartbeatMissed":
    case "SendFailed":
    case "HookFailed":
      return "Warn"
    case "Closed":
      // A defect in the dial loop closes with no typed error (close.ts): still a give-up.
      return event.error === undefined && !event.reason.startsWith("defect") ? "Info" : "Error"
  }
}

/** What a failed hook's cause says, in one line. */
const causeMessage = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Error) return error.message === "" ? error.name : `${error.name}: ${error.message}`
  return String(error)
}

/** The message of an event's log line. */
export const messageOf = (event: ConnectionEvent): string => {
  switch (event._tag) {
    case "Queued":
      return `dial attempt ${event.attempt} queued at the dial governor`
    case "Connecting":
      return `connecting (attempt ${event.attempt})`
    case "Opened":
      return `opened session ${event.session} (attempt ${event.attempt}${
        event.protocol === "" ? "" : `, protocol ${event.protocol}`
      })`
    case "DialFailed":
      return `dial attempt ${event.attempt} failed: ${event.error._tag}: ${event.error.message}`
    case "Disconnected":
      return `session ${event.session} ended unexpectedly: ${event.error._tag}: ${event.error.message}`
    case "Reconnecting":
      return `reconnecting in ${event.delay} ms (attempt ${event.attempt})`
    case "HeartbeatMissed":
      return `heartbeat missed on session ${event.session}: no pong within ${event.timeout} ms`
    case "SendFailed":
      return `send failed on session ${event.session}: ${event.error.message}`
    case "HookFailed":
      return `hook ${event.hook} failed on session ${event.session}: ${
        causeMessage(event.cause)
      } (this session's later hook failures: debug)`
    case "RestartRequested":
      return `restart requested on session ${event.session}: ${event.reason}`
    case "Closed":
      return event.error === undefined
        ? `closed: ${event.reason}`
        : `gave up (${event.error._tag}): ${event.reason}`
  }
}

/** The annotations of an event's log line. */
const annotationsOf = (
  connection: string,
  url: string | undefined,
  event: ConnectionEvent
): Record<string, unknown> => {
  const annotations: Record<string, unknown> = { connection, event: event._tag }
  if ("session" in event) annotations.session = event.session
  if (url !== undefined) annotations.url = url
  return annotations
}

/**
 * What a log line needs of its connection: its name, the URL of its last
 * dial (redacted), and the session whose first failed hook was logged as a
 * warning (the session's later ones go to debug: a hook that fails on
 * every frame must not make a warning per frame).
 */
export interface Logged {
  readonly name: string
  shownUrl: string | undefined
  hookFailureWarned: number | undefined
}

/**
 * Logs `event` of `connection`, first noting the URL a `Queued` or
 * `Connecting` event carries (redacted by the dial) for the lines that
 * follow. Nothing is built when the level is below the fiber's
 * `References.MinimumLogLevel`.
 */
export const logEvent = (connection: Logged, event: ConnectionEvent): Effect.Effect<void> => {
  if (event._tag === "Queued" || event._tag === "Connecting") connection.shownUrl = event.url
  const url = connection.shownUrl
  let level = levelOf(event)
  if (event._tag === "HookFailed") {
    if (connection.hookFailureWarned === event.session) level = "Debug"
    else connection.hookFailureWarned = event.session
  }
  return Effect.withFiber((fiber) => {
    if (LogLevel.isGreaterThan(fiber.getRef(References.MinimumLogLevel), level)) return Effect.void
    return Effect.annotateLogs(
      Effect.logWithLevel(level)(messageOf(event)),
      annotationsOf(connection.name, url, event)
    )
  })
}
