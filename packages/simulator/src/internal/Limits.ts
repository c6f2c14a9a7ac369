/**
 * The counters behind the venues' request and subscription limits: a sliding log (at most `limit` events
 * in any `windowMs`), a token bucket (a steady rate with a burst), and per-key counts (subscriptions of one
 * topic held by the connections of one IP). Plain mutable objects: a venue keeps one per connection, or
 * one per IP through `Market.perIp`.
 */

/** At most `limit` events in any window of `windowMs`. */
export class SlidingLog {
  readonly limit: number
  readonly windowMs: number
  private readonly times: Array<number> = []
  private head = 0

  constructor(limit: number, windowMs: number) {
    this.limit = limit
    this.windowMs = windowMs
  }

  /** Records an event at `now` and returns true if it fits; returns false (and records nothing) past the limit. */
  take(now: number): boolean {
    while (this.head < this.times.length && (this.times[this.head] ?? 0) <= now - this.windowMs) this.head += 1
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head)
      this.head = 0
    }
    if (this.times.length - this.head >= this.limit) return false
    this.times.push(now)
    return true
  }
}

/** `rate` tokens per second, at most `burst` saved up; each event takes one. */
export class TokenBucket {
  readonly rate: number
  readonly burst: number
  private tokens: number
  private at: number

  constructor(rate: number, burst: number, now: number) {
    this.rate = rate
    this.burst = burst
    this.tokens = burst
    this.at = now
  }

  /** Takes a token at `now`; returns false when none is left. */
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000)
    this.at = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

/** Counts per key (e.g. how many connections of one IP hold a topic). */
export class Counts {
  private readonly map = new Map<string, number>()
  /** Total over every key. */
  total = 0

  get(key: string): number {
    return this.map.get(key) ?? 0
  }

  add(key: string): void {
    this.map.set(key, this.get(key) + 1)
    this.total += 1
  }

  remove(key: string): void {
    const n = this.get(key)
    if (n <= 0) return
    if (n === 1) this.map.delete(key)
    else this.map.set(key, n - 1)
    this.total -= 1
  }
}
