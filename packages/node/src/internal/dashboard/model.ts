/**
 * The dashboard's model: what it knows about every connection between two
 * samples, kept in plain mutable objects owned by one `Dashboard` (its
 * sampler fiber and its event fiber are the only writers). Bounded: each
 * connection keeps a ring of the last `samples` rate and RTT readings, the
 * timeline a ring of the last `timeline` entries. Pure of time: every
 * function takes the current time, so the tests drive it directly.
 */
import type { ConnectionEvent, ConnectionState, WSManager } from "@kharbranth/core"

/** What a timeline entry says happened. */
export type MarkKind = "fault" | "recovered" | "gap" | "info"

export interface Mark {
  readonly connection: string
  readonly kind: MarkKind
  readonly text: string
}

export interface TimelineEntry extends Mark {
  readonly id: number
  readonly at: number
}

export interface ConnectionView {
  readonly name: string
  readonly state: string
  readonly rate: number
  readonly rtt: number | null
  readonly reconnects: number
  readonly gaps: number
  readonly lastError: string | null
  readonly lastErrorAt: number | null
  readonly framesIn: number
  readonly failedDials: number
  readonly uptime: number
  readonly history: { readonly rate: ReadonlyArray<number>; readonly rtt: ReadonlyArray<number | null> }
}

export interface Totals {
  readonly connections: number
  readonly open: number
  readonly rate: number
  readonly reconnects: number
  readonly gaps: number
  readonly failedDials: number
}

export interface Snapshot {
  readonly at: number
  readonly interval: number
  /** How many samples a full history holds. */
  readonly samples: number
  readonly connections: ReadonlyArray<ConnectionView>
  readonly totals: Totals
  readonly timeline: ReadonlyArray<TimelineEntry>
}

/** A fixed-capacity ring: pushing past the capacity drops the oldest item. */
export class Ring<A> {
  private readonly items: Array<A> = []
  private start = 0
  readonly capacity: number
  constructor(capacity: number) {
    this.capacity = capacity
  }
  push(item: A): void {
    if (this.items.length < this.capacity) this.items.push(item)
    else {
      this.items[this.start] = item
      this.start = (this.start + 1) % this.capacity
    }
  }
  toArray(): Array<A> {
    return this.items.slice(this.start).concat(this.items.slice(0, this.start))
  }
  get size(): number {
    return this.items.length
  }
}

interface Entry {
  framesAt: number | undefined
  frames: number
  rate: number
  readonly rates: Ring<number>
  readonly rtts: Ring<number | null>
  gaps: number
  lastError: string | null
  lastErrorAt: number | null
  /** A fault was seen and no session has opened since. */
  faulted: boolean
}

const errorText = (error: { readonly _tag: string; readonly message: string }) =>
  `${error._tag}: ${error.message.replace(/^connection "[^"]+": /, "")}`

