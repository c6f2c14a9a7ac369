/**
 * Private feeds keep every credential secret: API keys, secrets,
 * passphrases, and each signature and token a login sends. For every
 * signing venue (OKX, Bybit, Binance, Coinbase Exchange, Kraken) a feed logs
 * in, survives a drop and the venue ending its login, and a second feed
 * with a wrong secret stops with `AuthFailed`; one more feed corrects a
 * skewed clock. Everything a person could see is gathered — every feed
 * event, `stats`, `subscriptions`, `shards`, every error and `Exit`/`Cause`,
 * every log line at the most verbose level with its annotations, and all
 * that the process wrote to stdout and stderr meanwhile — and searched for
 * each secret. The positive control: the simulator's `LoginChecked` events
 * show that each venue received the keys and the signatures or tokens.
 */
import { assert, describe, it } from "@effect/vitest"
import { Auth, Binance, Bybit, Coinbase, Feed, Kraken, Okx } from "@kharbranth/exchanges"
import type { Venue } from "@kharbranth/exchanges"
import { NodeTransport } from "@kharbranth/node"
import { Simulator, type SimulatorEvent } from "@kharbranth/simulator"
import { capture } from "@kharbranth/test-utils/logs"
import { Cause, Effect, Exit, Schedule, Stream } from "effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import { exposed } from "./utils/exposed.ts"
import { eventually } from "./utils/peers.ts"

const b64 = (text: string) => Buffer.from(text).toString("base64")
const accounts = {
  okx: { apiKey: "okx-key-5a1f0e", secret: "okx-secret-9c2b7d", passphrase: "okx-pass-31e8aa" },
  bybit: { apiKey: "bybit-key-c07d12", secret: "bybit-secret-44fe90" },
  binance: { apiKey: "binance-key-8e3c55", secret: "binance-secret-b21a07" },
  coinbase: { apiKey: "cb-key-0f9d33", secret: b64("cb-secret-6d2e81-padding"), passphrase: "cb-pass-72c4b9" },
  kraken: { apiKey: "kraken-key-e5a902", secret: b64("kraken-secret-1b77c3-padding") }
} as const
type SigningVenue = keyof typeof accounts

const setups: ReadonlyArray<{
  readonly venue: SigningVenue
  readonly profile: Venue.Profile
  readonly topics: ReadonlyArray<string>
  readonly endpoints: (sim: Simulator.Simulator) => { readonly url: string; readonly urls: Record<string, string> }
  readonly expires: boolean
}> = [
  {
    venue: "okx",
    profile: Okx.authenticated,
    topics: [Okx.orders("SPOT")],
    endpoints: (sim) => ({ url: sim.endpoints.okxPrivate, urls: { time: sim.endpoints.okxTime } }),
    expires: true
  },
  {
    venue: "bybit",
    profile: Bybit.authenticated,
    topics: ["order"],
    endpoints: (sim) => ({ url: sim.endpoints.bybitPrivate, urls: { time: sim.endpoints.bybitTime } }),
    expires: true
  },
  {
    venue: "binance",
    profile: Binance.userData,
    topics: [Binance.userDataTopic],
    endpoints: (sim) => ({ url: sim.endpoints.binanceWsApi, urls: { time: sim.endpoints.binanceTime } }),
    expires: true
  },
  {
    venue: "coinbase",
    profile: Coinbase.authenticated,
    topics: [Coinbase.topic("user", "BTC-USD")],
    endpoints: (sim) => ({ url: sim.endpoints.coinbase, urls: { time: sim.endpoints.coinbaseTime } }),
    expires: false
  },
  {
    venue: "kraken",
    profile: Kraken.authenticated,
    topics: ["executions"],
    endpoints: (sim) => ({ url: sim.endpoints.krakenAuth, urls: { token: sim.endpoints.krakenToken } }),
    expires: true
  }
]

/** Collects what the process writes to stdout and stderr until `restore`. */
const tapOutput = () => {
  const written: Array<string> = []
  const out = process.stdout.write.bind(process.stdout)
  const err = process.stderr.write.bind(process.stderr)
  const tap = (original: typeof out) => (chunk: string | Uint8Array, ...rest: Array<never>) => {
    written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString())
    return original(chunk, ...rest)
  }
  process.stdout.write = tap(out) as typeof process.stdout.write
  process.stderr.write = tap(err) as typeof process.stderr.write
  return {
    written,
    restore: () => {
      process.stdout.write = out
      process.stderr.write = err
    }
  }
}

