/**
 * The dial governor a `WSManager` shares among its connections: at most
 * `maxConcurrentDials` dials in flight, and at most `dialsPerSecond` dials
 * to any one host in any one-second window. It wraps the `Transport`, so a
 * connection needs to know nothing of it. Slots are reserved in arrival
 * order (first come, first dialed) and computed, not polled: a dial waits
 * exactly until its slot on the `Clock`.
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

    /** The earliest time this host may be dialed again, reserved for the caller. */
    const reserve = (host: string, now: number): number => {
      let times = recent.get(host)
      if (times === undefined) recent.set(host, times = [])
      const slot = times.length < limit ? now : Math.max(now, times[times.length - limit]! + WINDOW)
      times.push(slot)
      if (times.length > limit) times.splice(0, times.length - limit)
      return slot
    }

    return Transport.Transport.of({
      open: (request) =>
        permits.withPermits(1)(Effect.suspend(() => {
          const now = clock.currentTimeMillisUnsafe()
          const wait = reserve(hostOf(request.url), now) - now
          const open = transport.open(request)
          return wait > 0 ? Effect.andThen(Effect.sleep(Duration.millis(wait)), open) : open
        }))
    })
  })
