/**
 * Scripted faults: what can go wrong between a client and a venue, and whom it hits. A fault targets one
 * connection, every connection of a venue, or everything. `drop`, `close`, `gap` and `notice` act once;
 * `stall`, `halfOpen`, `slow`, `latency` and `mute` last until their `duration` ends (or `heal` is called;
 * a `mute` also ends by a resubscribe or reconnect); `refuse` applies to the next handshakes; `seqReset`
 * restarts OKX book sequence numbers, as OKX documents after maintenance; the book and REST snapshot faults
 * (`bookGap`, `crossed`, `badChecksum`, `bookRestart`, `restRefuse`, `restSlow`, `staleSnapshot`) are
 * described in `BookFault`. `parse` reads
 * the compact CLI form `kind[:target][,key=value...][@at][+duration]`, e.g. `halfOpen:okx@10s+3s`,
 * `refuse:bybit,status=503,count=2` or `mute:binance,stream=btcusdt@trade,until=reconnect`.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as BookFault from "./BookFault.ts"
import { type VenueName, venueNames } from "./Options.ts"

/**
 * Whom a fault hits: `"all"`, every connection of a venue, or one connection by id.
 *
 * @category models
 * @since 0.1.0
 */
export type Target = "all" | { readonly venue: VenueName } | { readonly connection: number }

interface Common {
  readonly target: Target
  /** Apply after this delay instead of now. */
  readonly after?: Duration.Input | undefined
}

interface Lasting extends Common {
  /** Heal after this long; without it the fault lasts until `heal` or the connection ends. */
  readonly duration?: Duration.Input | undefined
  /** Also hit connections opened later on the target while the fault lasts (not for `{ connection }`). */
  readonly sticky?: boolean | undefined
}

/**
 * Abrupt TCP destroy, no close frame: the client sees 1006.
 *
 * @category models
 * @since 0.1.0
 */
export interface Drop extends Common {
  readonly kind: "drop"
}
/**
 * A clean close with this code (default 1000) and reason.
 *
 * @category models
 * @since 0.1.0
 */
export interface Close extends Common {
  readonly kind: "close"
  readonly code?: number | undefined
  readonly reason?: string | undefined
}
/**
 * Market data stops; the venue's heartbeats, pongs and PING frames continue.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stall extends Lasting {
  readonly kind: "stall"
}
/**
 * Everything stops: no data, no pongs, no PING frames, no close replies; the TCP connection stays open.
 *
 * @category models
 * @since 0.1.0
 */
export interface HalfOpen extends Lasting {
  readonly kind: "halfOpen"
}
/**
 * Output throttled to `bytesPerSecond` (default 1024); the excess waits in a bounded queue.
 *
 * @category models
 * @since 0.1.0
 */
export interface Slow extends Lasting {
  readonly kind: "slow"
  readonly bytesPerSecond?: number | undefined
}
/**
 * Each affected stream skips at least `skip` (default 1) sequence numbers once, on its next message.
 *
 * @category models
 * @since 0.1.0
 */
export interface Gap extends Common {
  readonly kind: "gap"
  readonly skip?: number | undefined
}
/**
 * The next `count` (default 1) handshakes, or all within `duration`, get HTTP `status` (429 with `Retry-After`, or 503).
 *
 * @category models
 * @since 0.1.0
 */
export interface Refuse extends Common {
  readonly kind: "refuse"
  readonly target: "all" | { readonly venue: VenueName }
  readonly status?: 429 | 503 | undefined
  /** Seconds written in the `Retry-After` header. Default 1. */
  readonly retryAfter?: number | undefined
  readonly count?: number | undefined
  readonly duration?: Duration.Input | undefined
}
/**
 * Every outgoing message and frame is held `latency` before it is written.
 *
 * @category models
 * @since 0.1.0
 */
