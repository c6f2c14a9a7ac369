/**
 * The simulator's options: where to listen, how fast each venue emits market data, and each venue's
 * protocol deadlines. Every deadline defaults to the real venue's documented value and can be scaled
 * down (tens or hundreds of milliseconds) so tests run fast. `resolve` turns the options into plain
 * milliseconds once, at start.
 */
import { Duration } from "effect"

/** The venues the simulator speaks, each under its own path prefix. */
export type VenueName = "binance" | "okx" | "bybit" | "coinbase" | "kraken" | "hyperliquid"

/** Every venue name, in a stable order. */
export const venueNames: ReadonlyArray<VenueName> = ["binance", "okx", "bybit", "coinbase", "kraken", "hyperliquid"]

/** Options shared by every venue. */
export interface CommonVenueOptions {
  /** Market-data messages per second per subscribed stream; 0 sends none. Defaults to the top-level `rate`. */
  readonly rate?: number | undefined
}

/** Binance spot market streams (`/binance/ws`, `/binance/stream`). */
export interface BinanceOptions extends CommonVenueOptions {
  /** Interval of server PING frames. Real: 20 seconds. */
  readonly pingInterval?: Duration.Input | undefined
  /** Close when a PING stays unanswered this long. Real: 1 minute. */
  readonly pongTimeout?: Duration.Input | undefined
  /** Maximum connection lifetime. Real: 24 hours. */
  readonly maxLifetime?: Duration.Input | undefined
  /** How long before `maxLifetime` the `serverShutdown` event is sent. Default 10 seconds (at most half the lifetime). */
  readonly shutdownNotice?: Duration.Input | undefined
  /** Incoming messages (text, PING, unsolicited PONG) allowed per second before closing with 1008. Real: 5. */
  readonly messageLimit?: number | undefined
}

/** OKX v5 public websocket (`/okx/ws/v5/public`). */
export interface OkxOptions extends CommonVenueOptions {
  /** Close when no subscription is made, or nothing is received or pushed, for this long. Real: 30 seconds. */
  readonly idleTimeout?: Duration.Input | undefined
}

/** Bybit v5 public spot websocket (`/bybit/v5/public/spot`). */
export interface BybitOptions extends CommonVenueOptions {
  /** Close when neither a ping nor pushed data happened for this long. Real: 10 minutes. */
  readonly idleTimeout?: Duration.Input | undefined
}

/** Coinbase Exchange websocket feed (`/coinbase`). */
export interface CoinbaseOptions extends CommonVenueOptions {
  /** A `subscribe` must arrive within this time of connecting. Real: 5 seconds. */
  readonly subscribeDeadline?: Duration.Input | undefined
  /** Interval of `heartbeat` channel messages. Real: 1 second. */
  readonly heartbeatInterval?: Duration.Input | undefined
}

/** Kraken websocket v2 (`/kraken/v2`). */
export interface KrakenOptions extends CommonVenueOptions {
  /** A `heartbeat` is sent when nothing else was sent for this long (once subscribed). Real: about 1 second. */
  readonly heartbeatInterval?: Duration.Input | undefined
}

/** Hyperliquid websocket (`/hyperliquid/ws`). */
export interface HyperliquidOptions extends CommonVenueOptions {
  /** Close when the client sent nothing for this long. Real: 60 seconds. */
  readonly idleTimeout?: Duration.Input | undefined
}

