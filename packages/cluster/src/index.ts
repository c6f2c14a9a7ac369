/**
 * @since 0.1.0
 */

/**
 * Feeds as `effect/cluster` entities over PostgreSQL, with failover: the
 * `FeedCluster` service, its layers `layerLocal` and `layerPg`, and the
 * registry's errors.
 *
 * @since 0.1.0
 */
export * as FeedCluster from "./FeedCluster.ts"

/**
 * The `FeedSlice` entity (one venue connection of a feed): its RPCs, status
 * and frame items, and the `Definitions` of feed kinds.
 *
 * @since 0.1.0
 */
export * as FeedSlice from "./FeedSlice.ts"

/**
 * The `kharbranth-runner` program's settings (read from the environment) and layer.
 *
 * @since 0.1.0
 */
export * as Runner from "./Runner.ts"
