/**
 * A connection's counters as `stats` reports them (`ConnectionStats`),
 * read from its fields at once.
 */
import type { ConnectionStats } from "../Connection.ts"
import type { ConnectionImpl } from "./connection.ts"

/** The connection's stats now. */
export const of = <R>(self: ConnectionImpl<R>): ConnectionStats => {
  const open = self.phase._tag === "Open" ? self.phase : undefined
  return {
    framesIn: self.framesIn,
    bytesIn: self.bytesIn,
    framesOut: self.framesOut,
    bytesOut: self.bytesOut,
    sessions: self.sessions,
    failedDials: self.failedDials,
    lastFrameAt: self.lastFrameAt,
    lastRtt: self.lastRtt,
    dropped: self.framesHubValue?.dropped ?? 0,
    reconnects: Math.max(0, self.sessions - 1),
    uptime: open === undefined ? 0 : self.now() - open.state.since
  }
}