const round = (value: number, digits: number) => {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

export class Model {
  private readonly entries = new Map<string, Entry>()
  private readonly timeline: Ring<TimelineEntry>
  private nextId = 1
  private last: Snapshot
  readonly options: { readonly samples: number; readonly timeline: number; readonly interval: number }

  constructor(options: { readonly samples: number; readonly timeline: number; readonly interval: number }) {
    this.options = options
    this.timeline = new Ring(options.timeline)
    this.last = {
      at: 0,
      interval: options.interval,
      samples: options.samples,
      connections: [],
      totals: { connections: 0, open: 0, rate: 0, reconnects: 0, gaps: 0, failedDials: 0 },
      timeline: []
    }
  }

  private entry(name: string): Entry {
    let entry = this.entries.get(name)
    if (entry === undefined) {
      entry = {
        framesAt: undefined,
        frames: 0,
        rate: 0,
        rates: new Ring(this.options.samples),
        rtts: new Ring(this.options.samples),
        gaps: 0,
        lastError: null,
        lastErrorAt: null,
        faulted: false
      }
      this.entries.set(name, entry)
    }
    return entry
  }

  /** Adds a timeline entry (and counts a gap); returns it. */
  mark(at: number, mark: Mark): TimelineEntry {
    const entry: TimelineEntry = {
      id: this.nextId++,
      at,
      connection: mark.connection,
      kind: mark.kind,
      text: mark.text
    }
    this.timeline.push(entry)
    if (mark.kind === "gap") {
      const e = this.entry(mark.connection)
      e.gaps++
      e.lastError = mark.text
      e.lastErrorAt = at
    }
    return entry
  }

  /** Folds a connection event into the model; returns the timeline entry it made, or `undefined`. */
  event(connection: string, event: ConnectionEvent.ConnectionEvent): TimelineEntry | undefined {
    const e = this.entry(connection)
    switch (event._tag) {
      case "Disconnected": {
        e.lastError = errorText(event.error)
        e.lastErrorAt = event.at
        e.faulted = true
        return this.mark(event.at, { connection, kind: "fault", text: `disconnected: ${e.lastError}` })
      }
      case "DialFailed": {
        e.lastError = errorText(event.error)
        e.lastErrorAt = event.at
        // Only the first failure in a row: a venue down for minutes must not flood the timeline.
        if (e.faulted) return undefined
        e.faulted = true
        return this.mark(event.at, { connection, kind: "fault", text: `dial failed: ${e.lastError}` })
      }
      case "Opened": {
        if (!e.faulted) return undefined
        e.faulted = false
        return this.mark(event.at, { connection, kind: "recovered", text: `open again (session ${event.session})` })
      }
      case "Closed": {
        if (event.error !== undefined) {
          e.lastError = errorText(event.error)
          e.lastErrorAt = event.at
        }
        return this.mark(event.at, { connection, kind: "info", text: `closed: ${event.reason}` })
      }
      case "RestartRequested":
        return this.mark(event.at, { connection, kind: "info", text: `restart: ${event.reason}` })
      default:
        return undefined
    }
  }

  /** Takes one sample of the manager's stats and states; returns the new snapshot. */
  sample(
    at: number,
    stats: WSManager.ManagerStats,
    states: ReadonlyMap<string, ConnectionState.ConnectionState>
  ): Snapshot {
    const connections: Array<ConnectionView> = []
    let rate = 0
    let gaps = 0
    for (const [name, s] of Object.entries(stats.connections)) {
      const e = this.entry(name)
      if (e.framesAt !== undefined && at > e.framesAt) {
        e.rate = Math.max(0, s.framesIn - e.frames) * 1000 / (at - e.framesAt)
      }
      e.framesAt = at
      e.frames = s.framesIn
      e.rates.push(round(e.rate, 1))
      e.rtts.push(s.lastRtt === undefined ? null : round(s.lastRtt, 3))
      rate += e.rate
      gaps += e.gaps
      connections.push({
        name,
        state: states.get(name)?._tag ?? "Idle",
        rate: round(e.rate, 1),
        rtt: s.lastRtt === undefined ? null : round(s.lastRtt, 3),
        reconnects: s.reconnects,
        gaps: e.gaps,
        lastError: e.lastError,
        lastErrorAt: e.lastErrorAt,
        framesIn: s.framesIn,
        failedDials: s.failedDials,
        uptime: s.uptime,
        history: { rate: e.rates.toArray(), rtt: e.rtts.toArray() }
      })
    }
    // A removed connection leaves the model with its last sample.
    for (const name of this.entries.keys()) {
      if (!(name in stats.connections)) this.entries.delete(name)
    }
    this.last = {
      at,
      interval: this.options.interval,
      samples: this.options.samples,
      connections,
      totals: {
        connections: stats.totals.connections,
        open: stats.totals.open,
        rate: round(rate, 1),
        reconnects: stats.totals.reconnects,
        gaps,
        failedDials: stats.totals.failedDials
      },
      timeline: []
    }
    return this.last
  }

  /** The latest snapshot, with the timeline as it is now. */
  snapshot(): Snapshot {
    return { ...this.last, timeline: this.timeline.toArray() }
  }

  /** The latest snapshot without its timeline (what each tick streams). */
  latest(): Snapshot {
    return this.last
  }
}
