/**
 * What a venue profile is: the facts about one exchange's public market-data
 * WebSocket that a connection needs — its public URLs, how to frame
 * subscribe and unsubscribe requests, how to recognise the venue's answer to
 * them, which heartbeat it wants, its idle rules and limits, and which
 * messages announce a forced disconnect. A profile is a plain value; the
 * helpers here turn one into a core `ConnectionConfig` and `ReadHooks` so
 * `Connection.make(name, ...Venue.connect(profile, topics))` is one line.
 * Topics are strings in each venue's own naming (see each venue's module).
 *
 * @since 0.1.0
 */
import type { Connection, ConnectionConfig } from "@kharbranth/core"
import { Heartbeat } from "@kharbranth/core"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Auth from "./Auth.ts"

/**
 * A venue's published limits. Every field is optional: a venue that does
 * not document a limit leaves it out. Windows are per IP unless noted.
 *
 * @category models
 * @since 0.1.0
 */
export interface Limits {
  /** New connections allowed per IP in a window (e.g. Binance: 300 per 5 minutes). */
  readonly connections?: { readonly count: number; readonly window: Duration.Input } | undefined
  /** Messages the client may send per second (per connection unless `messagesScope` says IP). */
  readonly messagesPerSecond?: number | undefined
  /** Whether `messagesPerSecond` counts per connection or per IP. */
  readonly messagesScope?: "connection" | "ip" | undefined
  /** Streams (topics) one connection may hold. */
  readonly streamsPerConnection?: number | undefined
  /** Topics one subscribe request may carry. */
  readonly topicsPerRequest?: number | undefined
  /** Largest request the venue accepts, in bytes. */
  readonly maxRequestBytes?: number | undefined
  /** Whether the venue counts heartbeat pings in `messagesPerSecond` (Binance does). */
  readonly countsHeartbeat?: boolean | undefined
  /** Whether the venue also counts the pongs that answer its own pings in `messagesPerSecond` (Binance does). */
  readonly countsPongs?: boolean | undefined
  /** The venue ends every connection after this long (Binance: 24 hours). */
  readonly maxLifetime?: Duration.Input | undefined
  /** Subscribe and unsubscribe requests one connection may send per hour (OKX: 480, login included). */
  readonly requestsPerHour?: number | undefined
  /** Subscribe and unsubscribe requests per IP, across every connection (Coinbase: 8 per second). */
  readonly requestsPerIp?: Window | undefined
  /** Messages of any kind the client may send per IP, across every connection (Hyperliquid: 2,000 per minute). */
  readonly messagesPerIp?: Window | undefined
  /** Subscriptions one IP may hold at once, across every connection; a hard cap (Hyperliquid: 1,000). */
  readonly subscriptionsPerIp?: number | undefined
  /** Connections one IP may hold open at once; a hard cap (Hyperliquid: 100; Bybit: 1,000 per market). */
  readonly connectionsPerIp?: number | undefined
  /** Connections of one IP that may hold the same topic at once; a hard cap (Coinbase: 10 per product and channel). */
  readonly subscribersPerTopic?: number | undefined
}

/**
 * A count allowed in a rolling window, e.g. `{ count: 480, window: "1 hour" }`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Window {
  readonly count: number
  readonly window: Duration.Input
}

/**
 * One request to send: its text, the topics it covers, and the request id
 * the venue echoes in its answer (when it echoes one).
 *
 * @category models
 * @since 0.1.0
 */
export interface Request {
  readonly op: "subscribe" | "unsubscribe"
  readonly topics: ReadonlyArray<string>
  readonly id: number | undefined
  readonly text: string
}

/**
 * What a venue message says about subscriptions. `subscribed` /
 * `unsubscribed` name the topics (and the request id, if echoed);
 * `acknowledged` is an id-only success (Binance's `{"result":null,"id":1}`);
 * `rejected` is an error, with the topics or id it names when it names
 * any; `active` lists every topic now active (Coinbase's `subscriptions`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Confirmation {
  readonly kind: "subscribed" | "unsubscribed" | "acknowledged" | "rejected" | "active"
  readonly topics: ReadonlyArray<string>
  readonly id: number | undefined
  readonly reason: string | undefined
  /**
   * Instruments the answer names without their channel (a Kraken error
   * names only its `symbol`): it settles the request's `channel:key` topics
   * whose key is one of them.
   */
  readonly instruments?: ReadonlyArray<string> | undefined
  /**
   * A rejection the venue documents as final for its topics (an unknown
   * instrument): they are not retried. Any other rejection is read as
   * transient, and its topics are retried with backoff.
   */
  readonly permanent?: boolean | undefined
}

/**
 * A venue profile.
 *
 * @category models
 * @since 0.1.0
 */
