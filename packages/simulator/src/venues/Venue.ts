/**
 * The contract between the server and one venue's protocol. A venue claims request paths, and for each
 * accepted connection opens a `Session` that handles the client's text messages, the shared tick
 * (heartbeats, deadlines), PING/PONG frames and the venue's disconnect notice. Market data comes from
 * shared `Feed`s: one generator per topic, serialized once per message and delivered to every subscriber.
 */
import type { Connection } from "../internal/Connection.ts"
import type { Instrument, Tape } from "../internal/Market.ts"
import type { OrderBook, Shape } from "../internal/OrderBook.ts"
import type { Config, VenueName } from "../Options.ts"

/** The one-shot book faults a book stream may support. */
export type BookFaultKind = "bookGap" | "crossed" | "badChecksum"

/** One book message as a subscriber gets it, with what one-shot book faults send instead. */
export interface BookMessage {
  readonly text: string
  readonly first: number
  readonly last: number
  /** The same message with a level that crosses the book (`crossed`); the true book stays uncrossed. */
  readonly crossed?: (() => string) | undefined
  /** The same message with a wrong checksum (`badChecksum`). */
  readonly badChecksum?: (() => string) | undefined
  /**
   * Whether a client can tell this message was lost (its sequence numbers, or a checksum it changes): a
   * `bookGap` drops the first detectable message, so a lost update never goes unnoticed.
   */
  readonly detectable: boolean
}

/** One market-data message of a feed, already serialized, with the sequence range it covers. */
export interface Emission {
  /** The message; empty when there is nothing to send (a depth-limited feed sends per depth in `views`). */
  readonly text: string
  /** First and last sequence number in this message (equal for one-trade messages). */
  readonly first: number
  readonly last: number
  /** A book feed's message with its fault variants. */
  readonly book?: BookMessage | undefined
  /** A depth-limited book feed's message per subscribed depth (undefined: nothing changed within it). */
  readonly views?: ReadonlyMap<number, BookMessage | undefined> | undefined
}

/** A receiver of a feed's emissions: one connection's subscription. */
export interface Subscriber {
  readonly conn: Connection
  readonly deliver: (emission: Emission) => void
}

/** A shared market-data stream: `rate` messages per second to every subscriber. */
export interface Feed {
  readonly key: string
  readonly rate: number
  credit: number
  readonly subscribers: Set<Subscriber>
  readonly next: (now: number) => Emission
  /** The one-shot book faults this feed's streams support; undefined for feeds that carry no book. */
  readonly bookFaults?: ReadonlySet<BookFaultKind> | undefined
  /** A stream that is acknowledged but never pushes: neither the timer nor `advance` runs it. */
  readonly silent?: boolean | undefined
}

/** What else a feed is, when created. */
export interface FeedTraits {
  readonly bookFaults?: ReadonlySet<BookFaultKind> | undefined
  readonly silent?: boolean | undefined
}

/** What a venue may ask of the server: shared generators and feeds, and per-IP state. */
export interface Market {
  readonly config: Config
  /**
   * State shared by every connection from one remote address, under `key` (created on first use with
   * `init`): per-IP limits count across connections through it.
   */
  readonly perIp: <T>(key: string, address: string, init: () => T) => T
  /** The trade tape of a venue's symbol (created on first use). */
  readonly tape: (venue: VenueName, symbol: string, instrument: Instrument) => Tape
  /** The true order book of a venue's symbol (created on first use with `shape`). */
  readonly book: (venue: VenueName, symbol: string, instrument: Instrument, shape: Shape) => OrderBook
  /** A feed by key (created on first use with `next`). */
  readonly feed: (key: string, rate: number, next: (now: number) => Emission, traits?: FeedTraits) => Feed
}

/** One connection's protocol handler. */
export interface Session {
  /** A text message from the client. */
  readonly onText: (text: string, now: number) => void
  /** The shared tick: send heartbeats, enforce deadlines. */
  readonly onTick: (now: number) => void
  /** A PING frame arrived (the server answers it unless half-open). */
  readonly onPing?: (now: number) => void
  /** A PONG frame arrived. */
  readonly onPong?: (now: number) => void
  /** Sends the venue's forced-disconnect notice; returns false when the venue has none. */
  readonly notice?: (now: number) => boolean
  /** A half-open fault healed: restart the deadlines from now. */
  readonly onResume?: (now: number) => void
  /** The connection ended (its subscriptions are still listed): release what it held in per-IP state. */
  readonly onClose?: () => void
  /**
   * A `seqReset` fault (id `fault`): the book streams this connection holds (or just `stream`) continue
   * from `seqId`. Returns false when the venue has no such stream or the connection holds none.
   */
  readonly seqReset?: (fault: number, seqId: number, stream: string | undefined) => boolean
  /**
   * A `bookRestart` fault: the venue restarts the book streams this connection holds (or just `stream`), as
   * it does after a service restart. Returns false when the venue has no such thing or no book is held.
   */
  readonly bookRestart?: (fault: number, stream: string | undefined) => boolean
  /**
   * A private session's authentication runs out (`Simulator.expireAuth`), as the venue ends it: returns
   * false when the session holds none.
   */
  readonly expireAuth?: (now: number) => boolean
}

/** A venue: which paths it serves and how it talks. */
export interface Venue {
  readonly name: VenueName
  readonly matches: (pathname: string) => boolean
  readonly open: (conn: Connection, url: URL, market: Market) => Session
  /**
   * A handshake from `address`, which already holds `open` connections to this venue: returns the HTTP
   * status to refuse it with (a per-IP connection limit), or undefined to accept it.
   */
  readonly refuse?: (address: string, open: number, now: number, market: Market) => number | undefined
}

/** Parses a client message as a JSON object, or returns undefined. */
export const parseObject = (text: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** An RFC 3339 timestamp with microseconds, as Coinbase and Kraken write them. */
export const isoMicros = (ms: number): string => new Date(ms).toISOString().replace("Z", "000Z")

/** Whether a value is an array of strings. */
export const isStringArray = (value: unknown): value is ReadonlyArray<string> =>
  Array.isArray(value) && value.every((v) => typeof v === "string")

/** Writes levels as a JSON array of `["price","qty"]` string pairs. */
export const pairs = (
  levels: ReadonlyArray<readonly [number, number]>,
  priceDecimals: number,
  qtyDecimals: number,
  format: (units: number, decimals: number) => string
): string => {
  let out = "["
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]
    if (level === undefined) continue
    if (i > 0) out += ","
    out += `["${format(level[0], priceDecimals)}","${format(level[1], qtyDecimals)}"]`
  }
  return out + "]"
}
