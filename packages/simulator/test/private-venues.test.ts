/**
 * The private endpoints of Binance (WebSocket API user data stream, HMAC and Ed25519 keys), Kraken (signed
 * REST token, then the authenticated socket), Coinbase Exchange (the signed `user` subscribe) and
 * Hyperliquid (user streams by address, no signature), over real sockets, with signatures made here by
 * `node:crypto`; each venue's refusals; and `expireAuth` ending a session as the venue does.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash, createHmac, generateKeyPairSync, sign } from "node:crypto"
import { Simulator } from "../src/index.ts"
import { type Client, connect, msg } from "./utils/client.ts"

const ed = generateKeyPairSync("ed25519")
const binance = { apiKey: "sim-binance-key", secret: "sim-binance-secret" }
const binanceEd = {
  apiKey: "sim-binance-ed",
  secret: "unused",
  publicKey: ed.publicKey.export({ type: "spki", format: "pem" }).toString()
}
const kraken = {
  apiKey: "sim-kraken-key",
  secret: Buffer.from("sim-kraken-secret-bytes-0123456789").toString("base64")
}
const coinbase = {
  apiKey: "sim-cb-key",
  secret: Buffer.from("sim-coinbase-secret-0123456789").toString("base64"),
  passphrase: "cb pass"
}
const options = {
  rate: 0,
  privateRate: 100,
  tickInterval: 10,
  accounts: [binance, binanceEd, kraken, coinbase]
} as const

const seqLine = (
  c: Client,
  pred: Parameters<typeof msg>[0],
  seqOf: Parameters<typeof msg>[0] extends (json: infer J) => boolean ? (json: J) => number : never
) => c.messages(msg(pred)).map((s) => seqOf(s.json))
const consecutive = (line: ReadonlyArray<number>) => {
  assert.isAbove(line.length, 1)
  for (let i = 1; i < line.length; i++) assert.strictEqual(line[i], line[i - 1]! + 1, `seq line ${line.join(",")}`)
}
const query = (params: Record<string, string | number>) =>
  Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join("&")

const binanceSubscribe = (id: string, fields: { apiKey?: string; timestamp?: number; secret?: string } = {}) => {
  const params = { apiKey: fields.apiKey ?? binance.apiKey, timestamp: fields.timestamp ?? Date.now() }
  const signature = createHmac("sha256", fields.secret ?? binance.secret).update(query(params)).digest("hex")
  return { id, method: "userDataStream.subscribe.signature", params: { ...params, signature } }
}

describe("Binance WebSocket API user data stream", () => {
  it.live("subscribes with an HMAC and an Ed25519 signature; events wrapped with the subscriptionId, seq +1", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const c = yield* connect(sim.endpoints.binanceWsApi)
      c.send(binanceSubscribe("s1"))
      const ok = yield* c.next(msg((j) => j.id === "s1"))
      assert.deepStrictEqual([ok.json.status, ok.json.result], [200, { subscriptionId: 0 }])
      yield* c.nextN(10, msg((j) => j.subscriptionId === 0 && j.event?.e === "executionReport"))
      consecutive(seqLine(c, (j) => j.subscriptionId === 0, (j) => j.event.seq))

      const params = { apiKey: binanceEd.apiKey, timestamp: Date.now() }
      const signature = sign(null, Buffer.from(query(params)), ed.privateKey).toString("base64")
      c.send({ id: "s2", method: "userDataStream.subscribe.signature", params: { ...params, signature } })
      const second = yield* c.next(msg((j) => j.id === "s2"))
      assert.deepStrictEqual(second.json.result, { subscriptionId: 1 })
      yield* c.nextN(3, msg((j) => j.subscriptionId === 1))
    }))

  it.live("refuses an unknown key (-2015), a stale timestamp (-1021), a wrong signature (-1022), a missing param (-1102)", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const c = yield* connect(sim.endpoints.binanceWsApi)
      const cases: ReadonlyArray<readonly [object, number]> = [
        [binanceSubscribe("a", { apiKey: "nobody" }), -2015],
        [binanceSubscribe("b", { timestamp: Date.now() - 6_000 }), -1021],
        [binanceSubscribe("c", { timestamp: Date.now() + 2_000 }), -1021],
        [binanceSubscribe("d", { secret: "not-the-secret" }), -1022],
        [{ id: "e", method: "userDataStream.subscribe.signature", params: { apiKey: binance.apiKey } }, -1102]
      ]
      for (const [request, code] of cases) {
        const id = (request as { id: string }).id
        c.send(request)
        const answer = yield* c.next(msg((j) => j.id === id))
        assert.strictEqual(answer.json.error?.code, code, id)
        assert.strictEqual(answer.json.status, code === -2015 ? 401 : 400)
      }
    }))

  it.live("a venue clock 10 s behind: correct by `time`, then subscribe; expireAuth ends it with eventStreamTerminated", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...options, clockOffset: -10_000 })
      const c = yield* connect(sim.endpoints.binanceWsApi)
      c.send(binanceSubscribe("early"))
      assert.strictEqual((yield* c.next(msg((j) => j.id === "early"))).json.error.code, -1021)
      c.send({ id: "t", method: "time" })
      const serverTime = (yield* c.next(msg((j) => j.id === "t"))).json.result.serverTime as number
      assert.approximately(serverTime - Date.now(), -10_000, 2_000)
      c.send(binanceSubscribe("late", { timestamp: serverTime }))
      assert.strictEqual((yield* c.next(msg((j) => j.id === "late"))).json.status, 200)
      yield* c.nextN(3, msg((j) => j.event?.e === "executionReport"))

      assert.strictEqual(yield* sim.expireAuth("binance"), 1)
      const ended = yield* c.next(msg((j) => j.event?.e === "eventStreamTerminated"))
      assert.strictEqual(ended.json.subscriptionId, 0)
      const after = c.seen.length
      yield* Effect.sleep("150 millis")
      assert.strictEqual(
        c.messages(msg((j) => j.event?.e === "executionReport")).filter((s) => c.seen.indexOf(s) > after).length,
        0
      )
    }))
})

const krakenToken = (url: string, nonce: string, key = kraken.apiKey, secret = kraken.secret) => {
  const body = `nonce=${nonce}`
  const digest = createHash("sha256").update(nonce + body).digest()
  const apiSign = createHmac("sha512", Buffer.from(secret, "base64"))
    .update(Buffer.concat([Buffer.from("/0/private/GetWebSocketsToken"), digest])).digest("base64")
  return Effect.promise(() =>
    fetch(url, {
      method: "POST",
      headers: { "API-Key": key, "API-Sign": apiSign, "Content-Type": "application/x-www-form-urlencoded" },
      body
    }).then((r) => r.json() as Promise<{ error: ReadonlyArray<string>; result?: { token: string; expires: number } }>)
  )
}

describe("Kraken private", () => {
  it.live("a signed token request, then executions on the authenticated socket; refusals by the token endpoint and the socket", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const url = sim.endpoints.krakenToken
      assert.deepStrictEqual((yield* krakenToken(url, "5", "nobody")).error, ["EAPI:Invalid key"])
      assert.deepStrictEqual(
        (yield* krakenToken(url, "5", kraken.apiKey, Buffer.from("wrong").toString("base64"))).error,
        ["EAPI:Invalid signature"]
      )
      const issued = yield* krakenToken(url, "10")
      assert.deepStrictEqual(issued.error, [])
      assert.strictEqual(issued.result?.expires, 900)
      assert.deepStrictEqual((yield* krakenToken(url, "10")).error, ["EAPI:Invalid nonce"])

      const c = yield* connect(sim.endpoints.krakenAuth)
      c.send({ method: "subscribe", params: { channel: "executions", token: "made-up" }, req_id: 1 })
      const refused = yield* c.next(msg((j) => j.req_id === 1))
      assert.deepStrictEqual([refused.json.success, refused.json.error], [false, "ESession:Invalid session"])
      c.send({ method: "subscribe", params: { channel: "executions", token: issued.result!.token }, req_id: 2 })
      const ack = yield* c.next(msg((j) => j.req_id === 2))
      assert.deepStrictEqual([ack.json.success, ack.json.result.channel], [true, "executions"])
      yield* c.nextN(10, msg((j) => j.channel === "executions"))
      consecutive(seqLine(c, (j) => j.channel === "executions", (j) => j.data[0].seq))

      assert.strictEqual(yield* sim.expireAuth("kraken"), 1)
      assert.strictEqual((yield* c.closed).code, 1000)
      const d = yield* connect(sim.endpoints.krakenAuth)
      d.send({ method: "subscribe", params: { channel: "balances", token: issued.result!.token }, req_id: 3 })
      assert.strictEqual((yield* d.next(msg((j) => j.req_id === 3))).json.error, "ESession:Invalid session")
    }))

  it.live("a token not used within tokenLifetime is refused; one used in time stays valid on a later subscribe", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make({ ...options, venues: { kraken: { tokenLifetime: "200 millis" } } })
      const stale = yield* krakenToken(sim.endpoints.krakenToken, "1")
      const fresh = yield* krakenToken(sim.endpoints.krakenToken, "2")
      const c = yield* connect(sim.endpoints.krakenAuth)
      c.send({ method: "subscribe", params: { channel: "executions", token: fresh.result!.token }, req_id: 1 })
      assert.isTrue((yield* c.next(msg((j) => j.req_id === 1))).json.success)
      yield* Effect.sleep("300 millis")
      c.send({ method: "subscribe", params: { channel: "balances", token: stale.result!.token }, req_id: 2 })
      assert.strictEqual((yield* c.next(msg((j) => j.req_id === 2))).json.error, "ESession:Invalid session")
      c.send({ method: "subscribe", params: { channel: "balances", token: fresh.result!.token }, req_id: 3 })
      assert.isTrue((yield* c.next(msg((j) => j.req_id === 3))).json.success)
    }))
})

const coinbaseSubscribe = (fields: { timestamp?: string; passphrase?: string; secret?: string } = {}) => {
  const timestamp = fields.timestamp ?? (Date.now() / 1000).toFixed(3)
  const signature = createHmac("sha256", Buffer.from(fields.secret ?? coinbase.secret, "base64"))
    .update(`${timestamp}GET/users/self/verify`).digest("base64")
  return {
    type: "subscribe",
    product_ids: ["BTC-USD"],
    channels: ["user"],
    signature,
    key: coinbase.apiKey,
    passphrase: fields.passphrase ?? coinbase.passphrase,
    timestamp
  }
}

describe("Coinbase Exchange user channel", () => {
  it.live("a signed subscribe gets the account's orders with seq +1; bad ones are refused and subscribe nothing", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const c = yield* connect(sim.endpoints.coinbase)
      const { signature: _, ...unsigned } = coinbaseSubscribe()
      const cases: ReadonlyArray<readonly [object, string]> = [
        [unsigned, "the user channel needs a signed subscribe: signature is missing"],
        [coinbaseSubscribe({ timestamp: String(Date.now() / 1000 - 40) }), "request timestamp expired"],
        [coinbaseSubscribe({ passphrase: "wrong" }), "invalid passphrase"],
        [coinbaseSubscribe({ secret: Buffer.from("wrong").toString("base64") }), "invalid signature"]
      ]
      for (const [request, reason] of cases) {
        const from = c.seen.length
        c.send(request)
        const error = yield* c.next(msg((j) => j.type === "error"), { from })
        assert.deepStrictEqual([error.json.message, error.json.reason], ["Authentication Failed", reason])
      }
      c.send(coinbaseSubscribe())
      const subs = yield* c.next(msg((j) => j.type === "subscriptions"))
      assert.deepStrictEqual(subs.json.channels, [{ name: "user", product_ids: ["BTC-USD"] }])
      yield* c.nextN(10, msg((j) => j.user_id === `user-${coinbase.apiKey}`))
      consecutive(seqLine(c, (j) => j.user_id !== undefined, (j) => j.seq))
    }))
})

describe("Hyperliquid user streams", () => {
  it.live("orderUpdates by address with no signature; a malformed address is refused", () =>
    Effect.gen(function*() {
      const sim = yield* Simulator.make(options)
      const c = yield* connect(sim.endpoints.hyperliquid)
      c.send({ method: "subscribe", subscription: { type: "orderUpdates", user: "0x123" } })
      assert.match((yield* c.next(msg((j) => j.channel === "error"))).json.data, /^Invalid subscription/)
      const user = `0x${"ab".repeat(20)}`
      c.send({ method: "subscribe", subscription: { type: "orderUpdates", user } })
      yield* c.next(msg((j) => j.channel === "subscriptionResponse"))
      yield* c.nextN(10, msg((j) => j.channel === "orderUpdates"))
      consecutive(seqLine(c, (j) => j.channel === "orderUpdates", (j) => j.data[0].seq))
    }))
})

describe("expireAuth", () => {
  it.live("OKX closes a logged-in connection with 4007; a venue with no private session reports 0", () =>
    Effect.gen(function*() {
      const okx = { apiKey: "k", secret: "s", passphrase: "p" }
      const sim = yield* Simulator.make({ ...options, accounts: [okx] })
      const c = yield* connect(sim.endpoints.okxPrivate)
      const timestamp = String(Math.floor(Date.now() / 1000))
      const signature = createHmac("sha256", okx.secret).update(`${timestamp}GET/users/self/verify`).digest("base64")
      c.send({ op: "login", args: [{ apiKey: okx.apiKey, passphrase: okx.passphrase, timestamp, sign: signature }] })
      yield* c.next(msg((j) => j.event === "login" && j.code === "0"))
      assert.strictEqual(yield* sim.expireAuth("bybit"), 0)
      assert.strictEqual(yield* sim.expireAuth("okx"), 1)
      assert.strictEqual((yield* c.closed).code, 4007)
    }))
})
