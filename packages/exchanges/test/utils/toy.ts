/**
 * A toy venue for Feed tests on MemoryTransport and TestClock: requests are
 * `{"op","args","id"}` (`topicsPerRequest` topics per request, default two), answered by the memory
 * server's `reply` with `{"ack":id}`, or `{"nack":id,"reason","final":true}`
 * (a rejection the venue documents as final) for topics that start with
 * `bad`, `{"nack":id,"reason"}` (transient) for topics that start with
 * `flaky`, or not at all for topics that start with `mute`.
 * Data is `{"topic","seq"}`; `{"notice":"bye"}` announces a disconnect.
 */
import { Heartbeat, MemoryTransport, type Transport } from "@kharbranth/core"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Venue from "../../src/Venue.ts"

const request = (op: "subscribe" | "unsubscribe", size: number) => (topics: ReadonlyArray<string>, id = 1) =>
  Venue.chunks(topics, size).map((args, i) => ({
    op,
    topics: args,
    id: id + i,
    text: JSON.stringify({ op, args, id: id + i })
  }))

export const toy = (limits: Venue.Limits = {}): Venue.Profile => ({
  venue: "toy",
  url: "ws://toy.test/ws",
  urls: {},
  heartbeat: Heartbeat.none,
  idleTimeout: undefined,
  serverIdle: undefined,
  idleRule: "none",
  limits,
  subscribe: request("subscribe", limits.topicsPerRequest ?? 2),
  unsubscribe: request("unsubscribe", limits.topicsPerRequest ?? 2),
  confirmation: (text) => {
    if (text.startsWith('{"ack"')) return Venue.confirmation("acknowledged", [], JSON.parse(text).ack)
    if (text.startsWith('{"nack"')) {
      const msg = JSON.parse(text)
      return Venue.confirmation("rejected", [], msg.nack, msg.reason, { permanent: msg.final === true })
    }
    return undefined
  },
  isNotice: (text) => text === '{"notice":"bye"}',
  topicOf: (text) => (text.startsWith('{"topic"') ? JSON.parse(text).topic : undefined)
})

/** The toy server's answers. */
export const reply = (message: string): string | undefined => {
  const msg = JSON.parse(message)
  if (msg.op === undefined) return undefined
  const args: ReadonlyArray<string> = msg.args
  if (args.some((t) => t.startsWith("mute"))) return undefined
  const bad = args.find((t) => t.startsWith("bad"))
  if (bad !== undefined) return JSON.stringify({ nack: msg.id, reason: `unknown topic ${bad}`, final: true })
  const flaky = args.find((t) => t.startsWith("flaky"))
  if (flaky !== undefined) return JSON.stringify({ nack: msg.id, reason: `busy, try again: ${flaky}` })
  return JSON.stringify({ ack: msg.id })
}

export const layer = (
  options: MemoryTransport.Options = {}
): Layer.Layer<Transport.Transport | MemoryTransport.MemoryServer> => MemoryTransport.layer({ reply, ...options })

export const data = (topic: string, seq: number): string => JSON.stringify({ topic, seq })

export const sequence = (text: string): Venue.Sequence | undefined => {
  if (!text.startsWith('{"topic"')) return undefined
  const msg = JSON.parse(text)
  return { stream: msg.topic, first: msg.seq, last: msg.seq }
}

/** Parsed requests a server connection received, in order. */
export const requests = (received: ReadonlyArray<MemoryTransport.ClientMessage>) =>
  received.flatMap((m) => {
    if (m._tag !== "Text" || !m.data.startsWith("{")) return []
    const msg = JSON.parse(m.data)
    return msg.op === undefined ? [] : [msg as { op: string; args: Array<string>; id: number }]
  })

import { settle } from "@kharbranth/test-utils/clock"

export { advance, settle } from "@kharbranth/test-utils/clock"

/** Options every feed test starts from: a reconnect a second after a drop, a short close. */
export const base = { reconnect: Schedule.spaced("1 second"), closeTimeout: "100 millis" } as const

/** Collects every item of `stream` (a feed's frames or events) from now on, in a scoped fiber. */
export const collect = <A>(stream: Stream.Stream<A>) =>
  Effect.gen(function*() {
    const items: Array<A> = []
    yield* Effect.forkScoped(Stream.runForEach(stream, (a) => Effect.sync(() => void items.push(a))))
    yield* settle
    return items
  })
