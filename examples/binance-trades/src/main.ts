/**
 * Binance trades: one connection to the simulator's Binance-like trade
 * stream, every message decoded with `Schema`, acks skipped, a running VWAP,
 * and each kind of typed error handled where it shows up:
 *
 * - a message the schema does not know (the venue's `serverShutdown`
 *   notice) is a `SchemaError`: reported with `Effect.catchTag`, skipped;
 * - a refused upgrade (HTTP 429 with `Retry-After: 1`) after a dropped
 *   connection shows in the events as `DialFailed` with `ConnectFailed`
 *   status 429; the next dial waits the second the venue asked for, and the
 *   stream resumes on session 2;
 * - a final stop: `shouldReconnect` says no (the default already does for
 *   401/403), the connection closes for good, and what is asked of it
 *   afterwards fails with `ConnectionStopped`, handled with `Effect.catchTags`.
 *
 * It ends by itself after 60 trades and the stop, exit code 0.
 *
 *   pnpm --filter @kharbranth/example-binance-trades start
 */
import { Connection, ConnectionConfig, ReconnectPolicy } from "@kharbranth/core"
import type { ConnectionError, ConnectionEvent } from "@kharbranth/core"
import { NodeTransport } from "@kharbranth/node"
import { Simulator } from "@kharbranth/simulator"
import type { Fault } from "@kharbranth/simulator"
import { Console, Deferred, Effect, Option, Schema, Stream } from "effect"

const TRADES = 60

/** A Binance trade: `{"e":"trade","E":..,"s":"BTCUSDT","t":1,"p":"97000.10","q":"0.010","T":..,"m":false}`. */
const Trade = Schema.Struct({
  e: Schema.Literal("trade"),
  E: Schema.Number,
  s: Schema.String,
  t: Schema.Number,
  p: Schema.FiniteFromString,
  q: Schema.FiniteFromString,
  T: Schema.Number,
  m: Schema.Boolean
})
/** The answer to a request, such as `{"result":null,"id":1}` for SUBSCRIBE. */
const Ack = Schema.Struct({ result: Schema.Null, id: Schema.Number })
const decodeMessage = Schema.decodeUnknownEffect(Schema.fromJsonString(Schema.Union([Ack, Trade])))

/** One line about a connection error, by its tag. */
const describe = (error: ConnectionError.ConnectionError): string => {
  switch (error._tag) {
    case "ConnectFailed":
      return `ConnectFailed (HTTP ${error.status ?? "-"}, Retry-After ${error.retryAfter ?? "-"} ms)`
    case "Closed":
      return `Closed (code ${error.code}${error.reason === "" ? "" : `, ${error.reason}`})`
    default:
      return `${error._tag}: ${error.message}`
  }
}

