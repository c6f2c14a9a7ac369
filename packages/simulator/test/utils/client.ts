/**
 * A small test client over the `ws` package: it records every message, PING and PONG frame with its
 * arrival time, and lets a test wait for the next record matching a predicate (with a deadline) instead
 * of sleeping. Sockets are scoped: the client is terminated when the test's scope closes.
 */
import { Effect, type Scope } from "effect"
import { type ClientOptions, WebSocket } from "ws"

/** One thing the client saw. `json` is JSON.parse's own `any`, so tests can read fields directly. */
export interface Seen {
  readonly kind: "message" | "ping" | "pong"
  readonly at: number
  readonly text: string
  readonly json: any
}

/** A connected test client. */
export interface Client {
  readonly ws: WebSocket
  readonly seen: Array<Seen>
  readonly send: (value: unknown) => void
  /** Waits for the first record at index >= `from` matching `pred`; fails after `timeout` ms. */
  readonly next: (
    pred: (s: Seen) => boolean,
    options?: { readonly from?: number; readonly timeout?: number }
  ) => Effect.Effect<Seen>
  /** Waits until `count` records match. */
  readonly nextN: (
    count: number,
    pred: (s: Seen) => boolean,
    options?: { readonly from?: number; readonly timeout?: number }
  ) => Effect.Effect<Array<Seen>>
  readonly messages: (pred?: (s: Seen) => boolean) => Array<Seen>
  /** Resolves with the close code and reason. */
  readonly closed: Effect.Effect<{ readonly code: number; readonly reason: string; readonly at: number }>
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Opens a client and waits for the handshake. */
export const connect = (url: string, options: ClientOptions = {}): Effect.Effect<Client, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Client, Error>((resume) => {
      const ws = new WebSocket(url, options)
      const seen: Array<Seen> = []
      const waiters = new Set<() => void>()
      const notify = () => {
        for (const w of [...waiters]) w()
      }
      const record = (kind: Seen["kind"], text: string) => {
        seen.push({ kind, at: Date.now(), text, json: kind === "message" ? parse(text) : undefined })
        notify()
      }
      let closeInfo: { code: number; reason: string; at: number } | undefined
      ws.on("message", (data) => record("message", data.toString()))
      ws.on("ping", (data) => record("ping", data.toString()))
      ws.on("pong", (data) => record("pong", data.toString()))
      ws.on("close", (code, reason) => {
        closeInfo = { code, reason: reason.toString(), at: Date.now() }
        notify()
      })
      ws.on("error", (error) => resume(Effect.fail(error)))
      const nextN = (
        count: number,
        pred: (s: Seen) => boolean,
        opts: { readonly from?: number; readonly timeout?: number } = {}
      ) =>
        Effect.callback<Array<Seen>>((done) => {
          const check = () => {
            const found = seen.slice(opts.from ?? 0).filter(pred)
            if (found.length >= count) {
              cleanup()
              done(Effect.succeed(found.slice(0, count)))
            }
          }
          const timer = setTimeout(() => {
            cleanup()
            done(
              Effect.die(
                new Error(
                  `timed out waiting for ${count} matching record(s); saw ${seen.length}: ${
                    seen.slice(-3).map((s) => s.kind + " " + s.text.slice(0, 200)).join(" | ")
                  }`
                )
              )
            )
          }, opts.timeout ?? 3000)
          const cleanup = () => {
            clearTimeout(timer)
            waiters.delete(check)
          }
          waiters.add(check)
          check()
          return Effect.sync(cleanup)
        })
      const client: Client = {
        ws,
        seen,
        send: (value) => ws.send(typeof value === "string" ? value : JSON.stringify(value)),
        next: (pred, opts) => Effect.map(nextN(1, pred, opts), (all) => all[0] as Seen),
        nextN,
        messages: (pred) => seen.filter((s) => s.kind === "message" && (pred === undefined || pred(s))),
        closed: Effect.callback((done) => {
          const check = () => {
            if (closeInfo === undefined) return
            cleanup()
            done(Effect.succeed(closeInfo))
          }
          const timer = setTimeout(() => {
            cleanup()
            done(Effect.die(new Error("timed out waiting for close")))
          }, 5000)
          const cleanup = () => {
            clearTimeout(timer)
            waiters.delete(check)
          }
          waiters.add(check)
          check()
          return Effect.sync(cleanup)
        })
      }
      ws.once("open", () => resume(Effect.succeed(client)))
      return Effect.sync(() => ws.terminate())
    }),
    (client) => Effect.sync(() => client.ws.terminate())
  )

/** A message whose JSON matches `pred` (ignores frames and non-JSON text). */
export const msg = (pred: (json: any) => boolean) => (s: Seen): boolean =>
  s.kind === "message" && s.json !== undefined && pred(s.json)

/** Attempts a handshake that the server is expected to refuse; returns the HTTP status and headers. */
export const handshakeStatus = (
  url: string
): Effect.Effect<{ readonly status: number; readonly retryAfter: string | undefined }, Error> =>
  Effect.callback((resume) => {
    const ws = new WebSocket(url)
    ws.on("error", (error) => resume(Effect.fail(error)))
    ws.on("open", () => {
      ws.terminate()
      resume(Effect.succeed({ status: 101, retryAfter: undefined }))
    })
    ws.on("unexpected-response", (_req, res) => {
      const retry = res.headers["retry-after"]
      resume(Effect.succeed({ status: res.statusCode ?? 0, retryAfter: typeof retry === "string" ? retry : undefined }))
      res.resume()
      ws.terminate()
    })
    return Effect.sync(() => ws.terminate())
  })
