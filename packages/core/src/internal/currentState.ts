/**
 * How a manager reads a connection's current state without making the
 * connection's state `SubscriptionRef` (it is made on first access of
 * `state`): connections made by `Connection.make` carry their state cell
 * under this symbol.
 */
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { ConnectionState } from "../ConnectionState.ts"

export const CurrentState: unique symbol = Symbol.for("@kharbranth/core/internal/CurrentState")

export interface StateCell {
  value: ConnectionState
}

interface HasStateCell {
  readonly [CurrentState]: StateCell
}

const hasStateCell = (u: object): u is HasStateCell => CurrentState in u

/** The connection's state now. */
export const currentState = (connection: { readonly state: { readonly value: ConnectionState } }): ConnectionState =>
  hasStateCell(connection) ? connection[CurrentState].value : connection.state.value

/** Whether the state's one store is already the `SubscriptionRef`. */
export const isStateRef = (
  cell: StateCell | SubscriptionRef.SubscriptionRef<ConnectionState>
): cell is SubscriptionRef.SubscriptionRef<ConnectionState> => SubscriptionRef.isSubscriptionRef(cell)
