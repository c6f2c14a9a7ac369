/**
 * A client process (`node --expose-gc src/client.ts '<ClientConfig JSON>'`):
 * one library, `connections` sockets to the feed server, the same handler
 * for every library (count the message, then `JSON.parse` it, or only count
 * it), and the measurements the orchestrator asks for over IPC: messages and
 * CPU over a window, latency percentiles, memory after GC, when each
 * connection saw its first frame after a reconnect, when each noticed a dead
 * peer. Only this file measures; the adapters in `clients/` only adapt.
 *
 * The latency probe wraps the `emit` of `ws`'s `Receiver` (every client
 * here, Kharbranth included, reads through `ws`, whose frame parser emits
 * each message there first, then its socket's `message` event): on each
 * message it notes the time and the message's send stamp, and the handler
 * pairs its own time with it, and with the time of the first message of the
 * same socket read. (A socket class may answer its own events without
 * `WebSocket.prototype.emit`, as Kharbranth's does since 2026-12-04: a
 * probe there saw none of its messages.) It is installed for the cold
 * window (from the first message, end-to-end only) and the latency window,
 * never while CPU is measured.
 */
import { constants as perfConstants, type PerformanceEntry, PerformanceObserver } from "node:perf_hooks"
import WebSocket from "ws"
import * as wsModule from "ws"
import type { Running } from "./clients/Adapter.ts"
import { loadAdapter } from "./clients/load.ts"
import { settledMemory as memory } from "./memory.ts"
import { monoMicros, readSendStamp } from "./payload.ts"
import { type ChildMessage, type ClientCommand, type ClientConfig, parseClientConfig } from "./protocol.ts"
import { percentiles } from "./stats.ts"

const config: ClientConfig = parseClientConfig(process.argv[2] ?? "")
const send = (message: ChildMessage) => process.send?.(message)

process.on("disconnect", () => process.exit(0))
setTimeout(() => process.exit(3), Number(process.env.BENCH_MAX_LIFETIME_MS ?? 600_000)).unref()
process.on("uncaughtException", (error) => {
  send({ type: "error", message: `${config.kind}: ${error.stack ?? String(error)}` })
  setTimeout(() => process.exit(1), 50)
})

const n = config.connections
const opens = new Int32Array(n)
let firstOpens = 0
let messages = 0
let sink: unknown
let sinkLength = 0

// ---- the latency probe ------------------------------------------------------

let probing = false
/** Per connection: send stamps, `message`-event times and read-start times of messages not yet handled. */
const pending: Array<{ sent: Array<number>; at: Array<number>; readAt: Array<number>; head: number }> = []
const indexOf = new WeakMap<object, number>()
const added: Array<number> = []
const addedRead: Array<number> = []
const endToEnd: Array<number> = []
/** Server send → handler over the cold window (from the first message, no warm-up). */
let coldEndToEnd: Array<number> | undefined
type Emit = (this: object, event: string | symbol, a?: unknown, b?: unknown) => boolean
// `ws` exports its `Receiver` (a named export, untyped in @types/ws).
const prototype = (wsModule as unknown as { Receiver: { prototype: { emit: Emit } } }).Receiver.prototype
const originalEmit = prototype.emit
/** The key under which a `Receiver` keeps its socket (`ws`'s own `kWebSocket` symbol), found on the first. */
let socketKey: symbol | undefined
const socketOf = (receiver: object): WebSocket => {
  socketKey ??= Object.getOwnPropertySymbols(receiver).find((key) => key.description === "websocket")
  return (receiver as Record<symbol, WebSocket>)[socketKey!]!
}

/**
 * The time of the first `message` event of the current socket read: `ws`
 * emits a read's frames synchronously, one after another, and the microtask
 * checkpoint after the read clears it.
 */
let readStart: number | undefined
const endRead = () => {
  readStart = undefined
}

/** The send stamp of a paced message, read from its bytes (`{"e":"trade","E":<digits>,`). */
const stampOfBytes = (bytes: Buffer): number => {
  let value = 0
  for (let i = 17; i < bytes.length; i++) {
    const c = bytes[i]!
    if (c < 48 || c > 57) break
    value = value * 10 + (c - 48)
  }
  return value
}

const probedEmit: Emit = function(event, a, b) {
  // The cold window takes end-to-end times only: nothing per `message` event to keep.
  if (event === "message" && b === false && coldEndToEnd === undefined) {
    let index = indexOf.get(this)
    if (index === undefined) {
      const url = socketOf(this).url
      index = Number(url.slice(url.lastIndexOf("/") + 1))
      indexOf.set(this, index)
    }
    const queue = pending[index] ??= { sent: [], at: [], readAt: [], head: 0 }
    const now = monoMicros()
    if (readStart === undefined) {
      readStart = now
      queueMicrotask(endRead)
    }
    queue.sent.push(stampOfBytes(a as Buffer))
    queue.at.push(now)
    queue.readAt.push(readStart)
  }
  return originalEmit.call(this, event, a, b)
}

