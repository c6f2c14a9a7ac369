/**
 * The dial governor a `WSManager` shares among its connections: at most
 * `maxConcurrentDials` dials in flight, and at most `dialsPerSecond` dials
 * to any one host in any one-second window. It wraps the `Transport`, so a
 * connection needs to know nothing of it. Dials take their turn in arrival
 * order through the semaphore (first come, first dialed); a dial that finds
 * its host's window full sleeps until the oldest start leaves it.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Semaphore from "effect/Semaphore"
import * as Transport from "../Transport.ts"

export interface GovernorOptions {
  readonly maxConcurrentDials: number
  readonly dialsPerSecond: number
}

const WINDOW = 1000

const hostOf = (url: string): string => (URL.canParse(url) ? new URL(url).host : url)

export const governed = (transport: Transport.Transport["Service"], options: GovernorOptions) =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const permits = Semaphore.makeUnsafe(options.maxConcurrentDials)
    const recent = new Map<string, Array<number>>()
    const limit = options.dialsPerSecond

    /**
     * Admits a dial to `host` now if fewer than `limit` dials started there in
     * the last second, recording it; otherwise says how long to wait. The
     * check and the record happen together, on actual start times, so a late
     * timer can never squeeze one dial too many into a window.
     */
    const admit = (host: string): number => {
      const now = clock.currentTimeMillisUnsafe()
      let starts = recent.get(host)
      if (starts === undefined) recent.set(host, starts = [])
      while (starts.length > 0 && starts[0]! <= now - WINDOW) starts.shift()
      if (starts.length < limit) {
        starts.push(now)
        return 0
      }
      return starts[0]! + WINDOW - now
    }

    const awaitTurn = (host: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        const wait = admit(host)
        return wait === 0 ? Effect.void : Effect.andThen(Effect.sleep(Duration.millis(wait)), awaitTurn(host))
      })

    return Transport.Transport.of({
      open: (request) => permits.withPermits(1)(Effect.andThen(awaitTurn(hostOf(request.url)), transport.open(request)))
    })
  })
