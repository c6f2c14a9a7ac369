/**
 * The private-stream signatures on Web Crypto: the venues' published
 * examples where they publish one (Binance's HMAC request example, Kraken's
 * `API-Sign` example), and `node:crypto` as an independent second
 * implementation where they do not (OKX, Bybit, Coinbase Exchange, and
 * Ed25519, verified with the public key). A bad key fails with a
 * `SigningFailed` that names what was wrong and never holds the key.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import { createHmac, generateKeyPairSync, verify } from "node:crypto"
import * as Messages from "../../src/internal/auth/messages.ts"
import * as Sign from "../../src/internal/auth/sign.ts"

const secret = (text: string) => Redacted.make(text)
const hmacOracle = (key: string | Buffer, message: string, encoding: "hex" | "base64") =>
  createHmac("sha256", key).update(message).digest(encoding)

describe("venue signatures", () => {
  it.effect("Binance: the documented SIGNED request example (HMAC, hex)", () =>
    Effect.gen(function*() {
      // Binance Spot WebSocket API docs, "SIGNED request example (HMAC)".
      const signed = yield* Messages.binanceSigned({
        apiKey: secret("vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"),
        secret: secret("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")
      }, {
        symbol: "BTCUSDT",
        side: "SELL",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "0.01000000",
        price: "52000.00",
        newOrderRespType: "ACK",
        recvWindow: 100,
        timestamp: 1645423376532
      })
      assert.strictEqual(signed.signature, "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a")
      assert.strictEqual(signed.apiKey, "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A")
    }))

  it.effect("Kraken: the documented API-Sign example (HMAC-SHA512 over path and SHA-256)", () =>
    Effect.gen(function*() {
      // Kraken "Spot REST authentication" guide's example.
      const sign = yield* Messages.krakenApiSign(
        secret("kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="),
        "/0/private/AddOrder",
        "1616492376594",
        "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
      )
      assert.strictEqual(
        sign,
        "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
      )
    }))

  it.effect("OKX login: base64 HMAC-SHA256 of timestamp + GET + /users/self/verify, whole seconds", () =>
    Effect.gen(function*() {
      const login = JSON.parse(
        yield* Messages.okxLogin({
          apiKey: secret("okx-key"),
          secret: secret("22582BD0CFF14C41EDBF1AB98506286D"),
          passphrase: secret("pass phrase")
        }, 1704876947.9)
      )
      assert.deepStrictEqual(login, {
        op: "login",
        args: [{
          apiKey: "okx-key",
          passphrase: "pass phrase",
          timestamp: "1704876947",
          sign: hmacOracle("22582BD0CFF14C41EDBF1AB98506286D", "1704876947GET/users/self/verify", "base64")
        }]
      })
    }))

  it.effect("Bybit auth: hex HMAC-SHA256 of GET/realtime + expires", () =>
    Effect.gen(function*() {
      const auth = JSON.parse(
        yield* Messages.bybitAuth({ apiKey: secret("bybit-key"), secret: secret("test_secret") }, 1662350400000, "7")
      )
      assert.deepStrictEqual(auth, {
        req_id: "7",
        op: "auth",
        args: ["bybit-key", 1662350400000, hmacOracle("test_secret", "GET/realtime1662350400000", "hex")]
      })
    }))

  it.effect("Coinbase Exchange: base64 HMAC-SHA256 keyed by the base64-decoded secret, decimal timestamp", () =>
    Effect.gen(function*() {
      const key = Buffer.from("coinbase-test-secret-0123456789ab").toString("base64")
      const fields = yield* Messages.coinbaseSignature(
        { apiKey: secret("cb-key"), secret: secret(key), passphrase: secret("cb-pass") },
        1700000000.123
      )
      assert.deepStrictEqual(fields, {
        signature: hmacOracle(Buffer.from(key, "base64"), "1700000000.123GET/users/self/verify", "base64"),
        key: "cb-key",
        passphrase: "cb-pass",
        timestamp: "1700000000.123"
      })
    }))

  it.effect("Binance Ed25519: a base64 signature the public key verifies", () =>
    Effect.gen(function*() {
      const pair = generateKeyPairSync("ed25519")
      const pem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString()
      const signed = yield* Messages.binanceSigned(
        { apiKey: secret("ed-key"), privateKey: secret(pem) },
        { timestamp: 1747385641636 }
      )
      const payload = "apiKey=ed-key&timestamp=1747385641636"
      assert.isTrue(verify(null, Buffer.from(payload), pair.publicKey, Buffer.from(String(signed.signature), "base64")))
    }))
})

describe("bad keys", () => {
  const failure = <A>(effect: Effect.Effect<A, Sign.SigningFailed>) =>
    Effect.map(Effect.exit(effect), (exit) => {
      assert.isTrue(Exit.isFailure(exit), "signing should have failed")
      const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.strictEqual(error?._tag, "Fail")
      return error?._tag === "Fail" ? (error.error as Sign.SigningFailed) : undefined
    })

  it.effect("an empty secret, a secret that is not base64, a key that is not PKCS#8, a missing passphrase", () =>
    Effect.gen(function*() {
      const empty = yield* failure(Sign.hmacSha256(secret(""), "x"))
      assert.strictEqual(empty?.message, "could not sign with HMAC-SHA256: the secret is empty")

      const notBase64 = yield* failure(
        Messages.coinbaseSignature(
          { apiKey: secret("k"), secret: secret("not*base64!SECRET"), passphrase: secret("p") },
          1
        )
      )
      assert.match(notBase64?.message ?? "", /the secret is not base64/)
      assert.notInclude(notBase64?.message ?? "", "SECRET")

      const seed = yield* failure(
        Messages.binanceSigned({ apiKey: secret("k"), privateKey: secret("a".repeat(64)) }, { timestamp: 1 })
      )
      assert.match(seed?.message ?? "", /^could not sign with Ed25519: the private key is not a PKCS#8 PEM block/)
      assert.notInclude(seed?.message ?? "", "aaaa")

      const noPassphrase = yield* failure(Messages.okxLogin({ apiKey: secret("k"), secret: secret("s") }, 1))
      assert.match(noPassphrase?.message ?? "", /OKX keys need a passphrase/)
    }))

  it("hex and base64 round trips", () => {
    const bytes = new Uint8Array([0, 1, 15, 16, 255])
    assert.strictEqual(Sign.toHex(bytes), "00010f10ff")
    assert.deepStrictEqual(Sign.fromBase64(Sign.toBase64(bytes)), bytes)
    assert.isUndefined(Sign.fromBase64("a*b"))
  })
})
