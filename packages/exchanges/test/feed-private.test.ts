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
import * as Binance from "../src/Binance.ts"
import * as Bybit from "../src/Bybit.ts"
import type * as Feed from "../src/Feed.ts"
import * as Okx from "../src/Okx.ts"
import type * as Venue from "../src/Venue.ts"
import { nextEvent, type Probe, start, until } from "./utils/probe.ts"

const okxAccount = { apiKey: "okx-test-key", secret: "okx-test-secret", passphrase: "okx pass" }
const bybitAccount = { apiKey: "bybit-test-key", secret: "bybit-test-secret" }
const binanceAccount = { apiKey: "binance-test-key", secret: "binance-test-secret" }

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

interface Case {
  readonly venue: "okx" | "bybit" | "binance"
  readonly profile: Venue.Profile
  readonly account: { readonly apiKey: string; readonly secret: string; readonly passphrase?: string }
  readonly endpoints: (sim: Simulator.Simulator) => { readonly url: string; readonly time: string }
  readonly topics: ReadonlyArray<string>
  /** A text of one topic's pushes, to check each topic's own seq line. */
  readonly marks: ReadonlyArray<string>
  readonly wrong: { readonly credentials: Partial<Case["account"]>; readonly code: string; readonly text: RegExp }
  readonly clockCode: string
  /** Whether the venue ends a login by closing the connection (a new session) rather than on the same session. */
  readonly endsByClosing: boolean
}

const cases: ReadonlyArray<Case> = [
  {
    venue: "okx",
    profile: Okx.authenticated,
    account: okxAccount,
    endpoints: (sim) => ({ url: sim.endpoints.okxPrivate, time: sim.endpoints.okxTime }),
    topics: [Okx.orders("SPOT"), Okx.account],
    marks: ['"channel":"orders"', '"channel":"account"'],
    wrong: {
      credentials: { passphrase: "wrong" },
      code: "60024",
      text: /okx refused the login: 60024 Wrong passphrase/
    },
    clockCode: "60006",
    endsByClosing: true
  },
  {
    venue: "bybit",
    profile: Bybit.authenticated,
    account: bybitAccount,
    endpoints: (sim) => ({ url: sim.endpoints.bybitPrivate, time: sim.endpoints.bybitTime }),
    topics: ["order", "wallet"],
    marks: ['"topic":"order"', '"topic":"wallet"'],
    wrong: {
      credentials: { secret: "wrong" },
      code: "unauthorized",
      text: /bybit-private refused the login: unauthorized Request not authorized/
    },
    clockCode: "expired",
    endsByClosing: true
  },
  {
    venue: "binance",
    profile: Binance.userData,
    account: binanceAccount,
    endpoints: (sim) => ({ url: sim.endpoints.binanceWsApi, time: sim.endpoints.binanceTime }),
    topics: [Binance.userDataTopic],
    marks: ['"executionReport"'],
    wrong: {
      credentials: { secret: "wrong" },
      code: "-1022",
      text: /binance-user-data refused the login: -1022 Signature for this request is not valid/
    },
    clockCode: "-1021",
    endsByClosing: false
  }
]

