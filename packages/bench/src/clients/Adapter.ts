/**
 * The one interface every compared client is driven through, so the client
 * process does the same work, with the same handler, whatever library sits
 * underneath: open `connections` sockets to the feed server, call
 * `onMessage` with each text message's string, `onOpen` after every
 * (re)connect and `onClose` when the library reports a connection gone.
 * Adapters contain no measurement code.
 */
import type { ClientConfig } from "../protocol.ts"

/** What the client process wants to hear about. */
export interface Handlers {
  /** A text message on connection `index`, as the string the library hands over. */
  readonly onMessage: (index: number, data: string) => void
  /** Connection `index` opened (first time or again). */
  readonly onOpen: (index: number) => void
  /** The library reported connection `index` gone. */
  readonly onClose: (index: number) => void
}

/** A started client. */
export interface Running {
  readonly stop: () => Promise<void>
}

/** A client library, adapted. */
export interface Adapter {
  readonly start: (config: ClientConfig, url: (index: number) => string, handlers: Handlers) => Promise<Running>
}

/**
 * Opens `count` things with at most `concurrency` in flight: `open(i, done)`
 * must call `done` once connection `i` has opened (or given up).
 */
export const openGated = (count: number, concurrency: number, open: (index: number, done: () => void) => void): void => {
  let next = 0
  const launch = () => {
    if (next >= count) return
    const index = next++
    let released = false
    open(index, () => {
      if (released) return
      released = true
      launch()
    })
  }
  for (let i = 0; i < Math.min(concurrency, count); i++) launch()
}
