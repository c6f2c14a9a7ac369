/**
 * A feed's connections: each session of a shard is a core `Connection` in
 * a scope of its own, whose reads go through the feed's frame path, whose
 * `onOpen` replays the shard's topics, and whose events are passed on as
 * the feed's (`Connection`). Closing one retires it: its unanswered
 * requests are settled as lost.
 */
import { Connection, type ConnectionEvent, RateWindow, Transport } from "@kharbranth/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { type Context, emit, hourlyWindow, type Session, type Shard } from "./context.ts"
import * as Frames from "./frames.ts"
import { FeedEvent } from "./model.ts"
import * as Replay from "./replay.ts"
import * as Requests from "./requests.ts"

/**
 * The window a connection's requests are counted over: a tenth longer than
 * the venue's second. A venue counts requests as they arrive, so one delayed
 * in transit more than the requests after it would, counted over exactly a
 * second, share a venue window with one request too many (Binance then
 * closes the connection). The tenth absorbs up to 100 ms of such jitter.
 */
export const REQUEST_WINDOW_MS = 1100

const onConnectionEvent = (ctx: Context, session: Session, event: ConnectionEvent.ConnectionEvent): Effect.Effect<void> => {
  if ((event._tag === "Disconnected" && event.session === session.sessionNo) || event._tag === "Closed") {
    session.open = false
    session.openedAt = undefined
    Requests.abandon(session)
  }
  return emit(
    ctx,
    FeedEvent.Connection({
      at: event.at,
      shard: session.shard.index,
      connection: session.connection,
      event
    })
  )
}

/**
 * Opens a session of `shard`: its connection dials at once. The caller has
 * taken its slot of the venue's `connectionsPerIp`; `close` gives it back.
 */
export const make = (ctx: Context, shard: Shard, generation: number, phase: Session["phase"]) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(ctx.scope, "sequential")
    const connection = `${ctx.name}/${shard.index}.${generation}`
    const session: Session = {
      shard,
      generation,
      connection,
      scope,
      conn: undefined,
      phase,
      open: false,
      sessionNo: 0,
      openedAt: undefined,
      nextId: 1,
      inflight: [],
      replayFiber: undefined,
      replayDone: false,
      gotData: false,
      seen: new Set(),
      seenSession: 0,
      requested: new Set(),
      broken: 0,
      buffer: [],
      firstSeq: new Map(),
      outcomes: [],
      switched: Deferred.makeUnsafe<boolean>(),
      window: ctx.budget === undefined ? RateWindow.unlimited : RateWindow.make(ctx.budget, REQUEST_WINDOW_MS, ctx.clock),
      hourly: hourlyWindow(ctx),
      slot: true
    }
    const conn = yield* Connection.make(connection, shard.config, {
      onOpen: (context) => Replay.onOpen(ctx, session, context)
    }).pipe(
      Effect.provideService(Transport.Transport, ctx.transport),
      Scope.provide(scope),
      Effect.orDie,
      Effect.onError(() => Effect.andThen(Effect.sync(() => shard.budget.connections.release()), Scope.close(scope, Exit.void)))
    )
    session.conn = conn
    yield* conn.frames.pipe(
      Stream.runForEachArray((batch) => Frames.onBatch(ctx, session, batch)),
      Effect.forkIn(scope)
    )
    yield* conn.events.pipe(
      Stream.runForEach((event) => onConnectionEvent(ctx, session, event)),
      Effect.forkIn(scope)
    )
    return session
  })

/** Closes a session that will carry nothing more; its unanswered requests are lost. */
export const close = (session: Session): Effect.Effect<void> =>
  Effect.suspend(() => {
    session.phase = "retired"
    Requests.abandon(session)
    if (session.slot) {
      session.slot = false
      session.shard.budget.connections.release()
    }
    return Scope.close(session.scope, Exit.void)
  })
