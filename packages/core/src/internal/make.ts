/**
 * How connections are made: `makeObserved` for a manager's (the services
 * handed over directly, no scope: the manager ends each with `shutdown`),
 * `make` for a connection of its own (from the context, ended with its
 * scope). The connection itself is in connection.ts.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import type { ConnectionShape, ReadHooks } from "../Connection.ts"
import * as Config from "../ConnectionConfig.ts"
import type * as Errors from "../ConnectionError.ts"
import * as Transport from "../Transport.ts"
import * as Close from "./close.ts"
import { ConnectionImpl } from "./connection.ts"
import * as Metrics from "./metrics.ts"
import type { Observer } from "./observer.ts"
import type { SettingsCache } from "./settings.ts"

/**
 * Makes a connection observed by `observer` (a manager's) and starts its
 * dial loop. The services come as arguments rather than from the context:
 * `WSManager.add` runs this once per connection. With a scope, closing it
 * ends the connection; without one (a manager's), the caller ends it with
 * `shutdown`. With `settings` (a manager's), the connection shares its
 * settings with the others made through it that resolve to the same
 * (settings.ts). Fails with `InvalidConfig` for a bad config.
 */
export const makeObserved = <R>(
  name: string,
  config: Config.ConnectionConfig,
  hooks: ReadHooks<R>,
  transport: Transport.Transport["Service"],
  clock: Clock.Clock,
  observer: Observer | undefined,
  scope: Scope.Scope | undefined,
  settings?: SettingsCache
): Effect.Effect<ConnectionShape, Errors.InvalidConfig, R> =>
  Effect.flatMap(Config.resolve(name, config), (cfg) => {
    // The URL as given (`resolve` has validated a string), not the effect `resolve` made of it. A
    // connection of its own keeps the resolved config whole as its settings (its URL unread there);
    // a manager's shares its settings with the manager's other connections that resolve to the same.
    const connection = new ConnectionImpl<R>(
      name,
      config.url,
      settings === undefined ? cfg : settings.of(cfg),
      transport,
      clock,
      observer,
      hooks
    )
    // One uninterruptible step: a connection given metrics is always started, so `shutdown` removes them.
    return Effect.as(
      Effect.uninterruptible(Effect.andThen(Metrics.attach(connection), Close.start(connection, scope))),
      connection
    )
  })

/**
 * Ends a connection `makeObserved` made without a scope, for good (see
 * `shutdown` in internal/close.ts). Run it once per connection.
 */
export const shutdown = (connection: ConnectionShape): Effect.Effect<void> =>
  Close.shutdown(connection as ConnectionImpl<unknown>)

/** Makes a connection of its own (no observer) from the context's transport, clock and scope. */
export const make = <R>(
  name: string,
  config: Config.ConnectionConfig,
  hooks: ReadHooks<R>
): Effect.Effect<ConnectionShape, Errors.InvalidConfig, R | Transport.Transport | Scope.Scope> =>
  Effect.gen(function*() {
    return yield* makeObserved(
      name,
      config,
      hooks,
      yield* Transport.Transport,
      yield* Clock.Clock,
      undefined,
      yield* Scope.Scope
    )
  })