export interface Latency extends Lasting {
  readonly kind: "latency"
  readonly latency: Duration.Input
}
/**
 * Market data of one subscribed stream stops on the targeted connections, silently: every other stream,
 * the venue's heartbeats, pongs and PING frames continue, and the venue still lists the subscription.
 * It models a venue that lost one subscription without saying so, which only a per-stream staleness
 * check notices.
 *
 * `stream` names the stream exactly as the venue's subscription does (the names of `Subscribed` events
 * and `ConnectionInfo.subscriptions`, and the topics of the client package):
 *
 * | venue | stream | e.g. |
 * | --- | --- | --- |
 * | Binance | the stream name as subscribed | `btcusdt@trade`, `btcusdt@depth@100ms` (not the same stream as `btcusdt@depth`) |
 * | Binance USD-M | the stream name as subscribed | `btcusdt@aggTrade`, `btcusdt@depth@100ms` |
 * | OKX | `channel:instId` | `trades:BTC-USDT`, `books:BTC-USDT` |
 * | Bybit | the topic | `publicTrade.BTCUSDT`, `orderbook.50.BTCUSDT` |
 * | Coinbase | `channel:product` | `matches:BTC-USD`, `level2:BTC-USD`; `heartbeat:BTC-USD` stops that product's heartbeats |
 * | Kraken | `channel:symbol` | `trade:BTC/USD`, `book:BTC/USD` |
 * | Hyperliquid | `type:coin` | `trades:BTC`, `l2Book:ETH` |
 *
 * Without `sticky` it hits the targeted connections that hold the stream when it is applied; with
 * `sticky`, connections opened later on the target are muted too, from their first subscribe of it.
 * Snapshots the venue sends on a subscribe (OKX `books`, Bybit `orderbook`, Kraken, Coinbase
 * `last_match`/`snapshot`) are muted as well. Muting a connection's only stream can trip the venue's own
 * no-data rule (OKX closes 4004 after `idleTimeout`; Bybit when the client does not ping either).
 *
 * `until` says what heals one connection before `duration` ends or `heal` is called:
 * - `"resubscribe"` (default): a subscribe of the stream that the venue accepts on that connection; the
 *   venue then answers it as a new subscription (snapshot again where it sends one) and a `FaultHealed`
 *   event names the connection. Binance (`SUBSCRIBE` with the stream), OKX (`subscribe` with the
 *   channel and instId) and Coinbase (`subscribe` with the channel and product) accept a duplicate, so
 *   one subscribe heals. Bybit (`error:already subscribed`), Kraken (`Already subscribed`) and
 *   Hyperliquid (`Already subscribed`) reject a duplicate, and a rejected subscribe heals nothing: send
 *   `unsubscribe`, then `subscribe`. On a connection muted by `sticky` before it subscribed, its first
 *   subscribe is the one lost; the next accepted one heals.
 * - `"reconnect"`: no subscribe on the same connection helps (nor unsubscribe then subscribe); only a new
 *   connection gets the stream, and with `sticky` not even that while the fault lasts.
 *
 * @category models
 * @since 0.1.0
 */
export interface Mute extends Lasting {
  readonly kind: "mute"
  /** The stream as the venue names it: `btcusdt@trade`, `trades:BTC-USDT`, `publicTrade.BTCUSDT`, `matches:BTC-USD`, `trade:BTC/USD`, `trades:BTC`. */
  readonly stream: string
  /** What heals a connection early: a resubscribe of the stream (default) or only a new connection. */
  readonly until?: "resubscribe" | "reconnect" | undefined
}
/**
 * The venue's forced-disconnect notice (Binance spot `serverShutdown`, combined as
 * `{"stream":"!serverShutdown","data":{...}}` on a combined connection; OKX `64008`; Kraken
 * `status: maintenance`); closes after `closeAfter` if given. Venues with no notice (Binance USD-M, Bybit,
 * Coinbase, Hyperliquid) are not hit.
 *
 * @category models
 * @since 0.1.0
 */
