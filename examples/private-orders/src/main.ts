/**
 * A private stream, end to end, against the local simulator: an OKX feed of
 * the `orders` channel logs in with a test key (the secrets are `Redacted`
 * from the first line), streams the account's orders, logs in again by
 * itself after the network drops and after the venue ends the login (OKX's
 * 4007 close), and a second feed with a wrong passphrase stops with one
 * `AuthFailed` carrying OKX's code — never a secret.
 *
 *   pnpm private-orders
 *
 * Against OKX itself: `Okx.authenticated` with no `url`, and your own key
 * from the environment (`Config.Redacted("OKX_SECRET")`).
 */
import { Auth, Feed, Okx } from "@kharbranth/exchanges"
import { NodeTransport } from "@kharbranth/node"
import { Simulator } from "@kharbranth/simulator"
import { Console, Effect, Logger, Schedule, Stream } from "effect"

/** A made-up key the simulator accepts: the simulator's own test account, not a real one. */
const testKey = { apiKey: "demo-key", secret: "demo-secret", passphrase: "demo passphrase" }

const program = Effect.gen(function*() {
  const sim = yield* Simulator.make({ rate: 0, privateRate: 20, accounts: [testKey] })
  yield* Console.log(`simulator: OKX private endpoint at ${sim.endpoints.okxPrivate}`)

  const feed = yield* Feed.make("my-orders", Okx.authenticated, {
    url: sim.endpoints.okxPrivate,
    urls: { time: sim.endpoints.okxTime },
    credentials: Auth.credentials(testKey),
    topics: [Okx.orders("SPOT")]
  })
  yield* feed.events.pipe(
    Stream.runForEach((event) => {
      switch (event._tag) {
        case "Authenticated":
          return Console.log(`logged in: session ${event.session} (${event.took} ms)`)
        case "Replayed":
          return Console.log(`session ${event.session}: ${event.confirmed} private topic(s) subscribed again`)
        case "AuthRefused":
          return Console.log(`login refused: ${event.code} ${event.reason} -> ${event.action}`)
        default:
          return Effect.void
      }
    }),
    Effect.forkScoped
  )

  // One reader of the feed's frames for the whole run: each order as it comes.
  let printed = 0
  yield* feed.frames.pipe(
    Stream.runForEach((frame) => {
      const order = frame._tag === "Text"
        ? /"ordId":"(\d+)".*?"side":"(\w+)".*?"px":"([\d.]+)".*?"state":"(\w+)"/.exec(frame.data)
        : null
      if (order === null || printed >= 9) return Effect.void
      printed += 1
      return Console.log(`order ${order[1]}: ${order[2]} @ ${order[3]}, ${order[4]}`)
    }),
    Effect.forkScoped
  )
  const ordersUpTo = (n: number) =>
    Effect.suspend(() => (printed >= n ? Effect.void : Effect.fail("not yet"))).pipe(
      Effect.retry(Schedule.spaced("10 millis"))
    )

  yield* ordersUpTo(3)
  yield* Console.log("-- the network drops --")
  yield* sim.fault({ kind: "drop", target: { venue: "okx" } })
  yield* ordersUpTo(6)
  yield* Console.log("-- OKX ends the login (close 4007) --")
  yield* sim.expireAuth("okx")
  yield* ordersUpTo(9)

  yield* Console.log("-- a feed with the wrong passphrase --")
  const wrong = yield* Feed.make("wrong-key", Okx.authenticated, {
    url: sim.endpoints.okxPrivate,
    credentials: Auth.credentials({ ...testKey, passphrase: "not it" }),
    topics: [Okx.orders("SPOT")]
  })
  const error = yield* Effect.flip(wrong.subscribe(Okx.orders("SPOT")))
  yield* Console.log(`${error._tag}: ${error.message}`)
})

program.pipe(
  Effect.scoped,
  Effect.provide([NodeTransport.layer(), Logger.layer([])]),
  Effect.runPromise
).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
