/**
 * The list of vitest projects. Vitest 5 reads no workspace file of its own:
 * `vitest.config.ts` imports this list into `test.projects`.
 */
export const projects = ["packages/*", "examples/*"]
