/**
 * The `kharbranth-runner` program: one runner of a feed cluster over
 * PostgreSQL, configured by environment, graceful on SIGTERM and SIGINT
 * (it hands its slices over to the other runners, then exits).
 *
 * | variable | meaning |
 * |---|---|
 * | `KHARBRANTH_PG_URL` | PostgreSQL URL (required) |
 * | `KHARBRANTH_RUNNER_HOST`, `KHARBRANTH_RUNNER_PORT` | where the other members reach this runner (host default `127.0.0.1`; port required) |
 * | `KHARBRANTH_LISTEN_HOST`, `KHARBRANTH_LISTEN_PORT` | where it listens, when that differs |
 * | `KHARBRANTH_PREFIX` | table prefix (default `kharbranth`) |
 * | `KHARBRANTH_DEFINITIONS` | a module whose `definitions` export adds feed kinds to `standardDefinitions` |
 * | `KHARBRANTH_RECONCILE_INTERVAL` | the reconciler's period (default `10 seconds`) |
 * | `SHARD_LOCK_EXPIRATION`, `SHARD_LOCK_REFRESH_INTERVAL`, `REFRESH_ASSIGNMENTS_INTERVAL`, `ENTITY_TERMINATION_TIMEOUT` | sharding timings over `pgShardingDefaults` |
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { pathToFileURL } from "node:url"
import * as FeedCluster from "./FeedCluster.ts"
import type * as FeedSlice from "./FeedSlice.ts"

/**
 * The runner's environment is incomplete or wrong: `variable` names which.
 *
 * @category errors
 * @since 0.1.0
 */
export class RunnerConfigError extends Schema.TaggedError<RunnerConfigError>()("RunnerConfigError", {
  variable: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `kharbranth-runner: ${this.variable}: ${this.reason}`
  }
}

/**
 * The runner could not join its cluster or stopped on a failure (the
 * database unreachable, its port taken): `reason` says what.
 *
 * @category errors
 * @since 0.1.0
 */
export class RunnerFailed extends Schema.TaggedError<RunnerFailed>()("RunnerFailed", {
  runner: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `kharbranth-runner ${this.runner}: ${this.reason}`
  }
}

/**
 * A runner's settings, as read from the environment.
 *
 * @category models
 * @since 0.1.0
 */
export interface Config {
  readonly url: string
  readonly runner: FeedCluster.RunnerOptions
  readonly prefix: string | undefined
  readonly definitionsModule: string | undefined
  readonly reconcileInterval: Duration.Input | undefined
  readonly sharding: Partial<
    Record<
      "shardLockExpiration" | "shardLockRefreshInterval" | "refreshAssignmentsInterval" | "entityTerminationTimeout",
      Duration.Input
    >
  >
}

const durations = {
  SHARD_LOCK_EXPIRATION: "shardLockExpiration",
  SHARD_LOCK_REFRESH_INTERVAL: "shardLockRefreshInterval",
  REFRESH_ASSIGNMENTS_INTERVAL: "refreshAssignmentsInterval",
  ENTITY_TERMINATION_TIMEOUT: "entityTerminationTimeout"
} as const

/**
 * Reads a runner's settings from `env`, failing with the first variable that is missing or wrong.
 *
 * @category constructors
 * @since 0.1.0
 */