for (const c of cases) {
  describe(`${c.venue} private feed`, () => {
    const open = (sim: Simulator.Simulator, account: Case["account"] = c.account) =>
      start(`${c.venue}-private`, c.profile, {
        url: c.endpoints(sim).url,
        urls: { time: c.endpoints(sim).time },
        credentials: Auth.credentials(account),
        topics: c.topics
      })

    it.live("logs in, then subscribes; a drop and an ended login each log in again before the replay; no push missed", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make({ rate: 0, privateRate: 50, accounts: [c.account] })
        const probe = yield* open(sim)
        yield* until(() => seqs(probe).length >= 10)
        const firstLogin = indexOf(probe, (e) => e._tag === "Authenticated")
        assert.isAtLeast(firstLogin, 0)
        assert.isAbove(indexOf(probe, (e) => e._tag === "Subscribed"), firstLogin)

        const ends = [sim.fault({ kind: "drop", target: { venue: c.venue } }), sim.expireAuth(c.venue)] as const
        for (const [i, end] of ends.entries()) {
          const round = i === 1 && !c.endsByClosing ? 2 : i + 2
          yield* end
          const replayed = yield* nextEvent(probe, (e) => (e._tag === "Replayed" ? e : undefined))
          assert.strictEqual(replayed.session, round)
          assert.strictEqual(replayed.confirmed, c.topics.length)
          const login = indexOf(probe, (e) => e._tag === "Authenticated" && e.session === round)
          assert.isAtLeast(login, 0, `session ${round} logged in`)
          assert.isBelow(login, probe.seen.indexOf(replayed), `session ${round} logged in before its replay`)
          const mark = seqs(probe).length
          yield* until(() => seqs(probe).length >= mark + 10)
        }
        assert.deepStrictEqual(refusals(probe), [])
        // Where the venue ends a login on the same session, the feed saw it end and logged in again.
        assert.strictEqual(probe.seen.filter((e) => e._tag === "AuthEnded").length, c.endsByClosing ? 0 : 1)
        for (const mark of c.marks) {
          assertConsecutive(seqs({ ...probe, texts: probe.texts.filter((t) => t.includes(mark)) }))
        }
        const subs = yield* probe.feed.subscriptions
        assert.deepStrictEqual(subs.map((s) => s.state), c.topics.map(() => "confirmed"))
      }))

    it.live("a wrong key stops the feed with AuthFailed after one dial and one login", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make({ rate: 0, accounts: [c.account] })
        const probe = yield* open(sim, { ...c.account, ...c.wrong.credentials })
        const refused = yield* nextEvent(probe, (e) => (e._tag === "AuthRefused" ? e : undefined))
        assert.deepStrictEqual([refused.code, refused.kind, refused.action], [c.wrong.code, "credentials", "stop"])
        const failure = yield* Effect.flip(probe.feed.subscribe(c.topics[0]!))
        assert.strictEqual(failure._tag, "AuthFailed")
        assert.match(failure.message, c.wrong.text)
        yield* Effect.sleep("500 millis")
        const stats = yield* sim.stats
        assert.strictEqual(stats.venues[c.venue].connections, 1, "one dial")
        assert.strictEqual(stats.venues[c.venue].messagesReceived, 1, "one login, no subscribe")
        assert.strictEqual(stats.venues[c.venue].openConnections, 0, "the feed closed its connection")
        assert.notInclude(tags(probe), "Subscribed")
      }))

    it.live("a venue clock 2 minutes ahead: refused, clock corrected by the server time, login retried once", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make({ rate: 0, privateRate: 50, accounts: [c.account], clockOffset: "2 minutes" })
        const probe = yield* open(sim)
        yield* until(() => seqs(probe).length >= 5)
        const refused = probe.seen.filter((e) => e._tag === "AuthRefused")
        assert.deepStrictEqual(refused.map((e) => [e.code, e.kind, e.action]), [[c.clockCode, "clock", "retry"]])
        const adjusted = probe.seen.find((e) => e._tag === "ClockAdjusted")
        assert.approximately(adjusted?._tag === "ClockAdjusted" ? adjusted.offset : 0, 120_000, 5_000)
        if (c.endsByClosing) {
          // A login refused: the session logs in once more, and no subscribe was ever refused.
          assert.strictEqual(probe.seen.filter((e) => e._tag === "Authenticated").length, 1)
          assert.deepStrictEqual(refusals(probe), [])
        } else {
          // The signed subscribe itself was refused: retried once (signed on the corrected clock) and taken.
          assert.deepStrictEqual(
            refusals(probe).map((e) => e._tag === "SubscribeFailed" && e.reason.split(" ")[0]),
            [c.clockCode]
          )
        }
      }).pipe(Effect.provide(FetchHttpClient.layer)))
  })
}