const probe = (index: number, data: string) => {
  const now = monoMicros()
  const sent = readSendStamp(data)
  if (coldEndToEnd !== undefined) return void coldEndToEnd.push(now - sent)
  endToEnd.push(now - sent)
  const queue = pending[index]
  if (queue === undefined) return
  // Pair with this message's own `message` event (same send stamp, in order).
  while (queue.head < queue.sent.length && queue.sent[queue.head]! < sent) queue.head++
  if (queue.head < queue.sent.length && queue.sent[queue.head] === sent) {
    added.push(now - queue.at[queue.head]!)
    addedRead.push(now - queue.readAt[queue.head]!)
    queue.head++
  }
  if (queue.head === queue.sent.length) {
    queue.sent.length = 0
    queue.at.length = 0
    queue.readAt.length = 0
    queue.head = 0
  }
}

// ---- garbage collection ----------------------------------------------------------

/** GC pauses (ms) by kind, recorded while `gcPauses` is set. */
let gcPauses: { minor: Array<number>; major: Array<number> } | undefined
const notePause = (pauses: { minor: Array<number>; major: Array<number> }, entry: PerformanceEntry): void => {
  const kind = (entry as PerformanceEntry & { readonly detail?: { readonly kind?: number } }).detail?.kind
  if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) pauses.minor.push(entry.duration)
  else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) pauses.major.push(entry.duration)
}
const gcObserver = new PerformanceObserver((list) => {
  if (gcPauses === undefined) return
  for (const entry of list.getEntries()) {
    notePause(gcPauses, entry)
  }
})
gcObserver.observe({ entryTypes: ["gc"] })

/** Starts recording GC pauses; the returned function stops and gives them. */
const recordGc = (): () => { minor: Array<number>; major: Array<number> } => {
  const pauses: { minor: Array<number>; major: Array<number> } = { minor: [], major: [] }
  gcPauses = pauses
  return () => {
    // Entries are delivered after the pause, in a later task: take what has arrived.
    for (const entry of gcObserver.takeRecords()) notePause(pauses, entry)
    gcPauses = undefined
    return pauses
  }
}

// ---- reconnect and dead-peer watches -------------------------------------------

let watchFirstFrames = false
const firstFrameAt = new Float64Array(n).fill(Number.NaN)
let firstFrames = 0
let watchCloses = false
const closeAt = new Float64Array(n).fill(Number.NaN)
let closes = 0
let finishWatch: (() => void) | undefined
let running: Running | undefined

// ---- the handler: the same for every client ------------------------------------

/** Called every 1,024 messages while a window is open. */
let checkpoint: (() => void) | undefined

const onMessage = (index: number, data: string): void => {
  if ((++messages & 1023) === 0 && checkpoint !== undefined) checkpoint()
  if (probing) probe(index, data)
  if (config.parse) sink = JSON.parse(data)
  else sinkLength += data.length
  if (watchFirstFrames && opens[index]! >= 2 && Number.isNaN(firstFrameAt[index]!)) {
    firstFrameAt[index] = monoMicros()
    if (++firstFrames === n) finishWatch?.()
  }
}

const onOpen = (index: number): void => {
  if (opens[index]!++ === 0 && ++firstOpens === n) ready?.()
}

const onClose = (index: number): void => {
  if (watchCloses && Number.isNaN(closeAt[index]!)) {
    closeAt[index] = monoMicros()
    if (++closes === n) finishWatch?.()
  }
}

// ---- measurements --------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Resolves once a message arrives after this call (polled: the handler stays untouched). */
const firstMessage = () =>
  new Promise<void>((resolve) => {
    const armedAt = messages
    const timer = setInterval(() => {
      if (messages === armedAt) return
      clearInterval(timer)
      resolve()
    }, 1)
  })
const cpuMicros = () => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

/**
 * Messages, elapsed time and CPU over one window that starts `warmupMs`
 * after the first message from now (the orchestrator arms the window before
 * the server starts sending). Under a flood a single event-loop turn can take seconds (libuv reads
 * up to 2 MB per socket per turn), so a timer alone would make a loose
 * window: the handler also checks the clock every 1,024 messages.
 */
