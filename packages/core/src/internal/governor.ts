/**
 * The dial governor a `WSManager` shares among its connections: at most
 * `maxConcurrentDials` dials in flight, and at most `dialsPerSecond` dials
 * to any one host in any window of 1.1 s (`DIAL_WINDOW_MS`). It wraps the
 * `Transport`, so a connection needs to know nothing of it. Dials take their
 * turn in arrival order (first come, first dialed); a dial that finds its
 * host's window full sleeps until the oldest start leaves it. A connection
 * that opens through `openQueued` learns when its dial has to wait and when
 * it starts (it reports `Queued`, then `Connecting`).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as RateWindow from "../RateWindow.ts"
import * as Transport from "../Transport.ts"
import { Permits } from "./permits.ts"

export interface GovernorOptions {
  readonly maxConcurrentDials: number
  readonly dialsPerSecond: number
}

/**
 * The window a host's dials are counted over: a tenth longer than the
 * venue's second. The window is kept here, at dial start, but a venue counts
 * upgrade requests as they arrive; a burst released exactly a second after
 * the slot it reuses would, if the earlier burst was slower in transit, land
 * inside that burst's second at the server. The tenth absorbs up to 100 ms of
 * such difference, as the Feed's request budget does (`REQUEST_WINDOW_MS`).
 */
export const DIAL_WINDOW_MS = 1100

const hostOf = (url: string): string => (URL.canParse(url) ? new URL(url).host : url)

export const governed = (transport: Transport.Transport["Service"], options: GovernorOptions) =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const permits = new Permits(options.maxConcurrentDials)
    // One sliding window of DIAL_WINDOW_MS per host.
    const windows = new Map<string, RateWindow.RateWindow>()
    const windowOf = (host: string): RateWindow.RateWindow => {
      let window = windows.get(host)
      if (window === undefined) {
        windows.set(host, window = RateWindow.make(options.dialsPerSecond, DIAL_WINDOW_MS, clock))
      }
      return window
    }

    return Transport.Transport.of({
      // The dial is built once it has its permit: a dial waiting its turn holds its request alone.
      open: (request) =>
        permits.with(Effect.suspend(() => Effect.andThen(windowOf(hostOf(request.url)).take, transport.open(request)))),
      // The same, reporting the wait to the connection (see `Transport.openQueued`).
      openQueued: (request, slot) =>
        Effect.suspend(() => {
          // Whether a dial in flight must end first is known now; whether the host's window is full, once its take is tried.
          const held = !permits.available
          const dial = permits.with(Effect.suspend(() => {
            const window = windowOf(hostOf(request.url))
            // Reported as queued already, or a slot free now: no second report.
            const wait = held ? window.take : window.tryTake() ? Effect.void : Effect.andThen(slot.queued, window.take)
            return Effect.andThen(wait, Effect.andThen(slot.dialing, transport.open(request)))
          }))
          return held ? Effect.andThen(slot.queued, dial) : dial
        })
    })
  })
