/**
 * The private endpoints over real sockets: OKX `login` and Bybit `auth` signed with a configured test
 * account (signatures made here with `node:crypto`, independently of the simulator's checks), each refusal
 * the venues document (bad key, passphrase, signature, a stale timestamp, a repeated login), private
 * channels refused before a login and pushed after it with `seq` one higher each time, one `seq` line per
 * account across its connections, and a skewed venue clock that a client corrects by the server-time
 * endpoint.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { createHmac } from "node:crypto"
import { Simulator } from "../src/index.ts"
import { type Client, connect, msg } from "./utils/client.ts"

const account = { apiKey: "sim-okx-key", secret: "sim-okx-secret", passphrase: "sim pass" }
const bybitAccount = { apiKey: "sim-bybit-key", secret: "sim-bybit-secret" }
const options = { rate: 0, privateRate: 100, tickInterval: 10, accounts: [account, bybitAccount] } as const

const okxSign = (secret: string, timestamp: string) =>
  createHmac("sha256", secret).update(`${timestamp}GET/users/self/verify`).digest("base64")
const okxLogin = (
  fields: Partial<{ apiKey: string; passphrase: string; timestamp: string; sign: string }> = {},
  at = Date.now()
) => {
  const timestamp = fields.timestamp ?? String(Math.floor(at / 1000))
  return {
    op: "login",
    args: [{
      apiKey: fields.apiKey ?? account.apiKey,
      passphrase: fields.passphrase ?? account.passphrase,
      timestamp,
      sign: fields.sign ?? okxSign(account.secret, timestamp)
    }]
  }
}
const bybitAuth = (expires: number, secret = bybitAccount.secret, apiKey = bybitAccount.apiKey) => ({
  op: "auth",
  args: [apiKey, expires, createHmac("sha256", secret).update(`GET/realtime${expires}`).digest("hex")]
})

/** The `seq` of private pushes, in order of arrival. */
const seqs = (c: Client, pred: Parameters<typeof msg>[0]): Array<number> =>
  c.messages(msg(pred)).map((s) => Number(s.json.data[0].seq))
const consecutive = (line: ReadonlyArray<number>) => {
  for (let i = 1; i < line.length; i++) assert.strictEqual(line[i], line[i - 1]! + 1, `seq line ${line.join(",")}`)
}

const okxError = (c: Client, code: string) => c.next(msg((j) => j.event === "error" && j.code === code))

describe("OKX private", () => {
  it.live("refuses a private channel before login (60011), logs in, then pushes orders with seq +1", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const c = yield* connect(sim.endpoints.okxPrivate)
      c.send({ op: "subscribe", args: [{ channel: "orders", instType: "SPOT" }] })
      const refused = yield* okxError(c, "60011")
      assert.strictEqual(refused.json.msg, "Please log in")

      c.send(okxLogin())
      const login = yield* c.next(msg((j) => j.event === "login"))
      assert.strictEqual(login.json.code, "0")
      assert.isString(login.json.connId)

      c.send({ id: "7", op: "subscribe", args: [{ channel: "orders", instType: "SPOT" }, { channel: "account" }] })
      const acks = yield* c.nextN(2, msg((j) => j.event === "subscribe"))
      assert.deepStrictEqual(acks.map((a) => [a.json.id, a.json.arg.channel]), [["7", "orders"], ["7", "account"]])
      yield* c.nextN(20, msg((j) => j.arg?.channel === "orders" && j.data !== undefined))
      const orders = seqs(c, (j) => j.arg?.channel === "orders" && j.data !== undefined)
      consecutive(orders)
      const first = c.messages(msg((j) => j.arg?.channel === "orders" && j.data !== undefined))[0]!.json
      assert.strictEqual(first.arg.uid, `uid-${account.apiKey}`)
      assert.oneOf(first.data[0].state, ["live", "partially_filled", "filled"])
      consecutive(seqs(c, (j) => j.arg?.channel === "account" && j.data !== undefined))
    }))

  it.live("answers each bad login with OKX's code, and a second login with 60031", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const c = yield* connect(sim.endpoints.okxPrivate)
      const cases: ReadonlyArray<readonly [object, string]> = [
        [{ op: "login", args: [{ apiKey: account.apiKey }] }, "60012"],
        [okxLogin({ timestamp: "soon" }), "60004"],
        [okxLogin({}, Date.now() - 31_000), "60006"],
        [okxLogin({ apiKey: "nobody" }), "60005"],
        [okxLogin({ passphrase: "wrong" }), "60024"],
        [okxLogin({ sign: okxSign("not-the-secret", String(Math.floor(Date.now() / 1000))) }), "60007"]
      ]
      for (const [request, code] of cases) {
        const from = c.seen.length
        c.send(request)
        const answer = yield* c.next(msg((j) => j.event === "error" || j.event === "login"), { from })
        assert.strictEqual(answer.json.code, code, JSON.stringify(request))
      }
      c.send(okxLogin())
      assert.strictEqual((yield* c.next(msg((j) => j.event === "login"))).json.code, "0")
      c.send(okxLogin())
      yield* okxError(c, "60031")
    }))

  it.live("reports each login check (LoginChecked) with the key, the signature sent and the outcome", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const events = yield* sim.subscribe
      const c = yield* connect(sim.endpoints.okxPrivate)
      const bad = okxLogin({ passphrase: "wrong" })
      c.send(bad)
      yield* okxError(c, "60024")
      const good = okxLogin()
      c.send(good)
      yield* c.next(msg((j) => j.event === "login"))
      const checks = yield* events.pipe(
        Stream.filter((e) => e._tag === "LoginChecked"),
        Stream.take(2),
        Stream.runCollect
      )
      assert.deepStrictEqual(
        [...checks].map((e) => e._tag === "LoginChecked" && [e.venue, e.apiKey, e.proof, e.accepted, e.reason]),
        [
          ["okx", account.apiKey, bad.args[0]!.sign, false, "60024"],
          ["okx", account.apiKey, good.args[0]!.sign, true, ""]
        ]
      )
    }))

  it.live("one seq line per account: a second connection continues it", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const a = yield* connect(sim.endpoints.okxPrivate)
      const b = yield* connect(sim.endpoints.okxPrivate)
      for (const c of [a, b]) {
        c.send(okxLogin())
        yield* c.next(msg((j) => j.event === "login" && j.code === "0"))
        c.send({ op: "subscribe", args: [{ channel: "orders", instType: "ANY" }] })
        yield* c.nextN(5, msg((j) => j.arg?.channel === "orders" && j.data !== undefined))
      }
      const lineA = seqs(a, (j) => j.data !== undefined)
      const lineB = seqs(b, (j) => j.data !== undefined)
      consecutive(lineA)
      consecutive(lineB)
      // Both see one shared stream: b's pushes are a's later pushes, not a stream of its own from 1.
      assert.isAbove(lineB[0]!, lineA[0]!)
      assert.include(lineA, lineB[0]!)
    }))

  it.live("a venue clock 2 minutes ahead: a login on local time is stale; corrected by the server time, it passes", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...options, clockOffset: "2 minutes" })
      const c = yield* connect(sim.endpoints.okxPrivate)
      c.send(okxLogin())
      yield* okxError(c, "60006")
      const time = yield* Effect.promise(() =>
        fetch(sim.endpoints.okxTime).then((r) => r.json() as Promise<{ data: ReadonlyArray<{ ts: string }> }>)
      )
      const venueMs = Number(time.data[0]!.ts)
      assert.approximately(venueMs - Date.now(), 120_000, 5_000)
      c.send(okxLogin({}, venueMs))
      assert.strictEqual((yield* c.next(msg((j) => j.event === "login"))).json.code, "0")
    }))
})

