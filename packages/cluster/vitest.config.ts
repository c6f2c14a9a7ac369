import { defineProject } from "vitest/config"

// Tests run one after another: runner processes, a PostgreSQL server and real
// sockets share 2 cores. globalSetup starts a throwaway PostgreSQL (or takes
// $KHARBRANTH_PG_URL) and hands its admin URL to the tests.
export default defineProject({
  test: {
    name: "cluster",
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    globalSetup: ["@kharbranth/test-utils/postgres-global-setup"]
  }
})
