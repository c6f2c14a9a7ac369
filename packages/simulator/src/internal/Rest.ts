/**
 * The REST depth snapshot endpoints, on the same HTTP port as the WebSockets: Binance spot
 * `GET /binance/api/v3/depth?symbol=&limit=` and USD-M `GET /binance-usdm/fapi/v1/depth?symbol=&limit=`.
 * They serve the same true book the depth streams are built from, with `lastUpdateId` the last update id
 * applied. Request weight is counted per IP in fixed windows (one minute, as Binance's
 * `X-MBX-USED-WEIGHT-1M`), 429 past the budget with `Retry-After` until the window ends, 418 for a client
 * that asks again before a `Retry-After` passed (a ban of `restBan`, doubling for each repeat, capped at
 * three days, as Binance's docs describe). REST faults (`restRefuse`, `restSlow`, `staleSnapshot`) wait
 * here for the next requests. Delayed answers are written on the server's shared tick.
 */
import type * as Http from "node:http"
import type { RestFaultSpec } from "../BookFault.ts"
import type { RestStats, RestVenueStats } from "../ConnectionInfo.ts"
import { type Config, millis } from "../Options.ts"
import type { RestAnswered, SimulatorEvent } from "../SimulatorEvent.ts"
import * as Endpoints from "./Endpoints.ts"
import { binanceSymbol } from "./Instruments.ts"
import { fixed, type Instrument } from "./Market.ts"
import type { LevelChange, OrderBook } from "./OrderBook.ts"

/** The venues with a REST depth snapshot. */
export type RestVenue = "binance" | "binanceUsdm"

/** What the REST endpoints need from the server. */
export interface RestHost {
  readonly config: Config
  readonly emit: (event: SimulatorEvent) => void
  /** The true book of a symbol, shared with the venue's depth streams. */
  readonly book: (venue: RestVenue, symbol: string) => OrderBook
  readonly instrument: (venue: RestVenue) => Instrument
}

/** The paths of the depth snapshot endpoints. */
export const paths: Readonly<Record<RestVenue, string>> = {
  binance: Endpoints.paths.binanceDepth,
  binanceUsdm: Endpoints.paths.binanceUsdmDepth
}

/** Binance spot depth weight by limit: 1–100: 5, 101–500: 25, 501–1000: 50, 1001–5000: 250. */
export const spotWeight = (limit: number): number => (limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250)

/** USD-M depth weight by limit: 5–50: 2, 100: 5, 500: 10, 1000: 20. */
export const usdmWeight = (limit: number): number => (limit <= 50 ? 2 : limit <= 100 ? 5 : limit <= 500 ? 10 : 20)

const usdmLimits: ReadonlyArray<number> = [5, 10, 20, 50, 100, 500, 1000]
const maxBanMs = 3 * 24 * 3600 * 1000

interface IpState {
  windowStart: number
  used: number
  /** A 429 said to wait until then; a request before it is banned. */
  backoffUntil: number
  bannedUntil: number
  bans: number
}

interface PendingFault {
  readonly id: number
  readonly spec: RestFaultSpec
  remaining: number
}

interface Answer {
  readonly status: number
  readonly body: string
  readonly retryAfter?: number | undefined
  /** When a `restSlow` answer is written. */
  readonly due?: number | undefined
  /** The weight counted (0 for 429 and 418). */
  readonly weight?: number | undefined
  /** The REST fault that shaped the answer. */
  readonly fault?: number | undefined
  readonly lastUpdateId?: number | undefined
}

const emptyStats = (): { -readonly [K in keyof RestVenueStats]: RestVenueStats[K] } => ({
  requests: 0,
  ok: 0,
  badRequest: 0,
  tooManyRequests: 0,
  banned: 0,
  weight: 0,
  maxWeightPerWindow: 0
})

const error = (code: number, msg: string) => JSON.stringify({ code, msg })

/** The REST side of one server. */
export class Rest {
  private readonly host: RestHost
  private readonly ips = new Map<string, IpState>()
  private readonly faults: Array<PendingFault & { readonly venues: ReadonlyArray<RestVenue> }> = []
  private delayed: Array<{ readonly due: number; readonly write: () => void }> = []
  private readonly counters: Record<RestVenue, ReturnType<typeof emptyStats>> = {
    binance: emptyStats(),
    binanceUsdm: emptyStats()
  }

  constructor(host: RestHost) {
    this.host = host
  }

