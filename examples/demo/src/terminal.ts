/**
 * The demo's terminal dashboard, as a pure function from what is known now
 * and the terminal's width to the lines of one redraw: a title, a row per
 * connection, a line per injected fault, and on demand a panel with every
 * connection's full last error. No line is wider than the terminal: columns
 * narrow (states abbreviate), then drop by priority (last error first, then
 * rtt, reconnects, gaps), and the rest is cut.
 */

export interface ConnectionLine {
  readonly name: string
  readonly state: string
  readonly rate: number
  /** ms */
  readonly rtt: number | undefined
  readonly reconnects: number
  readonly gaps: number
  readonly lastError: string
}

export interface FaultLine {
  readonly label: string
  readonly venue: string
  /** ms from injection to detection */
  readonly detected: number | undefined
  readonly recovered: number
  readonly targets: number
}

export interface Screen {
  /** Most important first: the title is cut from its end. */
  readonly title: string
  /** A line under the title (the browser dashboard's address). */
  readonly link?: string
  readonly connections: ReadonlyArray<ConnectionLine>
  readonly faults: ReadonlyArray<FaultLine>
}

export interface Layout {
  /** The terminal's width (`process.stdout.columns`). */
  readonly columns: number
  /** Show the panel of full last errors. */
  readonly errors: boolean
  /** Show the key help line (a TTY that reads keys). */
  readonly keys: boolean
}

export const ms = (value: number | undefined) => (value === undefined ? "—" : `${Math.round(value)} ms`)

export const pad = (
  text: string,
  width: number
) => (text.length >= width ? text.slice(0, width) : text + " ".repeat(width - text.length))

export const rtt = (value: number | undefined) =>
  value === undefined ? "—" : `${value < 10 ? value.toFixed(2) : value.toFixed(0)}ms`

/** Cuts to `width`, marking the cut with "…". */
export const fit = (text: string, width: number) =>
  width <= 0 ? "" : text.length <= width ? text : `${text.slice(0, width - 1)}…`

const shortState: Record<string, string> = {
  Reconnecting: "Recon",
  Connecting: "Conn",
  Queued: "Queue",
  Closed: "Closed",
  Open: "Open",
  Idle: "Idle"
}

interface Column {
  readonly header: string
  readonly width: number
  readonly cell: (c: ConnectionLine) => string
}

/** The narrowest a last-error column is worth showing at. */
const minErrorWidth = 16

const table = (connections: ReadonlyArray<ConnectionLine>, columns: number): Array<string> => {
  const nameWidth = Math.min(22, Math.max(10, ...connections.map((c) => c.name.length)) + 2)
  const state: Column = { header: "state", width: 14, cell: (c) => c.state }
  const stateShort: Column = { header: "state", width: 7, cell: (c) => shortState[c.state] ?? c.state }
  const rate: Column = { header: "msgs/s", width: 8, cell: (c) => String(c.rate) }
  const rttColumn: Column = { header: "rtt", width: 8, cell: (c) => rtt(c.rtt) }
  const reconn: Column = { header: "reconn", width: 8, cell: (c) => String(c.reconnects) }
  const gaps: Column = { header: "gaps", width: 6, cell: (c) => String(c.gaps) }
  // Widest first: the state abbreviates, then the last error goes (key e shows it in full), then rtt,
  // reconnects and gaps. The last error, when shown, takes what is left of the line.
  const all = [rate, rttColumn, reconn, gaps]
  const layouts: ReadonlyArray<{ readonly columns: ReadonlyArray<Column>; readonly error: boolean }> = [
    { columns: [state, ...all], error: true },
    { columns: [stateShort, ...all], error: true },
    { columns: [stateShort, ...all], error: false },
    { columns: [stateShort, rate, reconn, gaps], error: false },
    { columns: [stateShort, rate, gaps], error: false },
    { columns: [stateShort, rate], error: false }
  ]
  const width = (layout: ReadonlyArray<Column>) => nameWidth + layout.reduce((sum, c) => sum + c.width, 0)
  const chosen = layouts.find((l) => width(l.columns) + (l.error ? minErrorWidth : 0) <= columns) ??
    layouts[layouts.length - 1]!
  const layout = chosen.columns
  const errorWidth = columns - width(layout)
  const showError = chosen.error
  const line = (name: string, cells: ReadonlyArray<string>, error: string) =>
    `${pad(name, nameWidth)}${cells.map((cell, i) => pad(cell, layout[i]!.width)).join("")}${
      showError ? fit(error, errorWidth) : ""
    }`.trimEnd().slice(0, columns)
  return [
    line("connection", layout.map((c) => c.header), "last error"),
    ...connections.map((c) => line(fit(c.name, nameWidth - 1), layout.map((col) => col.cell(c)), c.lastError))
  ]
}

const faultLine = (f: FaultLine, columns: number) => {
  const tail = ` detected ${pad(ms(f.detected), 9)} recovered ${f.recovered}/${f.targets}`
  const labelWidth = Math.min(46, columns - 2 - tail.length)
  if (labelWidth < 12) return fit(`  ${f.label} → ${f.venue}: ${f.recovered}/${f.targets}`, columns)
  return `  ${pad(fit(`${f.label} → ${f.venue}`, labelWidth), labelWidth)}${tail}`.slice(0, columns)
}

/** Wraps `text` into lines of at most `width`, at spaces where it can. */
export const wrap = (text: string, width: number): Array<string> => {
  const lines: Array<string> = []
  let rest = text
  while (rest.length > width) {
    const space = rest.lastIndexOf(" ", width)
    const cut = space > width / 2 ? space : width
    lines.push(rest.slice(0, cut).trimEnd())
    rest = rest.slice(cut).trimStart()
  }
  if (rest.length > 0 || lines.length === 0) lines.push(rest)
  return lines
}

const errorPanel = (connections: ReadonlyArray<ConnectionLine>, columns: number): Array<string> => {
  const withError = connections.filter((c) => c.lastError !== "")
  const lines = ["last errors:"]
  if (withError.length === 0) lines.push("  none")
  for (const c of withError) {
    lines.push(fit(`  ${c.name}`, columns))
    lines.push(...wrap(c.lastError, Math.max(1, columns - 4)).map((part) => `    ${part}`))
  }
  return lines
}

export const render = (screen: Screen, layout: Layout): Array<string> => {
  const columns = Math.max(20, layout.columns)
  return [
    fit(screen.title, columns),
    ...(screen.link === undefined ? [] : [fit(screen.link, columns)]),
    "",
    ...table(screen.connections, columns),
    "",
    ...screen.faults.map((f) => faultLine(f, columns)),
    ...(layout.errors ? ["", ...errorPanel(screen.connections, columns)] : []),
    ...(layout.keys ? ["", fit(`e: ${layout.errors ? "hide" : "show"} full last errors · Ctrl-C: stop`, columns)] : [])
  ]
}
