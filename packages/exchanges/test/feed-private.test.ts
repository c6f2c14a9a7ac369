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
import { Metrics } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Simulator } from "@kharbranth/simulator"
import { Context, Layer, Metric } from "effect"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as Auth from "../src/Auth.ts"
import * as Binance from "../src/Binance.ts"
import * as Bybit from "../src/Bybit.ts"
import * as Coinbase from "../src/Coinbase.ts"
import * as Feed from "../src/Feed.ts"
import * as Hyperliquid from "../src/Hyperliquid.ts"
import * as Kraken from "../src/Kraken.ts"
import * as Okx from "../src/Okx.ts"
import type * as Venue from "../src/Venue.ts"
import { nextEvent, type Probe, start, until } from "./utils/probe.ts"

const okxAccount = { apiKey: "okx-test-key", secret: "okx-test-secret", passphrase: "okx pass" }
const bybitAccount = { apiKey: "bybit-test-key", secret: "bybit-test-secret" }
const binanceAccount = { apiKey: "binance-test-key", secret: "binance-test-secret" }
const coinbaseAccount = {
  apiKey: "coinbase-test-key",
  secret: Buffer.from("coinbase-test-secret-0123456789").toString("base64"),
  passphrase: "coinbase pass"
}
const krakenAccount = {
  apiKey: "kraken-test-key",
  secret: Buffer.from("kraken-test-secret-0123456789").toString("base64")
}

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
  readonly venue: "okx" | "bybit" | "binance" | "coinbase" | "kraken"
  readonly profile: Venue.Profile
  readonly account: { readonly apiKey: string; readonly secret: string; readonly passphrase?: string }
  readonly endpoints: (sim: Simulator.Simulator) => { readonly url: string; readonly time: string }
  readonly topics: ReadonlyArray<string>
  /** A text of one topic's pushes, to check each topic's own seq line. */
  readonly marks: ReadonlyArray<string>
  readonly wrong: { readonly credentials: Partial<Case["account"]>; readonly code: string; readonly text: RegExp }
  /** The code of a clock refusal; undefined for a venue that checks no timestamp (Kraken: nonces only). */
  readonly clockCode: string | undefined
  /** Whether the venue ends a login by closing the connection (a new session) rather than on the same session. */
  readonly endsByClosing: boolean
  /** Whether the venue signs each request (a refusal then also refuses the request) rather than a session's login. */
  readonly signsRequests: boolean
  /** Whether the venue ever ends a login (`expireAuth`); Coinbase's signed subscribes never lapse. */
  readonly expires: boolean
  /** Messages the simulator receives before a wrong key stops the feed: the login or signed subscribe, or none (a token refused over REST). */
  readonly messagesBeforeStop: number
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
    signsRequests: false,
    endsByClosing: true,
    expires: true,
    messagesBeforeStop: 1
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
    signsRequests: false,
    endsByClosing: true,
    expires: true,
    messagesBeforeStop: 1
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
    signsRequests: true,
    endsByClosing: false,
    expires: true,
    messagesBeforeStop: 1
  },
  {
    venue: "coinbase",
    profile: Coinbase.authenticated,
    account: coinbaseAccount,
    endpoints: (sim) => ({ url: sim.endpoints.coinbase, time: sim.endpoints.coinbaseTime }),
    topics: [Coinbase.topic("user", "BTC-USD")],
    marks: ['"user_id"'],
    wrong: {
      credentials: { passphrase: "wrong" },
      code: "Authentication Failed",
      text: /coinbase-authenticated refused the login: Authentication Failed invalid passphrase/
    },
    clockCode: "Authentication Failed",
    signsRequests: true,
    endsByClosing: true,
    expires: false,
    messagesBeforeStop: 1
  },
  {
    venue: "kraken",
    profile: Kraken.authenticated,
    account: krakenAccount,
    endpoints: (sim) => ({ url: sim.endpoints.krakenAuth, time: sim.endpoints.krakenToken }),
    topics: ["executions", "balances"],
    marks: ['"channel":"executions"', '"channel":"balances"'],
    wrong: {
      credentials: { secret: Buffer.from("wrong").toString("base64") },
      code: "EAPI:Invalid signature",
      text: /kraken-authenticated refused the login: EAPI:Invalid signature/
    },
    clockCode: undefined,
    signsRequests: false,
    endsByClosing: true,
    expires: true,
    messagesBeforeStop: 0
  }
]

