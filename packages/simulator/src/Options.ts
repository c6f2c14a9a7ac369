/**
 * The simulator's options: where to listen, how fast each venue emits market data, and each venue's
 * protocol deadlines. Every deadline defaults to the real venue's documented value and can be scaled
 * down (tens or hundreds of milliseconds) so tests run fast. `resolve` turns the options into plain
 * milliseconds once, at start.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"

/**
 * The venues the simulator speaks, each under its own path prefix (`binanceUsdm`, Binance USD-M futures,
 * under `/binance-usdm`).
 *
 * @category models
 * @since 0.1.0
 */
export type VenueName = "binance" | "binanceUsdm" | "okx" | "bybit" | "coinbase" | "kraken" | "hyperliquid"

/**
 * Every venue name, in a stable order.
 *
 * @category constants
 * @since 0.1.0
 */
export const venueNames: ReadonlyArray<VenueName> = [
  "binance",
  "binanceUsdm",
  "okx",
  "bybit",
  "coinbase",
  "kraken",
  "hyperliquid"
]

/**
 * The assets the simulator knows, used to decide whether an instrument exists when a venue option does
 * not list them (`OkxOptions.instruments`, `KrakenOptions.pairs`). `XBT` is deliberately absent: Kraken v2
 * names bitcoin `BTC` and answers `Currency pair not supported XBT/USD`.
 *
 * @category constants
 * @since 0.1.0
 */
export const knownAssets: ReadonlyArray<string> = [
  "BTC",
  "ETH",
  "SOL",
  "XRP",
  "DOGE",
  "ADA",
  "LTC",
  "BNB",
  "DOT",
  "AVAX",
  "LINK",
  "TRX",
  "TON",
  "BCH",
  "XLM",
  "ATOM",
  "UNI",
  "NEAR",
  "APT",
  "ARB",
  "OP",
  "SUI",
  "PEPE",
  "SHIB",
  "USDT",
  "USDC",
  "DAI",
  "USD",
  "EUR",
  "GBP",
  "JPY",
  "CAD",
  "CHF",
  "AUD"
]

/**
 * Options shared by every venue.
 *
 * @category models
 * @since 0.1.0
 */
export interface CommonVenueOptions {
  /** Market-data messages per second per subscribed stream; 0 sends none. Defaults to the top-level `rate`. */
  readonly rate?: number | undefined
}

/**
 * Binance spot market streams (`/binance/ws`, `/binance/stream`).
 *
 * @category models
 * @since 0.1.0
 */
export interface BinanceOptions extends CommonVenueOptions {
  /** Interval of server PING frames. Real: 20 seconds. */
  readonly pingInterval?: Duration.Input | undefined
  /** Close when a PING stays unanswered this long. Real: 1 minute. */
  readonly pongTimeout?: Duration.Input | undefined
  /** Maximum connection lifetime. Real: 24 hours. */
  readonly maxLifetime?: Duration.Input | undefined
  /** How long before `maxLifetime` the `serverShutdown` event is sent. Default 10 seconds (at most half the lifetime). */
  readonly shutdownNotice?: Duration.Input | undefined
  /**
   * Incoming messages allowed per second before closing with 1008. Real: 5. Counted as Binance documents
   * it ("a PING frame, a PONG frame, a JSON controlled message"): every text message, every PING frame and
   * every PONG frame, including the PONGs that answer the server's own PINGs.
   */
  readonly messageLimit?: number | undefined
  /**
   * The symbols the REST depth snapshot knows; other symbols get 400 `-1121 Invalid symbol.`. Default: an upper
   * case `BASEQUOTE` whose base and quote are both in `knownAssets` (`BTCUSDT`, `ETHBTC`).
   */
  readonly symbols?: ReadonlyArray<string> | undefined
  /** Request weight per IP per `restWindow` on `/binance/api/v3/depth` before 429. Real: 6,000 per minute. */
  readonly restWeightPerMinute?: number | undefined
  /** The fixed window REST weight is counted in. Real: 1 minute (`X-MBX-USED-WEIGHT-1M`); shorten it in tests. */
  readonly restWindow?: Duration.Input | undefined
  /** The first 418 ban (asking again before a 429's `Retry-After`); it doubles for each repeat, up to 3 days. Default 2 minutes. */
  readonly restBan?: Duration.Input | undefined
}

