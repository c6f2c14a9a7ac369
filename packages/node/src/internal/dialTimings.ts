/**
 * The phases of a dial as the Node transport sees them (`Transport.DialTimings`):
 * when the upgrade request's socket resolved its host, connected and
 * finished its TLS handshake; the session notes the upgrade itself.
 */
import type * as http from "node:http"
import type * as net from "node:net"
import type WebSocket from "ws"

/** `Transport.DialTimings` as the dial fills it in. */
export interface DialPhases {
  readonly start: number
  lookup?: number
  connect?: number
  secureConnect?: number
  upgrade?: number
}

/**
 * Notes when the dial's socket resolved its host, connected and finished
 * its TLS handshake, from the events of the upgrade request's socket (`ws`
 * keeps the request as `_req` until the upgrade is answered). Only when
 * the request asks (a connection with metrics on): three listeners per dial.
 */
export const measureDial = (ws: WebSocket, phases: DialPhases, now: () => number): void => {
  const req = (ws as unknown as { readonly _req?: http.ClientRequest | null })._req
  req?.once("socket", (socket: net.Socket) => {
    socket.once("lookup", () => phases.lookup = now())
    socket.once("connect", () => phases.connect = now())
    socket.once("secureConnect", () => phases.secureConnect = now())
  })
}