describe("private feeds' secrets", () => {
  const logs = capture("All")

  it.live(
    "appear in no event, stats, error, Exit, log line or output; the venues received every one",
    () =>
      Effect.gen(function*() {
        const output = tapOutput()
        yield* Effect.addFinalizer(() => Effect.sync(output.restore))
        const sim = yield* Simulator.make({ rate: 0, privateRate: 50, accounts: Object.values(accounts) })
        const simEvents = yield* sim.subscribe
        const items: Array<unknown> = []

        const run = (setup: (typeof setups)[number], account: Record<string, string>, tag: string) =>
          Effect.gen(function*() {
            const { url, urls } = setup.endpoints(sim)
            const feed = yield* Feed.make(`${setup.venue}-${tag}`, setup.profile, {
              url,
              urls,
              credentials: Auth.credentials(account as { apiKey: string }),
              topics: setup.topics,
              reconnect: Schedule.spaced("50 millis"),
              closeTimeout: "200 millis"
            })
            const events: Array<Feed.FeedEvent> = []
            yield* Effect.forkScoped(Stream.runForEach(feed.events, (e) => Effect.sync(() => void events.push(e))))
            items.push(events)
            return { feed, events }
          })

        for (const setup of setups) {
          const { events, feed } = yield* run(setup, accounts[setup.venue], "good")
          yield* eventually(
            `${setup.venue} logged in`,
            () => events.some((e) => e._tag === "Replayed" || e._tag === "Subscribed"),
            5000
          )
          yield* sim.fault({ kind: "drop", target: { venue: setup.venue } })
          yield* eventually(`${setup.venue} replayed`, () => events.some((e) => e._tag === "Replayed"), 5000)
          if (setup.expires) {
            const before = events.filter((e) => e._tag === "Replayed").length
            yield* sim.expireAuth(setup.venue)
            yield* eventually(
              `${setup.venue} renewed`,
              () => events.filter((e) => e._tag === "Replayed").length > before,
              5000
            )
          }
          items.push(yield* feed.stats, yield* feed.subscriptions, yield* feed.shards)

          const wrong = yield* run(setup, { ...accounts[setup.venue], secret: b64("not-the-secret") }, "wrong")
          yield* eventually(`${setup.venue} refused`, () => wrong.events.some((e) => e._tag === "AuthRefused"), 5000)
          const exit = yield* Effect.exit(wrong.feed.subscribe(setup.topics))
          assert.isTrue(Exit.isFailure(exit), `${setup.venue}: a wrong secret fails`)
          items.push(exit, Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "", yield* wrong.feed.stats)
          if (Exit.isFailure(exit)) items.push(...exit.cause.reasons.map((r) => (r._tag === "Fail" ? r.error : r)))
        }
        // One clock correction, signed again on the venue's clock.
        const skewed = yield* Simulator.make({
          rate: 0,
          privateRate: 50,
          accounts: [accounts.okx],
          clockOffset: "2 minutes"
        })
        const skewedEvents = yield* skewed.subscribe
        const clock = yield* Feed.make("okx-skewed", Okx.authenticated, {
          url: skewed.endpoints.okxPrivate,
          urls: { time: skewed.endpoints.okxTime },
          credentials: Auth.credentials(accounts.okx),
          topics: [Okx.orders("SPOT")]
        })
        const clockEvents: Array<Feed.FeedEvent> = []
        yield* Effect.forkScoped(Stream.runForEach(clock.events, (e) => Effect.sync(() => void clockEvents.push(e))))
        yield* eventually("okx clock corrected", () => clockEvents.some((e) => e._tag === "Authenticated"), 5000)
        items.push(clockEvents, yield* clock.stats)

        // The positive control: what each venue received.
        const checks = [
          ...yield* collectChecks(simEvents),
          ...yield* collectChecks(skewedEvents)
        ]
        const proofs = checks.map((c) => c.proof).filter((p) => p !== "")
        for (const venue of Object.keys(accounts) as ReadonlyArray<SigningVenue>) {
          const mine = checks.filter((c) => c.venue === venue)
          assert.isTrue(
            mine.some((c) => c.accepted && c.apiKey === accounts[venue].apiKey),
            `${venue} accepted a login`
          )
          assert.isTrue(mine.some((c) => !c.accepted), `${venue} refused the wrong secret`)
        }
        assert.isAtLeast(proofs.length, 15)

        const secrets = [
          ...Object.values(accounts).flatMap((a) => Object.values(a)),
          // What signs: the base64 secrets decoded, as a signer uses them.
          ...[accounts.coinbase.secret, accounts.kraken.secret].map((s) => Buffer.from(s, "base64").toString()),
          ...proofs
        ]
        yield* Effect.logDebug("probe", items.length)
        output.restore()
        const haystacks = {
          "events, stats, errors and exits": exposed(items),
          "log lines": exposed(logs.lines),
          "stdout and stderr": output.written.join("")
        }
        for (const [where, text] of Object.entries(haystacks)) {
          for (const secret of secrets) assert.notInclude(text, secret, `a secret leaked into ${where}`)
        }
        assert.isAbove(logs.lines.length, 20, "the log lines were captured")
      }).pipe(
        Effect.scoped,
        Effect.provide([NodeTransport.layer(), FetchHttpClient.layer]),
        logs.provide
      ),
    60_000
  )
})

/** The login checks a simulator reported so far (its event stream drained for 300 ms). */
const collectChecks = (events: Stream.Stream<SimulatorEvent.SimulatorEvent>) =>
  Effect.gen(function*() {
    const checks: Array<{ venue: string; apiKey: string; proof: string; accepted: boolean }> = []
    yield* events.pipe(
      Stream.runForEach((e) =>
        Effect.sync(() =>
          void (e._tag === "LoginChecked" &&
            checks.push({ venue: e.venue, apiKey: e.apiKey, proof: e.proof, accepted: e.accepted }))
        )
      ),
      Effect.timeout("300 millis"),
      Effect.ignore
    )
    return checks
  })
