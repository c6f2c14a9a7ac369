/**
 * The simulator engine: one HTTP server on one port, serving the REST depth snapshots (`Rest.ts`) and one
 * `ws` server (no auto-pong) routing handshakes to venues by path (refusing those a venue's per-IP
 * connection limit turns away), one shared timer that emits market data (unless paused) and checks every
 * deadline, `advance` for deterministic bursts, the true books, per-IP state for the venues' limits, and
 * the fault registry (lasting faults, sticky faults, scheduled faults, handshake refusals). Plain Node on purpose:
 * it is the hot path for thousands of connections and is also driven from non-Effect callers. The Effect
 * API in `Simulator.ts` wraps it in a scope.
 */
import * as Http from "node:http"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import { isRest } from "../BookFault.ts"
import type { ConnectionInfo, RestStats, Stats, VenueStats } from "../ConnectionInfo.ts"
import type { FaultResult, FaultSpec } from "../Fault.ts"
import { InvalidFault, validate } from "../Fault.ts"
import { type Config, millis, type Options, resolve, type VenueName, venueNames } from "../Options.ts"
import type { SimulatorEvent } from "../SimulatorEvent.ts"
import type { BookVenue, TrueBook } from "../TrueBook.ts"
import * as Binance from "../venues/Binance.ts"
import * as BinancePrivate from "../venues/BinancePrivate.ts"
import * as BinanceUsdm from "../venues/BinanceUsdm.ts"
import * as Bybit from "../venues/Bybit.ts"
import * as BybitPrivate from "../venues/BybitPrivate.ts"
import * as Coinbase from "../venues/Coinbase.ts"
import * as Hyperliquid from "../venues/Hyperliquid.ts"
import * as Kraken from "../venues/Kraken.ts"
import * as KrakenPrivate from "../venues/KrakenPrivate.ts"
import * as Okx from "../venues/Okx.ts"
import * as OkxPrivate from "../venues/OkxPrivate.ts"
import type { Feed, Market, Venue } from "../venues/Venue.ts"
import * as Accounts from "./Accounts.ts"
import { Connection, type Host } from "./Connection.ts"
import * as Endpoints from "./Endpoints.ts"
import { fixed, type Instrument, type Rng, rng, rngFor, Tape } from "./Market.ts"
import { type LevelChange, OrderBook, type Shape } from "./OrderBook.ts"
import { Rest } from "./Rest.ts"

export type { Endpoints } from "./Endpoints.ts"

/** The running server, for `Simulator.ts` and `startSimulator`. */
export interface Engine {
  readonly port: number
  readonly host: string
  readonly endpoints: Endpoints.Endpoints
  readonly config: Config
  /** Applies (or schedules) a fault; throws `InvalidFault`. */
  readonly fault: (spec: FaultSpec) => FaultResult
  /** Heals one lasting fault by id, or all of them. */
  readonly heal: (id?: number) => void
  /** Ends the authentication of every private session of `venue`; returns how many held one. */
  readonly expireAuth: (venue: VenueName) => number
  readonly connections: () => ReadonlyArray<ConnectionInfo>
  readonly stats: () => Stats
  /** Registers an event listener; returns its removal. */
  readonly onEvent: (listener: (event: SimulatorEvent) => void) => () => void
  /** Stops (or restarts) the market timer: no market data flows while paused, except through `advance`. */
  readonly pause: () => void
  readonly resume: () => void
  /** Generates `n` updates of every subscribed stream and sends them; resolves when all are written. */
  readonly advance: (n: number) => Promise<void>
  /** The true book of a venue's instrument, truncated to `depth` levels per side if given. */
  readonly trueBook: (venue: BookVenue, instrument: string, depth?: number) => TrueBook | undefined
  /** The REST snapshot endpoints' counters. */
  readonly restStats: () => RestStats
  /** Raw TCP sockets still open (handshaking, upgraded or refused): 0 after `close`. */
  readonly openSockets: () => number
  /** Closes every connection (1001, then cut after the grace period) and the server; idempotent. */
  readonly close: () => Promise<void>
}

const venues: ReadonlyArray<Venue> = [
  Binance.venue,
  BinancePrivate.venue,
  BinanceUsdm.venue,
  Okx.venue,
  OkxPrivate.venue,
  Bybit.venue,
  BybitPrivate.venue,
  Coinbase.venue,
  Kraken.venue,
  KrakenPrivate.venue,
  Hyperliquid.venue
]

