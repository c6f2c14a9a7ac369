/**
 * The login of a private feed's sessions. Every request a session sends
 * waits for that session's login first (`ensure`), so no subscribe, replay
 * or retry ever goes out on an unauthenticated session; the first request
 * of a session starts the login and the others wait for its outcome. A
 * login sends the venue's messages and waits for its answer (answers are
 * routed here by `frames.ts` while a login waits), or fetches what the
 * session's requests carry (a token); requests are signed on the way out
 * (`sign`) where the venue signs requests rather than sessions.
 *
 * A refusal is acted on by its kind: credentials stop the feed with one
 * `AuthFailed` (no second dial, no second login); a clock refusal is
 * retried once after correcting the clock by the venue's server time (and
 * reported: `ClockAdjusted`); anything else restarts the session after a
 * backoff (1 s, doubling to 60 s, per refusal in a row). No secret is ever put in an error, an event or a log
 * line: only the venue's code and text.
 */
import { ConnectionError } from "@kharbranth/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Redacted from "effect/Redacted"
import type * as AuthApi from "../../Auth.ts"
import { type Context, emit, fork, restartConnection, type ShardConnection } from "./context.ts"
import { AuthFailed } from "./errors.ts"
import { FeedEvent } from "./model.ts"
import * as Registry from "./registry.ts"

/** A private feed's login settings, made once by `Feed.make`. */
export interface Settings {
  readonly spec: AuthApi.Spec
  readonly credentials: AuthApi.Credentials
  readonly client: HttpClient.HttpClient | undefined
  /** A URL of the feed's `urls` option, else of the profile's `urls`, by key. */
  readonly url: (key: string) => string | undefined
  /** The venue's clock minus this machine's, in ms, once a clock refusal made the feed read it. */
  clockOffset: number
  /** Set when the feed stopped on a refusal: later requests fail with it. */
  failure: AuthFailed | undefined
  /** A signed request's clock refusal was answered by correcting the clock: the next one stops the feed. */
  clockCorrected: boolean
  /** Transient refusals in a row: the next session waits 1 s, doubling to 60 s, per one. */
  transientFailures: number
  /** Stops the feed (bound by `Feed.make`: its `close`, after the waiters were failed with `failure`). */
  stop: (error: AuthFailed) => Effect.Effect<void>
}

/** The login of one core session of a connection. */
export interface SessionAuth {
  readonly session: number
  /** True once the session may send its requests; false when it never will (refused, ended). */
  readonly done: Deferred.Deferred<boolean>
  /** While login messages wait for the venue's answer. */
  answer: Deferred.Deferred<AuthApi.Answer> | undefined
  /** What the session's requests carry (Kraken's token). */
  token: string | undefined
}

/** The `HttpClient` hook of a login: a request and its JSON answer, or a sentence saying what went wrong. */
const httpOf = (client: HttpClient.HttpClient | undefined): AuthApi.LoginInput["http"] => (url, init) => {
  if (client === undefined) {
    return Effect.fail(
      "no HttpClient is provided: add one to the feed's context (FetchHttpClient.layer, or NodeHttpClient's)"
    )
  }
  let request = HttpClientRequest.make(init?.method ?? "GET")(url)
  if (init?.headers !== undefined) request = HttpClientRequest.setHeaders(request, init.headers)
  if (init?.body !== undefined) {
    request = HttpClientRequest.bodyText(request, init.body, "application/x-www-form-urlencoded")
  }
  return client.execute(request).pipe(
    Effect.flatMap((response) => response.json),
    Effect.mapError((error) => `${url}: ${error.message}`)
  )
}

/** What a login or a signature is given now: the time on the venue's clock as well as the feed knows it. */
export const input = (ctx: Context, settings: Settings): AuthApi.LoginInput => ({
  credentials: settings.credentials,
  now: ctx.now() + settings.clockOffset,
  url: settings.url,
  http: httpOf(settings.client)
})

/**
 * Waits until `conn`'s current session is logged in, logging it in if no
 * request of this session started it yet. True: the session's requests may
 * go; false: they must not (the login was refused, the session ended, the
 * feed stopped).
 */
export const ensure = (ctx: Context, conn: ShardConnection): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    const settings = ctx.auth
    if (settings === undefined) return Effect.succeed(true)
    if (settings.failure !== undefined) return Effect.succeed(false)
    const current = conn.auth
    if (current !== undefined && current.session === conn.session) return Deferred.await(current.done)
    const state: SessionAuth = {
      session: conn.session,
      done: Deferred.makeUnsafe<boolean>(),
      answer: undefined,
      token: undefined
    }
    conn.auth = state
    return login(ctx, settings, conn, state, 1).pipe(
      Effect.tap((ok) => Deferred.succeed(state.done, ok)),
      Effect.onInterrupt(() => Deferred.succeed(state.done, false))
    )
  })

/** A login answer while one waits: it settles the login. Returns whether the text was taken as the answer. */
export const onText = (ctx: Context, conn: ShardConnection, text: string): boolean => {
  const pending = conn.auth?.answer
  if (ctx.auth === undefined || pending === undefined) return false
  const answer = ctx.auth.spec.answer(text)
  if (answer === undefined) return false
  Deferred.doneUnsafe(pending, Effect.succeed(answer))
  return true
}