export const configFromEnv = (
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<Config, RunnerConfigError> =>
  Effect.gen(function*() {
    const fail = (variable: string, reason: string) => Effect.fail(new RunnerConfigError({ variable, reason }))
    const url = env.KHARBRANTH_PG_URL
    if (url === undefined || url === "") {
      return yield* fail("KHARBRANTH_PG_URL", "required: the cluster's PostgreSQL URL")
    }
    const port = (variable: string, required: boolean) => {
      const text = env[variable]
      if (text === undefined || text === "") {
        return required ? fail(variable, "required: a TCP port for the other members") : Effect.succeed(undefined)
      }
      const n = Number(text)
      return Number.isInteger(n) && n > 0 && n < 65536 ? Effect.succeed(n) : fail(variable, `not a port: "${text}"`)
    }
    const runnerPort = (yield* port("KHARBRANTH_RUNNER_PORT", true))!
    const listenPort = yield* port("KHARBRANTH_LISTEN_PORT", false)
    const duration = (variable: string) => {
      const text = env[variable]
      if (text === undefined || text === "") return Effect.succeed(undefined)
      const decoded = Duration.fromInput(text as Duration.Input)
      return decoded._tag === "Some" && Duration.toMillis(decoded.value) > 0
        ? Effect.succeed(text as Duration.Input)
        : fail(variable, `not a duration: "${text}" (e.g. "5 seconds")`)
    }
    const sharding: Record<string, Duration.Input> = {}
    for (const [variable, field] of Object.entries(durations)) {
      const value = yield* duration(variable)
      if (value !== undefined) sharding[field] = value
    }
    return {
      url,
      runner: {
        host: env.KHARBRANTH_RUNNER_HOST || "127.0.0.1",
        port: runnerPort,
        ...(env.KHARBRANTH_LISTEN_HOST ? { listenHost: env.KHARBRANTH_LISTEN_HOST } : {}),
        ...(listenPort === undefined ? {} : { listenPort })
      },
      prefix: env.KHARBRANTH_PREFIX || undefined,
      definitionsModule: env.KHARBRANTH_DEFINITIONS || undefined,
      reconcileInterval: yield* duration("KHARBRANTH_RECONCILE_INTERVAL"),
      sharding
    }
  })

const loadDefinitions = (module: string | undefined) =>
  module === undefined
    ? Effect.succeed(FeedCluster.standardDefinitions)
    : Effect.tryPromise({
      try: () => import(pathToFileURL(module).href) as Promise<{ readonly definitions?: unknown }>,
      catch: (error) =>
        new RunnerConfigError({ variable: "KHARBRANTH_DEFINITIONS", reason: `cannot load: ${String(error)}` })
    }).pipe(
      Effect.flatMap((loaded) =>
        typeof loaded.definitions === "object" && loaded.definitions !== null
          ? Effect.succeed({
            ...FeedCluster.standardDefinitions,
            ...(loaded.definitions as Readonly<Record<string, FeedSlice.Definition>>)
          })
          : Effect.fail(
            new RunnerConfigError({
              variable: "KHARBRANTH_DEFINITIONS",
              reason: `${module} has no "definitions" export`
            })
          )
      )
    )

/** An error and its causes in one line, each message once (`PgConnection: Failed to connect: connect ECONNREFUSED …`). */
const describe = (error: unknown): string => {
  const parts: Array<string> = []
  let at: unknown = error
  for (let depth = 0; depth < 5 && at !== undefined && at !== null; depth++) {
    const text = at instanceof Error ? at.message : String(at)
    if (text !== "" && !parts.includes(text)) parts.push(text)
    at = at instanceof Error ? at.cause : undefined
  }
  return parts.join(": ")
}

/**
 * The runner as a layer: `FeedCluster.layerPg` with the settings of `config`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (config: Config) =>
  Layer.unwrap(Effect.map(loadDefinitions(config.definitionsModule), (definitions) =>
    FeedCluster.layerPg({
      url: config.url,
      runner: config.runner,
      prefix: config.prefix,
      definitions,
      reconcileInterval: config.reconcileInterval,
      sharding: config.sharding
    })))

/**
 * The program: reads the environment, runs the runner until interrupted
 * (SIGTERM, SIGINT: `NodeRuntime.runMain` interrupts it, and the cluster
 * hands its slices over before the process exits).
 *
 * @category constructors
 * @since 0.1.0
 */
export const program = (env: Readonly<Record<string, string | undefined>>) =>
  Effect.gen(function*() {
    const config = yield* configFromEnv(env)
    yield* Effect.logInfo(
      `kharbranth-runner ${config.runner.host}:${config.runner.port} pid ${process.pid}: joining the cluster`
    )
    const where = `${config.runner.host}:${config.runner.port}`
    return yield* Layer.launch(layer(config)).pipe(
      Effect.mapError((error) =>
        new RunnerFailed({
          runner: where,
          reason: describe(error)
        })
      )
    )
  })
