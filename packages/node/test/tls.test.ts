/**
 * Per-connection TLS: a connection's own CA, client certificate (its key and
 * passphrase `Redacted`), server name and `rejectUnauthorized`, merged over
 * the layer's by `NodeTransport`; validated when the connection is made; and
 * never shown in errors, events, states, stats or logs.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConnectionConfig, Heartbeat, Transport, WSManager } from "@kharbranth/core"
import type { ConnectionError, ConnectionEvent } from "@kharbranth/core"
import { Cause, Effect, Logger, Redacted, References, Schedule, Stream } from "effect"
import { inspect } from "node:util"
import * as NodeTransport from "../src/NodeTransport.ts"
import { CLIENT_KEY_PASSPHRASE, fixture, venueServer, wsServer } from "./utils/servers.ts"

/** Everything the library and the runtime log, at the most verbose level. */
const logs: Array<string> = []

const CA = fixture("ca.pem")
const VENUE_CA = fixture("venue-ca.pem")
const CLIENT_CERT = fixture("client.pem")
const CLIENT_KEY = fixture("client.key").toString()

/** The venue's client identity, as a connection gives it. */
const clientIdentity = {
  cert: CLIENT_CERT,
  key: Redacted.make(CLIENT_KEY),
  passphrase: Redacted.make(CLIENT_KEY_PASSPHRASE)
}

const open = (url: string, tls: Transport.TlsOptions | undefined, layer?: NodeTransport.TlsOptions) =>
  NodeTransport.make(layer === undefined ? {} : { tls: layer }).open(
    Transport.request({ url, connection: "test", connectTimeout: 5000, ...(tls === undefined ? {} : { tls }) })
  )

