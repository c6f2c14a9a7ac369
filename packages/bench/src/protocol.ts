/**
 * What the orchestrator, the feed server process and the client processes
 * say to each other over their IPC channels: the client kinds, a client's
 * configuration, the commands, and the results. `parseMessage` checks every
 * message a child sends before the orchestrator trusts it, so a crashed or
 * confused child is a clear error, not a NaN in a table.
 */
import type { Percentiles } from "./stats.ts"

/** The clients compared. `ws` is the baseline of every ratio. */
export const CLIENT_KINDS = [
  "ws",
  "ws-batched",
  "ws+kharbranth-import",
  "ws+effect-stream",
  "kharbranth-stream",
  "kharbranth-arrays",
  "kharbranth-hooks",
  "kharbranth-stream+metrics",
  "kharbranth-hooks+metrics",
  "partysocket",
  "reconnecting-websocket"
] as const

/**
 * The Kharbranth clients with the library's metrics on (`Metrics.layer`, and
 * the Prometheus text built once a second as a scrape would): each is
 * compared with the same client with metrics off, in the same run. They run
 * in the throughput and fixed-rate scenarios, where a frame's cost shows.
 */
export const METRICS_CLIENTS = ["kharbranth-stream+metrics", "kharbranth-hooks+metrics"] as const

/**
 * Raw `ws` clients that tell apart where a difference from `ws` comes from,
 * run in the fixed-rate scenario: `ws-batched` hands each socket read's
 * frames over in one microtask (the latency of batching, with no library;
 * it also runs in the throughput scenario); `ws+kharbranth-import` is raw
 * `ws` in a process that has imported `@kharbranth/core` and
 * `@kharbranth/node` and never uses them (what loading the library and
 * `effect` does to garbage collection, with none of the library's work per
 * frame); `ws+effect-stream` is raw `ws` read by one `Stream.runForEach`
 * through the thinnest pull Effect allows (what an effect per frame costs
 * in the Effect runtime itself, to set beside `kharbranth-stream`).
 */
export const CONTROL_CLIENTS = ["ws-batched", "ws+kharbranth-import", "ws+effect-stream"] as const

/**
 * The clients of the scenarios where how frames are consumed does not matter
 * (idle memory, reconnects, storms): `kharbranth-arrays` differs from
 * `kharbranth-stream` only in its consumer, so it runs in the throughput
 * scenario alone; so do the metrics variants (and fixed-rate).
 */
export const CONNECTION_CLIENTS: ReadonlyArray<ClientKind> = CLIENT_KINDS.filter((kind) =>
  kind !== "kharbranth-arrays" && !(CONTROL_CLIENTS as ReadonlyArray<string>).includes(kind) &&
  !(METRICS_CLIENTS as ReadonlyArray<string>).includes(kind)
)

/** One of `CLIENT_KINDS`. */
export type ClientKind = typeof CLIENT_KINDS[number]

/** Whether a string names a client. */
export const isClientKind = (value: unknown): value is ClientKind =>
  typeof value === "string" && (CLIENT_KINDS as ReadonlyArray<string>).includes(value)

/** How a client reconnects: a fixed delay (the same for every client), or its library's own default. */
export type ReconnectSetting = { readonly kind: "fixed"; readonly delayMs: number } | { readonly kind: "default" }

/** What a client process is told on its command line. */
export interface ClientConfig {
  readonly kind: ClientKind
  readonly connections: number
  readonly port: number
  /** `JSON.parse` every message (the work), or only count it. */
  readonly parse: boolean
  /** Protocol heartbeat (ping every interval, pong within timeout), where the client has one. */
  readonly heartbeat: { readonly intervalMs: number; readonly timeoutMs: number } | undefined
  readonly reconnect: ReconnectSetting
  /** Initial dials in flight at once (for Kharbranth: the manager's `maxConcurrentDials`). */
  readonly dialConcurrency: number
  /** Kharbranth's manager `dialsPerSecond` (a local host may take many). */
  readonly dialsPerSecond: number
  /** Give up if not every connection opened within this long. */
  readonly readyTimeoutMs: number
}

/** Orchestrator → client commands. */
export type ClientCommand =
  | { readonly type: "measure-flood"; readonly warmupMs: number; readonly windowMs: number }
  | { readonly type: "measure-paced"; readonly warmupMs: number; readonly windowMs: number }
  | { readonly type: "measure-memory"; readonly settleMs: number }
  | { readonly type: "watch-reconnect"; readonly timeoutMs: number }
  | { readonly type: "watch-close"; readonly timeoutMs: number }
  | { readonly type: "exit" }

/** Orchestrator → server commands. */
export type ServerCommand =
  | { readonly type: "flood" }
  | { readonly type: "pace"; readonly rate: number }
  | { readonly type: "stop" }
  | { readonly type: "greet"; readonly on: boolean }
  | { readonly type: "count" }
  | { readonly type: "drop"; readonly holdMs: number; readonly expect: number; readonly timeoutMs: number }
  | { readonly type: "silence" }
  | { readonly type: "exit" }

/** Process memory, in bytes. */
export interface Memory {
  readonly rss: number
  readonly heapUsed: number
}

