import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { assert, describe, inject, it } from "vitest"
import { createDatabase, dropDatabase, findPgBin, psql, startPostgres } from "../src/postgres.ts"

/** `postgres` processes (pid and command line) whose command line contains `kh-pg-` and `needle`. */
const postgresProcesses = (needle: string): ReadonlyArray<{ pid: number; args: string }> =>
  execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).split("\n").flatMap((line) => {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line)
    const args = match?.[2]
    return args !== undefined && /postgres/.test(args) && args.includes("kh-pg-") && args.includes(needle)
      ? [{ pid: Number(match?.[1]), args }]
      : []
  })

describe("postgres", () => {
  it("finds the binaries", () => {
    const bin = findPgBin()
    assert.isDefined(bin, "PostgreSQL is needed: apt-get install -y postgresql, or PG_BIN")
  })

  it("the globalSetup's server takes a database per test: create, query, drop", async () => {
    const admin = inject("pgAdminUrl")
    const name = `kh_test_${process.pid}_${Date.now()}`
    const url = await createDatabase(admin, name)
    assert.strictEqual(new URL(url).pathname, `/${name}`)
    assert.strictEqual((await psql(url, "select 1")).trim(), "1")
    assert.strictEqual((await psql(url, "select current_database()")).trim(), name)
    await dropDatabase(admin, name)
    await dropDatabase(admin, name)
    assert.strictEqual((await psql(admin, `select count(*) from pg_database where datname = '${name}'`)).trim(), "0")
  })

  it("refuses a database name that is not a plain identifier", async () => {
    const admin = inject("pgAdminUrl")
    for (const name of ["Upper", "1x", "a;drop database postgres", "a-b", ""]) {
      let error: unknown
      await createDatabase(admin, name).catch((e: unknown) => (error = e))
      assert.instanceOf(error, Error, name)
    }
  })

  it("startPostgres serves 127.0.0.1 on a port below 32768; stop leaves no process and no dir", async () => {
    const started = Date.now()
    const server = await startPostgres()
    const startMs = Date.now() - started
    try {
      assert.isAtLeast(server.port, 25400)
      assert.isBelow(server.port, 26000)
      assert.strictEqual(server.url, `postgres://postgres@127.0.0.1:${server.port}/postgres`)
      assert.strictEqual(server.adminUrl, server.url)
      const version = Number((await psql(server.url, "show server_version_num")).trim())
      assert.isAtLeast(version, 140000)
      assert.strictEqual((await psql(server.url, "show max_connections")).trim(), "300")
      assert.strictEqual((await psql(server.url, "show fsync")).trim(), "off")
    } finally {
      const processes = postgresProcesses(`-p ${server.port}`)
      assert.isNotEmpty(processes, "the postmaster is found by its command line")
      const dataDir = /-D\s+(\S+)/.exec(processes[0]?.args ?? "")?.[1]
      assert.isDefined(dataDir)
      const stopping = Date.now()
      await server.stop()
      const stopMs = Date.now() - stopping
      await server.stop()
      assert.isEmpty(postgresProcesses(`-p ${server.port}`))
      assert.isFalse(existsSync(dataDir ?? ""), "the temp dir is removed")
      process.stdout.write(`startPostgres ${startMs} ms, stop ${stopMs} ms\n`)
    }
  })
})
