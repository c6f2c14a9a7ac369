import { defineProject } from "vitest/config"

export default defineProject({ test: { name: "top-of-book", include: ["test/**/*.test.ts"], testTimeout: 30_000 } })