/**
 * Binance USD-M futures market streams, on the routed paths Binance introduced in 2026-03:
 * `/binance-usdm/public/{ws,stream}` (high-frequency: `@trade`, `@depth*`, `@bookTicker`),
 * `/binance-usdm/market/{ws,stream}` (`@aggTrade`, `@markPrice`, `@kline_*`, `@ticker`, `@miniTicker`) and the
 * legacy unrouted `/binance-usdm/{ws,stream}`, served as `/public`. A stream of the other class (or one the
 * simulator does not publish) is accepted and acknowledged but pushes nothing, with no error.
 *
 * @category models
 * @since 0.1.0
 */
export interface BinanceUsdmOptions extends CommonVenueOptions {
  /** Interval of server PING frames. Real: 3 minutes. */
  readonly pingInterval?: Duration.Input | undefined
  /** Close when a PING stays unanswered this long. Real: 10 minutes. */
  readonly pongTimeout?: Duration.Input | undefined
  /** Maximum connection lifetime. Real: 24 hours. */
  readonly maxLifetime?: Duration.Input | undefined
  /** Incoming messages (text, PING, PONG) allowed per second before closing with 1008. Real: 10. */
  readonly messageLimit?: number | undefined
  /** The symbols the REST depth snapshot knows, as for spot. Default: `BASEQUOTE` over `knownAssets`. */
  readonly symbols?: ReadonlyArray<string> | undefined
  /** Request weight per IP per `restWindow` on `/binance-usdm/fapi/v1/depth` before 429. Real: 2,400 per minute. */
  readonly restWeightPerMinute?: number | undefined
  /** The fixed window REST weight is counted in. Real: 1 minute; shorten it in tests. */
  readonly restWindow?: Duration.Input | undefined
  /** The first 418 ban; it doubles for each repeat, up to 3 days. Default 2 minutes. */
  readonly restBan?: Duration.Input | undefined
}

/**
 * OKX v5 public websocket (`/okx/ws/v5/public`).
 *
 * @category models
 * @since 0.1.0
 */
export interface OkxOptions extends CommonVenueOptions {
  /** Close when no subscription is made, or nothing is received or pushed, for this long. Real: 30 seconds. */
  readonly idleTimeout?: Duration.Input | undefined
  /**
   * `subscribe`/`unsubscribe`/`login` requests allowed per connection within `requestWindow`. Real: 480 per
   * hour. A request beyond it is answered `{"event":"error","code":"60014",...}` and not carried out; the
   * connection stays open (OKX does not document its answer; see `venues/Okx.ts`).
   */
  readonly requestsPerHour?: number | undefined
  /** The window `requestsPerHour` counts over. Real: 1 hour; set it short in tests. */
  readonly requestWindow?: Duration.Input | undefined
  /**
   * The instruments that exist; any other `instId` is answered with error `60018`. Default: an `instId` of
   * the form `BASE-QUOTE`, `BASE-QUOTE-SWAP` or `BASE-QUOTE-YYMMDD` whose base and quote are both in
   * `knownAssets` (so `BTC-USDT` exists and `FOO-BAR` does not).
   */
  readonly instruments?: ReadonlyArray<string> | undefined
}

/**
 * Bybit v5 public spot websocket (`/bybit/v5/public/spot`).
 *
 * @category models
 * @since 0.1.0
 */
export interface BybitOptions extends CommonVenueOptions {
  /** Close when neither a ping nor pushed data happened for this long. Real: 10 minutes. */
  readonly idleTimeout?: Duration.Input | undefined
}

/**
 * Coinbase Exchange websocket feed (`/coinbase`).
 *
 * @category models
 * @since 0.1.0
 */
export interface CoinbaseOptions extends CommonVenueOptions {
  /** A `subscribe` must arrive within this time of connecting. Real: 5 seconds. */
  readonly subscribeDeadline?: Duration.Input | undefined
  /** Interval of `heartbeat` channel messages, per subscribed product. Real: 1 second. */
  readonly heartbeatInterval?: Duration.Input | undefined
  /**
   * Connection requests (handshakes) per second per IP, refilling a bucket of `requestBurst`. Real: 8. A
   * handshake beyond it gets HTTP 429 (Coinbase does not document the answer).
   */
  readonly requestsPerSecond?: number | undefined
  /** The burst of connection requests per IP. Real: 20. */
  readonly requestBurst?: number | undefined
  /**
   * Messages the clients of one IP may send per second, across connections. Real: 100. Beyond it the
   * connection gets `{"type":"error","message":"ErrSlowRead",...}` and is closed (1008).
   */
  readonly messagesPerSecond?: number | undefined
  /**
   * Subscriptions to one channel of one product per IP, across connections. Real: 10. A subscription
   * beyond it is rejected with `{"type":"error","message":"Failed to subscribe","reason":...}`; the
   * others of the same request are subscribed.
   */
  readonly subscriptionsPerProductChannel?: number | undefined
}

