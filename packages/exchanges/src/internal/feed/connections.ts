/**
 * A feed's connections: each connection of a shard (the live one, a
 * rotation's standby) is a core `Connection` in a scope of its own, whose
 * reads go through the feed's frame path, whose `onOpen` replays the
 * shard's topics on every new session, and whose events are passed on as
 * the feed's (`Connection`). Closing one retires it: its unanswered
 * requests are settled as lost.
 */
import { Connection, type ConnectionEvent, RateWindow, Transport } from "@kharbranth/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { type Context, emit, hourlyWindow, type Shard, type ShardConnection } from "./context.ts"
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

const onConnectionEvent = (
  ctx: Context,
  conn: ShardConnection,
  event: ConnectionEvent.ConnectionEvent
): Effect.Effect<void> => {
  if ((event._tag === "Disconnected" && event.session === conn.session) || event._tag === "Closed") {
    conn.open = false
    conn.openedAt = undefined
    Requests.abandon(conn)
  }
  return emit(
    ctx,
    FeedEvent.Connection({
      at: event.at,
      shard: conn.shard.index,
      connection: conn.name,
      event
    })
  )
}

/**
 * Opens a session of `shard`: its connection dials at once. The caller has
 * taken its slot of the venue's `connectionsPerIp`; `close` gives it back.
 */
export const make = (ctx: Context, shard: Shard, generation: number, phase: ShardConnection["phase"]) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(ctx.scope, "sequential")
    const name = `${ctx.name}/${shard.index}.${generation}`
    const conn: ShardConnection = {
      shard,
      generation,
      name,
      scope,
      connection: undefined,
      phase,
      open: false,
      session: 0,
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
      window: ctx.budget === undefined
        ? RateWindow.unlimited
        : RateWindow.make(ctx.budget, REQUEST_WINDOW_MS, ctx.clock),
      hourly: hourlyWindow(ctx),
      slot: true,
      delivering: false,
      drained: undefined,
      auth: undefined
    }
    const connection = yield* Connection.make(name, shard.config, {
      onOpen: (context) => Replay.onOpen(ctx, conn, context)
    }).pipe(
      Effect.provideService(Transport.Transport, ctx.transport),
      Scope.provide(scope),
      Effect.orDie,
      Effect.onError(() =>
        Effect.andThen(Effect.sync(() => shard.budget.connections.release()), Scope.close(scope, Exit.void))
      )
    )
    conn.connection = connection
    const markDelivered = () => {
      conn.delivering = false
      if (conn.drained !== undefined) Deferred.doneUnsafe(conn.drained, Effect.void)
    }
    const delivered = Effect.sync(markDelivered)
    yield* connection.frames.pipe(
      Stream.runForEachArray((batch) => {
        // Marked before the read is looked at: what the read does may retire
        // this session at once (a switchover completes the rotation's wait,
        // and the rotation, woken on this stack, closes the retired session
        // before this returns); that close must wait for this delivery and
        // what it triggers, or the reader is interrupted before running them.
        conn.delivering = true
        const delivery = Frames.onBatch(ctx, conn, batch)
        if (delivery !== Effect.void) return Effect.ensuring(delivery, delivered)
        markDelivered()
        return delivery
      }),
      Effect.forkIn(scope)
    )
    yield* connection.events.pipe(
      Stream.runForEach((event) => onConnectionEvent(ctx, conn, event)),
      Effect.forkIn(scope)
    )
    return conn
  })

/**
 * Closes a connection that will carry nothing more; its unanswered requests
 * are lost. With `drain` (a rotation retiring the session it replaced), a
 * read it is still handing to a slow consumer is finished first: its frames
 * were counted as delivered. Never from the connection's own reader (it
 * would wait for itself), and not once the feed is closing.
 */
export const close = (ctx: Context, conn: ShardConnection, drain = false): Effect.Effect<void> =>
  Effect.suspend(() => {
    conn.phase = "retired"
    Requests.abandon(conn)
    if (conn.slot) {
      conn.slot = false
      conn.shard.budget.connections.release()
    }
    const closed = Scope.close(conn.scope, Exit.void)
    if (!drain || !conn.delivering || ctx.closed) return closed
    const drained = conn.drained ??= Deferred.makeUnsafe<void>()
    return Effect.andThen(Deferred.await(drained), closed)
  })
