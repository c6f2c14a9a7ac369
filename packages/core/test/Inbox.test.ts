import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Frame from "../src/Frame.ts"
import * as Inbox from "../src/Inbox.ts"

const options = { highWaterMark: 16, onPause: () => {}, onResume: () => {}, clock: () => 0 }

describe("Inbox", () => {
  it.effect("a read's frames come as one batch; after the end, take fails with its error", () =>
    Effect.gen(function*() {
      const inbox = Inbox.make<string>(options)
      inbox.push(Frame.text("a", 1, 0))
      inbox.push(Frame.text("b", 1, 0))
      inbox.end("closed")
      const batch = yield* inbox.take
      assert.deepStrictEqual(batch.map((frame) => frame._tag === "Text" ? frame.data : ""), ["a", "b"])
      const exit = yield* Effect.exit(inbox.take)
      assert.deepStrictEqual(exit, Exit.fail("closed"))
    }))

  it.effect("endWith makes its error only when a reader asks for it, and once", () =>
    Effect.gen(function*() {
      let made = 0
      const make = () => {
        made++
        return `closed (${made})`
      }
      const unread = Inbox.make<string>(options)
      unread.push(Frame.text("a", 1, 0))
      unread.endWith(make)
      yield* unread.take
      assert.strictEqual(made, 0, "the frames are read; the end's error is not asked for")

      const read = Inbox.make<string>(options)
      read.endWith(make)
      read.end("ignored: the inbox has ended")
      assert.deepStrictEqual(yield* Effect.exit(read.take), Exit.fail("closed (1)"))
      assert.deepStrictEqual(yield* Effect.exit(read.take), Exit.fail("closed (1)"))
      assert.strictEqual(made, 1)
    }))
})
