/**
 * One accepted client connection: its socket, its venue session, its subscriptions and the faults acting
 * on it. All output goes through `sendText`/`ping`, which apply the faults in one place: half-open drops
 * everything, stall drops market data, latency and slow hold messages in a queue that the server's shared
 * tick flushes (so a connection owns no timer of its own). A mute drops one topic's market data: its
 * subscriber's deliveries and the snapshots a venue sends through `sendData`. One-shot book faults wait per
 * book stream for the next suitable message (`deliverBook`) and report each hit as `BookFaultInjected`.
 */
import type { WebSocket } from "ws"
import type { ConnectionInfo } from "../ConnectionInfo.ts"
import type { FaultSpec, Kind } from "../Fault.ts"
import type { Config, VenueName } from "../Options.ts"
import { millis } from "../Options.ts"
import type { SimulatorEvent } from "../SimulatorEvent.ts"
import type { BookFaultKind, BookMessage, Emission, Feed, Session, Subscriber } from "../venues/Venue.ts"

/** What a connection needs from its server. */
export interface Host {
  readonly config: Config
  readonly emit: (event: SimulatorEvent) => void
  readonly closed: (conn: Connection, code: number, reason: string, by: "client" | "server") => void
  readonly count: (conn: Connection, bytes: number) => void
  /** A lasting fault ended on this one connection by the client's own doing (a resubscribe healed a mute). */
  readonly healed: (conn: Connection, fault: number, kind: Kind) => void
}

interface Pending {
  readonly due: number
  readonly size: number
  readonly write: () => void
}

interface Slot {
  readonly id: number
  readonly kind: Kind
}

interface MuteSlot extends Slot {
  readonly stream: string
  readonly until: "resubscribe" | "reconnect"
  /** Whether the connection's subscription of the stream is already the lost one, so the next accepted subscribe heals. */
  lost: boolean
}

/** The TCP stream under a `ws` socket (its `_socket` field), when it has one. */
const rawSocket = (socket: WebSocket): { cork(): void; uncork(): void } | undefined => {
  const raw: unknown = Reflect.get(socket, "_socket")
  return typeof raw === "object" && raw !== null && "cork" in raw && "uncork" in raw
    ? (raw as { cork(): void; uncork(): void })
    : undefined
}

/** A live client connection. */
export class Connection {
  readonly id: number
  readonly venue: VenueName
  readonly path: string
  /** The client's remote address, the key of per-IP limits. */
  readonly address: string
  readonly openedAt: number
  readonly socket: WebSocket
  readonly host: Host
  session: Session | undefined = undefined
  /** Topic (venue naming) → its feed and subscriber. */
  readonly subscriptions = new Map<string, { readonly feed: Feed; readonly subscriber: Subscriber }>()

  stall: Slot | undefined = undefined
  halfOpen: Slot | undefined = undefined
  slow: (Slot & { readonly bytesPerSecond: number; budget: number }) | undefined = undefined
  latency: (Slot & { readonly ms: number }) | undefined = undefined
  /** Topic → the mute silencing it. */
  readonly mutes = new Map<string, MuteSlot>()
  /** Feed key → sequence numbers still to skip. */
  readonly gaps = new Map<string, number>()
  /** Book topic → one-shot book faults waiting for its next suitable message, oldest first. */
  readonly bookFaults = new Map<string, Array<{ readonly id: number; readonly kind: BookFaultKind }>>()
  closeAt: { readonly at: number; readonly code: number; readonly reason: string } | undefined = undefined

  queue: Array<Pending> = []
  queuedBytes = 0
  lastIn: number
  lastOut: number
  lastData: number
  messagesSent = 0
  bytesSent = 0
  messagesReceived = 0
  closing: { readonly code: number; readonly reason: string } | undefined = undefined
  ended = false

  constructor(id: number, venue: VenueName, path: string, address: string, socket: WebSocket, host: Host, now: number) {
    this.id = id
    this.venue = venue
    this.path = path
    this.address = address
    this.socket = socket
    this.host = host
    this.openedAt = now
    this.lastIn = now
    this.lastOut = now
    this.lastData = now
  }