for (const c of cases) {
  describe(`${c.venue} private feed`, () => {
    const open = (sim: Simulator.Simulator, account: Case["account"] = c.account) =>
      start(`${c.venue}-private`, c.profile, {
        url: c.endpoints(sim).url,
        urls: c.venue === "kraken" ? { token: c.endpoints(sim).time } : { time: c.endpoints(sim).time },
        credentials: Auth.credentials(account),
        topics: c.topics,
        sequence: (text) => {
          const m = /"seq":(\d+)/.exec(text)
          const stream = c.profile.topicOf(text)
          return m === null || stream === undefined ? undefined : { stream, first: Number(m[1]), last: Number(m[1]) }
        }
      }).pipe(Effect.provide(FetchHttpClient.layer))

    it.live("logs in before it subscribes, again after a drop and after the venue ends the login; a rotation renews it with no push missed or repeated", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make({ rate: 0, privateRate: 50, accounts: [c.account] })
        const probe = yield* open(sim)
        yield* until(() => seqs(probe).length >= 10)
        const firstLogin = indexOf(probe, (e) => e._tag === "Authenticated")
        assert.isAtLeast(firstLogin, 0)
        assert.isAbove(indexOf(probe, (e) => e._tag === "Subscribed"), firstLogin)

        // A drop, then the venue ending the login: pushes made while no session held the account are the
        // venue's to lose (it keeps no private backlog), so these check the order of login and replay.
        const drop = sim.fault({ kind: "drop", target: { venue: c.venue } })
        const ends = c.expires ? [drop, sim.expireAuth(c.venue)] : [drop]
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

        // A planned renewal (a rotation, as before Binance's 24-hour limit): the new session logs in and
        // subscribes beside the old one, and consumers see every push exactly once.
        const from = probe.texts.length
        const loginsBefore = probe.seen.filter((e) => e._tag === "Authenticated").length
        yield* probe.feed.rotate("renewal")
        const rotated = yield* nextEvent(probe, (e) => (e._tag === "Rotated" ? e : undefined))
        assert.isTrue(rotated.overlapped)
        assert.isAbove(probe.seen.filter((e) => e._tag === "Authenticated").length, loginsBefore)
        const mark = probe.texts.length
        yield* until(() => probe.texts.length >= mark + 10)
        const after = probe.texts.slice(from)
        for (const text of c.marks) assertConsecutive(seqs({ ...probe, texts: after.filter((t) => t.includes(text)) }))
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
        assert.strictEqual(stats.venues[c.venue].messagesReceived, c.messagesBeforeStop, "one login, no subscribe")
        assert.strictEqual(stats.venues[c.venue].openConnections, 0, "the feed closed its connection")
        assert.notInclude(tags(probe), "Subscribed")
      }))

    // Kraken signs no timestamp (its token endpoint checks only that nonces go up): nothing to correct.
    if (c.clockCode === undefined) return
    it.live("a venue clock 2 minutes ahead: refused, clock corrected by the server time, login retried once", () =>
      Effect.gen(function*() {
        const sim = yield* Simulator.make({ rate: 0, privateRate: 50, accounts: [c.account], clockOffset: "2 minutes" })
        const probe = yield* open(sim)
        yield* until(() => seqs(probe).length >= 5)
        const refused = probe.seen.filter((e) => e._tag === "AuthRefused")
        assert.deepStrictEqual(refused.map((e) => [e.code, e.kind, e.action]), [[c.clockCode, "clock", "retry"]])
        const adjusted = probe.seen.find((e) => e._tag === "ClockAdjusted")
        assert.approximately(adjusted?._tag === "ClockAdjusted" ? adjusted.offset : 0, 120_000, 5_000)
        if (!c.signsRequests) {
          // A login refused: the session logs in once more, and no subscribe was ever refused.
          assert.strictEqual(probe.seen.filter((e) => e._tag === "Authenticated").length, 1)
          assert.deepStrictEqual(refusals(probe), [])
        } else {
          // The signed subscribe itself was refused: retried once (signed on the corrected clock) and taken.
          const refused = refusals(probe)
          assert.strictEqual(refused.length, 1)
          assert.isTrue(refused[0]?._tag === "SubscribeFailed" && refused[0].reason.startsWith(c.clockCode ?? "?"))
        }
      }))
  })
}

