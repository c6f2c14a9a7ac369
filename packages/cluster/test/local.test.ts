/**
 * `FeedCluster.layerLocal`: the behaviour suite in one process, with no
 * database and no network but the simulator's sockets.
 */
import * as Effect from "effect/Effect"
import * as FeedCluster from "../src/FeedCluster.ts"
import { behaviourSuite } from "./utils/behaviour.ts"

behaviourSuite(
  "FeedCluster.layerLocal",
  () => Effect.succeed(FeedCluster.layerLocal({ reconcileInterval: "1 second" }))
)