  /**
   * Holds this connection's writes in the TCP socket until `uncork`, so a burst of messages (`advance`)
   * leaves in a few large writes instead of one system call per message. It reaches for the `ws` socket's
   * underlying stream, which `ws` does not expose publicly; without one it does nothing.
   */
  cork(): void {
    rawSocket(this.socket)?.cork()
  }

  /** Releases what `cork` held. */
  uncork(): void {
    rawSocket(this.socket)?.uncork()
  }

  /** Whether output is currently written (not closing, not half-open). */
  get live(): boolean {
    return this.closing === undefined && this.halfOpen === undefined && !this.ended
  }

  /** Sends a text message; `data` marks market data, which a stall suppresses. */
  sendText(text: string, data = false): void {
    if (!this.live || (data && this.stall !== undefined)) return
    this.enqueue(text.length, () => {
      this.socket.send(text)
      this.messagesSent += 1
      this.bytesSent += text.length
      this.host.count(this, text.length)
    })
    this.lastOut = Date.now()
  }

  /** Sends market data of one topic outside its feed (a snapshot on subscribe), unless the topic is muted. */
  sendData(topic: string, text: string): void {
    if (!this.muted(topic)) this.sendText(text, true)
  }

  /** Whether a mute silences this topic. */
  muted(topic: string): boolean {
    return this.mutes.size > 0 && this.mutes.has(topic)
  }

  /** Sends a protocol PING frame. */
  ping(): void {
    if (!this.live) return
    this.enqueue(2, () => this.socket.ping())
  }

  /** Answers a PING frame with its payload. */
  pong(payload: Buffer): void {
    if (!this.live) return
    this.enqueue(2 + payload.length, () => this.socket.pong(payload))
  }

  private enqueue(size: number, write: () => void): void {
    const delay = this.latency?.ms ?? 0
    if (delay === 0 && this.slow === undefined && this.queue.length === 0) {
      write()
      return
    }
    this.queue.push({ due: Date.now() + delay, size, write })
    this.queuedBytes += size
    if (this.queuedBytes > this.host.config.maxQueuedBytes) {
      this.close(1008, "Slow consumer: output queue limit exceeded")
    }
  }

  /** Delivers one feed message, honouring a pending `gap` for that feed. */
  deliver(feedKey: string, text: string, first: number, last: number): void {
    const skip = this.gaps.get(feedKey)
    if (skip !== undefined) {
      const left = skip - (last - first + 1)
      if (left > 0) this.gaps.set(feedKey, left)
      else this.gaps.delete(feedKey)
      return
    }
    if (!this.live || this.stall !== undefined) return
    this.lastData = Date.now()
    this.sendText(text, true)
  }

  /**
   * Delivers one book message of `topic`, or what a waiting one-shot book fault makes of it: nothing for a
   * `bookGap` (when the message is `detectable`), the crossed or bad-checksum variant otherwise.
   */
  deliverBook(topic: string, feedKey: string, m: BookMessage): void {
    const pending = this.bookFaults.get(topic)
    const fault = pending?.[0]
    if (pending === undefined || fault === undefined || !this.live || this.stall !== undefined) {
      return this.deliver(feedKey, m.text, m.first, m.last)
    }
    const variant = fault.kind === "crossed" ? m.crossed : fault.kind === "badChecksum" ? m.badChecksum : undefined
    if (fault.kind === "bookGap" ? !m.detectable : variant === undefined) {
      return this.deliver(feedKey, m.text, m.first, m.last)
    }
    pending.shift()
    if (pending.length === 0) this.bookFaults.delete(topic)
    const now = Date.now()
    this.host.emit({
      _tag: "BookFaultInjected",
      fault: fault.id,
      kind: fault.kind,
      connection: this.id,
      venue: this.venue,
      stream: topic,
      first: m.first,
      last: m.last,
      at: now
    })
    if (variant === undefined) {
      this.lastData = now
      return
    }
    this.deliver(feedKey, variant(), m.first, m.last)
  }

  /** Drops waiting one-shot book faults: the one with this id, or all of them. */
  cancelBookFaults(id?: number): void {
    for (const [topic, pending] of [...this.bookFaults]) {
      const left = pending.filter((f) => id !== undefined && f.id !== id)
      if (left.length === 0) this.bookFaults.delete(topic)
      else this.bookFaults.set(topic, left)
    }
  }

