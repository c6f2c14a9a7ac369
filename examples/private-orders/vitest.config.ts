import { defineProject } from "vitest/config"

export default defineProject({ test: { name: "private-orders", include: ["test/**/*.test.ts"], testTimeout: 30_000 } })
