/**
 * The terminal dashboard on a TTY: redraws the latest screen at the
 * terminal's width, again at once when the terminal is resized, and reads
 * keys when stdin is a terminal too: `e` shows or hides every connection's
 * full last error; Ctrl-C (which a terminal in raw mode delivers as a key,
 * not a signal) interrupts as SIGINT would.
 */
import { render, type Screen } from "./terminal.ts"

export interface Tty {
  readonly draw: (screen: Screen) => void
  /** Stops reading keys and listening for resizes; the terminal is left as it was. */
  readonly close: () => void
}

export const make = (options: { readonly errors: boolean; readonly onInterrupt: () => void }): Tty => {
  let errors = options.errors
  let last: Screen | undefined
  const stdin = process.stdin
  const keys = stdin.isTTY === true && typeof stdin.setRawMode === "function"
  const redraw = () => {
    if (last === undefined) return
    const lines = render(last, { columns: process.stdout.columns ?? 80, errors, keys })
    process.stdout.write(`\x1b[H\x1b[2J${lines.join("\n")}\n`)
  }
  const onKey = (data: Buffer) => {
    const key = data.toString()
    if (key === "\x03") options.onInterrupt()
    else if (key === "e" || key === "E") {
      errors = !errors
      redraw()
    }
  }
  process.stdout.on("resize", redraw)
  if (keys) {
    stdin.setRawMode(true)
    stdin.on("data", onKey)
    stdin.resume()
  }
  return {
    draw: (screen) => {
      last = screen
      redraw()
    },
    close: () => {
      process.stdout.off("resize", redraw)
      if (keys) {
        stdin.off("data", onKey)
        stdin.setRawMode(false)
        stdin.pause()
      }
    }
  }
}