/**
 * Kraken websocket v2 (`/kraken/v2`).
 *
 * @category models
 * @since 0.1.0
 */
export interface KrakenOptions extends CommonVenueOptions {
  /** A `heartbeat` is sent when nothing else was sent for this long (once subscribed). Real: about 1 second. */
  readonly heartbeatInterval?: Duration.Input | undefined
  /**
   * The currency pairs that exist; any other symbol is answered `Currency pair not supported <SYM>`.
   * Default: a `BASE/QUOTE` symbol whose base and quote are both in `knownAssets` (so `BTC/USD` exists and
   * `XBT/USD` does not).
   */
  readonly pairs?: ReadonlyArray<string> | undefined
  /**
   * How long a WebSocket token from `krakenToken` may wait before its first subscribe; once used it stays
   * valid. Real: 15 minutes (`expires: 900`).
   */
  readonly tokenLifetime?: Duration.Input | undefined
}

/**
 * Hyperliquid websocket (`/hyperliquid/ws`).
 *
 * @category models
 * @since 0.1.0
 */
export interface HyperliquidOptions extends CommonVenueOptions {
  /** Close when the client sent nothing for this long. Real: 60 seconds. */
  readonly idleTimeout?: Duration.Input | undefined
  /**
   * Subscriptions per IP, across connections. Real: 1,000. One beyond it is answered
   * `{"channel":"error","data":"Cannot subscribe to more than 1000 channels."}` and not made.
   */
  readonly subscriptionsPerIp?: number | undefined
  /**
   * Messages the clients of one IP may send per minute, across connections (pings included). Real: 2,000.
   * One beyond it is answered `{"channel":"error","data":"Cannot send more than 2000 messages per minute."}`
   * and not carried out.
   */
  readonly messagesPerMinute?: number | undefined
  /** Open connections per IP. Real: 100. A handshake beyond it gets HTTP 429 (Hyperliquid does not document the answer). */
  readonly connectionsPerIp?: number | undefined
}

/**
 * A test account the private endpoints accept (`binanceWsApi`, `okxPrivate`, `bybitPrivate`, `krakenToken`
 * and `krakenAuth`, the `user` channel of `coinbase`): a login signed with its `secret` (base64 for Kraken
 * and Coinbase, as they issue them; with its `passphrase` for OKX and Coinbase) succeeds; any other key,
 * secret or passphrase is refused with the venue's own error. Use made-up values: they are test keys of
 * the simulator only.
 *
 * @category models
 * @since 0.1.0
 */
export interface Account {
  readonly apiKey: string
  readonly secret: string
  /** OKX and Coinbase Exchange keys have one; the others do not. */
  readonly passphrase?: string | undefined
  /**
   * An Ed25519 public key (SPKI PEM) for a Binance Ed25519 key: Binance signatures are then checked with it
   * instead of an HMAC with `secret`.
   */
  readonly publicKey?: string | undefined
}

/**
 * Everything `Simulator.make` and `startSimulator` accept; all fields are optional.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number | undefined
  /** Interface to listen on. Default and recommended: `127.0.0.1`. */
  readonly host?: string | undefined
  /** Market-data messages per second per subscribed stream, for every venue. Default 20; 0 sends none. */
  readonly rate?: number | undefined
  /** Period of the one shared timer that emits data and checks every deadline. Default 25 ms. */
  readonly tickInterval?: Duration.Input | undefined
  /**
   * Seed of the synthetic market. Each book and trade tape draws from its own generator derived from the
   * seed and its name, so the n-th update of a book is the same in every run with the same seed, whatever
   * else runs and whenever it is sent. Default 1.
   */
  readonly seed?: number | undefined
  /** Start with the market timer paused (`Simulator.pause`): no market data until `advance` or `resume`. Default false. */
  readonly paused?: boolean | undefined
  /** On close, how long to wait for clients to answer the 1001 close before cutting them. Default 500 ms. */
  readonly closeGrace?: Duration.Input | undefined
  /** A connection whose delayed/throttled output exceeds this many bytes is closed (1008). Default 8 MiB. */
  readonly maxQueuedBytes?: number | undefined
  /** The accounts the private endpoints accept. Default: none (every login is refused). */
  readonly accounts?: ReadonlyArray<Account> | undefined
  /**
   * How far the venues' clock is ahead of this machine's, for clock-skew tests: a number of ms (negative:
   * behind) or a duration (ahead). Logins are checked against the venues' clock, and the server-time
   * endpoints (`okxTime`, `bybitTime`) report it. Default 0.
   */
  readonly clockOffset?: Duration.Input | undefined
  /** Private order updates per second per account and private channel. Default 5; 0 sends none. */
  readonly privateRate?: number | undefined
  /** Per-venue protocol options. */
  readonly venues?: {
    readonly binance?: BinanceOptions | undefined
    readonly binanceUsdm?: BinanceUsdmOptions | undefined
    readonly okx?: OkxOptions | undefined
    readonly bybit?: BybitOptions | undefined
    readonly coinbase?: CoinbaseOptions | undefined
    readonly kraken?: KrakenOptions | undefined
    readonly hyperliquid?: HyperliquidOptions | undefined
  } | undefined
}