export interface Notice extends Common {
  readonly kind: "notice"
  readonly closeAfter?: Duration.Input | undefined
}

/**
 * OKX book streams continue with a lower `seqId`, as OKX documents may happen after maintenance: the next
 * update has `prevSeqId` = the last `seqId` sent and `seqId` = `seqId` (below it), and later updates chain
 * from there (`prevSeqId` = previous `seqId`). It acts once.
 *
 * **Gotchas**: the sequence belongs to the venue's book, not to a connection: every connection subscribed
 * to a reset book sees the reset, targeted or not (`FaultResult.connections` lists the targeted ones that
 * hold a book). Only OKX `books` streams have it; on other venues it hits nothing.
 *
 * @category models
 * @since 0.1.0
 */
export interface SeqReset extends Common {
  readonly kind: "seqReset"
  /** The `seqId` the books continue from. Default 1. */
  readonly seqId?: number | undefined
  /** Only this book, as OKX names it (`books:BTC-USDT`); default every book the targeted connections hold. */
  readonly stream?: string | undefined
}

/**
 * Any fault.
 *
 * @category models
 * @since 0.1.0
 */
export type FaultSpec =
  | Drop
  | Close
  | Stall
  | HalfOpen
  | Slow
  | Gap
  | Refuse
  | Latency
  | Notice
  | Mute
  | SeqReset
  | BookFault.BookFaultSpec

/**
 * The kinds of fault.
 *
 * @category models
 * @since 0.1.0
 */
export type Kind = FaultSpec["kind"]

/**
 * Every fault kind.
 *
 * @category constants
 * @since 0.1.0
 */
export const kinds: ReadonlyArray<Kind> = [
  "drop",
  "close",
  "stall",
  "halfOpen",
  "slow",
  "gap",
  "refuse",
  "latency",
  "notice",
  "mute",
  "seqReset",
  "bookGap",
  "crossed",
  "badChecksum",
  "bookRestart",
  "restRefuse",
  "restSlow",
  "staleSnapshot"
]

/**
 * What applying a fault did: its id (for `heal`) and the connections it hit.
 *
 * @category models
 * @since 0.1.0
 */
export interface FaultResult {
  readonly id: number
  readonly kind: Kind
  /** Connection ids hit now (empty for `refuse` and for a scheduled fault). */
  readonly connections: ReadonlyArray<number>
  /** True when `after` delayed it; it will be applied later under the same id. */
  readonly scheduled: boolean
}

/**
 * A fault spec that cannot be applied (unknown kind or venue, invalid close code, ...).
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidFault extends Schema.TaggedError<InvalidFault>()("InvalidFault", {
  spec: Schema.String,
  message: Schema.String
}) {}

const isVenue = (name: string): name is VenueName => (venueNames as ReadonlyArray<string>).includes(name)

/**
 * Close codes a server may send (RFC 6455 §7.4 and the private 3000-4999 range).
 *
 * @category guards
 * @since 0.1.0
 */
export const isSendableCloseCode = (code: number): boolean =>
  Number.isInteger(code) &&
  ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999))

const validDuration = (input: Duration.Input | undefined): boolean =>
  input === undefined || Duration.fromInput(input)._tag === "Some"

const muteNeedsStream =
  "mute needs a stream, named as the venue names it (btcusdt@trade, trades:BTC-USDT, publicTrade.BTCUSDT, matches:BTC-USD, trade:BTC/USD, trades:BTC)"

/**
 * Returns why a spec cannot be applied, or `undefined` when it is valid.
 *
 * @category validation
 * @since 0.1.0
 */
