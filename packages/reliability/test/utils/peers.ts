/**
 * Misbehaving peers for the reliability tests, all on 127.0.0.1 and all
 * scoped: a raw WebSocket server that completes the handshake by hand and
 * then writes whatever frames a test scripts (protocol violations), a TCP
 * proxy that can blackhole both directions, a feed server in a child process
 * (for SIGKILL and SIGSTOP), and a polling helper with a deadline.
 */
import { listen } from "@kharbranth/test-utils/servers"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as net from "node:net"

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/** One WebSocket frame as a server would write it (unmasked unless asked). */
export const frame = (
  opcode: number,
  payload: Buffer | string = Buffer.alloc(0),
  options: { readonly fin?: boolean; readonly rsv?: number; readonly mask?: boolean; readonly length?: bigint } = {}
): Buffer => {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload
  const first = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode
  const maskBit = options.mask ? 0x80 : 0
  const length = options.length ?? BigInt(data.length)
  let header: Buffer
  if (length < 126n) header = Buffer.from([first, maskBit | Number(length)])
  else if (length < 65536n) {
    header = Buffer.alloc(4)
    header[0] = first
    header[1] = maskBit | 126
    header.writeUInt16BE(Number(length), 2)
  } else {
    header = Buffer.alloc(10)
    header[0] = first
    header[1] = maskBit | 127
    header.writeBigUInt64BE(length, 2)
  }
  if (!options.mask) return Buffer.concat([header, data])
  const key = Buffer.from([1, 2, 3, 4])
  const masked = Buffer.from(data.map((b, i) => b ^ key[i % 4]!))
  return Buffer.concat([header, key, masked])
}

/** A server that answers the upgrade by hand, then hands each socket to `script`. */
export const rawWsServer = (script: (socket: net.Socket) => void) =>
  listen(net.createServer((socket) => {
    socket.on("error", () => {})
    let head = ""
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1")
      if (!head.includes("\r\n\r\n")) return
      socket.off("data", onData)
      const key = /sec-websocket-key: *(.+)\r\n/i.exec(head)?.[1]?.trim() ?? ""
      const accept = createHash("sha1").update(key + GUID).digest("base64")
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`
      )
      script(socket)
    }
    socket.on("data", onData)
  }))

/** A TCP proxy to `target`; `blackhole()` silently drops everything both ways on every socket, `heal()` restores. */
export const tcpProxy = (target: number) =>
  Effect.gen(function*() {
    let holed = false
    const sockets = new Set<net.Socket>()
    const server = net.createServer((client) => {
      const upstream = net.connect(target, "127.0.0.1")
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on("error", () => {})
        s.on("close", () => {
          sockets.delete(s)
          client.destroy()
          upstream.destroy()
        })
      }
      client.on("data", (chunk) => holed || upstream.write(chunk))
      upstream.on("data", (chunk) => holed || client.write(chunk))
    })
    const port = yield* listen(server, () => {
      for (const s of sockets) s.destroy()
    })
    return {
      port,
      blackhole: () => {
        holed = true
      },
      heal: () => {
        holed = false
      }
    }
  })

/** Listens on 127.0.0.1 for the life of the scope (the shared test utilities'). */
export { listen } from "@kharbranth/test-utils/servers"

/** The feed server (fixtures/feed-server.mjs) in a child process; the scope kills it. */
export const feedProcess = (
  port: number,
  options: { readonly intervalMs?: number; readonly autoPong?: boolean } = {}
) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly port: number; readonly pid: number; readonly signal: (s: NodeJS.Signals) => void }>(
      (resume) => {
        const child = spawn(
          process.execPath,
          [
            new URL("../fixtures/feed-server.mjs", import.meta.url).pathname,
            String(port),
            String(options.intervalMs ?? 5),
            String(options.autoPong ?? true)
          ],
          { stdio: ["ignore", "pipe", "inherit"] }
        )
        child.stdout.setEncoding("utf8")
        child.stdout.on("data", (line: string) => {
          const match = /listening (\d+)/.exec(line)
          if (match) {
            resume(Effect.succeed({
              port: Number(match[1]),
              pid: child.pid!,
              signal: (signal) => {
                if (child.exitCode === null) child.kill(signal)
              }
            }))
          }
        })
      }
    ),
    (server) =>
      Effect.sync(() => {
        server.signal("SIGCONT")
        server.signal("SIGKILL")
      })
  )

/** Polls `check` every 10 ms; dies with `what` past the deadline. */
export const eventually = (what: string, check: () => boolean, ms = 10_000) =>
  Effect.gen(function*() {
    const deadline = performance.now() + ms
    while (!check()) {
      if (performance.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for: ${what}`))
      yield* Effect.sleep("10 millis")
    }
  })