/**
 * The options with every default filled in and every duration in milliseconds.
 *
 * @category models
 * @since 0.1.0
 */
export interface Config {
  readonly port: number
  readonly host: string
  readonly tickMs: number
  readonly seed: number
  readonly paused: boolean
  readonly closeGraceMs: number
  readonly maxQueuedBytes: number
  /** The private endpoints' accounts by API key. */
  readonly accounts: ReadonlyMap<string, Account>
  /** Added to this machine's clock to give the venues' time. */
  readonly clockOffsetMs: number
  readonly privateRate: number
  readonly binance: {
    readonly rate: number
    readonly pingIntervalMs: number
    readonly pongTimeoutMs: number
    readonly maxLifetimeMs: number
    readonly shutdownNoticeMs: number
    readonly messageLimit: number
    readonly restWeightPerMinute: number
    readonly restWindowMs: number
    readonly restBanMs: number
    /** The listed REST symbols, or undefined for the `knownAssets` rule. */
    readonly symbols: ReadonlySet<string> | undefined
  }
  readonly binanceUsdm: {
    readonly rate: number
    readonly pingIntervalMs: number
    readonly pongTimeoutMs: number
    readonly maxLifetimeMs: number
    readonly messageLimit: number
    readonly restWeightPerMinute: number
    readonly restWindowMs: number
    readonly restBanMs: number
    /** The listed REST symbols, or undefined for the `knownAssets` rule. */
    readonly symbols: ReadonlySet<string> | undefined
  }
  readonly okx: {
    readonly rate: number
    readonly idleTimeoutMs: number
    readonly requestsPerWindow: number
    readonly requestWindowMs: number
    /** The listed instruments, or undefined for the `knownAssets` rule. */
    readonly instruments: ReadonlySet<string> | undefined
  }
  readonly bybit: { readonly rate: number; readonly idleTimeoutMs: number }
  readonly coinbase: {
    readonly rate: number
    readonly subscribeDeadlineMs: number
    readonly heartbeatIntervalMs: number
    readonly requestsPerSecond: number
    readonly requestBurst: number
    readonly messagesPerSecond: number
    readonly subscriptionsPerProductChannel: number
  }
  readonly kraken: {
    readonly rate: number
    readonly heartbeatIntervalMs: number
    /** The listed pairs, or undefined for the `knownAssets` rule. */
    readonly pairs: ReadonlySet<string> | undefined
    readonly tokenLifetimeMs: number
  }
  readonly hyperliquid: {
    readonly rate: number
    readonly idleTimeoutMs: number
    readonly subscriptionsPerIp: number
    readonly messagesPerMinute: number
    readonly connectionsPerIp: number
  }
}

/**
 * Converts a `Duration.Input` (or the default) to milliseconds.
 *
 * @category utils
 * @since 0.1.0
 */
export const millis = (input: Duration.Input | undefined, fallback: Duration.Input): number =>
  Duration.toMillis(Duration.fromInputUnsafe(input ?? fallback))

/** A clock offset in ms: a negative number of ms, or a `Duration.Input` (always positive). */
const clockOffsetMillis = (input: Duration.Input): number =>
  typeof input === "number" ? input : Duration.toMillis(Duration.fromInputUnsafe(input))

