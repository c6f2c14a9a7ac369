/**
 * Private feeds against the simulator's private endpoints, over real
 * sockets: a session logs in before any subscribe (the simulator refuses a
 * private subscribe on a session that has not, so the order is proven by
 * the absence of refusals); after a drop and after the venue ends the
 * login, the next session logs in again before it replays, and the
 * account's private stream goes on with no message missed (the simulator's
 * `seq` line); a wrong key stops the feed with one `AuthFailed` after
 * exactly one dial and one login; a clock two minutes off is corrected by
 * the venue's server time and the login retried once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Simulator } from "@kharbranth/simulator"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Auth from "../src/Auth.ts"
import type * as Feed from "../src/Feed.ts"
import * as Okx from "../src/Okx.ts"
import { nextEvent, type Probe, start, until } from "./utils/probe.ts"

const okxAccount = { apiKey: "okx-test-key", secret: "okx-test-secret", passphrase: "okx pass" }

/** The simulator's `seq` of each private push delivered, in order. */
const seqs = (probe: Probe): Array<number> =>
  probe.texts.flatMap((t) => {
    const m = /"seq":(\d+)/.exec(t)
    return m === null ? [] : [Number(m[1])]
  })

const assertConsecutive = (line: ReadonlyArray<number>) => {
  assert.isAbove(line.length, 1)
  const broken = line.flatMap((n, i) => (i > 0 && n !== line[i - 1]! + 1 ? [`${line[i - 1]}→${n}`] : []))
  assert.deepStrictEqual(broken, [])
}

const tags = (probe: Probe): ReadonlyArray<string> => probe.seen.map((e) => e._tag)
const refusals = (probe: Probe) => probe.seen.filter((e) => e._tag === "SubscribeFailed")

/** The index of the first event matching, or -1. */
const indexOf = (probe: Probe, pick: (e: Feed.FeedEvent) => boolean) => probe.seen.findIndex(pick)

describe("OKX private feed", () => {
  const okx = (sim: Simulator.Simulator, credentials = Auth.credentials(okxAccount)) =>
    start("okx-private", Okx.authenticated, {
      url: sim.endpoints.okxPrivate,
      urls: { time: sim.endpoints.okxTime },
      credentials,
      topics: [Okx.orders("SPOT"), Okx.account]
    })

  it.live("logs in, then subscribes; a drop and an ended login each log in again before the replay; no push missed", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, privateRate: 50, accounts: [okxAccount] })
      const probe = yield* okx(sim)
      yield* until(() => seqs(probe).length >= 10)
      const firstLogin = indexOf(probe, (e) => e._tag === "Authenticated")
      const firstSubscribed = indexOf(probe, (e) => e._tag === "Subscribed")
      assert.isAtLeast(firstLogin, 0)
      assert.isAbove(firstSubscribed, firstLogin)

      for (
        const [round, end] of [[2, sim.fault({ kind: "drop", target: { venue: "okx" } })], [
          3,
          sim.expireAuth("okx")
        ]] as const
      ) {
        yield* end
        const replayed = yield* nextEvent(probe, (e) => (e._tag === "Replayed" ? e : undefined))
        assert.strictEqual(replayed.session, round)
        assert.strictEqual(replayed.confirmed, 2)
        const login = indexOf(probe, (e) => e._tag === "Authenticated" && e.session === round)
        assert.isAtLeast(login, 0, `session ${round} logged in`)
        assert.isBelow(login, probe.seen.indexOf(replayed), `session ${round} logged in before its replay`)
        const mark = seqs(probe).length
        yield* until(() => seqs(probe).length >= mark + 10)
      }
      assert.deepStrictEqual(refusals(probe), [])
      // Orders and account pushes share no seq line: each channel's own must be whole.
      assertConsecutive(seqs({ ...probe, texts: probe.texts.filter((t) => t.includes('"channel":"orders"')) }))
      assertConsecutive(seqs({ ...probe, texts: probe.texts.filter((t) => t.includes('"channel":"account"')) }))
      const subs = yield* probe.feed.subscriptions
      assert.deepStrictEqual(subs.map((s) => s.state), ["confirmed", "confirmed"])
    }))

  it.live("a wrong passphrase stops the feed with AuthFailed (60024) after one dial and one login", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, accounts: [okxAccount] })
      const events = yield* sim.subscribe
      const probe = yield* okx(sim, Auth.credentials({ ...okxAccount, passphrase: "wrong" }))
      const refused = yield* nextEvent(probe, (e) => (e._tag === "AuthRefused" ? e : undefined))
      assert.deepStrictEqual([refused.code, refused.kind, refused.action], ["60024", "credentials", "stop"])
      const failure = yield* Effect.flip(probe.feed.subscribe(Okx.positions("ANY")))
      assert.strictEqual(failure._tag, "AuthFailed")
      assert.match(failure.message, /^feed "okx-private": okx refused the login: 60024 Wrong passphrase/)
      yield* Effect.sleep("500 millis")
      const stats = yield* sim.stats
      assert.strictEqual(stats.venues.okx.connections, 1, "one dial")
      assert.strictEqual(stats.venues.okx.messagesReceived, 1, "one login, no subscribe")
      assert.strictEqual(stats.venues.okx.openConnections, 0, "the feed closed its connection")
      assert.notInclude(tags(probe), "Subscribed")
      void events
    }))

  it.live("a venue clock 2 minutes ahead: refused (60006), clock corrected by the server time, login retried once", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, privateRate: 50, accounts: [okxAccount], clockOffset: "2 minutes" })
      const probe = yield* okx(sim)
      yield* until(() => seqs(probe).length >= 5)
      const refused = probe.seen.filter((e) => e._tag === "AuthRefused")
      assert.deepStrictEqual(refused.map((e) => [e.code, e.kind, e.action]), [["60006", "clock", "retry"]])
      const adjusted = probe.seen.find((e) => e._tag === "ClockAdjusted")
      assert.approximately(adjusted?._tag === "ClockAdjusted" ? adjusted.offset : 0, 120_000, 5_000)
      assert.strictEqual(probe.seen.filter((e) => e._tag === "Authenticated").length, 1)
      assert.deepStrictEqual(refusals(probe), [])
    }).pipe(Effect.provide(FetchHttpClient.layer)))
})
