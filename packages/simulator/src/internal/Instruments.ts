/**
 * Which instruments exist on a venue: either the list a venue option gives, or a rule over `knownAssets`
 * (see `Options.knownAssets`). Kraken pairs are `BASE/QUOTE`; OKX instruments are `BASE-QUOTE`,
 * `BASE-QUOTE-SWAP` or `BASE-QUOTE-YYMMDD`; Binance symbols (REST snapshots) are `BASEQUOTE`.
 */
import { knownAssets } from "../Options.ts"

const assets: ReadonlySet<string> = new Set(knownAssets)

/** Whether a Kraken v2 `symbol` exists. */
export const krakenPair = (listed: ReadonlySet<string> | undefined, symbol: string): boolean => {
  if (listed !== undefined) return listed.has(symbol)
  const parts = symbol.split("/")
  return parts.length === 2 && parts.every((p) => assets.has(p))
}

/** Whether an OKX `instId` exists. */
export const okxInstrument = (listed: ReadonlySet<string> | undefined, instId: string): boolean => {
  if (listed !== undefined) return listed.has(instId)
  const [base = "", quote = "", kind, ...rest] = instId.split("-")
  if (rest.length > 0) return false
  if (kind !== undefined && kind !== "SWAP" && !/^\d{6}$/.test(kind)) return false
  return assets.has(base) && assets.has(quote)
}

/** Whether a Binance `symbol` exists: listed, or upper case, a base then a quote both in `knownAssets` (`BTCUSDT`). */
export const binanceSymbol = (listed: ReadonlySet<string> | undefined, symbol: string): boolean => {
  if (listed !== undefined) return listed.has(symbol)
  if (!/^[A-Z0-9]{2,20}$/.test(symbol)) return false
  for (let i = 1; i < symbol.length; i++) {
    if (assets.has(symbol.slice(0, i)) && assets.has(symbol.slice(i))) return true
  }
  return false
}
