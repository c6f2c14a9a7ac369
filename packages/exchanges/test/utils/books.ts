/**
 * Book test helpers on MemoryTransport and TestClock: a memory server that
 * answers every venue's subscribe requests as the venue does (OKX refuses
 * instruments whose name starts with `BAD` with its 60018), a scripted
 * `HttpClient` standing in for Binance's REST depth endpoint (answers,
 * 429/418 with `Retry-After`, a weight count per request), and message
 * builders per venue whose checksums are computed with the venue modules'
 * own map books (`Okx.checksum`, `Kraken.checksum`), independently of the
 * book module under test.
 */
import { MemoryTransport, type Transport } from "@kharbranth/core"
import { settle } from "@kharbranth/test-utils/clock"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Kraken from "../../src/Kraken.ts"
import * as Okx from "../../src/Okx.ts"

export { settle }

/** Answers a subscribe or unsubscribe as each of the six venues does. */
export const reply = (message: string): string | ReadonlyArray<string> | undefined => {
  const msg = JSON.parse(message)
  if (msg.method === "SUBSCRIBE" || msg.method === "UNSUBSCRIBE") return JSON.stringify({ result: null, id: msg.id })
  if ((msg.op === "subscribe" || msg.op === "unsubscribe") && Array.isArray(msg.args)) {
    if (typeof msg.args[0] === "string") {
      return JSON.stringify({ success: true, ret_msg: "", conn_id: "c", req_id: msg.req_id, op: msg.op })
    }
    return msg.args.map((arg: { channel: string; instId: string }) =>
      arg.instId.startsWith("BAD")
        ? JSON.stringify({
          id: msg.id,
          event: "error",
          code: "60018",
          msg:
            `Wrong URL or channel:${arg.channel},instId:${arg.instId} doesn't exist. Please use the correct URL, channel and parameters referring to API document.`,
          connId: "c"
        })
        : JSON.stringify({ id: msg.id, event: msg.op, arg, connId: "c" })
    )
  }
  if ((msg.method === "subscribe" || msg.method === "unsubscribe") && msg.params !== undefined) {
    return msg.params.symbol.map((symbol: string) =>
      JSON.stringify({
        method: msg.method,
        req_id: msg.req_id,
        result: { channel: msg.params.channel, symbol },
        success: true
      })
    )
  }
  if (msg.method === "subscribe" || msg.method === "unsubscribe") {
    return JSON.stringify({ channel: "subscriptionResponse", data: msg })
  }
  if (msg.type === "subscribe") {
    const channels = msg.channels.map((c: { name: string; product_ids: Array<string> }) => c)
    return JSON.stringify({ type: "subscriptions", channels })
  }
  if (msg.type === "unsubscribe") return JSON.stringify({ type: "subscriptions", channels: [] })
  return undefined
}

/** A memory server answering subscribes. */
export const server = (): Layer.Layer<Transport.Transport | MemoryTransport.MemoryServer> =>
  MemoryTransport.layer({ reply })

/** Feed options for tests: reconnect a second after a drop. */
export const feedOptions = { reconnect: Schedule.spaced("1 second"), closeTimeout: "100 millis" } as const

/** One scripted REST answer. */
export interface Answer {
  readonly status: number
  readonly body: unknown
  readonly headers?: Record<string, string>
  /** Virtual time the answer takes. */
  readonly delay?: number
}

/** A scripted REST endpoint: answers in order (the last repeats), counting requests. */
export interface Rest {
  readonly urls: Array<string>
  readonly times: Array<number>
  readonly script: Array<Answer | ((url: string) => Answer)>
}

/** An `HttpClient` serving `rest`'s script. */
export const restLayer = (rest: Rest): Layer.Layer<HttpClient.HttpClient> =>
  Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        rest.urls.push(url.toString())
        rest.times.push(now)
        const next = rest.script.length > 1 ? rest.script.shift()! : rest.script[0]!
        const answer = typeof next === "function" ? next(url.toString()) : next
        if (answer.delay !== undefined) yield* Effect.sleep(answer.delay)
        return HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify(answer.body), {
            status: answer.status,
            headers: { "content-type": "application/json", ...answer.headers }
          })
        )
      })
    )
  )