const program = Effect.gen(function*() {
  const sim = yield* Simulator.make({ rate: 40 })
  const fault = (spec: Fault.FaultSpec) => Effect.orDie(sim.fault(spec))

  const conn = yield* Connection.make("binance-btcusdt", {
    url: sim.endpoints.binance,
    reconnect: ReconnectPolicy.exponential({ base: "100 millis", max: "2 seconds" }),
    // The default gives up only on an upgrade refused with 401/403 (no retry fixes bad credentials).
    // The simulator refuses with 429 or 503 only, so to show a final stop this program also gives up on 503.
    shouldReconnect: (error) =>
      ConnectionConfig.defaultShouldReconnect(error) && !(error._tag === "ConnectFailed" && error.status === 503)
  }, {
    onOpen: ({ send, session }) =>
      Console.log(`session ${session} open, subscribing to btcusdt@trade`).pipe(
        Effect.andThen(send(JSON.stringify({ method: "SUBSCRIBE", params: ["btcusdt@trade"], id: session })))
      )
  })

  // Lifecycle events, printed as they happen; `Closed` means stopped for good.
  const stopped = yield* Deferred.make<Extract<ConnectionEvent.ConnectionEvent, { _tag: "Closed" }>>()
  yield* Effect.forkScoped(conn.events.pipe(Stream.runForEach((event) => {
    switch (event._tag) {
      case "Disconnected":
        return Console.log(`  event: Disconnected from session ${event.session}: ${describe(event.error)}`)
      case "DialFailed":
        return Console.log(`  event: DialFailed (attempt ${event.attempt}): ${describe(event.error)}`)
      case "Reconnecting":
        return Console.log(`  event: Reconnecting in ${event.delay} ms (attempt ${event.attempt})`)
      case "Opened":
        return Console.log(`  event: Opened session ${event.session}`)
      case "Closed":
        return Console.log(`  event: Closed: ${event.reason}`).pipe(Effect.andThen(Deferred.succeed(stopped, event)))
      default:
        return Effect.void
    }
  })))

  let count = 0
  let notional = 0
  let volume = 0
  yield* conn.frames.pipe(
    Stream.filter((frame) => frame._tag === "Text"),
    Stream.mapEffect((frame) =>
      decodeMessage(frame.data).pipe(
        // Acks decode too, and are skipped here.
        Effect.map((message) => ("e" in message ? Option.some(message) : Option.none())),
        Effect.catchTag("SchemaError", (error) =>
          Console.log(
            `skipped a message that is neither a trade nor an ack: ${frame.data}\n  SchemaError: ${
              error.message.split("\n").map((line) => line.trim()).join(" ")
            }`
          ).pipe(Effect.as(Option.none())))
      )
    ),
    Stream.filter(Option.isSome),
    Stream.map((trade) => trade.value),
    Stream.take(TRADES),
    Stream.runForEach((trade) =>
      Effect.gen(function*() {
        count += 1
        notional += trade.p * trade.q
        volume += trade.q
        if (count % 10 === 0) {
          yield* Console.log(
            `${count} trades, last #${trade.t} ${trade.q} ${trade.s} @ ${trade.p.toFixed(2)}, VWAP ${
              (notional / volume).toFixed(2)
            }`
          )
        }
        if (count === 15) {
          yield* Console.log("fault: the venue sends a serverShutdown notice (not in this program's schema)")
          yield* fault({ kind: "notice", target: { venue: "binance" } })
        }
        if (count === 30) {
          yield* Console.log("fault: the connection drops, and the next upgrade is refused with 429, Retry-After: 1")
          yield* fault({ kind: "refuse", target: { venue: "binance" }, status: 429, retryAfter: 1, count: 1 })
          yield* fault({ kind: "drop", target: { venue: "binance" } })
        }
      })
    )
  )
  yield* Console.log(`VWAP of ${count} trades: ${(notional / volume).toFixed(2)} over ${volume.toFixed(5)} BTC`)

  yield* Console.log(
    "fault: the connection drops, and the next upgrade is refused with 503 (this program gives up on 503)"
  )
  yield* fault({ kind: "refuse", target: { venue: "binance" }, status: 503, count: 1 })
  yield* fault({ kind: "drop", target: { venue: "binance" } })
  const closed = yield* Deferred.await(stopped).pipe(Effect.timeout("5 seconds"))
  yield* Console.log(`stopped for good: ${closed.error === undefined ? "no error" : describe(closed.error)}`)

  // A stopped connection refuses further work with typed errors.
  yield* conn.send(JSON.stringify({ method: "LIST_SUBSCRIPTIONS", id: 99 })).pipe(
    Effect.andThen(Console.log("sent (unexpected)")),
    Effect.catchTags({
      ConnectionStopped: (error) => Console.log(`send refused: ConnectionStopped (${error.reason})`),
      NotConnected: (error) => Console.log(`send refused: NotConnected (state ${error.state})`),
      SendFailed: (error) => Console.log(`send refused: SendFailed (${error.reason})`)
    })
  )
  yield* conn.restart("try again").pipe(
    Effect.catchTag("ConnectionStopped", (error) => Console.log(`restart refused: ConnectionStopped (${error.reason})`))
  )
  const stats = yield* conn.stats
  yield* Console.log(`done: ${count} trades over ${stats.sessions} sessions, ${stats.failedDials} refused dials`)
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(NodeTransport.layer()))).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
