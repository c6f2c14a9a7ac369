/**
 * A TCP server that accepts connections and never answers on them, run as
 * its own process (`src/heap.ts` with `BENCH_IN_FLIGHT=1` starts it through
 * the harness, so that its sockets are not counted in the measured one):
 * every WebSocket dial to it stays in flight, its upgrade request sent. Its
 * listen backlog is as deep as the kernel allows (`net.core.somaxconn`):
 * with Node's default of 511, a client that starts thousands of connects
 * in one turn (raw `ws`) would have most of its SYNs dropped, and its dials
 * would be counted while they wait to connect.
 */
import * as net from "node:net"
import type { ChildMessage } from "./protocol.ts"

const held: Array<net.Socket> = []
const server = net.createServer((socket) => void held.push(socket))
server.listen({ port: 0, host: "127.0.0.1", backlog: 65_535 }, () => {
  const address = server.address()
  process.send?.(
    {
      type: "listening",
      port: typeof address === "object" && address !== null ? address.port : 0
    } satisfies ChildMessage
  )
})

// The orchestrator gone (even killed): go too, as the feed server does.
process.on("disconnect", () => process.exit(0))
setTimeout(() => process.exit(3), Number(process.env.BENCH_MAX_LIFETIME_MS ?? 600_000)).unref()
