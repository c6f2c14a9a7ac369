import { defineProject } from "vitest/config"

// Real sockets, child processes and a thousand connections: one file at a
// time, so timing assertions are not measured against a busy neighbour.
export default defineProject({
  test: {
    name: "reliability",
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    fileParallelism: false,
    // Memory assertions measure what is retained after a collection.
    execArgv: ["--expose-gc"]
  }
})