  /**
   * Subscribes to a feed under a topic name. A venue calls it for every subscribe it accepts, a duplicate
   * included, and never for one it rejects: an accepted subscribe is what heals a `mute` with `until:
   * "resubscribe"`. Returns true when the stream (re)starts: a new subscription, or a held one whose mute
   * this subscribe healed (the venue then answers as for a new one: snapshot, `Subscribed` event). Returns
   * false for a plain duplicate.
   */
  subscribe(topic: string, feed: Feed, deliver?: (emission: Emission) => void): boolean {
    const healed = this.resubscribed(topic)
    if (this.subscriptions.has(topic)) return healed
    const write = deliver ?? ((e: Emission) => {
      if (e.book !== undefined) this.deliverBook(topic, feed.key, e.book)
      else if (e.text !== "") this.deliver(feed.key, e.text, e.first, e.last)
    })
    const subscriber: Subscriber = {
      conn: this,
      deliver: (e) => {
        if (!this.muted(topic)) write(e)
      }
    }
    feed.subscribers.add(subscriber)
    this.subscriptions.set(topic, { feed, subscriber })
    return true
  }

  /** An accepted subscribe of a muted topic: heals a resubscribe-mute whose subscription was lost; returns whether it did. */
  private resubscribed(topic: string): boolean {
    const mute = this.mutes.get(topic)
    if (mute === undefined || mute.until !== "resubscribe") return false
    if (!mute.lost) {
      mute.lost = true
      return false
    }
    this.mutes.delete(topic)
    this.host.healed(this, mute.id, mute.kind)
    return true
  }

  /** Unsubscribes a topic; returns false when it was not subscribed. */
  unsubscribe(topic: string): boolean {
    const entry = this.subscriptions.get(topic)
    if (entry === undefined) return false
    entry.feed.subscribers.delete(entry.subscriber)
    this.subscriptions.delete(topic)
    this.bookFaults.delete(topic)
    return true
  }

  /** Reports subscription changes as events. */
  announce(tag: "Subscribed" | "Unsubscribed", topics: ReadonlyArray<string>): void {
    if (topics.length === 0) return
    this.host.emit({ _tag: tag, connection: this.id, venue: this.venue, topics, at: Date.now() })
  }

  /** Closes with a close frame, dropping anything still queued. */
  close(code: number, reason: string): void {
    if (this.closing !== undefined || this.ended) return
    this.closing = { code, reason }
    this.queue = []
    this.queuedBytes = 0
    this.socket.close(code, reason)
  }

  /** Destroys the TCP connection with no close frame (the client sees 1006). */
  drop(): void {
    if (this.ended) return
    if (this.closing === undefined) this.closing = { code: 1006, reason: "" }
    this.queue = []
    this.socket.terminate()
  }

  /** Called once when the socket has closed. */
  end(code: number, reason: string): void {
    if (this.ended) return
    this.ended = true
    this.session?.onClose?.()
    for (const topic of [...this.subscriptions.keys()]) this.unsubscribe(topic)
    this.queue = []
    const by = this.closing !== undefined ? "server" : "client"
    this.host.closed(this, this.closing?.code ?? code, this.closing?.reason ?? reason, by)
  }

