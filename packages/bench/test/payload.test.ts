/**
 * Unit tests of the payloads: trade messages are deterministic, valid JSON
 * of 150–300 bytes; frames carry them intact; paced messages round-trip
 * their send stamp; the monotonic clock moves forward.
 */
import { describe, expect, it } from "vitest"
import {
  frameChunk,
  frameHeader,
  frameText,
  MAX_BYTES,
  MIN_BYTES,
  monoMicros,
  pacedMessage,
  readSendStamp,
  tradeMessages
} from "../src/payload.ts"

/** Decodes unmasked server-to-client text frames. */
const decodeFrames = (bytes: Buffer): Array<string> => {
  const out: Array<string> = []
  let at = 0
  while (at < bytes.length) {
    expect(bytes[at]).toBe(0x81)
    let length = bytes[at + 1]!
    let header = 2
    if (length === 126) {
      length = bytes.readUInt16BE(at + 2)
      header = 4
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at + 2))
      header = 10
    }
    out.push(bytes.subarray(at + header, at + header + length).toString("utf8"))
    at += header + length
  }
  return out
}

describe("tradeMessages", () => {
  it("makes valid JSON trades of 150–300 bytes", () => {
    const messages = tradeMessages(500)
    for (const m of messages) {
      expect(Buffer.byteLength(m)).toBeGreaterThanOrEqual(MIN_BYTES)
      expect(Buffer.byteLength(m)).toBeLessThanOrEqual(MAX_BYTES)
      const parsed = JSON.parse(m) as Record<string, unknown>
      expect(parsed.e).toBe("trade")
      expect(typeof parsed.p).toBe("string")
    }
  })

  it("spreads sizes over the range", () => {
    const sizes = tradeMessages(1000).map((m) => m.length)
    expect(Math.min(...sizes)).toBeLessThan(170)
    expect(Math.max(...sizes)).toBeGreaterThan(280)
  })

  it("is deterministic for a seed and differs between seeds", () => {
    expect(tradeMessages(50, 7)).toEqual(tradeMessages(50, 7))
    expect(tradeMessages(50, 7)).not.toEqual(tradeMessages(50, 8))
  })
})

describe("framing", () => {
  it("uses the 7-bit, 16-bit and 64-bit length forms", () => {
    expect([...frameHeader(125)]).toEqual([0x81, 125])
    expect([...frameHeader(200)]).toEqual([0x81, 126, 0, 200])
    expect(frameHeader(70_000).length).toBe(10)
  })

  it("frames every message intact, back to back", () => {
    const messages = tradeMessages(100)
    expect(decodeFrames(frameChunk(messages))).toEqual(messages)
    expect(decodeFrames(frameText(messages[0]!))).toEqual([messages[0]])
  })
})

describe("paced messages", () => {
  it("carry the send stamp in E and stay valid JSON", () => {
    const [template] = tradeMessages(1)
    const message = pacedMessage(template!, 123456789012.4)
    expect(readSendStamp(message)).toBe(123456789012)
    const parsed = JSON.parse(message) as Record<string, unknown>
    expect(parsed.E).toBe(123456789012)
    expect(parsed.s).toBe((JSON.parse(template!) as Record<string, unknown>).s)
  })

  it("reads NaN from a message without a stamp", () => {
    expect(readSendStamp('{"e":"depth"}')).toBeNaN()
  })
})

describe("monoMicros", () => {
  it("moves forward in microseconds, on the process.hrtime base", () => {
    const a = monoMicros()
    const hr = Number(process.hrtime.bigint() / 1000n)
    const b = monoMicros()
    expect(b).toBeGreaterThanOrEqual(a)
    expect(Math.abs(hr - a)).toBeLessThan(5_000)
  })
})