/** Everything `Simulator.make` and `startSimulator` accept; all fields are optional. */
export interface Options {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number | undefined
  /** Interface to listen on. Default and recommended: `127.0.0.1`. */
  readonly host?: string | undefined
  /** Market-data messages per second per subscribed stream, for every venue. Default 20; 0 sends none. */
  readonly rate?: number | undefined
  /** Period of the one shared timer that emits data and checks every deadline. Default 25 ms. */
  readonly tickInterval?: Duration.Input | undefined
  /** Seed of the synthetic market, for reproducible prices and sizes. Default 1. */
  readonly seed?: number | undefined
  /** On close, how long to wait for clients to answer the 1001 close before cutting them. Default 500 ms. */
  readonly closeGrace?: Duration.Input | undefined
  /** A connection whose delayed/throttled output exceeds this many bytes is closed (1008). Default 8 MiB. */
  readonly maxQueuedBytes?: number | undefined
  /** Per-venue protocol options. */
  readonly venues?: {
    readonly binance?: BinanceOptions | undefined
    readonly okx?: OkxOptions | undefined
    readonly bybit?: BybitOptions | undefined
    readonly coinbase?: CoinbaseOptions | undefined
    readonly kraken?: KrakenOptions | undefined
    readonly hyperliquid?: HyperliquidOptions | undefined
  } | undefined
}

/** The options with every default filled in and every duration in milliseconds. */
export interface Config {
  readonly port: number
  readonly host: string
  readonly tickMs: number
  readonly seed: number
  readonly closeGraceMs: number
  readonly maxQueuedBytes: number
  readonly binance: {
    readonly rate: number
    readonly pingIntervalMs: number
    readonly pongTimeoutMs: number
    readonly maxLifetimeMs: number
    readonly shutdownNoticeMs: number
    readonly messageLimit: number
  }
  readonly okx: { readonly rate: number; readonly idleTimeoutMs: number }
  readonly bybit: { readonly rate: number; readonly idleTimeoutMs: number }
  readonly coinbase: { readonly rate: number; readonly subscribeDeadlineMs: number; readonly heartbeatIntervalMs: number }
  readonly kraken: { readonly rate: number; readonly heartbeatIntervalMs: number }
  readonly hyperliquid: { readonly rate: number; readonly idleTimeoutMs: number }
}

/** Converts a `Duration.Input` (or the default) to milliseconds. */
export const millis = (input: Duration.Input | undefined, fallback: Duration.Input): number =>
  Duration.toMillis(Duration.fromInputUnsafe(input ?? fallback))

/** Fills in the defaults. */
export const resolve = (options: Options = {}): Config => {
  const rate = options.rate ?? 20
  const v = options.venues ?? {}
  const lifetime = millis(v.binance?.maxLifetime, "24 hours")
  return {
    port: options.port ?? 0,
    host: options.host ?? "127.0.0.1",
    tickMs: Math.max(1, millis(options.tickInterval, 25)),
    seed: options.seed ?? 1,
    closeGraceMs: millis(options.closeGrace, 500),
    maxQueuedBytes: options.maxQueuedBytes ?? 8 * 1024 * 1024,
    binance: {
      rate: v.binance?.rate ?? rate,
      pingIntervalMs: millis(v.binance?.pingInterval, "20 seconds"),
      pongTimeoutMs: millis(v.binance?.pongTimeout, "1 minute"),
      maxLifetimeMs: lifetime,
      shutdownNoticeMs: Math.min(millis(v.binance?.shutdownNotice, "10 seconds"), lifetime / 2),
      messageLimit: v.binance?.messageLimit ?? 5
    },
    okx: { rate: v.okx?.rate ?? rate, idleTimeoutMs: millis(v.okx?.idleTimeout, "30 seconds") },
    bybit: { rate: v.bybit?.rate ?? rate, idleTimeoutMs: millis(v.bybit?.idleTimeout, "10 minutes") },
    coinbase: {
      rate: v.coinbase?.rate ?? rate,
      subscribeDeadlineMs: millis(v.coinbase?.subscribeDeadline, "5 seconds"),
      heartbeatIntervalMs: millis(v.coinbase?.heartbeatInterval, "1 second")
    },
    kraken: { rate: v.kraken?.rate ?? rate, heartbeatIntervalMs: millis(v.kraken?.heartbeatInterval, "1 second") },
    hyperliquid: { rate: v.hyperliquid?.rate ?? rate, idleTimeoutMs: millis(v.hyperliquid?.idleTimeout, "60 seconds") }
  }
}
