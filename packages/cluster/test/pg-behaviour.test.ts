/**
 * `FeedCluster.layerPg`: the behaviour suite with a runner in the test
 * process over a real PostgreSQL (globalSetup): each test its own database,
 * its own runner port.
 */
import { inject } from "@effect/vitest"
import { createDatabase, dropDatabase } from "@kharbranth/test-utils/postgres"
import * as Effect from "effect/Effect"
import * as FeedCluster from "../src/FeedCluster.ts"
import { behaviourSuite } from "./utils/behaviour.ts"

let next = 0

behaviourSuite("FeedCluster.layerPg (a runner in this process)", () =>
  Effect.gen(function*() {
    const n = next++
    const name = `kh_cluster_behaviour_${n}`
    const admin = inject("pgAdminUrl")
    const url = yield* Effect.acquireRelease(
      Effect.promise(() => createDatabase(admin, name)),
      () => Effect.promise(() => dropDatabase(admin, name))
    )
    return FeedCluster.layerPg({
      url,
      runner: { host: "127.0.0.1", port: 25120 + n },
      reconcileInterval: "1 second"
    })
  }))
