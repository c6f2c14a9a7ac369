import { defineProject } from "vitest/config"

// Runner processes, a PostgreSQL server and real sockets share 2 cores: one
// file at a time, after every other project (groupOrder 2, after reliability's
// 1), so failover timings are not measured against a busy neighbour.
// globalSetup starts a throwaway PostgreSQL (or takes $KHARBRANTH_PG_URL) and
// hands its admin URL to the tests.
export default defineProject({
  test: {
    name: "cluster",
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    fileParallelism: false,
    sequence: { groupOrder: 2 },
    globalSetup: ["@kharbranth/test-utils/postgres-global-setup"]
  }
})
