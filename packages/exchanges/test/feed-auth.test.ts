/**
 * A private feed's timing rules on MemoryTransport and TestClock: a login
 * the venue refuses for its own trouble restarts the session only after a
 * backoff (1 s, then 2 s: doubling per refusal in a row), not at once, and
 * the topics go out only once a login is accepted; a login with no answer
 * counts as such a refusal after `confirmTimeout`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Auth from "../src/Auth.ts"
import * as Feed from "../src/Feed.ts"
import { advance, base, collect, layer, reply, settle, toy } from "./utils/toy.ts"

/** A toy venue whose login (`{"login":n}`) is answered by `answer(n)`: `ok`, `busy`, or nothing. */
const venue = (answer: (n: number) => "ok" | "busy" | undefined) => {
  const logins: Array<number> = []
  const profile = {
    ...toy(),
    auth: {
      needs: ["secret"],
      login: () => Effect.succeed({ messages: [JSON.stringify({ login: logins.length + 1 })] }),
      answer: (text: string) =>
        text === '{"login":"ok"}'
          ? Auth.accepted
          : text === '{"login":"busy"}'
          ? Auth.refused("transient", "busy", "try again later")
          : undefined
    }
  } as const
  const serverReply = (message: string): string | undefined => {
    const msg = JSON.parse(message)
    if (msg.login === undefined) return reply(message)
    logins.push(msg.login)
    const said = answer(msg.login)
    return said === undefined ? undefined : JSON.stringify({ login: said })
  }
  return { profile, logins, layer: layer({ reply: serverReply }) }
}

const credentials = Auth.credentials({ apiKey: "key", secret: "secret" })

describe("private feed timing", () => {
  it.effect("a transient refusal restarts the session after 1 s, then 2 s; the topic goes out once a login is accepted", () => {
    const toyVenue = venue((n) => (n < 3 ? "busy" : "ok"))
    return Effect.gen(function*() {
      const feed = yield* Feed.make("toy-private", toyVenue.profile, { ...base, credentials, topics: ["s"] })
      const events = yield* collect(feed.events)
      yield* settle
      assert.deepStrictEqual(toyVenue.logins, [1])
      yield* advance(999)
      assert.deepStrictEqual(toyVenue.logins, [1], "no second login before the backoff")
      yield* advance(1)
      assert.deepStrictEqual(toyVenue.logins, [1, 2])
      yield* advance(1999)
      assert.deepStrictEqual(toyVenue.logins, [1, 2], "the second backoff is 2 s")
      yield* advance(1)
      assert.deepStrictEqual(toyVenue.logins, [1, 2, 3])
      const tags = events.map((e) => e._tag)
      assert.deepStrictEqual(
        events.flatMap((e) => (e._tag === "AuthRefused" ? [[e.code, e.kind, e.action]] : [])),
        [["busy", "transient", "restart"], ["busy", "transient", "restart"]]
      )
      // The topic went out on the third session (a replay, as every session after the first), after its login.
      const replayed = events.find((e) => e._tag === "Replayed")
      assert.strictEqual(replayed?._tag === "Replayed" ? [replayed.session, replayed.confirmed].join() : "", "3,1")
      assert.isBelow(tags.indexOf("Authenticated"), tags.indexOf("Replayed"))
      assert.strictEqual(tags.filter((t) => t === "Authenticated").length, 1)
    }).pipe(Effect.provide(toyVenue.layer))
  })

  it.effect("a login with no answer within confirmTimeout is refused as the venue's trouble", () => {
    const toyVenue = venue((n) => (n === 1 ? undefined : "ok"))
    return Effect.gen(function*() {
      const feed = yield* Feed.make("toy-private", toyVenue.profile, {
        ...base,
        credentials,
        topics: ["s"],
        confirmTimeout: "2 seconds"
      })
      const events = yield* collect(feed.events)
      yield* advance(1999)
      assert.notInclude(events.map((e) => e._tag), "AuthRefused")
      yield* advance(1)
      const refused = events.find((e) => e._tag === "AuthRefused")
      assert.deepStrictEqual(
        refused?._tag === "AuthRefused" ? [refused.code, refused.kind, refused.action] : [],
        ["timeout", "transient", "restart"]
      )
      yield* advance(1000)
      assert.deepStrictEqual(toyVenue.logins, [1, 2])
      assert.include(events.map((e) => e._tag), "Replayed")
    }).pipe(Effect.provide(toyVenue.layer))
  })
})