  /** Adds a REST fault; it acts on the next requests to its venues. */
  fault(id: number, spec: RestFaultSpec): void {
    const venues: ReadonlyArray<RestVenue> = spec.target === "all" ? ["binance", "binanceUsdm"] : [spec.target.venue]
    this.faults.push({ id, spec, remaining: spec.count ?? 1, venues })
  }

  /** Removes a pending REST fault by id, or all of them. */
  heal(id?: number): void {
    for (let i = this.faults.length - 1; i >= 0; i--) {
      if (id === undefined || this.faults[i]?.id === id) this.faults.splice(i, 1)
    }
  }

  /** Counters per venue. */
  stats(): RestStats {
    return { binance: { ...this.counters.binance }, binanceUsdm: { ...this.counters.binanceUsdm } }
  }

  /** Writes the delayed answers that are due. */
  tick(now: number): void {
    if (this.delayed.length === 0) return
    const due = this.delayed.filter((d) => d.due <= now)
    if (due.length === 0) return
    this.delayed = this.delayed.filter((d) => d.due > now)
    for (const d of due) d.write()
  }

  /** Writes every delayed answer now (the server is closing). */
  flush(): void {
    const all = this.delayed
    this.delayed = []
    for (const d of all) d.write()
  }

  private take(venue: RestVenue, kind: RestFaultSpec["kind"]): PendingFault | undefined {
    const i = this.faults.findIndex((f) => f.spec.kind === kind && f.venues.includes(venue))
    const f = this.faults[i]
    if (f === undefined) return undefined
    f.remaining -= 1
    if (f.remaining <= 0) this.faults.splice(i, 1)
    return f
  }

  private ip(venue: RestVenue, address: string, now: number): IpState {
    const key = `${venue}|${address}`
    const windowMs = this.host.config[venue].restWindowMs
    const windowStart = Math.floor(now / windowMs) * windowMs
    let state = this.ips.get(key)
    if (state === undefined) {
      state = { windowStart, used: 0, backoffUntil: 0, bannedUntil: 0, bans: 0 }
      this.ips.set(key, state)
    }
    if (state.windowStart !== windowStart) {
      state.windowStart = windowStart
      state.used = 0
    }
    return state
  }

  /** Answers a request if its path is a depth endpoint; returns false otherwise. */
  handle(req: Http.IncomingMessage, res: Http.ServerResponse): boolean {
    const url = new URL(req.url ?? "/", "http://localhost")
    const venue: RestVenue | undefined = url.pathname === paths.binance
      ? "binance"
      : url.pathname === paths.binanceUsdm
      ? "binanceUsdm"
      : undefined
    if (venue === undefined) return false
    const now = Date.now()
    const address = req.socket.remoteAddress ?? "unknown"
    const symbol = url.searchParams.get("symbol") ?? ""
    const rawLimit = url.searchParams.get("limit")
    const limit = rawLimit === null ? (venue === "binance" ? 100 : 500) : Number(rawLimit)
    const state = this.ip(venue, address, now)
    const counters = this.counters[venue]
    counters.requests += 1
    const answer = this.answer(venue, state, symbol, limit, now)
    if (answer.status === 200) counters.ok += 1
    else if (answer.status === 400) counters.badRequest += 1
    else if (answer.status === 429) counters.tooManyRequests += 1
    else if (answer.status === 418) counters.banned += 1
    const usedWeight = state.used
    const event: RestAnswered = {
      _tag: "RestAnswered",
      venue,
      path: url.pathname,
      address,
      symbol,
      limit,
      status: answer.status,
      weight: answer.weight ?? 0,
      usedWeight,
      retryAfter: answer.retryAfter,
      lastUpdateId: answer.lastUpdateId,
      fault: answer.fault,
      at: now
    }
    const write = () => {
      const headers: Record<string, string> = {
        "Content-Type": "application/json;charset=UTF-8",
        "X-MBX-USED-WEIGHT-1M": String(usedWeight)
      }
      if (answer.retryAfter !== undefined) headers["Retry-After"] = String(answer.retryAfter)
      res.writeHead(answer.status, headers)
      res.end(answer.body)
    }
    if (answer.due !== undefined) this.delayed.push({ due: answer.due, write })
    else write()
    this.host.emit(event)
    return true
  }

