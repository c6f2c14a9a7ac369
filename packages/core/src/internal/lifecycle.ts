/**
 * Where one connection's dial loop is, as one state union with named,
 * guarded transitions (after effect's `RcRef` state and NautilusTrader's
 * `ConnectionMode`): `Idle` between steps, `Dialing` inside the transport's
 * `open`, `Open` while a session is read, `Ended` until that dial's scope is
 * closed, `Waiting` during a backoff, then `Finishing` and `Finished`. A
 * `close` is not a phase of its own: it is recorded once (`CloseRequest`)
 * and each phase honours it at its next step. Nothing here runs an effect;
 * the modules that run the loop (dial.ts, close.ts) call these transitions.
 */
import type * as Deferred from "effect/Deferred"
import type * as Fiber from "effect/Fiber"
import type * as Errors from "../ConnectionError.ts"
import type * as States from "../ConnectionState.ts"
import type * as Transport from "../Transport.ts"
import type { DialScope } from "./dialScope.ts"

/** Why an open session is being ended, set once by whoever ends it first. */
export type EndReason = Errors.HeartbeatTimeout | Errors.IdleTimeout | "restart" | "stop"

/** How one dial-and-session ended. */
export type Outcome =
  | { readonly _tag: "Stopped" }
  | { readonly _tag: "Restart" }
  | { readonly _tag: "Failed"; readonly error: Errors.SessionError; readonly uptime: number | undefined }

export const STOPPED: Outcome = { _tag: "Stopped" }
export const RESTART: Outcome = { _tag: "Restart" }

/** How the dial loop ended: the reason and error `Closed` reports. */
export interface Final {
  readonly reason: string
  readonly error: Errors.SessionError | Errors.InvalidConfig | undefined
}
export const CLOSED_BY_CALLER: Final = { reason: "closed by the caller", error: undefined }
/**
 * Not an end: what a loop fiber ends with when its session's reader
 * detached (internal/direct.ts). The connection goes on, with no fiber
 * until the session wakes it; `finish` is not run.
 */
export const DETACHED: Final = { reason: "read loop detached", error: undefined }

/** A `close` call's request, recorded once; `ended` is made only while a `close` waits for the end. */
export interface CloseRequest {
  readonly code: number
  readonly reason: string
  ended: Deferred.Deferred<void> | undefined
}

/** Between steps of the dial loop: nothing of a dial is held. */
export interface Idle {
  readonly _tag: "Idle"
}

/** Inside the transport's `open` (waiting for a dial slot, or in the handshake). */
export interface Dialing {
  readonly _tag: "Dialing"
  /** The scope of this dial and of the session it opens. */
  readonly scope: DialScope
  /** Forked by a `close` during the dial: gives the dial up at `closeTimeout`; interrupted when the dial ends. */
  giveUp: Fiber.Fiber<void> | undefined
}

/**
 * A session is open and read: by the dial loop's fiber while frames need
 * one, with no fiber while the reader is detached (internal/direct.ts).
 */
export interface Open {
  readonly _tag: "Open"
  readonly scope: DialScope
  /** The transport's session: the socket. */
  readonly socket: Transport.Session
  /**
   * The public state this session set: its number (1 for a connection's
   * first) and since when it is open. Held rather than copied: a copy of
   * `since` would be a number of its own on the heap, per open connection.
   */
  readonly state: States.Open
  /** Set once, by whoever ends the session first; sends and timers stop at it. */
  endReason: EndReason | undefined
}

/** The dial or session is over; its scope is not closed yet. */
export interface Ended {
  readonly _tag: "Ended"
  readonly scope: DialScope
}

/** The backoff between two dials; `wake` ends it early, with `RESTART` (a restart) or `STOPPED` (a close). */
export interface Waiting {
  readonly _tag: "Waiting"
  readonly wake: Deferred.Deferred<Outcome>
}

/** `finish` has begun (it runs once), and it is done: the hubs have ended. */
export interface Finishing {
  readonly _tag: "Finishing"
}
export interface Finished {
  readonly _tag: "Finished"
}

export type Phase = Idle | Dialing | Open | Ended | Waiting | Finishing | Finished

export const IDLE: Idle = { _tag: "Idle" }
const FINISHING: Finishing = { _tag: "Finishing" }
const FINISHED: Finished = { _tag: "Finished" }

/** What holds a phase: the connection. */
export interface Holder {
  phase: Phase
}

/** The dial's giver-up, if any, is no longer needed once the dial is over. */
const dialOver = (dialing: Dialing): void => {
  const giveUp = dialing.giveUp
  dialing.giveUp = undefined
  giveUp?.interruptUnsafe()
}

/** `Idle` → `Dialing`, with the dial's new scope. Refused once finishing. */
export const dial = (self: Holder, scope: DialScope): boolean => {
  if (self.phase._tag !== "Idle") return false
  self.phase = { _tag: "Dialing", scope, giveUp: undefined }
  return true
}

/** `Dialing` → `Open`: the handshake succeeded. Refused unless dialing. */
export const open = (self: Holder, socket: Transport.Session, state: States.Open): Open | undefined => {
  const dialing = self.phase
  if (dialing._tag !== "Dialing") return undefined
  dialOver(dialing)
  const opened: Open = {
    _tag: "Open",
    scope: dialing.scope,
    socket,
    state,
    endReason: undefined
  }
  self.phase = opened
  return opened
}

/** `Dialing` or `Open` → `Ended`: the dial failed or the session ended. */
export const end = (self: Holder): void => {
  const phase = self.phase
  if (phase._tag !== "Dialing" && phase._tag !== "Open") return
  if (phase._tag === "Dialing") dialOver(phase)
  self.phase = { _tag: "Ended", scope: phase.scope }
}

/** `Ended` → `Idle`: gives the scope to close, once. */
export const release = (self: Holder): DialScope | undefined => {
  const phase = self.phase
  if (phase._tag !== "Ended") return undefined
  self.phase = IDLE
  return phase.scope
}

/** `Idle` → `Waiting`, with the deferred that ends the wait early. Refused once finishing. */
export const wait = (self: Holder, wake: Deferred.Deferred<Outcome>): boolean => {
  if (self.phase._tag !== "Idle") return false
  self.phase = { _tag: "Waiting", wake }
  return true
}

/** `Waiting` → `Idle`. */
export const waited = (self: Holder): void => {
  if (self.phase._tag === "Waiting") self.phase = IDLE
}

/**
 * Any phase but `Finishing`/`Finished` → `Finishing`; gives the scope still
 * open (an interrupted dial or session), if any, to close first. `false` if
 * finishing had already begun.
 */
export const finish = (self: Holder): { readonly first: boolean; readonly scope: DialScope | undefined } => {
  const phase = self.phase
  if (phase._tag === "Finishing" || phase._tag === "Finished") return { first: false, scope: undefined }
  if (phase._tag === "Dialing") dialOver(phase)
  self.phase = FINISHING
  return {
    first: true,
    scope: phase._tag === "Dialing" || phase._tag === "Open" || phase._tag === "Ended" ? phase.scope : undefined
  }
}

/** `Finishing` → `Finished`. */
export const finished = (self: Holder): void => {
  if (self.phase._tag === "Finishing") self.phase = FINISHED
}

/** Whether the connection has finished (its hubs ended). */
export const isFinished = (self: Holder): boolean => self.phase._tag === "Finished"

/** The open session, if one is open and not being ended: where a send or ping goes. */
export const usable = (self: Holder): Open | undefined => {
  const phase = self.phase
  return phase._tag === "Open" && phase.endReason === undefined ? phase : undefined
}