/**
 * The venue ended `conn`'s authorization on its live session (Binance's
 * `eventStreamTerminated`): the next request logs in again, and the shard's
 * topics are sent again on the same session by `resend`.
 */
export const ended = (
  ctx: Context,
  conn: ShardConnection,
  resend: Effect.Effect<void>
): Effect.Effect<void> =>
  Effect.suspend(() => {
    conn.auth = undefined
    return emit(ctx, FeedEvent.AuthEnded({ at: ctx.now(), shard: conn.shard.index, connection: conn.name })).pipe(
      Effect.andThen(resend)
    )
  })

/**
 * A refusal of a signed request (a venue that signs requests rather than
 * sessions), or undefined: the request itself is settled by the usual path
 * (a transient rejection, retried with backoff and signed anew).
 */
export const signedRefusal = (ctx: Context, text: string): AuthApi.Refusal | undefined => {
  const answer = ctx.auth?.spec.sign === undefined ? undefined : ctx.auth.spec.answer(text)
  return answer?._tag === "Refused" ? answer : undefined
}

/**
 * Acts on a signed request's refusal: a bad key stops the feed; the first
 * clock refusal corrects the clock by the venue's server time (the request
 * is retried, signed with it), a second one stops the feed; a refusal of
 * what the session's requests carry (a token gone stale) restarts the
 * session, whose login fetches it anew.
 */
export const onSignedRefusal = (
  ctx: Context,
  conn: ShardConnection,
  refusal: AuthApi.Refusal
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const settings = ctx.auth
    if (settings === undefined || settings.failure !== undefined) return
    // What the session's requests carry went stale (Kraken's token): a new session logs in afresh.
    if (refusal.kind === "transient") return yield* refused(ctx, settings, conn, refusal, "restart")
    if (refusal.kind === "clock" && !settings.clockCorrected) {
      settings.clockCorrected = true
      const problem = yield* correctClock(ctx, settings)
      if (problem === undefined) return yield* refused(ctx, settings, conn, refusal, "retry")
      return yield* refused(ctx, settings, conn, { ...refusal, reason: `${refusal.reason} (${problem})` }, "stop")
    }
    yield* refused(ctx, settings, conn, refusal, "stop")
  })

/** The text of a request as sent: signed where the venue signs requests; undefined when it must not go. */
export const sign = (ctx: Context, conn: ShardConnection, text: string): Effect.Effect<string | undefined> => {
  const settings = ctx.auth
  const signer = settings?.spec.sign
  if (settings === undefined || signer === undefined) return Effect.succeed(text)
  return signer(text, input(ctx, settings), conn.auth?.token).pipe(
    Effect.map((signed): string | undefined => signed),
    Effect.catch((refusal) => Effect.as(refused(ctx, settings, conn, refusal, "stop"), undefined))
  )
}

const login = (
  ctx: Context,
  settings: Settings,
  conn: ShardConnection,
  state: SessionAuth,
  attempt: number
): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const started = ctx.now()
    const built = yield* Effect.result(settings.spec.login(input(ctx, settings)))
    let answer: AuthApi.Answer
    if (built._tag === "Failure") {
      answer = built.failure
    } else {
      state.token = built.success.token
      answer = { _tag: "Accepted" }
      if (built.success.messages.length > 0) {
        const pending = Deferred.makeUnsafe<AuthApi.Answer>()
        state.answer = pending
        for (const message of built.success.messages) {
          const sent = conn.connection === undefined
            ? false
            : yield* Effect.match(conn.connection.send(message), { onFailure: () => false, onSuccess: () => true })
          if (!sent) {
            state.answer = undefined
            return false
          }
        }
        const got = yield* Deferred.await(pending).pipe(Effect.timeoutOption(ctx.confirmTimeout))
        state.answer = undefined
        answer = got._tag === "Some"
          ? got.value
          : {
            _tag: "Refused",
            code: "timeout",
            reason: `no answer to the login within ${ctx.confirmTimeout} ms`,
            kind: "transient"
          }
      }
    }
    if (conn.session !== state.session || conn.phase === "retired") return false
    if (answer._tag === "Accepted") {
      settings.transientFailures = 0
      yield* emit(
        ctx,
        FeedEvent.Authenticated({
          at: ctx.now(),
          shard: conn.shard.index,
          connection: conn.name,
          session: state.session,
          took: ctx.now() - started
        })
      )
      return true
    }
    if (answer.kind === "clock" && attempt === 1) {
      const corrected = yield* correctClock(ctx, settings)
      if (corrected === undefined) {
        yield* refused(ctx, settings, conn, answer, "retry")
        return yield* login(ctx, settings, conn, state, 2)
      }
      yield* refused(ctx, settings, conn, { ...answer, reason: `${answer.reason} (${corrected})` }, "stop")
      return false
    }
    yield* refused(ctx, settings, conn, answer, answer.kind === "transient" ? "restart" : "stop")
    return false
  })