/** Child → orchestrator messages. Times called `…At` are monotonic microseconds (`monoMicros`). */
export type ChildMessage =
  | { readonly type: "listening"; readonly port: number }
  | { readonly type: "ack" }
  | { readonly type: "count"; readonly open: number }
  | { readonly type: "ready"; readonly opened: number; readonly openMs: number }
  | { readonly type: "flood-result"; readonly messages: number; readonly elapsedMs: number; readonly cpuMicros: number }
  | {
    readonly type: "paced-result"
    readonly messages: number
    readonly elapsedMs: number
    readonly cpuMicros: number
    /** Socket `message` event → handler, µs. */
    readonly added: Percentiles
    /** The first `message` event of the same socket read → handler, µs. */
    readonly addedRead: Percentiles
    /** Server send → handler, µs. */
    readonly endToEnd: Percentiles
    /** Server send → handler over the first window from the first message, with no warm-up, µs. */
    readonly coldEndToEnd: Percentiles
    /** Minor (scavenge) GC pauses over the cold window, ms. */
    readonly coldMinorGc: Percentiles
    /** Major (mark-compact) GC pauses over the cold window, ms. */
    readonly coldMajorGc: Percentiles
    /** Minor GC pauses over the latency window, ms. */
    readonly minorGc: Percentiles
    /** Major GC pauses over the latency window, ms. */
    readonly majorGc: Percentiles
  }
  | { readonly type: "memory-result"; readonly base: Memory; readonly after: Memory; readonly held: number }
  | { readonly type: "times"; readonly at: ReadonlyArray<number> }
  | {
    readonly type: "server-stats"
    readonly cpuMicros: number
    readonly elapsedMs: number
    readonly messages: number
  }
  | {
    readonly type: "dropped"
    readonly droppedAt: number
    readonly backAt: number
    /** Monotonic µs of every TCP connection accepted after the drop. */
    readonly attempts: ReadonlyArray<number>
    /** When the expected number of connections were open again (NaN if never). */
    readonly reopenedAt: number
    readonly reopened: number
  }
  | { readonly type: "silenced"; readonly at: number }
  | { readonly type: "error"; readonly message: string }

type Shape = Record<string, "number" | "string" | "numbers" | "percentiles" | "memory">

const SHAPES: Record<ChildMessage["type"], Shape> = {
  listening: { port: "number" },
  ack: {},
  count: { open: "number" },
  ready: { opened: "number", openMs: "number" },
  "flood-result": { messages: "number", elapsedMs: "number", cpuMicros: "number" },
  "paced-result": {
    messages: "number",
    elapsedMs: "number",
    cpuMicros: "number",
    added: "percentiles",
    addedRead: "percentiles",
    endToEnd: "percentiles",
    coldEndToEnd: "percentiles",
    coldMinorGc: "percentiles",
    coldMajorGc: "percentiles",
    minorGc: "percentiles",
    majorGc: "percentiles"
  },
  "memory-result": { base: "memory", after: "memory", held: "number" },
  times: { at: "numbers" },
  "server-stats": { cpuMicros: "number", elapsedMs: "number", messages: "number" },
  dropped: { droppedAt: "number", backAt: "number", attempts: "numbers", reopenedAt: "number", reopened: "number" },
  silenced: { at: "number" },
  error: { message: "string" }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null
/** JSON has no NaN: a child sends `null` for a missing number. */
const isNumber = (value: unknown): boolean => typeof value === "number" || value === null
const fieldOk = (kind: Shape[string], value: unknown): boolean => {
  switch (kind) {
    case "number":
      return isNumber(value)
    case "string":
      return typeof value === "string"
    case "numbers":
      return Array.isArray(value) && value.every(isNumber)
    case "percentiles":
      return isRecord(value) && ["p50", "p99", "p999", "max", "count"].every((k) => isNumber(value[k]))
    case "memory":
      return isRecord(value) && isNumber(value.rss) && isNumber(value.heapUsed)
  }
}

/** Replaces the `null`s JSON made of NaN back with NaN. */
const revive = (value: unknown): unknown => {
  if (value === null) return Number.NaN
  if (Array.isArray(value)) return value.map(revive)
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]))
  return value
}

/**
 * Checks a message from a child process: a known `type` with every field of
 * the right kind. Returns the message, or an `Error` saying what is wrong.
 */
export const parseMessage = (value: unknown): ChildMessage | Error => {
  if (!isRecord(value) || typeof value.type !== "string") return new Error(`not a message: ${JSON.stringify(value)}`)
  const shape = SHAPES[value.type as ChildMessage["type"]] as Shape | undefined
  if (shape === undefined) return new Error(`unknown message type "${value.type}"`)
  for (const [field, kind] of Object.entries(shape)) {
    if (!fieldOk(kind, value[field])) {
      return new Error(`message "${value.type}": field "${field}" is not ${kind}: ${JSON.stringify(value[field])}`)
    }
  }
  return revive(value) as ChildMessage
}

/** Parses a client's command-line configuration. */
export const parseClientConfig = (text: string): ClientConfig => {
  const value: unknown = JSON.parse(text)
  if (
    !isRecord(value) || !isClientKind(value.kind) || typeof value.connections !== "number" ||
    typeof value.port !== "number"
  ) {
    throw new Error(`bad client config: ${text}`)
  }
  return value as unknown as ClientConfig
}
