/**
 * Grouped bar charts as standalone SVG files, readable at a glance in a
 * Markdown viewer: one group per case (connection count, percentile), one
 * coloured bar per client, the value printed above each bar, and an
 * optional dashed reference line (a target).
 */

/** One series: a client and its value per group (NaN draws no bar). */
export interface Series {
  readonly name: string
  readonly values: ReadonlyArray<number>
}

/** A chart. */
export interface BarChart {
  readonly title: string
  readonly subtitle?: string | undefined
  readonly groups: ReadonlyArray<string>
  readonly series: ReadonlyArray<Series>
  readonly unit: string
  readonly format: (value: number) => string
  readonly reference?: { readonly value: number; readonly label: string } | undefined
}

const COLORS = ["#6b7280", "#2563eb", "#0891b2", "#d97706", "#9333ea", "#16a34a"]

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** Renders a grouped bar chart to SVG text. */
export const barChart = (chart: BarChart): string => {
  const width = 760
  const height = 380
  const left = 70
  const right = 20
  const top = 62
  const bottom = 70
  const plotW = width - left - right
  const plotH = height - top - bottom
  const all = chart.series.flatMap((s) => s.values).filter(Number.isFinite)
  const maxValue = Math.max(chart.reference?.value ?? 0, ...all, 0) * 1.12 || 1
  const y = (v: number) => top + plotH - (v / maxValue) * plotH
  const groupW = plotW / Math.max(1, chart.groups.length)
  const barW = Math.min(38, (groupW * 0.8) / Math.max(1, chart.series.length))
  const parts: Array<string> = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">`
  )
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  parts.push(`<text x="${left}" y="24" font-size="16" font-weight="600">${escape(chart.title)}</text>`)
  if (chart.subtitle !== undefined) {
    parts.push(`<text x="${left}" y="44" font-size="12" fill="#555">${escape(chart.subtitle)}</text>`)
  }
  for (let i = 0; i <= 4; i++) {
    const v = (maxValue / 4) * i
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/>`)
    parts.push(
      `<text x="${left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end" fill="#555">${
        escape(chart.format(v))
      }</text>`
    )
  }
  parts.push(
    `<text x="14" y="${top + plotH / 2}" font-size="11" fill="#555" transform="rotate(-90 14 ${
      top + plotH / 2
    })" text-anchor="middle">${escape(chart.unit)}</text>`
  )
  chart.groups.forEach((group, g) => {
    const x0 = left + g * groupW + (groupW - barW * chart.series.length) / 2
    chart.series.forEach((s, k) => {
      const v = s.values[g]
      if (v === undefined || !Number.isFinite(v)) return
      const x = x0 + k * barW
      parts.push(
        `<rect x="${x + 1}" y="${y(v)}" width="${barW - 2}" height="${top + plotH - y(v)}" fill="${
          COLORS[k % COLORS.length]
        }"/>`
      )
      parts.push(
        `<text x="${x + barW / 2}" y="${y(v) - 4}" font-size="9" text-anchor="middle" fill="#333">${
          escape(chart.format(v))
        }</text>`
      )
    })
    parts.push(
      `<text x="${left + g * groupW + groupW / 2}" y="${top + plotH + 18}" font-size="12" text-anchor="middle">${
        escape(group)
      }</text>`
    )
  })
  if (chart.reference !== undefined) {
    const ry = y(chart.reference.value)
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${ry}" y2="${ry}" stroke="#dc2626" stroke-dasharray="6 4"/>`
    )
    parts.push(
      `<text x="${width - right}" y="${ry - 4}" font-size="11" text-anchor="end" fill="#dc2626">${
        escape(chart.reference.label)
      }</text>`
    )
  }
  let lx = left
  chart.series.forEach((s, k) => {
    parts.push(`<rect x="${lx}" y="${height - 28}" width="12" height="12" fill="${COLORS[k % COLORS.length]}"/>`)
    parts.push(`<text x="${lx + 16}" y="${height - 18}" font-size="12">${escape(s.name)}</text>`)
    lx += 22 + s.name.length * 7
  })
  parts.push(`</svg>`)
  return parts.join("\n") + "\n"
}