interface ActiveFault {
  readonly id: number
  readonly spec: FaultSpec
  readonly connections: Set<number>
  readonly expiresAt: number | undefined
}

interface Refusal {
  readonly id: number
  readonly status: 429 | 503
  readonly retryAfter: number
  remaining: number
  readonly until: number | undefined
}

const emptyVenueStats = (): { -readonly [K in keyof VenueStats]: VenueStats[K] } => ({
  connections: 0,
  openConnections: 0,
  messagesSent: 0,
  bytesSent: 0,
  messagesReceived: 0,
  refused: 0
})

const lasting = (spec: FaultSpec): boolean =>
  spec.kind === "stall" || spec.kind === "halfOpen" || spec.kind === "slow" || spec.kind === "latency" ||
  spec.kind === "mute"

/** Starts the server; resolves once it listens. */
export const start = (options: Options = {}): Promise<Engine> => {
  const config = resolve(options)
  const random = rng(config.seed)
  const listeners = new Set<(event: SimulatorEvent) => void>()
  const connections = new Map<number, Connection>()
  const sockets = new Set<Duplex>()
  const feeds = new Map<string, Feed>()
  const tapes = new Map<string, Tape>()
  const books = new Map<string, OrderBook>()
  const active = new Map<number, ActiveFault>()
  const refusals = new Map<VenueName, Refusal>()
  /** `venue|address` → open connections, for per-IP connection limits. */
  const openByAddress = new Map<string, number>()
  /** `key|address` → a venue's per-IP state (`Market.perIp`). */
  const perIp = new Map<string, unknown>()
  const scheduled: Array<{ readonly at: number; readonly id: number; readonly spec: FaultSpec }> = []
  const venueStats = Object.fromEntries(venueNames.map((v) => [v, emptyVenueStats()])) as Record<
    VenueName,
    ReturnType<typeof emptyVenueStats>
  >
  let paused = config.paused
  let nextConnectionId = 1
  let nextFaultId = 1
  let closing: Promise<void> | undefined
  const firstId = 1_000_000 + Math.floor(random() * 1_000_000)

  const emit = (event: SimulatorEvent): void => {
    for (const listener of listeners) listener(event)
  }

  const market: Market = {
    config,
    perIp: <T>(key: string, address: string, init: () => T): T => {
      const k = `${key}|${address}`
      if (!perIp.has(k)) perIp.set(k, init())
      return perIp.get(k) as T
    },
    tape: (venue: VenueName, symbol: string, instrument: Instrument) => {
      const key = `${venue}:${symbol}`
      let tape = tapes.get(key)
      if (tape === undefined) {
        tape = new Tape(symbol, instrument, rngFor(config.seed, `tape:${key}`), firstId)
        tapes.set(key, tape)
      }
      return tape
    },
    book: (venue: VenueName, symbol: string, instrument: Instrument, shape: Shape) => {
      const key = `${venue}:${symbol}`
      let book = books.get(key)
      if (book === undefined) {
        const random: Rng = rngFor(config.seed, `book:${key}`)
        book = new OrderBook(symbol, instrument, shape, random, firstId)
        books.set(key, book)
      }
      return book
    },
    feed: (key, rate, next, traits) => {
      let feed = feeds.get(key)
      if (feed === undefined) {
        feed = {
          key,
          rate,
          credit: 0,
          subscribers: new Set(),
          next,
          bookFaults: traits?.bookFaults,
          silent: traits?.silent
        }
        feeds.set(key, feed)
      }
      return feed
    }
  }

  const host: Host = {
    config,
    emit,
    count: (conn, bytes) => {
      const s = venueStats[conn.venue]
      s.messagesSent += 1
      s.bytesSent += bytes
    },
    closed: (conn, code, reason, by) => {
      connections.delete(conn.id)
      const key = `${conn.venue}|${conn.address}`
      const open = (openByAddress.get(key) ?? 1) - 1
      if (open > 0) openByAddress.set(key, open)
      else openByAddress.delete(key)
      venueStats[conn.venue].openConnections -= 1
      for (const fault of active.values()) fault.connections.delete(conn.id)
      emit({ _tag: "Closed", connection: conn.id, venue: conn.venue, code, reason, by, at: Date.now() })
    },
    healed: (conn, id, kind) => {
      const fault = active.get(id)
      if (fault !== undefined) {
        fault.connections.delete(conn.id)
        const sticky = "sticky" in fault.spec && fault.spec.sticky === true
        if (fault.connections.size === 0 && !sticky) active.delete(id)
      }
      emit({ _tag: "FaultHealed", fault: id, kind, connections: [conn.id], at: Date.now() })
    }
  }

  const wss = new WebSocketServer({ noServer: true, autoPong: false, perMessageDeflate: false, maxPayload: 1 << 20 })

  const matches = (target: FaultSpec["target"], conn: Connection): boolean =>
    target === "all" || ("venue" in target ? target.venue === conn.venue : target.connection === conn.id)

  const accept = (socket: import("ws").WebSocket, venue: Venue, url: URL, address: string): void => {
    const now = Date.now()
    const conn = new Connection(nextConnectionId++, venue.name, url.pathname + url.search, address, socket, host, now)
    connections.set(conn.id, conn)
    const key = `${venue.name}|${address}`
    openByAddress.set(key, (openByAddress.get(key) ?? 0) + 1)
    venueStats[venue.name].connections += 1
    venueStats[venue.name].openConnections += 1
    socket.on("error", () => {})
    socket.on("close", (code, reason) => conn.end(code, reason.toString()))
    socket.on("message", (data, isBinary) => {
      if (conn.halfOpen !== undefined || conn.ended) return
      const t = Date.now()
      conn.lastIn = t
      conn.messagesReceived += 1
      venueStats[venue.name].messagesReceived += 1
      if (!isBinary) conn.session?.onText(data.toString(), t)
    })
    socket.on("ping", (payload) => {
      if (conn.halfOpen !== undefined || conn.ended) return
      const t = Date.now()
      conn.lastIn = t
      conn.session?.onPing?.(t)
      conn.pong(payload)
    })
    socket.on("pong", () => {
      if (conn.halfOpen !== undefined || conn.ended) return
      const t = Date.now()
      conn.lastIn = t
      conn.session?.onPong?.(t)
    })
    emit({ _tag: "Connected", connection: conn.id, venue: venue.name, path: conn.path, at: now })
    conn.session = venue.open(conn, url, market)
    for (const fault of active.values()) {
      const { spec } = fault
      if (!lasting(spec) || !("sticky" in spec) || spec.sticky !== true || !matches(spec.target, conn)) continue
      if (conn.closing !== undefined) break
      if (conn.apply(fault.id, spec, now, true)) fault.connections.add(conn.id)
    }
  }

  const reject = (socket: Duplex, status: number, retryAfter?: number): void => {
    const body = `${status} ${Http.STATUS_CODES[status] ?? ""}\n`
    const headers = [
      `HTTP/1.1 ${status} ${Http.STATUS_CODES[status] ?? ""}`,
      "Connection: close",
      "Content-Type: text/plain",
      `Content-Length: ${Buffer.byteLength(body)}`,
      ...(retryAfter !== undefined ? [`Retry-After: ${retryAfter}`] : [])
    ]
    socket.once("finish", () => socket.destroy())
    socket.end(`${headers.join("\r\n")}\r\n\r\n${body}`)
  }

  const takeRefusal = (venue: VenueName, now: number): Refusal | undefined => {
    const refusal = refusals.get(venue)
    if (refusal === undefined) return undefined
    if (refusal.until !== undefined && now >= refusal.until) {
      refusals.delete(venue)
      return undefined
    }
    if (refusal.until === undefined) {
      refusal.remaining -= 1
      if (refusal.remaining <= 0) refusals.delete(venue)
    }
    return refusal
  }

  const restApi = new Rest({
    config,
    emit,
    book: (venue, symbol) => venue === "binance" ? Binance.bookOf(market, symbol) : BinanceUsdm.bookOf(market, symbol),
    instrument: (venue) => (venue === "binance" ? Binance.instrument : BinanceUsdm.instrument)
  })

  const server = Http.createServer((req, res) => {
    if (restApi.handle(req, res) || Accounts.handleTime(config, req, res)) return
    if (KrakenPrivate.handleToken(config, emit, req, res)) return
    res.writeHead(426, { "Content-Type": "text/plain" })
    res.end(`This is a WebSocket server. Endpoints: ${Object.values(Endpoints.paths).join(", ")}\n`)
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("error", () => {})
    socket.on("close", () => sockets.delete(socket))
  })
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => {})
    const url = new URL(req.url ?? "/", "http://localhost")
    const venue = venues.find((v) => v.matches(url.pathname))
    if (venue === undefined) return reject(socket, 404)
    if (closing !== undefined) return reject(socket, 503)
    const now = Date.now()
    const refusal = takeRefusal(venue.name, now)
    if (refusal !== undefined) {
      venueStats[venue.name].refused += 1
      reject(socket, refusal.status, refusal.retryAfter)
      emit({ _tag: "Refused", venue: venue.name, status: refusal.status, at: now })
      return
    }
    const address = req.socket.remoteAddress ?? "unknown"
    const limited = venue.refuse?.(address, openByAddress.get(`${venue.name}|${address}`) ?? 0, now, market)
    if (limited !== undefined) {
      venueStats[venue.name].refused += 1
      reject(socket, limited)
      emit({ _tag: "Refused", venue: venue.name, status: limited, at: now })
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, venue, url, address))
  })

  const healFault = (fault: ActiveFault, now: number): void => {
    active.delete(fault.id)
    const hit = [...fault.connections]
    for (const id of hit) connections.get(id)?.heal(fault.id, now)
    emit({ _tag: "FaultHealed", fault: fault.id, kind: fault.spec.kind, connections: hit, at: now })
  }

  const applyNow = (id: number, spec: FaultSpec, now: number): FaultResult => {
    if (isRest(spec)) {
      restApi.fault(id, spec)
      emit({ _tag: "FaultApplied", fault: id, kind: spec.kind, connections: [], at: now })
      return { id, kind: spec.kind, connections: [], scheduled: false }
    }
    if (spec.kind === "refuse") {
      const targets = spec.target === "all" ? venueNames : [spec.target.venue]
      const until = spec.duration !== undefined ? now + millis(spec.duration, 0) : undefined
      for (const venue of targets) {
        refusals.set(venue, {
          id,
          status: spec.status ?? 429,
          retryAfter: spec.retryAfter ?? 1,
          remaining: spec.count ?? 1,
          until
        })
      }
      emit({ _tag: "FaultApplied", fault: id, kind: spec.kind, connections: [], at: now })
      return { id, kind: spec.kind, connections: [], scheduled: false }
    }
    const hit: Array<number> = []
    for (const conn of [...connections.values()]) {
      if (conn.closing !== undefined || conn.ended || !matches(spec.target, conn)) continue
      if (conn.apply(id, spec, now)) hit.push(conn.id)
    }
    if (lasting(spec)) {
      const duration = "duration" in spec && spec.duration !== undefined ? millis(spec.duration, 0) : undefined
      active.set(id, {
        id,
        spec,
        connections: new Set(hit),
        expiresAt: duration !== undefined ? now + duration : undefined
      })
    }
    emit({ _tag: "FaultApplied", fault: id, kind: spec.kind, connections: hit, at: now })
    return { id, kind: spec.kind, connections: hit, scheduled: false }
  }

  const fault = (spec: FaultSpec): FaultResult => {
    const error = validate(spec)
    if (error !== undefined) throw new InvalidFault({ spec: JSON.stringify(spec), message: error })
    if (closing !== undefined) {
      throw new InvalidFault({ spec: JSON.stringify(spec), message: "the simulator is closed" })
    }
    const id = nextFaultId++
    const now = Date.now()
    if (spec.after !== undefined) {
      const { after, ...rest } = spec
      scheduled.push({ at: now + millis(after, 0), id, spec: rest as FaultSpec })
      return { id, kind: spec.kind, connections: [], scheduled: true }
    }
    return applyNow(id, spec, now)
  }

  const heal = (id?: number): void => {
    const now = Date.now()
    for (const f of [...active.values()]) if (id === undefined || f.id === id) healFault(f, now)
    for (const [venue, refusal] of [...refusals]) if (id === undefined || refusal.id === id) refusals.delete(venue)
    restApi.heal(id)
    for (const conn of connections.values()) conn.cancelBookFaults(id)
  }

  /** One message of a feed to all its subscribers. */
  const emitFeed = (feed: Feed, now: number): void => {
    const emission = feed.next(now)
    for (const subscriber of feed.subscribers) subscriber.deliver(emission)
  }

  const advance = async (n: number): Promise<void> => {
    let left = Math.max(0, Math.floor(n))
    while (left > 0) {
      const batch = Math.min(left, 500)
      const now = Date.now()
      const corked = [...connections.values()]
      for (const conn of corked) conn.cork()
      for (const feed of [...feeds.values()]) {
        if (feed.silent === true || feed.subscribers.size === 0) continue
        for (let i = 0; i < batch; i++) emitFeed(feed, now)
      }
      for (const conn of corked) conn.uncork()
      left -= batch
      // let the sockets drain between batches
      if (left > 0) await new Promise<void>((done) => setImmediate(done))
    }
  }

  const trueBook = (venue: BookVenue, instrument: string, depth?: number): TrueBook | undefined => {
    const name: VenueName = venue === "binance-usdm" ? "binanceUsdm" : venue
    const book = books.get(`${name}:${instrument}`)
    if (book === undefined) return undefined
    const n = depth ?? Number.POSITIVE_INFINITY
    const { priceDecimals, qtyDecimals } = book.instrument
    const levels = (side: ReadonlyArray<LevelChange>) =>
      side.map(([p, q]) => [Number(fixed(p, priceDecimals)), Number(fixed(q, qtyDecimals))] as const)
    return { updateId: book.lastUpdateId, bids: levels(book.top("bids", n)), asks: levels(book.top("asks", n)) }
  }

  let lastTick = Date.now()
  const tick = (): void => {
    const now = Date.now()
    const elapsed = Math.min(now - lastTick, 1000)
    lastTick = now
    for (let i = scheduled.length - 1; i >= 0; i--) {
      const s = scheduled[i]
      if (s !== undefined && s.at <= now) {
        scheduled.splice(i, 1)
        applyNow(s.id, s.spec, now)
      }
    }
    for (const f of [...active.values()]) if (f.expiresAt !== undefined && now >= f.expiresAt) healFault(f, now)
    restApi.tick(now)
    for (const feed of feeds.values()) {
      if (paused || feed.silent === true || feed.subscribers.size === 0 || feed.rate <= 0) {
        feed.credit = 0
        continue
      }
      feed.credit += (feed.rate * elapsed) / 1000
      const n = Math.floor(feed.credit)
      feed.credit -= n
      for (let i = 0; i < Math.min(n, 1000); i++) emitFeed(feed, now)
    }
    for (const conn of connections.values()) conn.tick(now, elapsed)
  }

  const close = (): Promise<void> => {
    if (closing !== undefined) return closing
    closing = (async () => {
      clearInterval(timer)
      scheduled.length = 0
      restApi.flush()
      const open = [...connections.values()]
      for (const conn of open) {
        if (conn.halfOpen !== undefined) conn.drop()
        else conn.close(1001, "Server shutting down")
      }
      if (connections.size > 0) {
        await new Promise<void>((done) => {
          const grace = setTimeout(finish, config.closeGraceMs)
          const off = onEvent(() => {
            if (connections.size === 0) finish()
          })
          function finish() {
            clearTimeout(grace)
            off()
            done()
          }
        })
      }
      for (const conn of [...connections.values()]) conn.drop()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((done) => {
        wss.close(() => server.close(() => done()))
        server.closeAllConnections()
      })
      listeners.clear()
    })()
    return closing
  }

  const onEvent = (listener: (event: SimulatorEvent) => void): () => void => {
    listeners.add(listener)
    return () => {
      listeners.delete(listener)
    }
  }

  const stats = (): Stats => {
    let messagesSent = 0
    let bytesSent = 0
    for (const v of venueNames) {
      messagesSent += venueStats[v].messagesSent
      bytesSent += venueStats[v].bytesSent
    }
    const venuesCopy = Object.fromEntries(venueNames.map((v) => [v, { ...venueStats[v] }])) as Record<
      VenueName,
      VenueStats
    >
    return { messagesSent, bytesSent, venues: venuesCopy, connections: [...connections.values()].map((c) => c.info()) }
  }

  let timer: ReturnType<typeof setInterval>

  return new Promise<Engine>((resolvePromise, rejectPromise) => {
    server.once("error", rejectPromise)
    server.listen(config.port, config.host, () => {
      server.off("error", rejectPromise)
      server.on("error", () => {})
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : config.port
      const base = `ws://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`
      timer = setInterval(tick, config.tickMs)
      resolvePromise({
        port,
        host: config.host,
        config,
        endpoints: Endpoints.make(base),
        fault,
        heal,
        expireAuth: (venue) => {
          const now = Date.now()
          if (venue === "kraken") KrakenPrivate.expireTokens(config)
          let expired = 0
          for (const conn of [...connections.values()]) {
            if (conn.venue === venue && conn.live && conn.session?.expireAuth?.(now) === true) expired++
          }
          return expired
        },
        connections: () => [...connections.values()].map((c) => c.info()),
        stats,
        onEvent,
        pause: () => {
          paused = true
        },
        resume: () => {
          paused = false
        },
        advance,
        trueBook,
        restStats: () => restApi.stats(),
        openSockets: () => sockets.size,
        close
      })
    })
  })
}
