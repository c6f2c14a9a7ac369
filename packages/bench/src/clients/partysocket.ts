/**
 * partysocket's reconnecting WebSocket (`partysocket/ws`) over the `ws`
 * constructor. Reconnection is the library's own (defaults: 3 s minimum
 * delay growing ×1.3) unless the scenario fixes a delay for every client.
 * It has no heartbeat (the browser API it mirrors cannot send pings).
 */
import ReconnectingWebSocket from "partysocket/ws"
import WebSocket from "ws"
import { type Adapter, reconnectingAdapter, reconnectingOptions } from "./Adapter.ts"

/** The partysocket adapter. */
export const adapter: Adapter = reconnectingAdapter((url, config) =>
  new ReconnectingWebSocket(url, undefined, reconnectingOptions(config, WebSocket))
)