describe("hyperliquid user streams", () => {
  it.live("subscribed by address on the public profile with no credentials; after a drop they flow again, none repeated", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, privateRate: 50 })
      const user = `0x${"Ab".repeat(20)}`
      const topic = Hyperliquid.userStream("orderUpdates", user)
      assert.strictEqual(topic, `orderUpdates:0x${"ab".repeat(20)}`)
      const probe = yield* start("hyperliquid-user", Hyperliquid.mainnet, {
        url: sim.endpoints.hyperliquid,
        topics: [topic]
      })
      yield* until(() => seqs(probe).length >= 10)
      const dropped = seqs(probe).length
      yield* sim.fault({ kind: "drop", target: { venue: "hyperliquid" } })
      const replayed = yield* nextEvent(probe, (e) => (e._tag === "Replayed" ? e : undefined))
      assert.strictEqual(replayed.confirmed, 1)
      const mark = seqs(probe).length
      yield* until(() => seqs(probe).length >= mark + 10)
      // Pushes made while the dropped socket was going are the venue's to lose (as in the private-venue tests
      // above); each session's own line is whole, and nothing is delivered twice.
      const line = seqs(probe)
      assertConsecutive(line.slice(0, dropped))
      assertConsecutive(line.slice(mark))
      assert.isTrue(line.every((n, i) => i === 0 || n > line[i - 1]!), `seq line ${line.join(",")}`)
      assert.notInclude(tags(probe), "Authenticated")
    }))
})

describe("a feed stopped by a refused login", () => {
  it.live("ends with its scope at once: the stop's close, interrupted by the scope, is not left half done", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ rate: 0, accounts: [okxAccount] })
      const started = performance.now()
      yield* Effect.scoped(Effect.gen(function*() {
        const feed = yield* Feed.make("okx-wrong", Okx.authenticated, {
          url: sim.endpoints.okxPrivate,
          credentials: Auth.credentials({ ...okxAccount, passphrase: "wrong" }),
          topics: [Okx.orders("SPOT")],
          closeTimeout: "300 millis"
        })
        const error = yield* Effect.flip(feed.subscribe(Okx.orders("SPOT")))
        assert.strictEqual(error._tag, "AuthFailed")
      })).pipe(Effect.provide(NodeTransport.layer()), Effect.timeout("5 seconds"))
      assert.isBelow(performance.now() - started, 2_000)
    }))
})

describe("private feed metrics", () => {
  it.live("count logins and refusals by kind and action (with Metrics on)", () => {
    const registry: Metric.MetricRegistry = new Map()
    return Effect.gen(function*() {
      const value = (id: string, labels: Record<string, string>) =>
        Metric.snapshotUnsafe(Context.make(Metric.MetricRegistry, registry)).filter((s) =>
          s.id === id && Object.entries(labels).every(([k, v]) => s.attributes?.[k] === v)
        ).reduce((sum, s) => sum + ((s.state as { readonly count?: number }).count ?? 0), 0)
      const sim = yield* Simulator.make({ rate: 0, privateRate: 50, accounts: [okxAccount], clockOffset: "2 minutes" })
      const options = (name: string, passphrase: string) =>
        Feed.make(name, Okx.authenticated, {
          url: sim.endpoints.okxPrivate,
          urls: { time: sim.endpoints.okxTime },
          credentials: Auth.credentials({ ...okxAccount, passphrase }),
          topics: [Okx.orders("SPOT")]
        })
      const good = yield* options("okx-good", okxAccount.passphrase)
      yield* good.subscribe(Okx.orders("SPOT"))
      const wrong = yield* options("okx-wrong", "wrong")
      yield* Effect.flip(wrong.subscribe(Okx.orders("SPOT")))
      assert.strictEqual(value("kharbranth_feed_logins_total", { feed: "okx-good" }), 1)
      assert.strictEqual(
        value("kharbranth_feed_login_refusals_total", { feed: "okx-good", kind: "clock", action: "retry" }),
        1
      )
      // The wrong feed's clock was corrected first (its own settings), then its key refused for good.
      assert.strictEqual(
        value("kharbranth_feed_login_refusals_total", { feed: "okx-wrong", kind: "credentials", action: "stop" }),
        1
      )
    }).pipe(
      Effect.provide([
        NodeTransport.layer(),
        FetchHttpClient.layer,
        Layer.succeed(Metrics.enabled, true),
        Layer.succeed(Metric.MetricRegistry, registry)
      ])
    )
  })
})
