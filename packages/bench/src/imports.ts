/**
 * What loading modules does to V8's young generation, by hand: `node
 * src/imports.ts [module ...]` imports the modules named (none: a bare
 * process), then allocates short-lived garbage for a while, and prints the
 * import's wall time, the heap in use and the young generation's size
 * (`new_space`, both semispaces) after the import and after the garbage.
 * V8 grows the young generation while much of what it holds survives its
 * collections, as a module graph's objects all do, and does not shrink it
 * back while the process keeps allocating; a minor collection's pause grows
 * with the young generation it sweeps. So a process that has loaded
 * `effect` pauses longer at each minor collection than one that has loaded
 * `ws` alone, whatever it then does (FINDINGS.md, thirteenth round).
 *
 *     node src/imports.ts ws
 *     node src/imports.ts effect/Effect effect/Stream effect/Schema
 *     node src/imports.ts @kharbranth/core @kharbranth/node
 */
import * as v8 from "node:v8"

const modules = process.argv.slice(2)

const youngMb = (): number =>
  (v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0) / 1048576

const started = performance.now()
for (const name of modules) await import(name)
const importMs = performance.now() - started
const afterImport = youngMb()

// Garbage that dies young, as a process handling messages makes: enough for
// several minor collections at any young-generation size V8 picks here.
let sink: unknown
for (let i = 0; i < 2_000_000; i++) sink = { index: i, items: [i] }
void sink

console.log(
  `${modules.length === 0 ? "(nothing)" : modules.join(" ")}: import ${importMs.toFixed(0)} ms, ` +
    `heap used ${(process.memoryUsage().heapUsed / 1048576).toFixed(1)} MB, ` +
    `young generation ${afterImport} MB after the import, ${youngMb()} MB after the garbage`
)