export const validate = (spec: FaultSpec): string | undefined => {
  if (!kinds.includes(spec.kind)) return `unknown fault kind "${String(spec.kind)}"`
  const t = spec.target
  if (t !== "all") {
    if (typeof t !== "object" || t === null) return 'target must be "all", { venue } or { connection }'
    if ("venue" in t && !isVenue(t.venue)) return `unknown venue "${String(t.venue)}"`
    if ("connection" in t && !Number.isInteger(t.connection)) return "connection must be an integer id"
  }
  if (!validDuration(spec.after)) return "invalid after"
  switch (spec.kind) {
    case "close":
      if (spec.code !== undefined && !isSendableCloseCode(spec.code)) return `close code ${spec.code} cannot be sent`
      if (spec.reason !== undefined && Buffer.byteLength(spec.reason) > 123) return "close reason exceeds 123 bytes"
      return undefined
    case "refuse":
      if (typeof t === "object" && "connection" in t) return "refuse targets a venue or all, not a connection"
      if (spec.status !== undefined && spec.status !== 429 && spec.status !== 503) return "status must be 429 or 503"
      if (spec.count !== undefined && !(spec.count >= 1)) return "count must be at least 1"
      return validDuration(spec.duration) ? undefined : "invalid duration"
    case "slow":
      if (spec.bytesPerSecond !== undefined && !(spec.bytesPerSecond > 0)) return "bytesPerSecond must be positive"
      return validDuration(spec.duration) ? undefined : "invalid duration"
    case "gap":
      return spec.skip !== undefined && !(Number.isInteger(spec.skip) && spec.skip >= 1)
        ? "skip must be a positive integer"
        : undefined
    case "latency":
      return validDuration(spec.latency) && validDuration(spec.duration) ? undefined : "invalid latency or duration"
    case "notice":
      return validDuration(spec.closeAfter) ? undefined : "invalid closeAfter"
    case "mute":
      if (typeof spec.stream !== "string" || spec.stream === "") return muteNeedsStream
      if (spec.until !== undefined && spec.until !== "resubscribe" && spec.until !== "reconnect") {
        return `until must be "resubscribe" or "reconnect", not "${String(spec.until)}"`
      }
      return validDuration(spec.duration) ? undefined : "invalid duration"
    case "stall":
    case "halfOpen":
      return validDuration(spec.duration) ? undefined : "invalid duration"
    case "seqReset":
      if (typeof t === "object" && "venue" in t && t.venue !== "okx") {
        return "seqReset applies to OKX books: target okx, all or a connection"
      }
      if (spec.seqId !== undefined && !(Number.isInteger(spec.seqId) && spec.seqId >= 0)) {
        return "seqId must be a non-negative integer"
      }
      if (spec.stream !== undefined && (typeof spec.stream !== "string" || spec.stream === "")) {
        return "stream must name a book, e.g. books:BTC-USDT"
      }
      return undefined
    case "drop":
      return undefined
    default:
      return BookFault.validate(spec)
  }
}

