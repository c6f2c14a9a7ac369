#!/usr/bin/env node
// kharbranth-runner: one runner of a feed cluster over PostgreSQL (see src/Runner.ts for its environment).
// The published package runs its built code; a workspace checkout runs the TypeScript source (Node >= 22.18).
import { existsSync } from "node:fs"

const built = new URL("../dist/main.js", import.meta.url)
await import(existsSync(built) ? built.href : new URL("../src/main.ts", import.meta.url).href)
