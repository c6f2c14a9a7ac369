// Checks the tarballs `pnpm pack` made of the published packages, as the registry would get them:
//   node .ci/check-packed.mjs <directory with the .tgz files>
// Each package.json must be clean (no devDependencies, no scripts, no workspace:/catalog:/file:/link:
// ranges, nothing private of this workspace among its dependencies) and carry repository (with its
// directory), homepage and bugs; every exports / bin target must be in the tarball; every module that
// the package's src/index.ts re-exports must have its subpath; the bin must be built JS with a shebang;
// LICENSE and a README without relative links must be there. Prints one line per package; exits 1
// with every problem found.
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const dir = process.argv[2]
if (dir === undefined) {
  console.error("usage: node .ci/check-packed.mjs <directory with the .tgz files>")
  process.exit(2)
}

const workspacePackages = ["packages", "examples"].flatMap((group) =>
  fs.readdirSync(path.join(root, group)).map((name) => path.join(root, group, name, "package.json"))
    .filter((file) => fs.existsSync(file))
    .map((file) => JSON.parse(fs.readFileSync(file, "utf8")))
)
const privateNames = new Set(workspacePackages.filter((pkg) => pkg.private === true).map((pkg) => pkg.name))

const tar = (args) => execFileSync("tar", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
const problems = []
const tarballs = fs.readdirSync(dir).filter((file) => file.endsWith(".tgz")).sort()
if (tarballs.length === 0) problems.push(`no .tgz in ${dir}`)

for (const tarball of tarballs) {
  const file = path.join(dir, tarball)
  const files = new Set(tar(["tzf", file]).split("\n").filter(Boolean).map((f) => f.replace(/^package\//, "")))
  const read = (name) => tar(["xzf", file, "-O", `package/${name}`])
  const pkg = JSON.parse(read("package.json"))
  const problem = (text) => problems.push(`${pkg.name ?? tarball}: ${text}`)

  if (pkg.devDependencies !== undefined) problem(`devDependencies left: ${Object.keys(pkg.devDependencies).join(", ")}`)
  if (pkg.scripts !== undefined) problem(`scripts left: ${Object.keys(pkg.scripts).join(", ")}`)
  for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
    for (const [name, range] of Object.entries(pkg[field] ?? {})) {
      if (/^(workspace|catalog|file|link):/.test(range)) problem(`${field}.${name} is "${range}"`)
      if (privateNames.has(name)) problem(`${field}.${name} is a private workspace package`)
    }
  }
  const repository = pkg.repository ?? {}
  if (typeof repository.url !== "string" || typeof repository.directory !== "string") {
    problem("repository needs url and directory")
  }
  if (typeof pkg.homepage !== "string") problem("no homepage")
  if (typeof pkg.bugs?.url !== "string") problem("no bugs.url")

  for (const name of ["LICENSE", "README.md", "package.json"]) {
    if (!files.has(name)) problem(`${name} not in the tarball`)
  }
  if (files.has("README.md")) {
    for (const [, target] of read("README.md").matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!/^(https?:\/\/|mailto:|#)/.test(target)) problem(`README links to "${target}" (dead on the registry page)`)
    }
  }

  // exports: ".", "./package.json", and one subpath per module src/index.ts re-exports; every target packed.
  const exportsMap = pkg.exports ?? {}
  const targets = (value) => typeof value === "string" ? [value] : Object.values(value ?? {}).flatMap((v) => targets(v))
  for (const [subpath, value] of Object.entries(exportsMap)) {
    for (const target of targets(value)) {
      if (!files.has(target.replace(/^\.\//, ""))) problem(`exports["${subpath}"] -> ${target}, not in the tarball`)
      if (subpath !== "./package.json" && !target.startsWith("./dist/")) {
        problem(`exports["${subpath}"] -> ${target}, not built`)
      }
    }
  }
  if (exportsMap["./package.json"] !== "./package.json") problem(`no "./package.json" export`)
  const index = path.join(root, repository.directory ?? "", "src", "index.ts")
  if (fs.existsSync(index)) {
    const modules = [...fs.readFileSync(index, "utf8").matchAll(/from "\.\/([^"/]+)\.ts"/g)].map((m) => m[1])
    for (const module of new Set(modules)) {
      if (exportsMap[`./${module}`] === undefined) {
        problem(`src/index.ts re-exports ./${module}.ts, no "./${module}" export`)
      }
    }
  } else {
    problem(`cannot find ${index} (from repository.directory)`)
  }

  const bins = typeof pkg.bin === "string" ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {})
  for (const [command, target] of Object.entries(bins)) {
    const inTarball = target.replace(/^\.\//, "")
    if (!files.has(inTarball)) problem(`bin ${command} -> ${target}, not in the tarball`)
    else if (!/^dist\/.*\.js$/.test(inTarball)) {
      problem(`bin ${command} -> ${target}: not built JS (Node does not strip types under node_modules)`)
    } else if (!read(inTarball).startsWith("#!/usr/bin/env node\n")) {
      problem(`bin ${command} -> ${target}: no "#!/usr/bin/env node" line`)
    }
  }

  console.log(
    `  ${pkg.name}@${pkg.version}: ${files.size} files, ${Object.keys(exportsMap).length} exports${
      Object.keys(bins).length > 0 ? `, bin ${Object.keys(bins).join(" ")}` : ""
    }`
  )
}

if (problems.length > 0) {
  console.error(`packed package.json / tarball problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`)
  process.exit(1)
}
