/**
 * Type-level tests of the public types: checked by `pnpm typecheck` (tsc
 * over `test/`), where a wrong type is a compile error; at run time each
 * test is a no-op that passes.
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import { describe, expectTypeOf, it } from "vitest"
import type * as Connection from "../src/Connection.ts"
import type * as ConnectionError from "../src/ConnectionError.ts"
import type * as ConnectionEvent from "../src/ConnectionEvent.ts"
import type * as ConnectionState from "../src/ConnectionState.ts"

const absurd = (value: never): never => value

describe("types", () => {
  it("a dial failure is a ConnectFailed or a ConnectTimeout: an exhaustive switch reads status with no cast", () => {
    expectTypeOf<ConnectionEvent.DialFailed["error"]>().toEqualTypeOf<
      ConnectionError.ConnectFailed | ConnectionError.ConnectTimeout
    >()
    expectTypeOf<ConnectionEvent.DialFailed["error"]>().toEqualTypeOf<ConnectionError.DialError>()
    const status = (event: ConnectionEvent.DialFailed): number | undefined => {
      switch (event.error._tag) {
        case "ConnectFailed":
          return event.error.status
        case "ConnectTimeout":
          return undefined
        default:
          return absurd(event.error)
      }
    }
    expectTypeOf(status).returns.toEqualTypeOf<number | undefined>()
  })

  it("a disconnect is a Closed, ProtocolError, HeartbeatTimeout or IdleTimeout: code reads with no cast", () => {
    expectTypeOf<ConnectionEvent.Disconnected["error"]>().toEqualTypeOf<
      | ConnectionError.Closed
      | ConnectionError.ProtocolError
      | ConnectionError.HeartbeatTimeout
      | ConnectionError.IdleTimeout
    >()
    expectTypeOf<ConnectionEvent.Disconnected["error"]>().toEqualTypeOf<ConnectionError.DisconnectError>()
    const code = (event: ConnectionEvent.Disconnected): number | undefined => {
      switch (event.error._tag) {
        case "Closed":
        case "ProtocolError":
          return event.error.code
        case "HeartbeatTimeout":
        case "IdleTimeout":
          return undefined
        default:
          return absurd(event.error)
      }
    }
    expectTypeOf(code).returns.toEqualTypeOf<number | undefined>()
  })

  it("Reconnecting's error is a SessionError: a failed dial or an ended session", () => {
    expectTypeOf<ConnectionError.SessionError>().toEqualTypeOf<
      ConnectionError.DialError | ConnectionError.DisconnectError
    >()
    expectTypeOf<ConnectionState.Reconnecting["error"]>().toEqualTypeOf<ConnectionError.SessionError>()
    expectTypeOf<ConnectionState.Closed["error"]>().toEqualTypeOf<
      ConnectionError.SessionError | ConnectionError.InvalidConfig | undefined
    >()
    expectTypeOf<ConnectionEvent.Closed["error"]>().toEqualTypeOf<ConnectionState.Closed["error"]>()
    expectTypeOf<ConnectionEvent.SendFailed["error"]>().toEqualTypeOf<ConnectionError.SendFailed>()
    // Every narrower error is still a ConnectionError.
    expectTypeOf<ConnectionError.SessionError>().toExtend<ConnectionError.ConnectionError>()
  })

  it("every state has a type of its own", () => {
    expectTypeOf<ConnectionState.Idle>().toEqualTypeOf<Extract<ConnectionState.ConnectionState, { _tag: "Idle" }>>()
    expectTypeOf<ConnectionState.Queued>().toEqualTypeOf<Extract<ConnectionState.ConnectionState, { _tag: "Queued" }>>()
    expectTypeOf<ConnectionState.Connecting>().toEqualTypeOf<
      Extract<ConnectionState.ConnectionState, { _tag: "Connecting" }>
    >()
    expectTypeOf<ConnectionState.Open>().toEqualTypeOf<Extract<ConnectionState.ConnectionState, { _tag: "Open" }>>()
    expectTypeOf<ConnectionState.Reconnecting>().toEqualTypeOf<
      Extract<ConnectionState.ConnectionState, { _tag: "Reconnecting" }>
    >()
    expectTypeOf<ConnectionState.Closed>().toEqualTypeOf<Extract<ConnectionState.ConnectionState, { _tag: "Closed" }>>()
    expectTypeOf<
      | ConnectionState.Idle
      | ConnectionState.Queued
      | ConnectionState.Connecting
      | ConnectionState.Open
      | ConnectionState.Reconnecting
      | ConnectionState.Closed
    >().toEqualTypeOf<ConnectionState.ConnectionState>()
    expectTypeOf<ConnectionState.Queued>().toEqualTypeOf<
      { readonly _tag: "Queued"; readonly attempt: number; readonly url: string }
    >()
  })

  it("every event has a type of its own", () => {
    type Of<Tag extends ConnectionEvent.ConnectionEvent["_tag"]> = Extract<
      ConnectionEvent.ConnectionEvent,
      { _tag: Tag }
    >
    expectTypeOf<ConnectionEvent.Queued>().toEqualTypeOf<Of<"Queued">>()
    expectTypeOf<ConnectionEvent.Connecting>().toEqualTypeOf<Of<"Connecting">>()
    expectTypeOf<ConnectionEvent.Opened>().toEqualTypeOf<Of<"Opened">>()
    expectTypeOf<ConnectionEvent.DialFailed>().toEqualTypeOf<Of<"DialFailed">>()
    expectTypeOf<ConnectionEvent.Disconnected>().toEqualTypeOf<Of<"Disconnected">>()
    expectTypeOf<ConnectionEvent.Reconnecting>().toEqualTypeOf<Of<"Reconnecting">>()
    expectTypeOf<ConnectionEvent.HeartbeatMissed>().toEqualTypeOf<Of<"HeartbeatMissed">>()
    expectTypeOf<ConnectionEvent.SendFailed>().toEqualTypeOf<Of<"SendFailed">>()
    expectTypeOf<ConnectionEvent.HookFailed>().toEqualTypeOf<Of<"HookFailed">>()
    expectTypeOf<ConnectionEvent.RestartRequested>().toEqualTypeOf<Of<"RestartRequested">>()
    expectTypeOf<ConnectionEvent.Closed>().toEqualTypeOf<Of<"Closed">>()
    expectTypeOf<
      | ConnectionEvent.Queued
      | ConnectionEvent.Connecting
      | ConnectionEvent.Opened
      | ConnectionEvent.DialFailed
      | ConnectionEvent.Disconnected
      | ConnectionEvent.Reconnecting
      | ConnectionEvent.HeartbeatMissed
      | ConnectionEvent.SendFailed
      | ConnectionEvent.HookFailed
      | ConnectionEvent.RestartRequested
      | ConnectionEvent.Closed
    >().toEqualTypeOf<ConnectionEvent.ConnectionEvent>()
  })

  it("ping and stats are effects to run; send, restart and close are functions that make one", () => {
    expectTypeOf<Connection.ConnectionShape["ping"]>().toExtend<Effect.Effect<Duration.Duration, unknown>>()
    expectTypeOf<Connection.ConnectionShape["stats"]>().toEqualTypeOf<Effect.Effect<Connection.ConnectionStats>>()
    expectTypeOf<Connection.ConnectionShape["send"]>().toBeFunction()
    expectTypeOf<Connection.ConnectionShape["restart"]>().toBeFunction()
    expectTypeOf<Connection.ConnectionShape["close"]>().toBeFunction()
    expectTypeOf<Connection.ConnectionStats["lastRtt"]>().toEqualTypeOf<number | undefined>()
  })
})
