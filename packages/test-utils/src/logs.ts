/**
 * Capturing log records in tests: `capture(minimum)` gives the records a
 * program logs (level, message, annotations) and a `provide` that runs the
 * program with that logger and minimum level.
 */
import { Effect, Logger, References } from "effect"
import type { LogLevel } from "effect"

/** One captured record. */
export interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

/** A logger that keeps each record's level, message and annotations, and the minimum level to run at. */
export const capture = (minimum: LogLevel.LogLevel) => {
  const lines: Array<Line> = []
  const logger = Logger.make(({ fiber, logLevel, message }) => {
    const parts = Array.isArray(message) ? message : [message]
    lines.push({
      level: logLevel,
      message: parts.map(String).join(" "),
      annotations: { ...fiber.getRef(References.CurrentLogAnnotations) }
    })
  })
  const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provide(Logger.layer([logger])),
      Effect.provideService(References.MinimumLogLevel, minimum)
    )
  return { lines, provide }
}
