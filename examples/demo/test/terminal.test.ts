/**
 * The terminal dashboard's layout at 80, 100 and 127+ columns: no line wider
 * than the terminal, the columns that fit kept by priority, and the panel of
 * full last errors on demand.
 */
import { assert, describe, it } from "@effect/vitest"
import { type ConnectionLine, render, type Screen, wrap } from "../src/terminal.ts"

const longError =
  "IdleTimeout: session 3 received no data for 2000 ms (the venue stopped sending; the connection restarts it)"

const connection = (name: string, over: Partial<ConnectionLine> = {}): ConnectionLine => ({
  name,
  state: "Open",
  rate: 20,
  rtt: 0.42,
  reconnects: 1,
  gaps: 0,
  lastError: "",
  ...over
})

const screen: Screen = {
  title: "Kharbranth demo · simulator · 12.5/30 s · faults 4/9 injected, 3 recovered",
  connections: [
    connection("binance-btc"),
    connection("hyperliquid-btc", { state: "Reconnecting", lastError: longError, rtt: 12.5 }),
    connection("coinbase-btc", { gaps: 1, lastError: "sequence gap: expected 51627105, got 51627108" })
  ],
  faults: [
    { label: "half-open (silence, no pongs)", venue: "bybit", detected: 1324, recovered: 1, targets: 1 },
    { label: "stall (data stops, pongs go on)", venue: "hyperliquid", detected: undefined, recovered: 0, targets: 1 }
  ]
}

const widest = (lines: ReadonlyArray<string>) => Math.max(...lines.map((l) => l.length))
const header = (lines: ReadonlyArray<string>) => lines.find((l) => l.startsWith("connection"))!
const row = (lines: ReadonlyArray<string>, name: string) => lines.find((l) => l.startsWith(name))!

describe("terminal dashboard", () => {
  it("at 127 columns: every column, the state in full, the last error up to the edge", () => {
    const lines = render(screen, { columns: 127, errors: false, keys: false })
    assert.isAtMost(widest(lines), 127)
    assert.match(header(lines), /^connection +state +msgs\/s +rtt +reconn +gaps +last error$/)
    assert.include(row(lines, "hyperliquid-btc"), "Reconnecting")
    assert.include(row(lines, "coinbase-btc"), "sequence gap: expected 51627105, got 51627108")
    assert.include(lines.join("\n"), "half-open (silence, no pongs) → bybit")
  })

  it("at 100 columns: every column, the last error cut with an ellipsis", () => {
    const lines = render(screen, { columns: 100, errors: false, keys: true })
    assert.isAtMost(widest(lines), 100)
    assert.match(header(lines), /rtt +reconn +gaps +last error$/)
    assert.match(row(lines, "hyperliquid-btc"), /IdleTimeout: .*…$/)
  })

  it("at 80 columns: no line over 80; the last error column still shows", () => {
    const lines = render(screen, { columns: 80, errors: false, keys: true })
    assert.isAtMost(widest(lines), 80)
    assert.match(header(lines), /msgs\/s +rtt +reconn +gaps +last error$/)
    assert.match(row(lines, "hyperliquid-btc"), /IdleTimeout/)
    assert.include(lines[lines.length - 1], "e: show full last errors")
  })

  it("narrower: states abbreviate, then columns drop by priority (last error, rtt, reconnects)", () => {
    const lines = render(screen, { columns: 50, errors: false, keys: false })
    assert.isAtMost(widest(lines), 50)
    assert.notMatch(header(lines), /last error/)
    assert.match(header(lines), /^connection +state +msgs\/s/)
    assert.match(row(lines, "hyperliquid-btc"), /Recon /)
  })

  it("the errors panel shows each full last error, wrapped to the width", () => {
    for (const columns of [80, 100, 127]) {
      const lines = render(screen, { columns, errors: true, keys: true })
      assert.isAtMost(widest(lines), columns)
      const panel = lines.slice(lines.indexOf("last errors:"))
      const text = panel.map((l) => l.trim()).join(" ")
      assert.include(text, longError)
      assert.include(text, "sequence gap: expected 51627105, got 51627108")
      assert.include(lines[lines.length - 1], "e: hide full last errors")
    }
  })

  it("wrap breaks at spaces and keeps every character", () => {
    const parts = wrap(longError, 30)
    assert.isTrue(parts.every((p) => p.length <= 30))
    assert.strictEqual(parts.join(" "), longError)
  })
})