/**
 * Fills in the defaults.
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolve = (options: Options = {}): Config => {
  const rate = options.rate ?? 20
  const v = options.venues ?? {}
  const lifetime = millis(v.binance?.maxLifetime, "24 hours")
  return {
    port: options.port ?? 0,
    host: options.host ?? "127.0.0.1",
    tickMs: Math.max(1, millis(options.tickInterval, 25)),
    seed: options.seed ?? 1,
    paused: options.paused ?? false,
    closeGraceMs: millis(options.closeGrace, 500),
    maxQueuedBytes: options.maxQueuedBytes ?? 8 * 1024 * 1024,
    accounts: new Map((options.accounts ?? []).map((account) => [account.apiKey, account])),
    clockOffsetMs: options.clockOffset === undefined ? 0 : clockOffsetMillis(options.clockOffset),
    privateRate: options.privateRate ?? 5,
    binance: {
      rate: v.binance?.rate ?? rate,
      pingIntervalMs: millis(v.binance?.pingInterval, "20 seconds"),
      pongTimeoutMs: millis(v.binance?.pongTimeout, "1 minute"),
      maxLifetimeMs: lifetime,
      shutdownNoticeMs: Math.min(millis(v.binance?.shutdownNotice, "10 seconds"), lifetime / 2),
      messageLimit: v.binance?.messageLimit ?? 5,
      restWeightPerMinute: v.binance?.restWeightPerMinute ?? 6000,
      restWindowMs: Math.max(1, millis(v.binance?.restWindow, "1 minute")),
      restBanMs: millis(v.binance?.restBan, "2 minutes"),
      symbols: v.binance?.symbols !== undefined ? new Set(v.binance.symbols) : undefined
    },
    binanceUsdm: {
      rate: v.binanceUsdm?.rate ?? rate,
      pingIntervalMs: millis(v.binanceUsdm?.pingInterval, "3 minutes"),
      pongTimeoutMs: millis(v.binanceUsdm?.pongTimeout, "10 minutes"),
      maxLifetimeMs: millis(v.binanceUsdm?.maxLifetime, "24 hours"),
      messageLimit: v.binanceUsdm?.messageLimit ?? 10,
      restWeightPerMinute: v.binanceUsdm?.restWeightPerMinute ?? 2400,
      restWindowMs: Math.max(1, millis(v.binanceUsdm?.restWindow, "1 minute")),
      restBanMs: millis(v.binanceUsdm?.restBan, "2 minutes"),
      symbols: v.binanceUsdm?.symbols !== undefined ? new Set(v.binanceUsdm.symbols) : undefined
    },
    okx: {
      rate: v.okx?.rate ?? rate,
      idleTimeoutMs: millis(v.okx?.idleTimeout, "30 seconds"),
      requestsPerWindow: v.okx?.requestsPerHour ?? 480,
      requestWindowMs: millis(v.okx?.requestWindow, "1 hour"),
      instruments: v.okx?.instruments !== undefined ? new Set(v.okx.instruments) : undefined
    },
    bybit: { rate: v.bybit?.rate ?? rate, idleTimeoutMs: millis(v.bybit?.idleTimeout, "10 minutes") },
    coinbase: {
      rate: v.coinbase?.rate ?? rate,
      subscribeDeadlineMs: millis(v.coinbase?.subscribeDeadline, "5 seconds"),
      heartbeatIntervalMs: millis(v.coinbase?.heartbeatInterval, "1 second"),
      requestsPerSecond: v.coinbase?.requestsPerSecond ?? 8,
      requestBurst: v.coinbase?.requestBurst ?? 20,
      messagesPerSecond: v.coinbase?.messagesPerSecond ?? 100,
      subscriptionsPerProductChannel: v.coinbase?.subscriptionsPerProductChannel ?? 10
    },
    kraken: {
      rate: v.kraken?.rate ?? rate,
      heartbeatIntervalMs: millis(v.kraken?.heartbeatInterval, "1 second"),
      pairs: v.kraken?.pairs !== undefined ? new Set(v.kraken.pairs) : undefined,
      tokenLifetimeMs: millis(v.kraken?.tokenLifetime, "15 minutes")
    },
    hyperliquid: {
      rate: v.hyperliquid?.rate ?? rate,
      idleTimeoutMs: millis(v.hyperliquid?.idleTimeout, "60 seconds"),
      subscriptionsPerIp: v.hyperliquid?.subscriptionsPerIp ?? 1000,
      messagesPerMinute: v.hyperliquid?.messagesPerMinute ?? 2000,
      connectionsPerIp: v.hyperliquid?.connectionsPerIp ?? 100
    }
  }
}
