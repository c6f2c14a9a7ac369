/**
 * The contract between the server and one venue's protocol. A venue claims request paths, and for each
 * accepted connection opens a `Session` that handles the client's text messages, the shared tick
 * (heartbeats, deadlines), PING/PONG frames and the venue's disconnect notice. Market data comes from
 * shared `Feed`s: one generator per topic, serialized once per message and delivered to every subscriber.
 */
import type { Connection } from "../internal/Connection.ts"
import type { Book, Instrument, Tape } from "../internal/Market.ts"
import type { Config, VenueName } from "../Options.ts"

/** One market-data message of a feed, already serialized, with the sequence range it covers. */
export interface Emission {
  readonly text: string
  /** First and last sequence number in this message (equal for one-trade messages). */
  readonly first: number
  readonly last: number
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
  /** The order book of a venue's symbol (created on first use). */
  readonly book: (venue: VenueName, symbol: string, instrument: Instrument, depth: number) => Book
  /** A feed by key (created on first use with `next`). */
  readonly feed: (key: string, rate: number, next: (now: number) => Emission) => Feed
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
