import { defineProject } from "vitest/config"

// Real sockets, child processes and a thousand connections: one file at a
// time, and after every other project has finished (groupOrder 1), so timing
// assertions are not measured against a busy neighbour.
export default defineProject({
  test: {
    name: "reliability",
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    fileParallelism: false,
    sequence: { groupOrder: 1 },
    // Memory assertions measure what is retained after a collection.
    execArgv: ["--expose-gc"]
  }
})