  private answer(
    venue: RestVenue,
    state: IpState,
    symbol: string,
    limit: number,
    now: number
  ): Answer {
    const cfg = this.host.config[venue]
    const refuse = this.take(venue, "restRefuse")
    if (refuse !== undefined && refuse.spec.kind === "restRefuse") {
      const retryAfter = refuse.spec.retryAfter ?? 5
      const fault = refuse.id
      if ((refuse.spec.status ?? 429) === 418) {
        state.bannedUntil = now + retryAfter * 1000
        return { status: 418, body: error(-1003, "Way too many requests; IP banned."), retryAfter, fault }
      }
      state.backoffUntil = now + retryAfter * 1000
      return {
        status: 429,
        body: error(-1003, "Too many requests; please use the websocket for live updates."),
        retryAfter,
        fault
      }
    }
    if (now < state.bannedUntil) {
      return {
        status: 418,
        body: error(-1003, "Way too many requests; IP banned."),
        retryAfter: secondsUntil(state.bannedUntil, now)
      }
    }
    if (now < state.backoffUntil) {
      state.bans += 1
      state.bannedUntil = now + Math.min(maxBanMs, cfg.restBanMs * 2 ** (state.bans - 1))
      return {
        status: 418,
        body: error(-1003, "Way too many requests; IP banned for sending requests after a 429 before Retry-After."),
        retryAfter: secondsUntil(state.bannedUntil, now)
      }
    }
    const spot = venue === "binance"
    const validLimit = spot ? Number.isInteger(limit) && limit >= 1 : usdmLimits.includes(limit)
    const weight = spot ? spotWeight(validLimit ? limit : 100) : usdmWeight(validLimit ? limit : 500)
    if (state.used + weight > cfg.restWeightPerMinute) {
      const windowEnd = state.windowStart + cfg.restWindowMs
      state.backoffUntil = windowEnd
      return {
        status: 429,
        body: error(
          -1003,
          `Too much request weight used; current limit is ${cfg.restWeightPerMinute} request weight per ${
            Math.round(cfg.restWindowMs / 1000)
          } seconds. Please use WebSocket Streams for live updates to avoid polling the API.`
        ),
        retryAfter: secondsUntil(windowEnd, now)
      }
    }
    state.used += weight
    const counters = this.counters[venue]
    counters.weight += weight
    counters.maxWeightPerWindow = Math.max(counters.maxWeightPerWindow, state.used)
    if (symbol === "") {
      return {
        status: 400,
        body: error(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
        weight
      }
    }
    if (!validLimit) {
      return spot
        ? {
          status: 400,
          body: error(-1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."),
          weight
        }
        : { status: 400, body: error(-1130, "Data sent for parameter 'limit' is not valid."), weight }
    }
    if (!binanceSymbol(cfg.symbols, symbol)) return { status: 400, body: error(-1121, "Invalid symbol."), weight }
    const book = this.host.book(venue, symbol)
    const stale = this.take(venue, "staleSnapshot")
    const behind = stale !== undefined && stale.spec.kind === "staleSnapshot" ? stale.spec.behind ?? 10 : 0
    const past = behind > 0 ? book.past(Math.min(behind, book.undoable)) : undefined
    const levels = Math.min(limit, 5000)
    const snapshot = past !== undefined
      ? { lastUpdateId: past.lastUpdateId, bids: past.bids.slice(0, levels), asks: past.asks.slice(0, levels) }
      : { lastUpdateId: book.lastUpdateId, bids: book.top("bids", levels), asks: book.top("asks", levels) }
    const slow = this.take(venue, "restSlow")
    const { priceDecimals, qtyDecimals } = this.host.instrument(venue)
    const side = (levels: ReadonlyArray<LevelChange>) =>
      "[" + levels.map(([p, q]) => `["${fixed(p, priceDecimals)}","${fixed(q, qtyDecimals)}"]`).join(",") + "]"
    const times = spot ? "" : `"E":${now},"T":${now},`
    const body = `{"lastUpdateId":${snapshot.lastUpdateId},${times}"bids":${side(snapshot.bids)},"asks":${
      side(snapshot.asks)
    }}`
    const due = slow !== undefined && slow.spec.kind === "restSlow" ? now + millis(slow.spec.delay, 0) : undefined
    return { status: 200, body, due, weight, fault: stale?.id ?? slow?.id, lastUpdateId: snapshot.lastUpdateId }
  }
}

const secondsUntil = (until: number, now: number): number => Math.max(1, Math.ceil((until - now) / 1000))
