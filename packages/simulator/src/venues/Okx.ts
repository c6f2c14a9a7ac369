/**
 * OKX v5 public websocket at `/okx/ws/v5/public`. Text `ping` is answered with text `pong`. Requests
 * `{"id"?,"op":"subscribe"|"unsubscribe","args":[{"channel","instId"}]}` get one `{"id"?,"event","arg",
 * "connId"}` answer per arg, in arg order; the optional `id` (up to 32 alphanumeric characters) is echoed
 * first in every answer to the request, errors included. An arg whose `instId` does not exist (see
 * `OkxOptions.instruments`) or whose channel is unknown is answered `{"id"?,"event":"error","code":"60018",
 * "msg":"Wrong URL or channel:<channel>,instId:<instId> doesn't exist. ...","connId"}`, which names no
 * `arg`, and the other args of the same request are still subscribed and answered. Channels: `trades`
 * (`tradeId` +1) and `books` (a snapshot, then updates whose `prevSeqId` is the previous `seqId`, with
 * OKX's signed CRC32 `checksum` of the top 25 levels; 400 levels deep: a level that leaves the top 400 is
 * sent with size 0 and one that enters with its size; a `seqReset` fault restarts `seqId` lower, as after
 * maintenance). The
 * connection closes (4004) when no subscription exists `idleTimeout` after opening, or when nothing was
 * received or pushed for `idleTimeout`. More than `requestsPerHour` subscribe/unsubscribe/login requests
 * within `requestWindow` are refused with code `60014`. The notice is event `64008` (service upgrade).
 */
import * as Checksum from "../Checksum.ts"
import { okxInstrument } from "../internal/Instruments.ts"
import { SlidingLog } from "../internal/Limits.ts"
import { fixed, type Instrument } from "../internal/Market.ts"
import type { LevelChange, OrderBook, Shape } from "../internal/OrderBook.ts"
import * as OkxCommon from "./OkxCommon.ts"
import type { BookFaultKind, Feed, Market, Session, Venue } from "./Venue.ts"
import { parseObject } from "./Venue.ts"

const instrument: Instrument = { priceDecimals: 1, qtyDecimals: 8 }
/** About 450 levels per side, so the 400 levels of `books` keep losing and gaining levels at the edge. */
const shape: Shape = { levels: 560, maxChanges: 8 }
/** The depth of the `books` channel. */
export const depth = 400
const bookFaults: ReadonlySet<BookFaultKind> = new Set(["bookGap", "crossed", "badChecksum"])

const okxLevels = (levels: ReadonlyArray<readonly [number, number]>): string =>
  "[" + levels.map(([p, q]) => `["${fixed(p, 1)}","${fixed(q, 8)}","0","${q === 0 ? 0 : 1}"]`).join(",") + "]"

/** The checksum of a book's top 25 levels; with `extraBid`, of the book that bid would leave (`crossed`). */
const checksumOf = (book: OrderBook, extraBid?: LevelChange): number => {
  const text = (levels: ReadonlyArray<readonly [number, number]>) =>
    levels.map(([p, q]) => [fixed(p, 1), fixed(q, 8)] as const)
  const bids = extraBid === undefined ? book.top("bids", 25) : [extraBid, ...book.top("bids", 24)]
  return Checksum.okx(text(book.top("asks", 25)), text(bids))
}

const argText = (channel: string, instId: string) => `{"channel":"${channel}","instId":"${instId}"}`

interface Channel {
  readonly feed: Feed
  readonly snapshot?: (now: number) => string
  readonly book?: OrderBook
}

/**
 * A book → the `seqId` of the last update sent (the next update's `prevSeqId`, and a snapshot's `seqId`).
 * An update that changes nothing within the 400 levels is not sent, so `seqId` may advance by more than
 * one between messages; a `seqReset` lowers the book's `seq`, and the next update goes below `prevSeqId`.
 */
const sent = new WeakMap<OrderBook, { seqId: number }>()
/** A book → the `seqReset` fault that last reset it, so a fault hitting several holders resets it once. */
const resetBy = new WeakMap<OrderBook, number>()

