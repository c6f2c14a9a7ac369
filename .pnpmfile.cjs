// pnpm hooks for this workspace (pnpm >= 10.28 reads `beforePacking`).
//
// `beforePacking` shapes the package.json that goes into the tarball of `pnpm pack` and
// `pnpm publish` (so also `changeset publish`), after pnpm has applied `publishConfig`
// (`exports`, `bin` pointing at dist/) and replaced `workspace:` and `catalog:` ranges.
// pnpm 10 keeps `devDependencies` and `scripts` in that manifest; here they go: the
// devDependencies name private workspace packages (`@kharbranth/test-utils`) and the
// scripts run files that are not in the tarball (tsconfig.json, tsconfig.build.json).
//
// Editing this file changes `pnpmfileChecksum` in pnpm-lock.yaml: run `pnpm install` after.
"use strict"

const dependencyFields = ["dependencies", "peerDependencies", "optionalDependencies"]

function beforePacking(pkg) {
  delete pkg.devDependencies
  delete pkg.scripts
  for (const field of dependencyFields) {
    for (const [name, range] of Object.entries(pkg[field] ?? {})) {
      if (/^(workspace|catalog|link|file):/.test(range)) {
        throw new Error(`${pkg.name}: ${field}.${name} is "${range}" in the packed package.json`)
      }
    }
  }
  return pkg
}

module.exports = { hooks: { beforePacking } }