  /**
   * Applies a fault; returns false when it does not apply to this connection (e.g. no notice on this
   * venue, a mute of a stream it does not hold). `opening` is true for a sticky fault applied to a
   * connection as it opens.
   */
  apply(id: number, spec: FaultSpec, now: number, opening = false): boolean {
    switch (spec.kind) {
      case "drop":
        this.drop()
        return true
      case "close":
        this.close(spec.code ?? 1000, spec.reason ?? "")
        return true
      case "stall":
        this.stall = { id, kind: "stall" }
        return true
      case "halfOpen":
        this.halfOpen = { id, kind: "halfOpen" }
        this.queue = []
        this.queuedBytes = 0
        this.socket.pause()
        return true
      case "slow":
        this.slow = { id, kind: "slow", bytesPerSecond: spec.bytesPerSecond ?? 1024, budget: 0 }
        return true
      case "latency":
        this.latency = { id, kind: "latency", ms: millis(spec.latency, 0) }
        return true
      case "gap":
        for (const { feed } of this.subscriptions.values()) this.gaps.set(feed.key, spec.skip ?? 1)
        return this.subscriptions.size > 0
      case "notice": {
        const sent = this.session?.notice?.(now) ?? false
        if (sent && spec.closeAfter !== undefined) {
          this.closeAt = { at: now + millis(spec.closeAfter, 0), code: 1001, reason: "Service upgrade" }
        }
        return sent
      }
      case "seqReset":
        return this.session?.seqReset?.(id, spec.seqId ?? 1, spec.stream) ?? false
      case "mute": {
        const held = this.subscriptions.has(spec.stream)
        if (!held && !opening) return false
        this.mutes.set(spec.stream, {
          id,
          kind: "mute",
          stream: spec.stream,
          until: spec.until ?? "resubscribe",
          lost: held
        })
        return true
      }
      case "bookGap":
      case "crossed":
      case "badChecksum": {
        let hit = false
        for (const [topic, { feed }] of this.subscriptions) {
          if (feed.bookFaults?.has(spec.kind) !== true || (spec.stream !== undefined && spec.stream !== topic)) continue
          const pending = this.bookFaults.get(topic) ?? []
          pending.push({ id, kind: spec.kind })
          this.bookFaults.set(topic, pending)
          hit = true
        }
        return hit
      }
      case "bookRestart":
        return this.session?.bookRestart?.(id, spec.stream) ?? false
      case "refuse":
      case "restRefuse":
      case "restSlow":
      case "staleSnapshot":
        return false
    }
  }

  /** Ends a lasting fault if it is the one in place. */
  heal(id: number, now: number): void {
    if (this.stall?.id === id) this.stall = undefined
    if (this.latency?.id === id) this.latency = undefined
    if (this.slow?.id === id) {
      this.slow = undefined
    }
    for (const [topic, mute] of this.mutes) if (mute.id === id) this.mutes.delete(topic)
    if (this.halfOpen?.id === id) {
      this.halfOpen = undefined
      this.lastIn = now
      this.lastOut = now
      this.lastData = now
      this.session?.onResume?.(now)
      this.socket.resume()
    }
  }

  /** The shared tick: flush due output, then let the venue send heartbeats and enforce deadlines. */
  tick(now: number, elapsed: number): void {
    if (this.ended) return
    if (this.closeAt !== undefined && now >= this.closeAt.at && this.halfOpen === undefined) {
      const { code, reason } = this.closeAt
      this.closeAt = undefined
      this.close(code, reason)
      return
    }
    if (this.queue.length > 0 && this.halfOpen === undefined) this.flush(now, elapsed)
    if (this.live) this.session?.onTick(now)
  }

  private flush(now: number, elapsed: number): void {
    const slow = this.slow
    if (slow !== undefined) {
      slow.budget = Math.min(slow.budget + (slow.bytesPerSecond * elapsed) / 1000, slow.bytesPerSecond)
    }
    let sent = 0
    while (sent < this.queue.length) {
      const next = this.queue[sent]
      if (next === undefined || next.due > now) break
      if (slow !== undefined) {
        if (slow.budget <= 0) break
        slow.budget -= next.size
      }
      sent += 1
      this.queuedBytes -= next.size
      next.write()
    }
    if (sent > 0) this.queue = this.queue.slice(sent)
  }

  /** A snapshot for `Simulator.connections`. */
  info(): ConnectionInfo {
    const faults: Array<ConnectionInfo["faults"][number]> = []
    for (const slot of [this.stall, this.halfOpen, this.slow, this.latency]) {
      if (slot !== undefined) faults.push({ id: slot.id, kind: slot.kind })
    }
    for (const mute of this.mutes.values()) faults.push({ id: mute.id, kind: mute.kind, stream: mute.stream })
    return {
      id: this.id,
      venue: this.venue,
      path: this.path,
      openedAt: this.openedAt,
      subscriptions: [...this.subscriptions.keys()],
      faults,
      messagesSent: this.messagesSent,
      bytesSent: this.bytesSent,
      messagesReceived: this.messagesReceived
    }
  }
}
