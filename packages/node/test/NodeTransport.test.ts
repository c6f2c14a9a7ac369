import { assert, describe, it } from "@effect/vitest"
import { ConnectionConfig, Transport } from "@kharbranth/core"
import { Clock, Effect, Exit, Fiber, Redacted, Scope } from "effect"
import { TestClock } from "effect/testing"
import type * as net from "node:net"
import WebSocket from "ws"
import * as NodeTransport from "../src/NodeTransport.ts"
import { fixture, once, rawSocket, refusingServer, tcpServer, wsServer } from "./utils/servers.ts"

const open = (url: string, overrides: Partial<Transport.OpenRequest> = {}, options?: NodeTransport.Options) =>
  NodeTransport.make(options).open(Transport.request({ url, connection: "test", connectTimeout: 5000, ...overrides }))

/** Takes batches until `n` frames have arrived. */
const takeN = (session: Transport.Session, n: number) =>
  Effect.gen(function*() {
    const frames = []
    while (frames.length < n) frames.push(...(yield* session.take))
    return frames
  })

describe("NodeTransport", () => {
  it.live("sends and receives text both ways", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url, { session: 4 })
      const { ws } = yield* server.accepted
      const got = Effect.runPromise(once<[Buffer, boolean]>(ws, "message"))
      yield* session.send("hello")
      const [data, isBinary] = yield* Effect.promise(() => got)
      assert.strictEqual(data.toString(), "hello")
      assert.isFalse(isBinary)
      ws.send("héllo ✓")
      const [frame] = yield* session.take
      assert.strictEqual(frame!._tag, "Text")
      assert.strictEqual(frame!._tag === "Text" && frame!.data, "héllo ✓")
      assert.strictEqual(frame!.session, 4)
    }))

  it.live("sends and receives binary both ways, bytes intact", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url)
      const { ws } = yield* server.accepted
      const got = Effect.runPromise(once<[Buffer, boolean]>(ws, "message"))
      yield* session.send(new Uint8Array([0, 1, 255]))
      const [data, isBinary] = yield* Effect.promise(() => got)
      assert.isTrue(isBinary)
      assert.deepStrictEqual(Array.from(data), [0, 1, 255])
      ws.send(Buffer.from([7, 8, 9]))
      const [frame] = yield* session.take
      assert.strictEqual(frame!._tag, "Binary")
      assert.deepStrictEqual(frame!._tag === "Binary" && Array.from(frame!.data), [7, 8, 9])
    }))

  it.live("hands many messages of one socket read over as one batch", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url)
      const { ws } = yield* server.accepted
      // One write carrying 50 frames: the client reads them in one go.
      const frames = Array.from({ length: 50 }, (_, i) => {
        const payload = Buffer.from(`m${i}`)
        return Buffer.concat([Buffer.from([0x81, payload.length]), payload])
      })
      rawSocket(ws).write(Buffer.concat(frames))
      const batch = yield* session.take
      assert.strictEqual(batch.length, 50)
      assert.deepStrictEqual(batch.map((f) => f._tag === "Text" && f.data), frames.map((_, i) => `m${i}`))
      assert.isTrue(batch.every((f) => f.receivedAt === batch[0]!.receivedAt), "one receive time per read")
    }))

  it.live("a client ping is answered by the server's pong", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url)
      yield* server.accepted
      yield* session.ping(new Uint8Array([1, 2]))
      const [frame] = yield* session.take
      assert.strictEqual(frame!._tag, "Pong")
      assert.deepStrictEqual(frame!._tag === "Pong" && Array.from(frame!.data), [1, 2])
    }))

  it.live("a server ping arrives as a Ping frame and is answered", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url)
      const { ws } = yield* server.accepted
      const pong = Effect.runPromise(once<[Buffer]>(ws, "pong"))
      ws.ping(Buffer.from("hb"))
      const [frame] = yield* session.take
      assert.strictEqual(frame!._tag, "Ping")
      const [payload] = yield* Effect.promise(() => pong)
      assert.strictEqual(payload.toString(), "hb")
    }))

  it.live("an unsolicited server pong arrives as a Pong frame", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url)
      const { ws } = yield* server.accepted
      ws.pong(Buffer.from("x"))
      const [frame] = yield* session.take
      assert.strictEqual(frame!._tag, "Pong")
    }))

  it.live("a server close gives the Close frame, then Closed with its code and reason", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url)
      const { ws } = yield* server.accepted
      ws.close(4000, "maintenance")
      const frames = yield* takeN(session, 1)
      const last = frames[frames.length - 1]!
      assert.isTrue(last._tag === "Close" && last.code === 4000 && last.reason === "maintenance")
      const end = yield* Effect.flip(session.take)
      assert.strictEqual(end._tag, "Closed")
      assert.strictEqual(end.code, 4000)
    }))

  it.live("a client close reaches the server with its code and reason", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url)
      const { ws } = yield* server.accepted
      const closed = Effect.runPromise(once<[number, Buffer]>(ws, "close"))
      yield* session.close(1000, "done")
      const [code, reason] = yield* Effect.promise(() => closed)
      assert.strictEqual(code, 1000)
      assert.strictEqual(reason.toString(), "done")
      const end = yield* Effect.flip(takeN(session, 99))
      assert.strictEqual(end.code, 1000)
    }))

  it.live("an abrupt drop is Closed with 1006", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url)
      const { ws } = yield* server.accepted
      rawSocket(ws).destroy()
      const end = yield* Effect.flip(takeN(session, 99))
      assert.strictEqual(end._tag, "Closed")
      assert.strictEqual(end.code, 1006)
      const sent = yield* Effect.flip(session.send("late"))
      assert.strictEqual(sent._tag, "SendFailed")
    }))

  for (
    const [status, retryAfter, expected] of [
      [401, undefined, undefined],
      [403, undefined, undefined],
      [429, "7", 7000],
      [503, undefined, undefined]
    ] as const
  ) {
    it.live(`an upgrade refused with ${status} is ConnectFailed with status ${status}`, () =>
      Effect.gen(function*() {
        const port = yield* refusingServer(status, retryAfter === undefined ? {} : { "Retry-After": retryAfter })
        const error = yield* Effect.flip(open(`ws://127.0.0.1:${port}/ws`))
        assert.strictEqual(error._tag, "ConnectFailed")
        if (error._tag !== "ConnectFailed") return
        assert.strictEqual(error.status, status)
        assert.strictEqual(error.retryAfter, expected)
        assert.include(error.message, `HTTP ${status}`)
      }))
  }

  it.effect("a server that accepts TCP but never answers the upgrade gives ConnectTimeout at connectTimeout, socket closed", () =>
    Effect.gen(function*() {
      const sockets: Array<net.Socket> = []
      const port = yield* tcpServer((socket) => {
        sockets.push(socket)
        socket.resume() // read (and drop) the upgrade request, so the client's FIN is seen
      })
      const dial = yield* Effect.forkChild(Effect.scoped(open(`ws://127.0.0.1:${port}`, { connectTimeout: 300 })), {
        startImmediately: true
      })
      // The TCP connection is accepted on the wall clock; the deadline runs on the test clock.
      while (sockets.length === 0) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      const closed = Effect.runPromise(once(sockets[0]!, "close"))
      yield* TestClock.adjust("299 millis")
      assert.isUndefined(dial.pollUnsafe(), "still waiting for the upgrade")
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(dial))
      assert.strictEqual(error._tag, "ConnectTimeout")
      assert.strictEqual(error._tag === "ConnectTimeout" && error.timeout, 300)
      yield* Effect.promise(() => closed)
    }))

  it.effect("dials in flight together each time out at their own deadline, in any order; one that opens is left alone", () =>
    Effect.gen(function*() {
      const sockets: Array<net.Socket> = []
      const stalled = yield* tcpServer((socket) => {
        sockets.push(socket)
        socket.resume()
      })
      const server = yield* wsServer()
      const dialAt = (url: string, connectTimeout: number) =>
        Effect.forkChild(Effect.scoped(Effect.andThen(open(url, { connectTimeout }), Effect.void)), {
          startImmediately: true
        })
      const stalledUrl = `ws://127.0.0.1:${stalled}`
      // Deadlines at 500, 300 (added after a later one), 600 and 400 ms on the test clock.
      const a = yield* dialAt(stalledUrl, 500)
      const b = yield* dialAt(stalledUrl, 300)
      yield* TestClock.adjust("100 millis")
      const c = yield* dialAt(stalledUrl, 500)
      const d = yield* dialAt(stalledUrl, 300)
      // And one that opens well before its deadline.
      const ok = yield* dialAt(server.url, 350)
      yield* Fiber.join(ok)
      while (sockets.length < 4) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      const pending = () => [a, b, c, d].map((fiber) => fiber.pollUnsafe() === undefined)
      assert.deepStrictEqual(pending(), [true, true, true, true])
      // [time on the test clock, which of a, b, c, d still wait]
      const steps: ReadonlyArray<readonly [number, ReadonlyArray<boolean>]> = [
        [299, [true, true, true, true]],
        [300, [true, false, true, true]],
        [400, [true, false, true, false]],
        [499, [true, false, true, false]],
        [500, [false, false, true, false]],
        [600, [false, false, false, false]]
      ]
      let now = 100
      for (const [at, waiting] of steps) {
        yield* TestClock.adjust(`${at - now} millis`)
        now = at
        assert.deepStrictEqual(pending(), waiting, `at ${at} ms`)
      }
      for (const fiber of [a, b, c, d]) {
        const error = yield* Effect.flip(Fiber.join(fiber))
        assert.strictEqual(error._tag, "ConnectTimeout")
      }
    }))

  it.live("a dial that opens leaves no connect-deadline sleep behind", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      // The live clock, counting the sleeps in progress on it.
      const live = yield* Clock.Clock
      let sleeping = 0
      const counting: Clock.Clock = {
        currentTimeMillisUnsafe: () => live.currentTimeMillisUnsafe(),
        currentTimeMillis: live.currentTimeMillis,
        currentTimeNanosUnsafe: () => live.currentTimeNanosUnsafe(),
        currentTimeNanos: live.currentTimeNanos,
        monotonicTimeNanosUnsafe: () => live.monotonicTimeNanosUnsafe(),
        monotonicTimeNanos: live.monotonicTimeNanos,
        sleep: (duration) =>
          Effect.suspend(() => {
            sleeping++
            return Effect.ensuring(live.sleep(duration), Effect.sync(() => sleeping--))
          })
      }
      const session = yield* Effect.forkChild(
        Effect.scoped(Effect.andThen(open(server.url, { connectTimeout: 60_000 }), Effect.never)).pipe(
          Effect.provideService(Clock.Clock, counting)
        )
      )
      yield* server.accepted
      yield* Effect.sleep("50 millis")
      assert.isUndefined(session.pollUnsafe(), "open")
      // A sleep still running for the deadline would keep a process that is done alive for a minute.
      assert.strictEqual(sleeping, 0)
      yield* Fiber.interrupt(session)
    }))

  it.live("a refused TCP connection is ConnectFailed naming the cause", () =>
    Effect.gen(function*() {
      const port = yield* Effect.scoped(tcpServer())
      const error = yield* Effect.flip(open(`ws://127.0.0.1:${port}`))
      assert.strictEqual(error._tag, "ConnectFailed")
      assert.include(error.message, "ECONNREFUSED")
    }))

  it.live("a self-signed wss server is rejected by default", () =>
    Effect.gen(function*() {
      const server = yield* wsServer({ tls: true })
      const error = yield* Effect.flip(open(server.url))
      assert.strictEqual(error._tag, "ConnectFailed")
      assert.match(error.message, /certificate/i)
    }))

  it.live("a wss server is accepted when its CA is given", () =>
    Effect.gen(function*() {
      const server = yield* wsServer({ tls: true })
      const session = yield* open(server.url, {}, { tls: { ca: fixture("ca.pem") } })
      const { ws } = yield* server.accepted
      ws.send("secure")
      const [frame] = yield* session.take
      assert.strictEqual(frame!._tag === "Text" && frame!.data, "secure")
    }))

  it.live("a certificate for another host is rejected even with the right CA", () =>
    Effect.gen(function*() {
      const server = yield* wsServer({ tls: true })
      const error = yield* Effect.flip(
        open(server.url, {}, { tls: { ca: fixture("ca.pem"), servername: "venue.example" } })
      )
      assert.strictEqual(error._tag, "ConnectFailed")
      assert.match(error.message, /altnames|host|certificate/i)
    }))

  it.live("a message over maxPayload is a ProtocolError with 1009", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url, { maxPayload: 1024 })
      const { ws } = yield* server.accepted
      ws.send("x".repeat(2048))
      const end = yield* Effect.flip(takeN(session, 99))
      assert.strictEqual(end._tag, "ProtocolError")
      assert.strictEqual(end.code, 1009)
    }))

  it.live(
    "with no maxPayload given, a request takes the one default, 16 MiB: a message of 16 MiB arrives, one byte more is a ProtocolError with 1009",
    () =>
      Effect.gen(function*() {
        assert.strictEqual(Transport.request({ url: "ws://x" }).maxPayload, ConnectionConfig.defaults.maxPayload)
        assert.strictEqual(ConnectionConfig.defaults.maxPayload, 16 * 1024 * 1024)
        const limit = 16 * 1024 * 1024
        const server = yield* wsServer()
        const fits = yield* open(server.url)
        const first = yield* server.accepted
        first.ws.send(Buffer.alloc(limit, 1))
        const [frame] = yield* fits.take
        assert.strictEqual(frame!._tag === "Binary" && frame!.data.byteLength, limit)
        const over = yield* open(server.url)
        const second = yield* server.accepted
        second.ws.send(Buffer.alloc(limit + 1, 1))
        const end = yield* Effect.flip(takeN(over, 99))
        assert.strictEqual(end._tag, "ProtocolError")
        assert.strictEqual(end.code, 1009)
      }),
    30_000
  )

  it.live("invalid UTF-8 in a text frame is a ProtocolError with 1007", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url)
      const { ws } = yield* server.accepted
      rawSocket(ws).write(Buffer.from([0x81, 0x02, 0xff, 0xfe]))
      const end = yield* Effect.flip(takeN(session, 99))
      assert.strictEqual(end._tag, "ProtocolError")
      assert.strictEqual(end.code, 1007)
      assert.match(end._tag === "ProtocolError" ? end.violation : "", /UTF-8/i)
    }))

  describe("a protocol violation is a ProtocolError with the close code ws documents for its public error .code", () => {
    const frame = (...bytes: Array<number>) => Buffer.from(bytes)
    // [what the peer does, the bytes it writes (or a function of its socket), the ws error code, the close code]
    const violations: ReadonlyArray<
      readonly [string, (ws: WebSocket) => void, string, number, Partial<Transport.OpenRequest>?]
    > = [
      ["a message over maxPayload", (ws) => ws.send("x".repeat(2048)), "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH", 1009, {
        maxPayload: 1024
      }],
      [
        "a 64-bit length over 2^53 - 1",
        (ws) => rawSocket(ws).write(frame(0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)),
        "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
        1009
      ],
      [
        "invalid UTF-8 in a text frame",
        (ws) => rawSocket(ws).write(frame(0x81, 0x02, 0xff, 0xfe)),
        "WS_ERR_INVALID_UTF8",
        1007
      ],
      [
        "invalid UTF-8 in a close reason",
        (ws) => rawSocket(ws).write(frame(0x88, 0x04, 0x03, 0xe8, 0xff, 0xfe)),
        "WS_ERR_INVALID_UTF8",
        1007
      ],
      [
        "a masked frame from the server",
        (ws) => rawSocket(ws).write(frame(0x81, 0x81, 1, 2, 3, 4, 0x61)),
        "WS_ERR_UNEXPECTED_MASK",
        1002
      ],
      ["a reserved opcode", (ws) => rawSocket(ws).write(frame(0x83, 0x00)), "WS_ERR_INVALID_OPCODE", 1002],
      [
        "an invalid close code",
        (ws) => rawSocket(ws).write(frame(0x88, 0x02, 0x03, 0xe7)),
        "WS_ERR_INVALID_CLOSE_CODE",
        1002
      ],
      ["a fragmented ping", (ws) => rawSocket(ws).write(frame(0x09, 0x00)), "WS_ERR_EXPECTED_FIN", 1002],
      [
        "a ping over 125 bytes",
        (ws) => rawSocket(ws).write(Buffer.concat([frame(0x89, 0x7e, 0x00, 0x7e), Buffer.alloc(126)])),
        "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
        1002
      ],
      ["RSV1 set without compression", (ws) => rawSocket(ws).write(frame(0xc1, 0x00)), "WS_ERR_UNEXPECTED_RSV_1", 1002],
      ["RSV2 set", (ws) => rawSocket(ws).write(frame(0xa1, 0x00)), "WS_ERR_UNEXPECTED_RSV_2_3", 1002],
      [
        "more fragments than ws buffers (16,384)",
        (ws) =>
          rawSocket(ws).write(
            Buffer.concat([frame(0x01, 0x01, 0x61), ...Array.from({ length: 16_384 }, () => frame(0x00, 0x01, 0x61))])
          ),
        "WS_ERR_TOO_MANY_BUFFERED_PARTS",
        1008
      ],
      [
        "a compressed message that does not inflate",
        (ws) => rawSocket(ws).write(frame(0xc1, 0x04, 0xff, 0xff, 0xff, 0xff)),
        "Z_DATA_ERROR",
        1007,
        { compression: true }
      ]
    ]

    /**
     * Hides ws's private `status-code` symbol from every error a socket
     * emits (ws no longer keeping it, as a later release may): only the
     * documented `.code` and message are left.
     */
    const withoutPrivateStatus = Effect.acquireRelease(
      Effect.sync(() => {
        const own = Object.getOwnPropertyDescriptor(WebSocket.prototype, "emit")
        const emit = WebSocket.prototype.emit
        WebSocket.prototype.emit = function(this: WebSocket, event: string | symbol, ...args: Array<unknown>) {
          const error = args[0]
          if (event === "error" && error instanceof Error) {
            for (const symbol of Object.getOwnPropertySymbols(error)) {
              delete (error as unknown as Record<symbol, unknown>)[symbol]
            }
          }
          return emit.call(this, event, ...args)
        }
        return own
      }),
      (own) =>
        Effect.sync(() => {
          if (own === undefined) delete (WebSocket.prototype as { emit?: unknown }).emit
          else Object.defineProperty(WebSocket.prototype, "emit", own)
        })
    )

    for (const hidden of [false, true]) {
      for (const [what, violate, wsCode, closeCode, overrides] of violations) {
        it.live(
          `${what}: ${closeCode} (${wsCode})${hidden ? ", with ws's private status symbol gone" : ""}`,
          () =>
            Effect.gen(function*() {
              if (hidden) yield* withoutPrivateStatus
              const server = yield* wsServer(overrides?.compression ? { perMessageDeflate: true } : {})
              const session = yield* open(server.url, overrides)
              const { ws } = yield* server.accepted
              violate(ws)
              const end = yield* Effect.flip(takeN(session, 100_000))
              assert.strictEqual(end._tag, "ProtocolError", end.message)
              assert.strictEqual(end.code, closeCode)
              assert.include(end._tag === "ProtocolError" ? end.violation : "", wsCode)
            }),
          10_000
        )
      }
    }
  })

  it.live("a ping flood ends the session with a ProtocolError (1008), not a silent terminate", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url)
      const { ws } = yield* server.accepted
      // 100 pings in one write: more pongs than the socket may owe at once.
      rawSocket(ws).write(Buffer.concat(Array.from({ length: 100 }, () => Buffer.from([0x89, 0x00]))))
      const end = yield* Effect.flip(takeN(session, 1000))
      assert.strictEqual(end._tag, "ProtocolError")
      assert.strictEqual(end.code, 1008)
      assert.match(end._tag === "ProtocolError" ? end.violation : "", /ping flood/)
    }))

  it.live("a few pings at once are each answered", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const session = yield* open(server.url)
      const { ws } = yield* server.accepted
      let pongs = 0
      ws.on("pong", () => pongs++)
      rawSocket(ws).write(Buffer.concat(Array.from({ length: 10 }, () => Buffer.from([0x89, 0x00]))))
      const frames = yield* takeN(session, 10)
      assert.isTrue(frames.every((f) => f._tag === "Ping"))
      while (pongs < 10) yield* Effect.sleep("5 millis")
      assert.strictEqual(pongs, 10)
    }))

  it.live("headers (Redacted too) and subprotocols reach the server", () =>
    Effect.gen(function*() {
      const server = yield* wsServer({ handleProtocols: (protocols) => (protocols.has("v2") ? "v2" : false) })
      const session = yield* open(server.url, {
        protocols: ["v1", "v2"],
        headers: { "x-plain": "a", "x-api-key": Redacted.make("s3cret") }
      })
      const { request } = yield* server.accepted
      assert.strictEqual(request.headers["x-plain"], "a")
      assert.strictEqual(request.headers["x-api-key"], "s3cret")
      assert.strictEqual(session.protocol, "v2")
    }))

  it.live("credentials in the URL never show in errors", () =>
    Effect.gen(function*() {
      const port = yield* refusingServer(401)
      const error = yield* Effect.flip(open(`ws://user:hunter2@127.0.0.1:${port}/ws?apiKey=hunter3&symbol=btc`))
      assert.notInclude(error.message, "hunter2")
      assert.notInclude(error.message, "hunter3")
      assert.notInclude(JSON.stringify(error), "hunter")
      assert.include(error.message, "symbol=btc")
    }))

  it.live("a burst of sends to a slow reader keeps the client's buffer bounded", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const highWater = 256 * 1024
      const session = yield* open(server.url, { sendHighWaterMark: highWater })
      const { ws } = yield* server.accepted
      rawSocket(ws).pause()
      const chunk = new Uint8Array(64 * 1024)
      let peak = 0
      const total = 1000
      const sender = yield* Effect.forkChild(Effect.gen(function*() {
        for (let i = 0; i < total; i++) {
          yield* session.send(chunk)
          peak = Math.max(peak, session.bufferedAmount())
        }
      }))
      yield* Effect.sleep("300 millis")
      assert.isUndefined(sender.pollUnsafe(), "send waits while the reader is stalled")
      assert.isAtMost(peak, highWater + chunk.byteLength)
      let received = 0
      ws.on("message", () => received++)
      rawSocket(ws).resume()
      yield* Fiber.join(sender)
      while (received < total) yield* Effect.sleep("10 millis")
      assert.strictEqual(received, total)
      assert.isAtMost(peak, highWater + chunk.byteLength)
    }), 30_000)

  it.live("closing the scope closes the socket with 1000", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      yield* Effect.scoped(open(server.url))
      const { ws } = yield* server.accepted
      const code = ws.readyState === ws.CLOSED ? 1000 : (yield* once<[number]>(ws, "close"))[0]
      assert.strictEqual(code, 1000)
    }))

  it.effect("a peer that never answers the close frame is cut after closeTimeout, on the clock the session opened with", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const scope = yield* Scope.make()
      yield* open(server.url, {}, { closeTimeout: "60 seconds" }).pipe(Scope.provide(scope))
      const { ws } = yield* server.accepted
      // The peer stops reading: the close frame is never answered.
      rawSocket(ws).pause()
      const closed = Effect.runPromise(once<[number]>(ws, "close"))
      // Closed from a fiber on the live clock: the release still waits on the session's (test) clock.
      const closing = yield* Effect.forkChild(
        Effect.provideService(Scope.close(scope, Exit.void), Clock.Clock, Clock.Clock.defaultValue()),
        { startImmediately: true }
      )
      yield* TestClock.adjust("59999 millis")
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      assert.isUndefined(closing.pollUnsafe(), "still waiting for the close handshake")
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(closing)
      // The socket is gone (the server then reads the unanswered close frame and the end).
      rawSocket(ws).resume()
      yield* Effect.promise(() => closed)
    }))
})
