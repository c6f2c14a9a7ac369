import { defineProject } from "vitest/config"

export default defineProject({ test: { name: "binance-trades", include: ["test/**/*.test.ts"], testTimeout: 30_000 } })