/** A Binance depth snapshot body. */
export const depth = (lastUpdateId: number, bids: Array<[number, number]>, asks: Array<[number, number]>) => ({
  lastUpdateId,
  bids: bids.map(([p, q]) => [String(p), String(q)]),
  asks: asks.map(([p, q]) => [String(p), String(q)])
})

/** A Binance spot `depthUpdate` event. */
export const spotEvent = (
  symbol: string,
  U: number,
  u: number,
  b: Array<[number, number]>,
  a: Array<[number, number]> = []
) =>
  JSON.stringify({
    e: "depthUpdate",
    E: 1,
    s: symbol,
    U,
    u,
    b: b.map(([p, q]) => [String(p), String(q)]),
    a: a.map(([p, q]) => [String(p), String(q)])
  })

/** A Binance USD-M `depthUpdate` event. */
export const usdmEvent = (
  symbol: string,
  U: number,
  u: number,
  pu: number,
  b: Array<[number, number]>,
  a: Array<[number, number]> = []
) =>
  JSON.stringify({
    e: "depthUpdate",
    E: 1,
    T: 1,
    s: symbol,
    U,
    u,
    pu,
    b: b.map(([p, q]) => [String(p), String(q)]),
    a: a.map(([p, q]) => [String(p), String(q)])
  })

/** An OKX book venue-side: keeps the true book and writes pushes with its checksum. */
export const okxBook = (instId: string) => {
  const truth = Okx.makeBook(instId)
  const push = (
    action: "snapshot" | "update",
    seqId: number,
    prevSeqId: number,
    bids: Array<[string, string]>,
    asks: Array<[string, string]>,
    corrupt = false
  ) => {
    const data = {
      asks: asks.map(([p, s]) => [p, s, "0", "1"] as const),
      bids: bids.map(([p, s]) => [p, s, "0", "1"] as const),
      ts: "1",
      checksum: 0,
      prevSeqId,
      seqId
    }
    Okx.apply(truth, action, data)
    const checksum = Okx.checksum(truth) + (corrupt ? 1 : 0)
    return JSON.stringify({ arg: { channel: "books", instId }, action, data: [{ ...data, checksum }] })
  }
  return { truth, push }
}

/** A Kraken book venue-side: keeps the true book (depth 10) and writes messages with its checksum. */
export const krakenBook = (symbol: string, precision: Kraken.Precision) => {
  const truth = Kraken.makeBook(symbol, 10)
  const push = (
    type: "snapshot" | "update",
    bids: Array<[number, number]>,
    asks: Array<[number, number]>,
    corrupt = false
  ) => {
    const data = {
      symbol,
      bids: bids.map(([price, qty]) => ({ price, qty })),
      asks: asks.map(([price, qty]) => ({ price, qty })),
      checksum: 0
    }
    Kraken.apply(truth, type, data)
    const checksum = Kraken.checksum(truth, precision) + (corrupt ? 1 : 0)
    return JSON.stringify({ channel: "book", type, data: [{ ...data, checksum }] })
  }
  return { truth, push }
}

/** A Bybit `orderbook.50` push. */
export const bybitPush = (
  symbol: string,
  type: "snapshot" | "delta",
  u: number,
  b: Array<[number, number]>,
  a: Array<[number, number]> = []
) =>
  JSON.stringify({
    topic: `orderbook.50.${symbol}`,
    type,
    ts: 1,
    data: {
      s: symbol,
      b: b.map(([p, q]) => [String(p), String(q)]),
      a: a.map(([p, q]) => [String(p), String(q)]),
      u,
      seq: u
    },
    cts: 1
  })
