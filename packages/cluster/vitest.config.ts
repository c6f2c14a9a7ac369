import { defineProject } from "vitest/config"

// Tests run one after another: each waits on real sockets and short simulator
// deadlines, which stay reliable only without a crowd on 2 cores.
export default defineProject({
  test: { name: "cluster", include: ["test/**/*.test.ts"], testTimeout: 20_000 }
})