export interface Profile {
  /** Short name, e.g. `"binance-spot"`. */
  readonly venue: string
  /** The default public URL. */
  readonly url: string
  /** Every public URL the venue documents, by name. */
  readonly urls: Readonly<Record<string, string>>
  /** The heartbeat the venue wants (intervals below its deadlines). */
  readonly heartbeat: Heartbeat.Heartbeat
  /** A client `idleTimeout` that fits the venue (data or venue keep-alives arrive at least this often), if any. */
  readonly idleTimeout: Duration.Input | undefined
  /** The venue closes a connection after this long without the traffic it expects (see `idleRule`). */
  readonly serverIdle: Duration.Input | undefined
  /** In words: what the venue counts as idle and what it does then. */
  readonly idleRule: string
  readonly limits: Limits
  /** The requests that subscribe to `topics`; `id` (default 1) numbers them when the venue echoes ids. */
  readonly subscribe: (topics: ReadonlyArray<string>, id?: number) => ReadonlyArray<Request>
  /** The requests that unsubscribe from `topics`. */
  readonly unsubscribe: (topics: ReadonlyArray<string>, id?: number) => ReadonlyArray<Request>
  /** What a text message says about subscriptions, or undefined for any other message. */
  readonly confirmation: (text: string) => Confirmation | undefined
  /** Whether a text message announces that the venue will close the connection soon. */
  readonly isNotice: (text: string) => boolean
  /**
   * The topic (as passed to `subscribe`) a market-data message belongs to,
   * or undefined for anything else: answers, pongs, venue heartbeats,
   * notices. Staleness is tracked per topic with it.
   */
  readonly topicOf: (text: string) => string | undefined
  /**
   * The key in `urls` of the endpoint that serves a topic, where the venue
   * routes streams to endpoints by class (Binance USD-M: `public`,
   * `market`); undefined (or no `route`) for the default `url`. A feed opens
   * separate shards per endpoint.
   */
  readonly route?: ((topic: string) => string | undefined) | undefined
  /**
   * How the venue authenticates this endpoint, for an authenticated
   * (private) profile: a feed of such a profile needs `credentials` and logs
   * every session in before its first subscribe (see `Auth`).
   */
  readonly auth?: Auth.Spec | undefined
}

/**
 * Where a market-data message sits in its stream's sequence: the stream
 * (usually the topic), the first and last sequence numbers it covers (equal
 * for a single event), and, for venues that chain messages by the previous
 * message's number instead of consecutive numbers (OKX `prevSeqId`, Binance
 * futures `pu`), that previous number. Used to detect gaps and to drop
 * duplicates when a rotation overlaps two sessions.
 *
 * @category models
 * @since 0.1.0
 */
export interface Sequence {
  readonly stream: string
  readonly first: number
  readonly last: number
  readonly prev?: number | undefined
  /** A snapshot starts the stream afresh: never a gap, and the numbering may restart lower. */
  readonly snapshot?: boolean | undefined
  /**
   * A stream of book deltas that nothing on the socket repairs after a gap
   * (Binance diff depth: the venue sends no snapshot, the book needs a REST
   * one). After a gap a restart cannot mend, a feed holds such a stream's
   * frames until a resync has run.
   */
  readonly needsResync?: boolean | undefined
}

/**
 * Whether `confirmation` settles `request`: `"confirmed"`, `"rejected"`, or
 * undefined when it is about something else. Matching is by request id when
 * both carry one, else by topic.
 *
 * **Gotchas**: a rejection naming neither topics, instruments nor an id
 * (Coinbase and Hyperliquid errors often do) rejects any request that is
 * still waiting; a feed then asks each topic of a several-topic request on
 * its own to find out which.
 *
 * @category combinators
 * @since 0.1.0
 */
export const outcome = (request: Request, confirmation: Confirmation): "confirmed" | "rejected" | undefined => {
  const sameId = request.id !== undefined && confirmation.id !== undefined
    ? request.id === confirmation.id
    : undefined
  const overlaps = request.topics.some((t) => names(confirmation, t))
  switch (confirmation.kind) {
    case "rejected":
      if (sameId !== undefined) return sameId ? "rejected" : undefined
      if (confirmation.topics.length === 0 && (confirmation.instruments?.length ?? 0) === 0) return "rejected"
      return overlaps ? "rejected" : undefined
    case "acknowledged":
      return sameId === true ? "confirmed" : undefined
    case "active": {
      const active = request.topics.filter((t) => confirmation.topics.includes(t)).length
      if (request.op === "subscribe") return active === request.topics.length ? "confirmed" : undefined
      return active === 0 ? "confirmed" : undefined
    }
    case "subscribed":
    case "unsubscribed": {
      if ((confirmation.kind === "subscribed") !== (request.op === "subscribe")) return undefined
      if (sameId !== undefined) return sameId ? "confirmed" : undefined
      return overlaps ? "confirmed" : undefined
    }
  }
}

/**
 * Whether `confirmation` names `topic`: among its `topics`, or a
 * `channel:key` topic whose key is among its `instruments`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const names = (confirmation: Confirmation, topic: string): boolean =>
  confirmation.topics.includes(topic) ||
  (confirmation.instruments !== undefined && confirmation.instruments.includes(splitTopic(topic)[1]))

/**
 * The same heartbeat style with other durations: for tests against a
 * simulator with short deadlines, or a venue that changed its rules.
 *
 * @category combinators
 * @since 0.1.0
 */
