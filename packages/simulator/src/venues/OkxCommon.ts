/**
 * What OKX's public and private endpoints share: a request's optional `id` (up to 32 letters or digits,
 * echoed first in every answer), the error answer `{"id"?,"event":"error","code","msg","connId"}`, the
 * idle close (4004) and the 64008 service-upgrade notice.
 */
import type { Connection } from "../internal/Connection.ts"

const idPattern = /^[A-Za-z0-9]{1,32}$/

/** A request's `id` when it is a valid one. */
export const requestId = (raw: unknown): string | undefined =>
  typeof raw === "string" && idPattern.test(raw) ? raw : undefined

/** `"id":"…",` to open an answer to a request that carried a valid id. */
export const idField = (id: string | undefined): string => (id !== undefined ? `"id":"${id}",` : "")

/** Sends OKX's error answer. */
export const sendError = (conn: Connection, connId: string, id: string | undefined, code: string, msg: string) =>
  conn.sendText(`{${idField(id)}"event":"error","code":"${code}","msg":${JSON.stringify(msg)},"connId":"${connId}"}`)

/**
 * The idle rule: 4004 when nothing was subscribed (or logged in) within `idle` of opening, or when nothing
 * was received or pushed for `idle`.
 */
export const idleTick = (conn: Connection, idle: number, active: boolean, now: number): void => {
  if (!active && now - conn.openedAt >= idle) {
    return conn.close(4004, `No subscription within ${Math.round(idle / 1000)}s`)
  }
  if (now - Math.max(conn.lastIn, conn.lastData) >= idle) {
    conn.close(4004, `No data received in ${Math.round(idle / 1000)}s`)
  }
}

/** The 64008 notice OKX sends 30 s before closing for a service upgrade. */
export const notice = (conn: Connection, connId: string): boolean => {
  conn.sendText(
    `{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"${connId}"}`
  )
  return true
}
