/**
 * reconnecting-websocket (4.4) over the `ws` constructor. Reconnection is
 * the library's own (defaults: a minimum delay of 1–5 s, drawn once when
 * the module loads, growing ×1.3) unless the scenario fixes a delay for
 * every client. It has no heartbeat.
 */
import * as RwsModule from "reconnecting-websocket"
import WebSocket from "ws"
import { type Adapter, reconnectingAdapter, reconnectingOptions } from "./Adapter.ts"

// The package's types declare an ES default export, but its CommonJS build
// sets `module.exports` to the class itself: take whichever is the class.
type RwsClass = typeof RwsModule.default.default
const loaded: unknown = RwsModule.default
const ReconnectingWebSocket = ((loaded as { readonly default?: RwsClass }).default ?? loaded) as RwsClass

/** The reconnecting-websocket adapter. */
export const adapter: Adapter = reconnectingAdapter((url, config) =>
  new ReconnectingWebSocket(url, undefined, reconnectingOptions(config, WebSocket))
)