describe("Bybit private", () => {
  const answer = (c: Client, op: string, from: number) => c.next(msg((j) => j.op === op), { from })

  it.live("refuses a private topic before auth, authenticates, then pushes orders with seq +1", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const c = yield* connect(sim.endpoints.bybitPrivate)
      c.send({ op: "subscribe", args: ["order"] })
      const refused = yield* answer(c, "subscribe", 0)
      assert.deepStrictEqual([refused.json.success, refused.json.ret_msg], [false, "Request not authorized"])

      c.send({ req_id: "a1", ...bybitAuth(Date.now() + 10_000) })
      const auth = yield* answer(c, "auth", 0)
      assert.deepStrictEqual([auth.json.success, auth.json.ret_msg, auth.json.req_id], [true, "", "a1"])

      const from = c.seen.length
      c.send({ op: "subscribe", args: ["order", "wallet"] })
      assert.isTrue((yield* answer(c, "subscribe", from)).json.success)
      yield* c.nextN(20, msg((j) => j.topic === "order"))
      consecutive(seqs(c, (j) => j.topic === "order"))
      consecutive(seqs(c, (j) => j.topic === "wallet"))
      const first = c.messages(msg((j) => j.topic === "order"))[0]!.json
      assert.oneOf(first.data[0].orderStatus, ["New", "PartiallyFilled", "Filled"])

      c.send({ req_id: "p", op: "ping" })
      const pong = yield* c.next(msg((j) => j.op === "pong"))
      assert.deepStrictEqual([pong.json.req_id, typeof pong.json.args[0]], ["p", "string"])
    }))

  it.live("answers a bad signature, an expired request, malformed args and a repeated auth", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const c = yield* connect(sim.endpoints.bybitPrivate)
      const cases: ReadonlyArray<readonly [object, string]> = [
        [{ op: "auth", args: ["only-key"] }, "Params Error"],
        [bybitAuth(Date.now() - 1_000), "error:request expired"],
        [bybitAuth(Date.now() + 10_000, "not-the-secret"), "Request not authorized"],
        [bybitAuth(Date.now() + 10_000, bybitAccount.secret, "nobody"), "Request not authorized"]
      ]
      for (const [request, text] of cases) {
        const from = c.seen.length
        c.send(request)
        const reply = yield* answer(c, "auth", from)
        assert.deepStrictEqual([reply.json.success, reply.json.ret_msg], [false, text], JSON.stringify(request))
      }
      let from = c.seen.length
      c.send(bybitAuth(Date.now() + 10_000))
      assert.isTrue((yield* answer(c, "auth", from)).json.success)
      from = c.seen.length
      c.send(bybitAuth(Date.now() + 10_000))
      assert.strictEqual((yield* answer(c, "auth", from)).json.ret_msg, "Repeat auth")
    }))

  it.live("a venue clock 2 minutes ahead: expires on local time is past; corrected by the server time, it passes", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...options, clockOffset: "2 minutes" })
      const c = yield* connect(sim.endpoints.bybitPrivate)
      c.send(bybitAuth(Date.now() + 10_000))
      assert.strictEqual((yield* answer(c, "auth", 0)).json.ret_msg, "error:request expired")
      const time = yield* Effect.promise(() =>
        fetch(sim.endpoints.bybitTime).then((r) => r.json() as Promise<{ retCode: number; time: number }>)
      )
      assert.strictEqual(time.retCode, 0)
      const from = c.seen.length
      c.send(bybitAuth(Number(time.time) + 10_000))
      assert.isTrue((yield* answer(c, "auth", from)).json.success)
    }))
})