export const retime = (
  heartbeat: Heartbeat.Heartbeat,
  timing: { readonly interval?: Duration.Input | undefined; readonly timeout?: Duration.Input | undefined }
): Heartbeat.Heartbeat => {
  switch (heartbeat._tag) {
    case "None":
      return heartbeat
    case "Protocol":
      return Heartbeat.protocol({
        ...heartbeat,
        interval: timing.interval ?? heartbeat.interval,
        timeout: timing.timeout ?? heartbeat.timeout
      })
    case "Message":
      return Heartbeat.message({
        ...heartbeat,
        interval: timing.interval ?? heartbeat.interval,
        timeout: timing.timeout ?? heartbeat.timeout
      })
  }
}

/**
 * Options of `connectionConfig` and `connect`: every `ConnectionConfig` field,
 * plus `url` (another endpoint, such as the simulator's; default the
 * profile's public URL) and `heartbeatInterval`/`heartbeatTimeout` (retime
 * the profile's heartbeat, keeping its style).
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends Omit<ConnectionConfig.ConnectionConfig, "url"> {
  readonly url?: ConnectionConfig.ConnectionConfig["url"] | undefined
  readonly heartbeatInterval?: Duration.Input | undefined
  readonly heartbeatTimeout?: Duration.Input | undefined
}

/**
 * A core `ConnectionConfig` for a profile: its URL (or `options.url`), its
 * heartbeat (retimed or replaced by the options) and its `idleTimeout`,
 * with every other option passed through.
 *
 * @category constructors
 * @since 0.1.0
 */
export const connectionConfig = (profile: Profile, options: Options = {}): ConnectionConfig.ConnectionConfig => {
  const { heartbeatInterval, heartbeatTimeout, url, heartbeat, idleTimeout, ...rest } = options
  return {
    ...rest,
    url: url ?? profile.url,
    heartbeat: retime(heartbeat ?? profile.heartbeat, { interval: heartbeatInterval, timeout: heartbeatTimeout }),
    idleTimeout: idleTimeout ?? profile.idleTimeout
  }
}

/**
 * The arguments of `Connection.make` after the name: a config from
 * `connectionConfig` and hooks whose `onOpen` sends the subscribe requests
 * for `topics` after every (re)connect, then runs `hooks.onOpen` if given.
 *
 * @example
 * ```ts
 * import { Connection } from "@kharbranth/core"
 * import { Binance, Venue } from "@kharbranth/exchanges"
 *
 * const conn = Connection.make("btc", ...Venue.connect(Binance.spot, [Binance.trade("btcusdt")]))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const connect = <R = never>(
  profile: Profile,
  topics: ReadonlyArray<string>,
  options: Options & { readonly hooks?: Connection.ReadHooks<R> | undefined } = {}
): readonly [ConnectionConfig.ConnectionConfig, Connection.ReadHooks<R>] => {
  const { hooks = {}, ...config } = options
  const requests = topics.length === 0 ? [] : profile.subscribe(topics)
  const userOpen = hooks.onOpen
  const onOpen = (context: Connection.OpenContext): Effect.Effect<void, unknown, R> =>
    Effect.forEach(requests, (request) => context.send(request.text), { discard: true }).pipe(
      Effect.andThen(userOpen === undefined ? Effect.void : userOpen(context))
    )
  return [connectionConfig(profile, config), { ...hooks, onOpen }] as const
}

/**
 * Splits topics into chunks of at most `size` (a venue's `topicsPerRequest`).
 *
 * @category combinators
 * @since 0.1.0
 */
export const chunks = <A>(items: ReadonlyArray<A>, size: number | undefined): ReadonlyArray<ReadonlyArray<A>> => {
  if (size === undefined || items.length <= size) return [items]
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * Splits a `channel:key` topic at its first colon (Kraken symbols contain
 * `/`, never `:`).
 *
 * @category combinators
 * @since 0.1.0
 */
export const splitTopic = (topic: string): readonly [channel: string, key: string] => {
  const at = topic.indexOf(":")
  return at < 0 ? [topic, ""] : [topic.slice(0, at), topic.slice(at + 1)]
}

/**
 * Groups `channel:key` topics by channel, keeping first-seen order.
 *
 * @category combinators
 * @since 0.1.0
 */
export const byChannel = (topics: ReadonlyArray<string>): ReadonlyArray<readonly [string, ReadonlyArray<string>]> => {
  const groups = new Map<string, Array<string>>()
  for (const topic of topics) {
    const [channel, key] = splitTopic(topic)
    const group = groups.get(channel)
    if (group === undefined) groups.set(channel, [key])
    else group.push(key)
  }
  return [...groups]
}

/**
 * A confirmation value.
 *
 * @category constructors
 * @since 0.1.0
 */
export const confirmation = (
  kind: Confirmation["kind"],
  topics: ReadonlyArray<string>,
  id?: number | undefined,
  reason?: string | undefined,
  more?: { readonly instruments?: ReadonlyArray<string> | undefined; readonly permanent?: boolean | undefined }
): Confirmation => more === undefined ? { kind, topics, id, reason } : { kind, topics, id, reason, ...more }