const channelFor = (market: Market, channel: string, instId: string): Channel | undefined => {
  const rate = market.config.okx.rate
  const arg = argText(channel, instId)
  if (channel === "trades") {
    const tape = market.tape("okx", instId, instrument)
    const feed = market.feed(`okx:trades:${instId}`, rate, (now) => {
      const t = tape.next(now)
      return {
        text: `{"arg":${arg},"data":[{"instId":"${instId}","tradeId":"${t.id}","px":"${fixed(t.price, 1)}","sz":"${
          fixed(t.qty, 8)
        }","side":"${t.buy ? "buy" : "sell"}","ts":"${t.time}","count":"1"}]}`,
        first: t.id,
        last: t.id
      }
    })
    return { feed }
  }
  if (channel === "books") {
    const book = market.book("okx", instId, instrument, shape)
    const view = book.view(depth, true)
    let state = sent.get(book)
    if (state === undefined) sent.set(book, state = { seqId: book.seq })
    const last = state
    const feed = market.feed(`okx:books:${instId}`, rate, (now) => {
      const c = book.next(now)
      if (!view.changed) return { text: "", first: c.seq, last: c.seq }
      const prev = last.seqId
      last.seqId = c.seq
      const checksum = checksumOf(book)
      const render = (bids: ReadonlyArray<LevelChange>, sum: number) =>
        `{"arg":${arg},"action":"update","data":[{"asks":${okxLevels(view.last.asks)},"bids":${
          okxLevels(bids)
        },"ts":"${now}","checksum":${sum},"prevSeqId":${prev},"seqId":${c.seq}}]}`
      const text = render(view.last.bids, checksum)
      return {
        text,
        first: c.seq,
        last: c.seq,
        book: {
          text,
          first: c.seq,
          last: c.seq,
          detectable: true,
          crossed: () => {
            const bid = book.crossingBid()
            return render([...view.last.bids, bid], checksumOf(book, bid))
          },
          badChecksum: () => render(view.last.bids, checksum ^ 0x5a5a5a5a)
        }
      }
    }, { bookFaults })
    const snapshot = (now: number) =>
      `{"arg":${arg},"action":"snapshot","data":[{"asks":${okxLevels(book.top("asks", depth))},"bids":${
        okxLevels(book.top("bids", depth))
      },"ts":"${now}","checksum":${checksumOf(book)},"prevSeqId":-1,"seqId":${last.seqId}}]}`
    return { feed, snapshot, book }
  }
  return undefined
}

/** The OKX venue. */
export const venue: Venue = {
  name: "okx",
  matches: (path) => path === "/okx/ws/v5/public",
  open: (conn, _url, market): Session => {
    const cfg = market.config.okx
    const idle = cfg.idleTimeoutMs
    const connId = (0x1000_0000 + conn.id).toString(16)
    // OKX documents the quota (480 subscribe/unsubscribe/login requests per hour per connection) but not
    // its answer. The simulator refuses the request with OKX's own "Requests too frequent" code, 60014, and
    // keeps the connection open.
    const quota = new SlidingLog(cfg.requestsPerWindow, cfg.requestWindowMs)
    let subscribed = false

    /** `"id":"…",` to open an answer to a request that carried a valid id. */
    const idField = OkxCommon.idField
    const error = (id: string | undefined, code: string, msg: string) =>
      OkxCommon.sendError(conn, connId, id, code, msg)

    return {
      onText: (text, now) => {
        if (text === "ping") return conn.sendText("pong")
        const msg = parseObject(text)
        const rawId = msg?.["id"]
        const id = OkxCommon.requestId(rawId)
        if (rawId !== undefined && id === undefined) {
          return error(
            undefined,
            "60012",
            `Invalid request: id must be 1 to 32 letters or digits: ${text.slice(0, 100)}`
          )
        }
        const op = msg?.["op"]
        if (op === "subscribe" || op === "unsubscribe" || op === "login") {
          if (!quota.take(now)) {
            return error(
              id,
              "60014",
              `Requests too frequent: more than ${cfg.requestsPerWindow} subscribe/unsubscribe/login requests on this connection within ${
                Math.round(cfg.requestWindowMs / 1000)
              }s`
            )
          }
        }
        const args = msg?.["args"]
        if (msg === undefined || (op !== "subscribe" && op !== "unsubscribe") || !Array.isArray(args)) {
          return error(id, "60012", `Invalid request: ${text.slice(0, 100)}`)
        }
        const changed: Array<string> = []
        for (const raw of args as ReadonlyArray<unknown>) {
          const a = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {}
          const channel = a["channel"]
          const instId = a["instId"]
          if (typeof channel !== "string" || typeof instId !== "string") {
            error(id, "60012", `Invalid request: ${text.slice(0, 100)}`)
            continue
          }
          const topic = `${channel}:${instId}`
          const arg = argText(channel, instId)
          if (op === "unsubscribe") {
            if (conn.unsubscribe(topic)) changed.push(topic)
            conn.sendText(`{${idField(id)}"event":"unsubscribe","arg":${arg},"connId":"${connId}"}`)
            continue
          }
          const ch = okxInstrument(cfg.instruments, instId) ? channelFor(market, channel, instId) : undefined
          if (ch === undefined) {
            error(
              id,
              "60018",
              `Wrong URL or channel:${channel},instId:${instId} doesn't exist. Please use the correct URL, channel and parameters referring to API document.`
            )
            continue
          }
          conn.sendText(`{${idField(id)}"event":"subscribe","arg":${arg},"connId":"${connId}"}`)
          subscribed = true
          if (conn.subscribe(topic, ch.feed)) {
            changed.push(topic)
            if (ch.snapshot !== undefined) conn.sendData(topic, ch.snapshot(now))
          }
        }
        conn.announce(op === "subscribe" ? "Subscribed" : "Unsubscribed", changed)
      },
      onTick: (now) => OkxCommon.idleTick(conn, idle, subscribed, now),
      notice: () => OkxCommon.notice(conn, connId),
      seqReset: (fault, seqId, stream) => {
        let hit = false
        for (const topic of conn.subscriptions.keys()) {
          if (!topic.startsWith("books:") || (stream !== undefined && topic !== stream)) continue
          const book = channelFor(market, "books", topic.slice("books:".length))?.book
          if (book === undefined) continue
          hit = true
          if (resetBy.get(book) === fault) continue
          resetBy.set(book, fault)
          book.seq = seqId - 1
        }
        return hit
      }
    }
  }
}