/** Polls every 10 ms; dies past the deadline with `why()` so a hang is a clear failure. */
const eventually = (what: string, check: () => boolean, why: () => string = () => "", ms = 5000) =>
  Effect.gen(function*() {
    const deadline = performance.now() + ms
    while (!check()) {
      if (performance.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for: ${what}. ${why()}`))
      yield* Effect.sleep("10 millis")
    }
  })

const lastError = (events: ReadonlyArray<WSManager.NamedEvent>, name: string): string => {
  const failed = events.filter((e) => e.connection === name && "error" in e.event && e.event.error !== undefined)
  const last = failed[failed.length - 1]?.event as { readonly error: ConnectionError.ConnectionError } | undefined
  return last === undefined ? "no error seen" : `last error of ${name}: ${last.error.message}`
}

describe("per-connection TLS", () => {
  it.live("one manager, one transport layer: a public feed under the layer's CA and a venue endpoint with its own CA and a client certificate both open", () =>
    Effect.gen(function*() {
      const publicFeed = yield* wsServer({ tls: true })
      const venue = yield* venueServer({ clientCert: true })
      const manager = yield* WSManager.make()
      const events: Array<WSManager.NamedEvent> = []
      yield* Effect.forkScoped(Stream.runForEach(manager.events, (e) => Effect.sync(() => void events.push(e))))
      const publicConn = yield* manager.add("public", { url: publicFeed.url, heartbeat: Heartbeat.none })
      const venueConn = yield* manager.add("venue", {
        url: venue.url,
        heartbeat: Heartbeat.none,
        tls: { ca: VENUE_CA, ...clientIdentity }
      })
      yield* eventually(
        "both connections open",
        () => publicConn.state.value._tag === "Open" && venueConn.state.value._tag === "Open",
        () => `${lastError(events, "public")}; ${lastError(events, "venue")}`
      )
      const { client } = yield* venue.accepted
      assert.strictEqual(client, "kharbranth-client", "the venue saw the connection's client certificate")
      yield* publicFeed.accepted
      const states = yield* manager.states
      assert.deepStrictEqual([states.get("public")?._tag, states.get("venue")?._tag], ["Open", "Open"])
    }).pipe(Effect.provide(NodeTransport.layer({ tls: { ca: CA } }))))

  describe("NodeTransport merges a connection's TLS over the layer's", () => {
    it.live("the connection's CA replaces the layer's", () =>
      Effect.gen(function*() {
        const venue = yield* venueServer({ clientCert: false })
        const refused = yield* Effect.flip(open(venue.url, undefined, { ca: CA }))
        assert.match(refused.message, /certificate/i, "the layer's CA does not trust the venue")
        yield* open(venue.url, { ca: VENUE_CA }, { ca: CA })
        yield* venue.accepted
      }))

    it.live("a server that demands a client certificate refuses a dial without one", () =>
      Effect.gen(function*() {
        const venue = yield* venueServer({ clientCert: true })
        const error = yield* Effect.flip(Effect.gen(function*() {
          const session = yield* open(venue.url, { ca: VENUE_CA })
          // Under TLS 1.3 the refusal may come after the client's side of the handshake.
          yield* session.take
        }))
        assert.oneOf(error._tag, ["ConnectFailed", "Closed"])
      }))

    it.live("without a client identity of its own, a connection presents the layer's", () =>
      Effect.gen(function*() {
        const venue = yield* venueServer({ clientCert: true })
        yield* open(venue.url, undefined, { ca: VENUE_CA, ...clientIdentity })
        const { client } = yield* venue.accepted
        assert.strictEqual(client, "kharbranth-client")
      }))

    it.live("a connection's cert and key replace the layer's identity as a whole, passphrase included", () =>
      Effect.gen(function*() {
        const venue = yield* venueServer({ clientCert: true })
        // The layer's identity is not one the venue accepts, and has no passphrase.
        const layer = { ca: VENUE_CA, cert: fixture("server.pem"), key: fixture("server.key") }
        yield* open(venue.url, clientIdentity, layer)
        const { client } = yield* venue.accepted
        assert.strictEqual(client, "kharbranth-client")
      }))

    it.live("the connection's servername and rejectUnauthorized win over the layer's", () =>
      Effect.gen(function*() {
        const server = yield* wsServer({ tls: true })
        const wrongName = yield* Effect.flip(open(server.url, { servername: "venue.example" }, { ca: CA }))
        assert.match(wrongName.message, /altnames|host|certificate/i)
        yield* open(server.url, { servername: "localhost" }, { ca: CA, servername: "venue.example" })
        yield* server.accepted
        yield* open(server.url, { rejectUnauthorized: false }, {})
        yield* server.accepted
      }))

    it.live("certificates given as bytes work as text does", () =>
      Effect.gen(function*() {
        const venue = yield* venueServer({ clientCert: true })
        const bytes = (buffer: Buffer) => new Uint8Array(buffer)
        yield* open(venue.url, {
          ca: [bytes(VENUE_CA)],
          cert: bytes(CLIENT_CERT),
          key: Redacted.make(bytes(fixture("client.key"))),
          passphrase: Redacted.make(CLIENT_KEY_PASSPHRASE)
        })
        const { client } = yield* venue.accepted
        assert.strictEqual(client, "kharbranth-client")
      }))
  })

  describe("validation", () => {
    const notPem = "hello"
    const cases: ReadonlyArray<readonly [string, unknown, string]> = [
      ["not an object", "yes", "tls"],
      ["a CA that is not PEM", { ca: notPem }, "tls.ca"],
      ["a CA list with a number in it", { ca: [VENUE_CA, 42] }, "tls.ca[1]"],
      ["an empty CA list", { ca: [] }, "tls.ca"],
      ["a private key given as the CA", { ca: fixture("server.key").toString() }, "tls.ca"],
      [
        "a PEM block that is not base64",
        { ca: "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----" },
        "tls.ca"
      ],
      ["a cert that is a number", { cert: 7, key: Redacted.make(CLIENT_KEY) }, "tls.cert"],
      ["a cert without a key", { cert: CLIENT_CERT }, "tls.key"],
      ["a key without a cert", { key: Redacted.make(CLIENT_KEY), passphrase: Redacted.make("x") }, "tls.cert"],
      ["a key that is not Redacted", { cert: CLIENT_CERT, key: CLIENT_KEY }, "tls.key"],
      ["a key that is a certificate", { cert: CLIENT_CERT, key: Redacted.make(CLIENT_CERT.toString()) }, "tls.key"],
      [
        "an encrypted key without its passphrase",
        { cert: CLIENT_CERT, key: Redacted.make(CLIENT_KEY) },
        "tls.passphrase"
      ],
      ["a passphrase that is not Redacted", { ...clientIdentity, passphrase: CLIENT_KEY_PASSPHRASE }, "tls.passphrase"],
      ["a passphrase without a key", { passphrase: Redacted.make("x") }, "tls.passphrase"],
      ["an IP address as servername", { servername: "127.0.0.1" }, "tls.servername"],
      ["a servername that is no DNS name", { servername: "venue example" }, "tls.servername"],
      ["rejectUnauthorized that is not a boolean", { rejectUnauthorized: "no" }, "tls.rejectUnauthorized"],
      ["an option Kharbranth does not carry", { pfx: "x" }, "tls.pfx"]
    ]
    for (const [what, tls, field] of cases) {
      it.effect(`${what} is InvalidConfig naming ${field}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(
            ConnectionConfig.resolve("venue", { url: "wss://venue.test/ws", tls: tls as Transport.TlsOptions })
          )
          assert.strictEqual(error._tag, "InvalidConfig")
          assert.strictEqual(error.field, field, error.message)
          const shown = `${error.message}\n${JSON.stringify(error)}\n${inspect(error)}`
          assert.notInclude(shown, CLIENT_KEY_PASSPHRASE)
          for (const line of CLIENT_KEY.split("\n").slice(1, -2)) assert.notInclude(shown, line)
        }))
    }

    it.live("WSManager.add fails with the InvalidConfig, before any dial", () =>
      Effect.gen(function*() {
        const manager = yield* WSManager.make()
        const error = yield* Effect.flip(
          manager.add("venue", {
            url: "wss://127.0.0.1:9/ws",
            tls: { cert: CLIENT_CERT, key: Redacted.make(CLIENT_KEY) }
          })
        )
        assert.strictEqual(error._tag, "InvalidConfig")
        assert.strictEqual(error._tag === "InvalidConfig" && error.field, "tls.passphrase")
        assert.deepStrictEqual(yield* manager.names, [])
      }).pipe(Effect.provide(NodeTransport.layer())))

    it.effect("a complete identity with text and byte certificates passes and is kept as given", () =>
      Effect.gen(function*() {
        const tls = {
          ca: [VENUE_CA.toString(), new Uint8Array(CA)],
          ...clientIdentity,
          servername: "venue.example",
          rejectUnauthorized: true
        }
        const resolved = yield* ConnectionConfig.resolve("venue", { url: "wss://venue.test/ws", tls })
        assert.strictEqual(resolved.tls, tls)
      }))
  })

  it.live("the key and passphrase never appear in errors, events, states, stats or logs; the TLS stack still gets them", () =>
    Effect.gen(function*() {
      const venue = yield* venueServer({ clientCert: true })
      const items: Array<unknown> = []
      const manager = yield* WSManager.make({ dialsPerSecond: 100 })
      yield* Effect.forkScoped(Stream.runForEach(manager.events, (e) => Effect.sync(() => void items.push(e))))
      yield* Effect.forkScoped(Stream.runForEach(manager.stateChanges, (s) => Effect.sync(() => void items.push(s))))
      const base = { url: venue.url, heartbeat: Heartbeat.none, reconnect: Schedule.spaced("20 millis") }
      // A wrong passphrase (the TLS stack refuses the key), an untrusted server, then one that opens.
      const badPassphrase = yield* manager.add("bad-passphrase", {
        ...base,
        tls: { ca: VENUE_CA, ...clientIdentity, passphrase: Redacted.make(`${CLIENT_KEY_PASSPHRASE}-wrong`) }
      })
      const untrusted = yield* manager.add("untrusted", { ...base, tls: { ca: CA, ...clientIdentity } })
      const good = yield* manager.add("good", { ...base, tls: { ca: VENUE_CA, ...clientIdentity } })
      const dialFailures = (name: string) =>
        items.filter((i) =>
          (i as WSManager.NamedEvent).connection === name && (i as WSManager.NamedEvent).event?._tag === "DialFailed"
        ).length
      yield* eventually(
        "both bad connections failed twice",
        () => dialFailures("bad-passphrase") >= 2 && dialFailures("untrusted") >= 2
      )
      yield* eventually("the good connection open", () => good.state.value._tag === "Open")
      const { ws, client } = yield* venue.accepted
      assert.strictEqual(client, "kharbranth-client", "the key reached the TLS stack")
      ws.close(4001, "bye")
      yield* eventually(
        "the good connection saw the close",
        () => items.some((i) => (i as WSManager.NamedEvent).event?._tag === "Disconnected")
      )
      items.push(yield* manager.stats, yield* badPassphrase.stats, yield* untrusted.stats)
      items.push(badPassphrase.state.value, untrusted.state.value)
      const failed = items.filter((i): i is WSManager.NamedEvent =>
        (i as WSManager.NamedEvent).event?._tag === "DialFailed"
      ).map((e) => (e.event as Extract<ConnectionEvent.ConnectionEvent, { _tag: "DialFailed" }>).error)
      assert.isTrue(
        failed.some((e) => /TLS settings rejected: .*bad decrypt/i.test(e.message)),
        "the wrong passphrase was reported"
      )
      assert.isTrue(failed.some((e) => /certificate/i.test(e.message)), "the untrusted server was reported")
      yield* Effect.logDebug("probe", items.slice(-5))

      const exposed = items.map((item) =>
        `${JSON.stringify(item)}\n${inspect(item, { depth: 10 })}\n${item instanceof Error ? item.stack : ""}`
      ).join("\n") + failed.map((e) =>
        Cause.pretty(Cause.fail(e))
      ).join("\n") + logs.join("\n")
      assert.notInclude(exposed, CLIENT_KEY_PASSPHRASE)
      for (const line of CLIENT_KEY.split("\n").slice(1, -2)) {
        assert.notInclude(exposed, line, "a line of the key leaked")
      }
    }).pipe(
      Effect.provide(NodeTransport.layer()),
      Effect.provide(Logger.layer([Logger.make(({ message }) => void logs.push(inspect(message, { depth: 10 })))])),
      Effect.provideService(References.MinimumLogLevel, "All")
    ))
})
