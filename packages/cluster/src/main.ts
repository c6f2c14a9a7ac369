#!/usr/bin/env node
/**
 * The entry point of `kharbranth-runner` (see `Runner.ts`).
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Runner from "./Runner.ts"

Runner.program(process.env).pipe(NodeRuntime.runMain)