/**
 * Reads `5s`, `300ms`, `2m`, `1h` or a bare number of seconds as milliseconds.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseDuration = (text: string): number | undefined => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (m === null) return undefined
  const n = Number(m[1])
  const unit = m[2] ?? "s"
  return unit === "ms" ? n : unit === "s" ? n * 1000 : unit === "m" ? n * 60_000 : n * 3_600_000
}

const parseTarget = (text: string | undefined): Result.Result<Target, string> => {
  if (text === undefined || text === "" || text === "all") return Result.succeed("all")
  if (isVenue(text)) return Result.succeed({ venue: text })
  const id = /^#?(\d+)$/.exec(text)
  if (id !== null) return Result.succeed({ connection: Number(id[1]) })
  return Result.fail(`unknown target "${text}" (a venue, "all" or a connection id like #3)`)
}

/**
 * Parses the CLI form `kind[:target][,key=value...][@at][+duration]`. Keys: `code`, `reason`, `status`,
 * `retryAfter`, `count`, `skip`, `bps` (bytes per second), `latency` (a duration), `closeAfter`, `sticky`,
 * `stream` and `until` (`mute`), `seqId` and `stream` (`seqReset`), `stream` (`bookGap`, `crossed`,
 * `badChecksum`, `bookRestart`), `status`/`retryAfter`/`count` (`restRefuse`), `delay`/`count`
 * (`restSlow`), `behind`/`count` (`staleSnapshot`). `@at` becomes `after`; `+duration` becomes `duration` (for `latency`
 * without a `latency` key, it is the added latency and the fault lasts until healed).
 *
 * Values contain no `,` or `+`, and only a `stream` value may contain `@` (`stream=btcusdt@trade`). A
 * spec that ends in `@<duration>` always means `@at`, so a stream that itself ends in `@<number>`
 * (`btcusdt@depth@100ms`, Hyperliquid `trades:@107`) must be followed by another key, e.g.
 * `mute:binance,stream=btcusdt@depth@100ms,until=resubscribe@5s`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parse = (text: string): Result.Result<FaultSpec, InvalidFault> => {
  const fail = (message: string) => Result.fail(new InvalidFault({ spec: text, message }))
  const form = "expected kind[:target][,key=value...][@at][+duration]"
  // Values may hold `@` here; the `@at` that follows the last value is split off below.
  const m = /^([A-Za-z]+)(?::([^,@+]*))?((?:,[^,@+=]+=[^,+]*)*)(?:@([^+]+))?(?:\+(.+))?$/.exec(text.trim())
  if (m === null) return fail(form)
  const kind = m[1] as string
  if (!(kinds as ReadonlyArray<string>).includes(kind)) {
    return fail(`unknown fault kind "${kind}" (one of ${kinds.join(", ")})`)
  }
  const parsedTarget = parseTarget(m[2])
  if (Result.isFailure(parsedTarget)) return fail(parsedTarget.failure)
  const target = parsedTarget.success
  const params = new Map<string, string>()
  const pairs = (m[3] ?? "").split(",").filter((p) => p !== "")
  let at = m[4]
  for (const [i, pair] of pairs.entries()) {
    const eq = pair.indexOf("=")
    const key = pair.slice(0, eq)
    let value = pair.slice(eq + 1)
    const lastAt = value.lastIndexOf("@")
    if (i === pairs.length - 1 && lastAt >= 0) {
      const tail = value.slice(lastAt + 1)
      // `stream=btcusdt@trade`: the `@` belongs to the stream unless what follows it is a duration
      if (key !== "stream" || parseDuration(tail) !== undefined) {
        at = tail
        value = value.slice(0, lastAt)
      }
    }
    if (key !== "stream" && value.includes("@")) return fail(form)
    params.set(key, value)
  }
  const durationOf = (raw: string | undefined): number | undefined | null =>
    raw === undefined ? undefined : (parseDuration(raw) ?? null)
  const after = durationOf(at)
  const duration = durationOf(m[5])
  const closeAfter = durationOf(params.get("closeAfter"))
  const latencyParam = durationOf(params.get("latency"))
  if (after === null || duration === null || closeAfter === null || latencyParam === null) {
    return fail("invalid duration")
  }
  const num = (key: string): number | undefined => (params.has(key) ? Number(params.get(key)) : undefined)
  const base = { target, ...(after !== undefined ? { after } : {}) }
  const lasting = {
    ...base,
    ...(duration !== undefined ? { duration } : {}),
    ...(params.get("sticky") === "true" ? { sticky: true } : {})
  }
  let spec: FaultSpec
  switch (kind as Kind) {
    case "drop":
      spec = { kind: "drop", ...base }
      break
    case "close":
      spec = {
        kind: "close",
        ...base,
        ...(num("code") !== undefined ? { code: num("code") } : {}),
        ...(params.has("reason") ? { reason: params.get("reason") } : {})
      }
      break
    case "stall":
      spec = { kind: "stall", ...lasting }
      break
    case "halfOpen":
      spec = { kind: "halfOpen", ...lasting }
      break
    case "slow":
      spec = { kind: "slow", ...lasting, ...(num("bps") !== undefined ? { bytesPerSecond: num("bps") } : {}) }
      break
    case "gap":
      spec = { kind: "gap", ...base, ...(num("skip") !== undefined ? { skip: num("skip") } : {}) }
      break
    case "latency":
      if (latencyParam === undefined && duration === undefined) {
        return fail("latency needs ,latency=<duration> or +<duration>")
      }
      spec = latencyParam !== undefined
        ? { kind: "latency", ...lasting, latency: latencyParam }
        : { kind: "latency", ...base, latency: duration ?? 0 }
      break
    case "notice":
      spec = { kind: "notice", ...base, ...(closeAfter !== undefined ? { closeAfter } : {}) }
      break
    case "seqReset": {
      const stream = params.get("stream")
      spec = {
        kind: "seqReset",
        ...base,
        ...(num("seqId") !== undefined ? { seqId: num("seqId") } : {}),
        ...(stream !== undefined ? { stream } : {})
      }
      break
    }
    case "bookGap":
    case "crossed":
    case "badChecksum":
    case "bookRestart": {
      const stream = params.get("stream")
      spec = { kind: kind as "bookGap", ...base, ...(stream !== undefined ? { stream } : {}) }
      break
    }
    case "restRefuse":
    case "restSlow":
    case "staleSnapshot": {
      const restTarget = target === "all"
        ? target
        : "venue" in target && (target.venue === "binance" || target.venue === "binanceUsdm")
        ? { venue: target.venue }
        : undefined
      if (restTarget === undefined) return fail(`${kind} targets binance, binanceUsdm or all`)
      const count = num("count") !== undefined ? { count: num("count") } : {}
      const delay = durationOf(params.get("delay"))
      if (delay === null) return fail("invalid delay")
      const status = num("status")
      if (kind === "restRefuse" && status !== undefined && status !== 429 && status !== 418) {
        return fail("status must be 429 or 418")
      }
      spec = kind === "restRefuse"
        ? {
          kind,
          ...base,
          target: restTarget,
          ...count,
          ...(status === 429 || status === 418 ? { status } : {}),
          ...(num("retryAfter") !== undefined ? { retryAfter: num("retryAfter") } : {})
        }
        : kind === "restSlow"
        ? { kind, ...base, target: restTarget, ...count, delay: delay ?? duration ?? 1000 }
        : {
          kind: "staleSnapshot",
          ...base,
          target: restTarget,
          ...count,
          ...(num("behind") !== undefined ? { behind: num("behind") } : {})
        }
      break
    }
    case "mute": {
      const stream = params.get("stream")
      if (stream === undefined || stream === "") {
        return fail(
          "mute needs ,stream=<stream> named as the venue names it, e.g. mute:binance,stream=btcusdt@trade or mute:okx,stream=trades:BTC-USDT"
        )
      }
      const until = params.get("until")
      if (until !== undefined && until !== "resubscribe" && until !== "reconnect") {
        return fail(`until must be "resubscribe" or "reconnect", not "${until}"`)
      }
      spec = { kind: "mute", ...lasting, stream, ...(until !== undefined ? { until } : {}) }
      break
    }
    case "refuse": {
      if (typeof target === "object" && "connection" in target) return fail("refuse targets a venue or all")
      const status = num("status")
      spec = {
        kind: "refuse",
        ...base,
        target,
        ...(status === 429 || status === 503 ? { status } : {}),
        ...(num("retryAfter") !== undefined ? { retryAfter: num("retryAfter") } : {}),
        ...(num("count") !== undefined ? { count: num("count") } : {}),
        ...(duration !== undefined ? { duration } : {})
      }
      if (status !== undefined && status !== 429 && status !== 503) return fail("status must be 429 or 503")
      break
    }
  }
  const error = validate(spec)
  return error === undefined ? Result.succeed(spec) : fail(error)
}
