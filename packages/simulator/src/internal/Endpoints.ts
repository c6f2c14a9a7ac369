/**
 * The WebSocket URL of every venue path (and the URL of each REST depth snapshot endpoint) on a running server, as `Simulator.endpoints` returns them and the
 * CLI prints them: each mirrors the real venue's path under the venue's prefix (`/binance`,
 * `/binance-usdm`, `/okx`, ...).
 */

/** WebSocket URLs of every venue on the running server. */
export interface Endpoints {
  /** Binance spot raw streams: `ws://host:port/binance/ws` (append `/<stream>` or subscribe by message). */
  readonly binance: string
  /** Binance spot combined streams: `ws://host:port/binance/stream` (append `?streams=a@trade/b@depth`). */
  readonly binanceCombined: string
  /** Binance spot WebSocket API (`userDataStream.subscribe.signature`): `ws://host:port/binance/ws-api/v3`. */
  readonly binanceWsApi: string
  /** Binance USD-M `/public` raw streams (`@trade`, `@depth*`, `@bookTicker`): `.../binance-usdm/public/ws`. */
  readonly binanceUsdmPublic: string
  /** Binance USD-M `/public` combined streams: `.../binance-usdm/public/stream` (append `?streams=`). */
  readonly binanceUsdmPublicCombined: string
  /** Binance USD-M `/market` raw streams (`@aggTrade`, `@markPrice`, `@kline_*`, `@ticker`, ...): `.../binance-usdm/market/ws`. */
  readonly binanceUsdmMarket: string
  /** Binance USD-M `/market` combined streams: `.../binance-usdm/market/stream` (append `?streams=`). */
  readonly binanceUsdmMarketCombined: string
  /** Binance USD-M legacy unrouted raw streams, served as `/public` (market streams stay silent): `.../binance-usdm/ws`. */
  readonly binanceUsdmLegacy: string
  /** Binance USD-M legacy unrouted combined streams: `.../binance-usdm/stream`. */
  readonly binanceUsdmLegacyCombined: string
  /** OKX v5 public: `ws://host:port/okx/ws/v5/public`. */
  readonly okx: string
  /** OKX v5 private (login, then `orders`/`account`/`positions`): `ws://host:port/okx/ws/v5/private`. */
  readonly okxPrivate: string
  /** Bybit v5 public spot: `ws://host:port/bybit/v5/public/spot`. */
  readonly bybit: string
  /** Bybit v5 private (auth, then `order`/`execution`/`position`/`wallet`): `ws://host:port/bybit/v5/private`. */
  readonly bybitPrivate: string
  readonly coinbase: string
  readonly kraken: string
  /** Kraken v2 authenticated (private channels with a token): `ws://host:port/kraken-auth/v2`. */
  readonly krakenAuth: string
  readonly hyperliquid: string
  /** Binance spot REST depth snapshot: `http://host:port/binance/api/v3/depth` (add `?symbol=BTCUSDT&limit=1000`). */
  readonly binanceDepth: string
  /** Binance USD-M REST depth snapshot: `http://host:port/binance-usdm/fapi/v1/depth` (add `?symbol=BTCUSDT&limit=1000`). */
  readonly binanceUsdmDepth: string
  /** Binance spot REST server time: `http://host:port/binance/api/v3/time`. */
  readonly binanceTime: string
  /** Coinbase Exchange REST server time: `http://host:port/coinbase/time`. */
  readonly coinbaseTime: string
  /** Kraken REST WebSocket token (signed POST): `http://host:port/kraken/0/private/GetWebSocketsToken`. */
  readonly krakenToken: string
  /** OKX REST server time: `http://host:port/okx/api/v5/public/time`. */
  readonly okxTime: string
  /** Bybit REST server time: `http://host:port/bybit/v5/market/time`. */
  readonly bybitTime: string
}

/** The path of each endpoint. */
export const paths: { readonly [K in keyof Endpoints]: string } = {
  binance: "/binance/ws",
  binanceCombined: "/binance/stream",
  binanceWsApi: "/binance/ws-api/v3",
  binanceUsdmPublic: "/binance-usdm/public/ws",
  binanceUsdmPublicCombined: "/binance-usdm/public/stream",
  binanceUsdmMarket: "/binance-usdm/market/ws",
  binanceUsdmMarketCombined: "/binance-usdm/market/stream",
  binanceUsdmLegacy: "/binance-usdm/ws",
  binanceUsdmLegacyCombined: "/binance-usdm/stream",
  okx: "/okx/ws/v5/public",
  okxPrivate: "/okx/ws/v5/private",
  bybit: "/bybit/v5/public/spot",
  bybitPrivate: "/bybit/v5/private",
  coinbase: "/coinbase",
  kraken: "/kraken/v2",
  krakenAuth: "/kraken-auth/v2",
  hyperliquid: "/hyperliquid/ws",
  binanceDepth: "/binance/api/v3/depth",
  binanceUsdmDepth: "/binance-usdm/fapi/v1/depth",
  binanceTime: "/binance/api/v3/time",
  coinbaseTime: "/coinbase/time",
  krakenToken: "/kraken/0/private/GetWebSocketsToken",
  okxTime: "/okx/api/v5/public/time",
  bybitTime: "/bybit/v5/market/time"
}

/** The endpoints served over plain HTTP (REST), not WebSocket. */
const rest: ReadonlySet<string> = new Set([
  "binanceDepth",
  "binanceUsdmDepth",
  "binanceTime",
  "coinbaseTime",
  "krakenToken",
  "okxTime",
  "bybitTime"
])

/** Every endpoint under `base` (`ws://127.0.0.1:8080`); the REST ones under the same host as `http://`. */
export const make = (base: string): Endpoints =>
  Object.fromEntries(
    Object.entries(paths).map((
      [name, path]
    ) => [name, `${rest.has(name) ? base.replace(/^ws/, "http") : base}${path}`])
  ) as unknown as Endpoints
