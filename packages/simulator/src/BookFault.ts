/**
 * Faults that break order books, and the REST snapshot endpoint's faults. The one-shot stream faults
 * (`bookGap`, `crossed`, `badChecksum`) hit the next suitable message of each book stream the targeted
 * connections hold, and each hit is reported as a `BookFaultInjected` event naming the connection, the
 * stream and the update ids. `bookRestart` restarts a venue's book stream as after a service restart. The
 * REST faults (`restRefuse`, `restSlow`, `staleSnapshot`) act on the next depth snapshot requests to
 * Binance spot or USD-M and are reported on the `RestAnswered` events they shape. All of them are also
 * `FaultApplied` events, like every fault. They are part of `Fault.FaultSpec`.
 *
 * @since 0.2.0
 */
import * as Duration from "effect/Duration"
import type { VenueName } from "./Options.ts"

type Target = "all" | { readonly venue: VenueName } | { readonly connection: number }

interface Common {
  readonly target: Target
  /** Apply after this delay instead of now. */
  readonly after?: Duration.Input | undefined
  /** Only this book stream, named as the venue's subscription names it; default every book stream held. */
  readonly stream?: string | undefined
}

/**
 * One book update is not sent to the target: its update ids are skipped, so the next message shows the
 * gap (Binance `U` > last `u` + 1, USD-M `pu` ≠ last `u`, OKX `prevSeqId` ≠ last `seqId`, Bybit `u` + 2).
 * On Kraken, whose book messages carry no sequence number, the update dropped is the next one that changes
 * the checksum and touches only the top 10 levels, so the client's checksum shows the loss. Coinbase `level2` messages carry no sequence number
 * and the venue guarantees delivery: it is not hit. On Hyperliquid one whole-book snapshot is dropped
 * (harmless: the next one repairs the book).
 *
 * @category models
 * @since 0.2.0
 */
export interface BookGap extends Common {
  readonly kind: "bookGap"
}

/**
 * One book message makes the book crossed: it carries an extra bid one tick above the best ask. The true
 * book stays uncrossed (the message is wrong), so the client must resync. Every venue's book stream. On
 * OKX and Kraken the message's checksum is that of the crossed book it leaves, so only a crossed-book
 * check catches it.
 *
 * @category models
 * @since 0.2.0
 */
export interface Crossed extends Common {
  readonly kind: "crossed"
}

/**
 * One book message carries a wrong checksum (OKX `books`, Kraken `book`; other venues are not hit). The
 * levels are right; the client must resync because it cannot tell.
 *
 * @category models
 * @since 0.2.0
 */
export interface BadChecksum extends Common {
  readonly kind: "badChecksum"
}

/**
 * The book stream restarts as after a service restart. Bybit: the next message of every `orderbook`
 * stream of the book is a snapshot with `u` = 1, and deltas continue from `u` = 2 (the book belongs to the
 * venue, so every subscriber of it sees the restart). Coinbase `level2` and Hyperliquid `l2Book`: the
 * targeted connection gets a fresh snapshot at once. Other venues are not hit.
 *
 * @category models
 * @since 0.2.0
 */
export interface BookRestart extends Common {
  readonly kind: "bookRestart"
}

/**
 * The next `count` (default 1) depth snapshot requests get HTTP `status` (429 by default, or 418) with
 * `Retry-After: retryAfter` seconds (default 5) and Binance's error body, whatever the weight used. As
 * with a real 429, a client that asks again before `Retry-After` passes is banned with 418.
 *
 * @category models
 * @since 0.2.0
 */
export interface RestRefuse {
  readonly kind: "restRefuse"
  readonly target: "all" | { readonly venue: "binance" | "binanceUsdm" }
  readonly after?: Duration.Input | undefined
  readonly status?: 429 | 418 | undefined
  readonly retryAfter?: number | undefined
  readonly count?: number | undefined
}

/**
 * The next `count` (default 1) depth snapshot answers are held for `delay`; the book is read when the
 * request arrives, so the answer is older than the stream by the time it lands.
 *
 * @category models
 * @since 0.2.0
 */
export interface RestSlow {
  readonly kind: "restSlow"
  readonly target: "all" | { readonly venue: "binance" | "binanceUsdm" }
  readonly after?: Duration.Input | undefined
  readonly delay: Duration.Input
  readonly count?: number | undefined
}

/**
 * The next `count` (default 1) depth snapshot answers are the book as it was `behind` updates ago
 * (default 10, at most 256), with that book's `lastUpdateId`, as a lagging REST cache would serve it.
 *
 * @category models
 * @since 0.2.0
 */
export interface StaleSnapshot {
  readonly kind: "staleSnapshot"
  readonly target: "all" | { readonly venue: "binance" | "binanceUsdm" }
  readonly after?: Duration.Input | undefined
  readonly behind?: number | undefined
  readonly count?: number | undefined
}

/**
 * A book or REST fault, of whichever kind.
 *
 * @category models
 * @since 0.2.0
 */
export type BookFaultSpec = BookGap | Crossed | BadChecksum | BookRestart | RestRefuse | RestSlow | StaleSnapshot

/**
 * The REST faults.
 *
 * @category models
 * @since 0.2.0
 */
export type RestFaultSpec = RestRefuse | RestSlow | StaleSnapshot

/**
 * Whether a fault acts on the REST snapshot endpoints.
 *
 * @category guards
 * @since 0.2.0
 */
export const isRest = (spec: { readonly kind: string }): spec is RestFaultSpec =>
  spec.kind === "restRefuse" || spec.kind === "restSlow" || spec.kind === "staleSnapshot"

const positiveInt = (n: number | undefined): boolean => n === undefined || (Number.isInteger(n) && n >= 1)

/**
 * Returns why a book or REST fault cannot be applied, or `undefined` when it is valid.
 *
 * @category validation
 * @since 0.2.0
 */
export const validate = (spec: BookFaultSpec): string | undefined => {
  const t = spec.target
  switch (spec.kind) {
    case "bookGap":
    case "crossed":
    case "badChecksum":
    case "bookRestart":
      return spec.stream !== undefined && (typeof spec.stream !== "string" || spec.stream === "")
        ? "stream must name a book stream as the venue does, e.g. btcusdt@depth or books:BTC-USDT"
        : undefined
    case "restRefuse":
    case "restSlow":
    case "staleSnapshot": {
      if (typeof t === "object" && "connection" in t) return `${spec.kind} targets a venue or all, not a connection`
      if (typeof t === "object" && t.venue !== "binance" && t.venue !== "binanceUsdm") {
        return `${spec.kind} applies to the Binance depth snapshots: target binance, binanceUsdm or all`
      }
      if (!positiveInt(spec.count)) return "count must be a positive integer"
      if (spec.kind === "restRefuse") {
        if (spec.status !== undefined && spec.status !== 429 && spec.status !== 418) return "status must be 429 or 418"
        return spec.retryAfter !== undefined && !(spec.retryAfter >= 1) ? "retryAfter must be at least 1" : undefined
      }
      if (spec.kind === "restSlow") {
        return Duration.fromInput(spec.delay)._tag === "Some" ? undefined : "restSlow needs a valid delay"
      }
      return spec.behind !== undefined && !(Number.isInteger(spec.behind) && spec.behind >= 1 && spec.behind <= 256)
        ? "behind must be an integer from 1 to 256"
        : undefined
    }
  }
}
