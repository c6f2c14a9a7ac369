/**
 * The feed server, run as its own process (`node src/server.ts`), driven by
 * the orchestrator over IPC. It accepts WebSocket upgrades on 127.0.0.1 and
 * either floods every connection with pre-serialized trade frames, written
 * straight to the TCP socket in ~200 KB chunks that respect `drain` (so it
 * is never the bottleneck: it reports its own CPU), or paces messages at a
 * fixed total rate from a 1 ms timer, each stamped with its send time on the
 * monotonic clock. For the reconnect scenarios it drops every connection
 * (optionally holding new upgrades for a while: "down", then "back"),
 * counts dial attempts, and can go silent (stop reading, so pings go
 * unanswered, without closing: a half-open peer).
 */
import * as http from "node:http"
import type * as net from "node:net"
import { WebSocketServer } from "ws"
import type WebSocket from "ws"
import { frameChunk, frameText, monoMicros, pacedMessage, tradeMessages } from "./payload.ts"
import type { ChildMessage, ServerCommand } from "./protocol.ts"

interface Conn {
  readonly ws: WebSocket
  readonly socket: net.Socket
}

const send = (message: ChildMessage) => process.send?.(message)

const POOL = tradeMessages(1000)
/** ~66 KB: 300 frames per write (a larger first fill of 1,000 sockets would stall the server for a second). */
const CHUNK = frameChunk(POOL.slice(0, 300))
const CHUNK_MESSAGES = 300
const GREETING = frameText(POOL[0]!)

const conns = new Set<Conn>()
let greet = false
let holding = false
let held: Array<() => void> = []
let attempts: Array<number> | undefined
let expectation: { readonly count: number; readonly done: (at: number) => void } | undefined

let sending: "idle" | "flood" | "pace" = "idle"
let paceTimer: NodeJS.Timeout | undefined
let sentMessages = 0
let cpuStart = process.cpuUsage()
let timeStart = performance.now()

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 * 1024 })
const server = http.createServer((_req, res) => {
  res.writeHead(426)
  res.end()
})
server.on("connection", (socket: net.Socket) => {
  attempts?.push(monoMicros())
  socket.on("error", () => {})
})
server.on("upgrade", (req, socket, head) => {
  const accept = () =>
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn: Conn = { ws, socket: socket as net.Socket }
      conns.add(conn)
      ws.on("error", () => {})
      ws.on("close", () => conns.delete(conn))
      if (greet) socket.write(GREETING)
      if (sending === "flood") pump(conn)
      if (expectation !== undefined && conns.size >= expectation.count) {
        const e = expectation
        expectation = undefined
        e.done(monoMicros())
      }
    })
  if (holding) held.push(accept)
  else accept()
})

/** Writes chunks until the socket's buffer is full, then waits for `drain`. */
const pump = (conn: Conn): void => {
  const socket = conn.socket
  while (sending === "flood" && !socket.destroyed && socket.writable) {
    sentMessages += CHUNK_MESSAGES
    if (!socket.write(CHUNK)) {
      socket.once("drain", () => pump(conn))
      return
    }
  }
}

const startPacing = (rate: number) => {
  const list = Array.from(conns)
  const started = monoMicros()
  let next = 0
  let sent = 0
  paceTimer = setInterval(() => {
    const now = monoMicros()
    // Catch up after a late tick, but never in a burst of more than 50 ms worth.
    let due = Math.min(Math.floor(((now - started) * rate) / 1e6) - sent, Math.ceil(rate / 20))
    while (due-- > 0) {
      const conn = list[next]!
      next = (next + 1) % list.length
      const template = POOL[sent % POOL.length]!
      sent++
      sentMessages++
      if (!conn.socket.destroyed) conn.socket.write(frameText(pacedMessage(template, monoMicros())))
    }
  }, 1)
}

const stopSending = () => {
  sending = "idle"
  if (paceTimer !== undefined) clearInterval(paceTimer)
  paceTimer = undefined
}

const resetCounters = () => {
  sentMessages = 0
  cpuStart = process.cpuUsage()
  timeStart = performance.now()
}

const drop = (command: Extract<ServerCommand, { type: "drop" }>) => {
  stopSending()
  holding = command.holdMs > 0
  attempts = []
  const droppedAt = monoMicros()
  for (const conn of conns) conn.ws.terminate()
  conns.clear()
  let reopenedAt = Number.NaN
  let backAt = droppedAt
  const finish = () =>
    send({
      type: "dropped",
      droppedAt,
      backAt,
      attempts: attempts ?? [],
      reopenedAt,
      reopened: conns.size
    })
  const release = () => {
    holding = false
    backAt = monoMicros()
    const pending = held
    held = []
    for (const accept of pending) accept()
  }
  const waitReopen = () => {
    if (command.expect <= 0) return finish()
    if (conns.size >= command.expect) {
      reopenedAt = monoMicros()
      return finish()
    }
    const timer = setTimeout(() => {
      expectation = undefined
      finish()
    }, command.timeoutMs)
    expectation = {
      count: command.expect,
      done: (at) => {
        clearTimeout(timer)
        reopenedAt = at
        finish()
      }
    }
  }
  if (holding) {
    setTimeout(() => {
      release()
      waitReopen()
    }, command.holdMs)
  } else {
    waitReopen()
  }
}

process.on("message", (raw) => {
  const command = raw as ServerCommand
  switch (command.type) {
    case "flood":
      resetCounters()
      sending = "flood"
      for (const conn of conns) pump(conn)
      return send({ type: "ack" })
    case "pace":
      resetCounters()
      sending = "pace"
      startPacing(command.rate)
      return send({ type: "ack" })
    case "stop": {
      stopSending()
      const cpu = process.cpuUsage(cpuStart)
      return send({
        type: "server-stats",
        cpuMicros: cpu.user + cpu.system,
        elapsedMs: performance.now() - timeStart,
        messages: sentMessages
      })
    }
    case "greet":
      greet = command.on
      return send({ type: "ack" })
    case "count":
      return send({ type: "count", open: conns.size })
    case "drop":
      return drop(command)
    case "silence": {
      stopSending()
      const at = monoMicros()
      // Stop reading: pings are never read, so never answered; nothing is closed.
      for (const conn of conns) conn.socket.pause()
      return send({ type: "silenced", at })
    }
    case "exit":
      process.exit(0)
  }
})

// The orchestrator gone (even killed): go too.
process.on("disconnect", () => process.exit(0))
setTimeout(() => process.exit(3), Number(process.env.BENCH_MAX_LIFETIME_MS ?? 600_000)).unref()

server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () => {
  const address = server.address()
  send({ type: "listening", port: typeof address === "object" && address !== null ? address.port : 0 })
})
