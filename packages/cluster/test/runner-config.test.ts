/**
 * `kharbranth-runner`'s environment: what it needs, and a typed error
 * naming the variable when something is missing or wrong.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Runner from "../src/Runner.ts"

const base = { KHARBRANTH_PG_URL: "postgres://u@127.0.0.1:5432/db", KHARBRANTH_RUNNER_PORT: "25101" }

describe("Runner.configFromEnv", () => {
  it.effect("reads the address, listen address, prefix and timings", () =>
    Effect.gen(function*() {
      const config = yield* Runner.configFromEnv({
        ...base,
        KHARBRANTH_RUNNER_HOST: "10.0.0.5",
        KHARBRANTH_LISTEN_HOST: "0.0.0.0",
        KHARBRANTH_LISTEN_PORT: "34000",
        KHARBRANTH_PREFIX: "feeds",
        SHARD_LOCK_EXPIRATION: "8 seconds"
      })
      assert.deepStrictEqual(config.runner, { host: "10.0.0.5", port: 25101, listenHost: "0.0.0.0", listenPort: 34000 })
      assert.strictEqual(config.prefix, "feeds")
      assert.deepStrictEqual(config.sharding, { shardLockExpiration: "8 seconds" })
    }))

  it.effect("names the variable that is missing or wrong", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Record<string, string>, string, string]> = [
        [{ KHARBRANTH_RUNNER_PORT: "1" }, "KHARBRANTH_PG_URL", "required"],
        [{ KHARBRANTH_PG_URL: base.KHARBRANTH_PG_URL }, "KHARBRANTH_RUNNER_PORT", "required"],
        [{ ...base, KHARBRANTH_RUNNER_PORT: "70000" }, "KHARBRANTH_RUNNER_PORT", "not a port"],
        [{ ...base, SHARD_LOCK_EXPIRATION: "soon" }, "SHARD_LOCK_EXPIRATION", "not a duration"]
      ]
      for (const [env, variable, reason] of cases) {
        const error = yield* Effect.flip(Runner.configFromEnv(env))
        assert.strictEqual(error.variable, variable)
        assert.include(error.message, reason)
      }
    }))
})