/**
 * Reads the venue's server time and sets the clock offset from it (halfway
 * through the request, so the round trip cancels out); returns undefined
 * when corrected, else why it could not be.
 */
const correctClock = (ctx: Context, settings: Settings): Effect.Effect<string | undefined> =>
  Effect.gen(function*() {
    const spec = settings.spec.serverTime
    const url = spec === undefined ? undefined : settings.url(spec.url)
    if (spec === undefined || url === undefined) return "the venue's server time is not known to this profile"
    const before = ctx.now()
    const json = yield* Effect.result(httpOf(settings.client)(url))
    if (json._tag === "Failure") return `could not read the venue's server time: ${json.failure}`
    const venueMs = spec.read(json.success)
    if (venueMs === undefined || !Number.isFinite(venueMs)) return "the venue's server time was unreadable"
    const offset = Math.round(venueMs - (before + ctx.now()) / 2)
    settings.clockOffset = offset
    yield* emit(ctx, FeedEvent.ClockAdjusted({ at: ctx.now(), offset }))
    return undefined
  })

/** Reports a refusal and acts on it: `stop` fails the feed for good, `restart` restarts the session. */
const refused = (
  ctx: Context,
  settings: Settings,
  conn: ShardConnection,
  refusal: AuthApi.Refusal,
  action: "stop" | "retry" | "restart"
): Effect.Effect<void> =>
  Effect.gen(function*() {
    yield* emit(
      ctx,
      FeedEvent.AuthRefused({
        at: ctx.now(),
        shard: conn.shard.index,
        connection: conn.name,
        code: refusal.code,
        reason: refusal.reason,
        kind: refusal.kind,
        action
      })
    )
    if (action === "restart") {
      // Not at once: the venue's trouble would be met by a login as fast as the dial window allows.
      settings.transientFailures += 1
      const session = conn.session
      const restart = Effect.suspend(() =>
        conn.session === session && conn.phase !== "retired"
          ? restartConnection(conn, `login refused: ${refusal.code}`)
          : Effect.void
      )
      return yield* fork(ctx, Effect.andThen(Effect.sleep(Registry.retryDelay(settings.transientFailures)), restart))
    }
    if (action !== "stop" || settings.failure !== undefined) return
    const error = new AuthFailed({
      feed: ctx.name,
      venue: ctx.profile.venue,
      code: refusal.code,
      reason: refusal.reason,
      kind: refusal.kind === "clock" ? "clock" : "credentials"
    })
    settings.failure = error
    // In the feed's scope: stopping closes this connection's scope, which runs this fiber.
    yield* fork(ctx, settings.stop(error))
  })

/**
 * The login settings of a feed whose profile has `auth`; undefined for a
 * public profile. Fails when credentials are missing or lack a field the
 * venue signs with. The `HttpClient` is taken from the context if there is
 * one (for token endpoints and the venue's server time).
 */
export const make = (
  name: string,
  profile: {
    readonly venue: string
    readonly auth?: AuthApi.Spec | undefined
    readonly urls: Readonly<Record<string, string>>
  },
  credentials: AuthApi.Credentials | undefined,
  urls: Readonly<Record<string, string>> | undefined
): Effect.Effect<Settings | undefined, ConnectionError.InvalidConfig> =>
  Effect.gen(function*() {
    const spec = profile.auth
    const invalid = (reason: string) =>
      Effect.fail(new ConnectionError.InvalidConfig({ connection: name, field: "credentials", reason }))
    if (spec === undefined) {
      if (credentials !== undefined) {
        return yield* invalid(`${profile.venue}'s profile has no login: credentials are for an authenticated profile`)
      }
      return undefined
    }
    if (credentials === undefined) return yield* invalid(`${profile.venue}'s authenticated profile needs credentials`)
    if (!Redacted.isRedacted(credentials.apiKey) || Redacted.value(credentials.apiKey) === "") {
      return yield* invalid("apiKey is missing (credentials take Redacted values: use Auth.credentials)")
    }
    for (const need of spec.needs) {
      const has = (field: "secret" | "passphrase" | "privateKey") => {
        const value = credentials[field]
        return value !== undefined && Redacted.value(value) !== ""
      }
      const ok = need === "secret or privateKey" ? has("secret") || has("privateKey") : has(need)
      if (!ok) return yield* invalid(`${profile.venue} signs with the key's ${need}, which is missing`)
    }
    const client = yield* Effect.serviceOption(HttpClient.HttpClient)
    if (spec.needsHttp === true && client._tag === "None") {
      return yield* invalid(
        `${profile.venue} logs in over REST: provide an HttpClient to the feed (FetchHttpClient.layer, or NodeHttpClient's)`
      )
    }
    return {
      spec,
      credentials,
      client: client._tag === "Some" ? client.value : undefined,
      url: (key: string) => urls?.[key] ?? profile.urls[key],
      clockOffset: 0,
      failure: undefined,
      clockCorrected: false,
      transientFailures: 0,
      stop: () => Effect.void
    }
  })