const window = (warmupMs: number, windowMs: number) =>
  new Promise<{ messages: number; cpuMicros: number; elapsedMs: number }>((resolve) => {
    const armedAt = messages
    let startAt = Number.POSITIVE_INFINITY
    let start: { messages: number; cpu: number; time: number } | undefined
    const check = () => {
      const now = performance.now()
      if (startAt === Number.POSITIVE_INFINITY && messages > armedAt) startAt = now + warmupMs
      if (start === undefined) {
        if (now >= startAt) start = { messages, cpu: cpuMicros(), time: now }
        return
      }
      if (now - start.time < windowMs) return
      checkpoint = undefined
      clearInterval(timer)
      resolve({ messages: messages - start.messages, cpuMicros: cpuMicros() - start.cpu, elapsedMs: now - start.time })
    }
    const timer = setInterval(check, 10)
    checkpoint = check
  })

const watch = (arm: () => void, timeoutMs: number, times: Float64Array) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(() => finishWatch?.(), timeoutMs)
    finishWatch = () => {
      finishWatch = undefined
      clearTimeout(timer)
      send({ type: "times", at: Array.from(times) })
      resolve()
    }
    arm()
  })

const handle = async (command: ClientCommand): Promise<void> => {
  switch (command.type) {
    case "measure-flood": {
      const w = await window(command.warmupMs, command.windowMs)
      return void send({ type: "flood-result", ...w })
    }
    case "measure-paced": {
      // The cold window first: end-to-end and GC from the first message on, no warm-up.
      coldEndToEnd = []
      prototype.emit = probedEmit
      probing = true
      const coldGc = recordGc()
      const sampling = process.env.BENCH_HEAP_SAMPLE
      let session: import("node:inspector/promises").Session | undefined
      if (sampling !== undefined) {
        const inspector = await import("node:inspector/promises")
        session = new inspector.Session()
        session.connect()
        await session.post("HeapProfiler.startSampling", { samplingInterval: 1024 })
      }
      await firstMessage()
      await sleep(command.windowMs)
      if (session !== undefined) {
        const { profile } = await session.post("HeapProfiler.stopSampling")
        ;(await import("node:fs")).writeFileSync(sampling!, JSON.stringify(profile))
        session.disconnect()
      }
      const cold = coldEndToEnd
      coldEndToEnd = undefined
      probing = false
      delete (prototype as { emit?: Emit }).emit
      const coldPauses = coldGc()
      // CPU without the probe, then latency (and GC) with it.
      const w = await window(command.warmupMs, command.windowMs)
      prototype.emit = probedEmit
      probing = true
      const warmGc = recordGc()
      await sleep(command.windowMs)
      probing = false
      delete (prototype as { emit?: Emit }).emit
      const warmPauses = warmGc()
      return void send({
        type: "paced-result",
        ...w,
        added: percentiles(added),
        addedRead: percentiles(addedRead),
        endToEnd: percentiles(endToEnd),
        coldEndToEnd: percentiles(cold),
        coldMinorGc: percentiles(coldPauses.minor),
        coldMajorGc: percentiles(coldPauses.major),
        minorGc: percentiles(warmPauses.minor),
        majorGc: percentiles(warmPauses.major)
      })
    }
    case "measure-memory": {
      await sleep(command.settleMs)
      const after = await memory()
      let held = 0
      for (let i = 0; i < n; i++) if (opens[i]! > 0) held++
      return void send({ type: "memory-result", base, after, held })
    }
    case "watch-reconnect":
      return watch(
        () => {
          watchFirstFrames = true
        },
        command.timeoutMs,
        firstFrameAt
      )
    case "watch-close":
      return watch(
        () => {
          watchCloses = true
        },
        command.timeoutMs,
        closeAt
      )
    case "exit":
      await running?.stop().catch(() => undefined)
      process.exit(0)
  }
}

process.on("message", (raw) => {
  handle(raw as ClientCommand).catch((error: unknown) => send({ type: "error", message: String(error) }))
})

// ---- start ---------------------------------------------------------------------

const adapter = await loadAdapter(config.kind)
const base = await memory()
const started = performance.now()
let ready: (() => void) | undefined = () => {
  ready = undefined
  clearTimeout(readyTimer)
  send({ type: "ready", opened: firstOpens, openMs: performance.now() - started })
}
const readyTimer = setTimeout(() => ready?.(), config.readyTimeoutMs)
const url = (index: number) => `ws://127.0.0.1:${config.port}/c/${index}`
running = await adapter.start(config, url, { onMessage, onOpen, onClose }).catch((error: unknown) => {
  send({ type: "error", message: `${config.kind}: ${String(error)}` })
  setTimeout(() => process.exit(1), 50)
  return undefined
})
// Keep the sink observable, so the parse is never optimized away.
process.on("exit", () => {
  if (sink === Symbol.for("never") && sinkLength < 0) console.log(sink)
})
