/**
 * OKX v5 public websocket at `/okx/ws/v5/public`. Text `ping` is answered with text `pong`. Requests
 * `{"op":"subscribe"|"unsubscribe","args":[{"channel","instId"}]}` get one `{"event","arg","connId"}`
 * answer per arg. Channels: `trades` (`tradeId` +1) and `books` (a snapshot, then updates whose
 * `prevSeqId` is the previous `seqId`, with OKX's signed CRC32 `checksum`). The connection closes (4004)
 * when no subscription exists `idleTimeout` after opening, or when nothing was received or pushed for
 * `idleTimeout`. The notice is event `64008` (service upgrade).
 */
import * as Checksum from "../Checksum.ts"
import { type Book, fixed, type Instrument } from "../internal/Market.ts"
import type { Feed, Market, Session, Venue } from "./Venue.ts"
import { parseObject } from "./Venue.ts"

const instrument: Instrument = { priceDecimals: 1, qtyDecimals: 8 }

const okxLevels = (levels: ReadonlyArray<readonly [number, number]>): string =>
  "[" + levels.map(([p, q]) => `["${fixed(p, 1)}","${fixed(q, 8)}","0","${q === 0 ? 0 : 1}"]`).join(",") + "]"

const checksumOf = (book: Book): number => {
  const text = (levels: ReadonlyArray<readonly [number, number]>) =>
    levels.map(([p, q]) => [fixed(p, 1), fixed(q, 8)] as const)
  return Checksum.okx(text(book.top("asks", 25)), text(book.top("bids", 25)))
}

const argText = (channel: string, instId: string) => `{"channel":"${channel}","instId":"${instId}"}`

interface Channel {
  readonly feed: Feed
  readonly snapshot?: (now: number) => string
}

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
    const book = market.book("okx", instId, instrument, 25)
    const feed = market.feed(`okx:books:${instId}`, rate, (now) => {
      const prev = book.seq
      const c = book.next(now)
      return {
        text: `{"arg":${arg},"action":"update","data":[{"asks":${okxLevels(c.asks)},"bids":${okxLevels(c.bids)},"ts":"${now}","checksum":${
          checksumOf(book)
        },"prevSeqId":${prev},"seqId":${c.seq}}]}`,
        first: c.seq,
        last: c.seq
      }
    })
    const snapshot = (now: number) =>
      `{"arg":${arg},"action":"snapshot","data":[{"asks":${okxLevels(book.top("asks", 400))},"bids":${
        okxLevels(book.top("bids", 400))
      },"ts":"${now}","checksum":${checksumOf(book)},"prevSeqId":-1,"seqId":${book.seq}}]}`
    return { feed, snapshot }
  }
  return undefined
}

/** The OKX venue. */
export const venue: Venue = {
  name: "okx",
  matches: (path) => path === "/okx/ws/v5/public",
  open: (conn, _url, market): Session => {
    const idle = market.config.okx.idleTimeoutMs
    const connId = (0x1000_0000 + conn.id).toString(16)
    let subscribed = false
    const error = (code: string, msg: string) =>
      conn.sendText(`{"event":"error","code":"${code}","msg":${JSON.stringify(msg)},"connId":"${connId}"}`)
    return {
      onText: (text, now) => {
        if (text === "ping") return conn.sendText("pong")
        const msg = parseObject(text)
        const op = msg?.["op"]
        const args = msg?.["args"]
        if (msg === undefined || (op !== "subscribe" && op !== "unsubscribe") || !Array.isArray(args)) {
          return error("60012", `Invalid request: ${text.slice(0, 100)}`)
        }
        const changed: Array<string> = []
        for (const raw of args as ReadonlyArray<unknown>) {
          const a = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {}
          const channel = a["channel"]
          const instId = a["instId"]
          if (typeof channel !== "string" || typeof instId !== "string") {
            error("60012", `Invalid request: ${text.slice(0, 100)}`)
            continue
          }
          const topic = `${channel}:${instId}`
          const arg = argText(channel, instId)
          if (op === "unsubscribe") {
            if (conn.unsubscribe(topic)) changed.push(topic)
            conn.sendText(`{"event":"unsubscribe","arg":${arg},"connId":"${connId}"}`)
            continue
          }
          const ch = channelFor(market, channel, instId)
          if (ch === undefined) {
            error("60018", `Wrong URL or channel:${channel},instId:${instId} doesn't exist. Please use the correct URL, channel and parameters referring to API document.`)
            continue
          }
          conn.sendText(`{"event":"subscribe","arg":${arg},"connId":"${connId}"}`)
          subscribed = true
          if (conn.subscribe(topic, ch.feed)) {
            changed.push(topic)
            if (ch.snapshot !== undefined) conn.sendData(topic, ch.snapshot(now))
          }
        }
        conn.announce(op === "subscribe" ? "Subscribed" : "Unsubscribed", changed)
      },
      onTick: (now) => {
        if (!subscribed && now - conn.openedAt >= idle) {
          return conn.close(4004, `No subscription within ${Math.round(idle / 1000)}s`)
        }
        if (now - Math.max(conn.lastIn, conn.lastData) >= idle) {
          conn.close(4004, `No data received in ${Math.round(idle / 1000)}s`)
        }
      },
      notice: () => {
        conn.sendText(
          `{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"${connId}"}`
        )
        return true
      }
    }
  }
}
