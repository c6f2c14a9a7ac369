/**
 * Unit tests of the result parser: messages from child processes are
 * checked field by field, and JSON's `null` (NaN on the sending side)
 * comes back as NaN.
 */
import { describe, expect, it } from "vitest"
import { isClientKind, parseClientConfig, parseMessage } from "../src/protocol.ts"

describe("parseMessage", () => {
  it("accepts a flood result", () => {
    const m = parseMessage({ type: "flood-result", messages: 10, elapsedMs: 1000, cpuMicros: 900 })
    expect(m).toEqual({ type: "flood-result", messages: 10, elapsedMs: 1000, cpuMicros: 900 })
  })

  it("accepts a paced result and revives null as NaN", () => {
    const p = { p50: 1, p99: 2, p999: null, max: 4, count: 10 }
    const m = parseMessage({
      type: "paced-result",
      messages: 1,
      elapsedMs: 1,
      cpuMicros: 1,
      added: p,
      addedRead: p,
      endToEnd: p,
      coldEndToEnd: p,
      coldMinorGc: p,
      coldMajorGc: p,
      minorGc: p,
      majorGc: p
    })
    expect(m).not.toBeInstanceOf(Error)
    if (m instanceof Error || m.type !== "paced-result") throw m
    expect(m.added.p999).toBeNaN()
    expect(m.added.p99).toBe(2)
    expect(parseMessage({ type: "paced-result", messages: 1, elapsedMs: 1, cpuMicros: 1, added: p, endToEnd: p }))
      .toBeInstanceOf(Error)
  })

  it("accepts times with gaps", () => {
    const m = parseMessage({ type: "times", at: [1, null, 3] })
    if (m instanceof Error || m.type !== "times") throw new Error("rejected")
    expect(m.at[1]).toBeNaN()
  })

  it("rejects unknown types, missing and mistyped fields", () => {
    expect(parseMessage({ type: "nope" })).toBeInstanceOf(Error)
    expect(parseMessage({ type: "ready", opened: 3 })).toBeInstanceOf(Error)
    expect(parseMessage({ type: "ready", opened: "3", openMs: 1 })).toBeInstanceOf(Error)
    expect(parseMessage({ type: "memory-result", base: { rss: 1 }, after: { rss: 1, heapUsed: 1 }, held: 1 }))
      .toBeInstanceOf(Error)
    expect(parseMessage("ready")).toBeInstanceOf(Error)
    expect(parseMessage(null)).toBeInstanceOf(Error)
  })

  it("names the bad field", () => {
    const error = parseMessage({ type: "listening", port: "x" })
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toContain("port")
  })
})

describe("client config", () => {
  it("parses a config and rejects an unknown client", () => {
    const config = parseClientConfig(JSON.stringify({ kind: "ws", connections: 1, port: 1 }))
    expect(config.kind).toBe("ws")
    expect(() => parseClientConfig(JSON.stringify({ kind: "socket.io", connections: 1, port: 1 }))).toThrow()
    expect(isClientKind("kharbranth-hooks")).toBe(true)
    expect(isClientKind("kharbranth")).toBe(false)
  })
})
