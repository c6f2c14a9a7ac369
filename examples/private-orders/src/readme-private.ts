/**
 * The root README's "Private streams" sample, type-checked with this example (`pnpm typecheck`).
 */
import { Auth, Feed, Okx } from "@kharbranth/exchanges"
import { NodeTransport } from "@kharbranth/node"
import { Config, Effect, Stream } from "effect"
import { FetchHttpClient } from "effect/http"

export const program = Effect.gen(function*() {
  const credentials = Auth.credentials({
    apiKey: yield* Config.Redacted("OKX_API_KEY"),
    secret: yield* Config.Redacted("OKX_SECRET"),
    passphrase: yield* Config.Redacted("OKX_PASSPHRASE")
  })
  const orders = yield* Feed.make("my-orders", Okx.authenticated, { credentials, topics: [Okx.orders("SPOT")] })
  yield* orders.frames.pipe(Stream.runForEach((frame) => Effect.log(frame._tag === "Text" ? frame.data : "")))
}).pipe(Effect.scoped, Effect.provide([NodeTransport.layer(), FetchHttpClient.layer]))
