/**
 * The demo's terminal dashboard, as a pure function from what is known now
 * to the lines of one redraw: a title, a row per connection, a line per
 * injected fault.
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
  readonly title: string
  readonly connections: ReadonlyArray<ConnectionLine>
  readonly faults: ReadonlyArray<FaultLine>
}

export const ms = (value: number | undefined) => (value === undefined ? "—" : `${Math.round(value)} ms`)

export const pad = (
  text: string,
  width: number
) => (text.length >= width ? text.slice(0, width) : text + " ".repeat(width - text.length))

export const rtt = (value: number | undefined) =>
  value === undefined ? "—" : `${value < 10 ? value.toFixed(2) : value.toFixed(0)}ms`

export const render = (screen: Screen): Array<string> => [
  screen.title,
  "",
  `${pad("connection", 22)}${pad("state", 14)}${pad("msgs/s", 8)}${pad("rtt", 8)}${pad("reconn", 8)}${
    pad("gaps", 6)
  }last error`,
  ...screen.connections.map((c) =>
    `${pad(c.name, 22)}${pad(c.state, 14)}${pad(String(c.rate), 8)}${pad(rtt(c.rtt), 8)}${
      pad(String(c.reconnects), 8)
    }${pad(String(c.gaps), 6)}${c.lastError.slice(0, 60)}`
  ),
  "",
  ...screen.faults.map((f) =>
    `  ${pad(`${f.label} → ${f.venue}`, 46)} detected ${pad(ms(f.detected), 9)} recovered ${f.recovered}/${f.targets}`
  )
]
