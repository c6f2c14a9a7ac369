/**
 * Vitest `globalSetup` giving a project's tests one real PostgreSQL: the
 * server of `$KHARBRANTH_PG_URL` (a superuser URL; nothing started or
 * stopped) or a throwaway one from `startPostgres`, stopped on teardown
 * (and on exit or SIGINT/SIGTERM/SIGHUP, by `startPostgres` itself).
 * Tests read its admin URL with `inject("pgAdminUrl")` from "vitest" and
 * make their own database with `createDatabase`.
 */
import type { TestProject } from "vitest/node"
import { startPostgres } from "./postgres.ts"

/** Starts (or takes) the server and provides `pgAdminUrl`; resolves with the teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env["KHARBRANTH_PG_URL"]
  if (given !== undefined && given !== "") {
    project.provide("pgAdminUrl", given)
    return async () => {}
  }
  const server = await startPostgres()
  project.provide("pgAdminUrl", server.adminUrl)
  return server.stop
}
