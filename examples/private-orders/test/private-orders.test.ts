/**
 * Runs the private-orders example as a user would (`node src/main.ts`) and
 * checks what it prints: a login before the first order, a login again
 * after the drop and after OKX ends the login, orders after each, and one
 * `AuthFailed` with OKX's code for the wrong passphrase, exit 0; and no
 * secret of the test key anywhere in what it printed.
 */
import { assert, describe, it } from "@effect/vitest"
import { runExample } from "@kharbranth/test-utils/example"

describe("private-orders", () => {
  it("logs in, streams orders, logs in again after a drop and an ended login, stops on a wrong key", async () => {
    const { code, stdout, stderr } = await runExample(import.meta.url, { timeout: 20_000 })
    const all = stdout + stderr
    assert.strictEqual(code, 0, all)
    assert.strictEqual(
      stdout.match(/^order \d+: (buy|sell) @ [\d.]+, (live|partially_filled|filled)$/gm)?.length,
      9,
      all
    )
    const lines = stdout.split("\n")
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l))
    assert.isBelow(at(/^logged in: session 1 /), at(/^order /), all)
    assert.isBelow(at(/^-- the network drops --$/), at(/^logged in: session 2 /), all)
    assert.isBelow(at(/^logged in: session 2 /), at(/^session 2: 1 private topic\(s\) subscribed again$/), all)
    assert.isBelow(at(/^-- OKX ends the login/), at(/^logged in: session 3 /), all)
    assert.match(
      stdout,
      /^AuthFailed: feed "wrong-key": okx refused the login: 60024 Wrong passphrase \(the feed stopped; not retried\)$/m,
      all
    )
    for (const secret of ["demo-secret", "demo passphrase", "not it"]) assert.notInclude(all, secret)
  })
})
