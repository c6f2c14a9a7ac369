/**
 * How a manager reads a connection's current state without making the
 * connection's state `SubscriptionRef` (it is made on first access of
 * `state`): connections made by `Connection.make` answer it by the method
 * under this symbol.
 */
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { ConnectionState } from "../ConnectionState.ts"

export const CurrentState: unique symbol = Symbol.for("@kharbranth/core/internal/CurrentState")

/** A connection that tells its state now without making its `SubscriptionRef`. */
export interface HasCurrentState {
  [CurrentState](): ConnectionState
}

const hasCurrentState = (u: object): u is HasCurrentState => CurrentState in u

/** The connection's state now. */
export const currentState = (connection: { readonly state: { readonly value: ConnectionState } }): ConnectionState =>
  hasCurrentState(connection) ? connection[CurrentState]() : connection.state.value

/** Whether the state's one store is already the `SubscriptionRef`. */
export const isStateRef = (
  store: ConnectionState | SubscriptionRef.SubscriptionRef<ConnectionState>
): store is SubscriptionRef.SubscriptionRef<ConnectionState> => SubscriptionRef.isSubscriptionRef(store)
