// A small SVG bar chart of the runtime comparison: one panel per measure, one bar per runtime.

export interface Panel {
  title: string
  unit: string
  values: Record<string, number>
}

const COLORS = ['#0b5cad', '#c2410c', '#15803d', '#7c3aed']

export function barChart(panels: Panel[]): string {
  const width = 720
  const barHeight = 18
  const names = Object.keys(panels[0]?.values ?? {})
  const panelHeight = 34 + names.length * (barHeight + 6)
  const label = 90
  const plot = width - label - 120
  const parts: string[] = []
  panels.forEach((panel, p) => {
    const top = p * panelHeight
    const max = Math.max(...Object.values(panel.values), 1)
    parts.push(`<text x="0" y="${top + 20}" font-weight="bold">${escapeXml(panel.title)}</text>`)
    names.forEach((name, i) => {
      const v = panel.values[name] ?? 0
      const y = top + 30 + i * (barHeight + 6)
      const w = Math.max(1, (v / max) * plot)
      parts.push(`<text x="0" y="${y + 13}">${escapeXml(name)}</text>`)
      parts.push(
        `<rect x="${label}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${COLORS[i % COLORS.length]}"/>`,
      )
      parts.push(
        `<text x="${(label + w + 6).toFixed(1)}" y="${y + 13}">${v.toLocaleString('en-US')} ${escapeXml(panel.unit)}</text>`,
      )
    })
  })
  const height = panels.length * panelHeight
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="system-ui, sans-serif" font-size="12" fill="#1b1f24">\n<rect width="100%" height="100%" fill="#fff"/>\n` +
    parts.join('\n') +
    '\n</svg>\n'
  )
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

interface RuntimeFigures {
  cold_start_ms: number
  ingest_1000: { records_per_s: number }
  single_record: { req_per_s: number }
  cpu_bound: { records_per_s: number }
}

/** The chart of bench/results/runtimes.json's `runtimes`. */
export function runtimesChart(runtimes: Record<string, RuntimeFigures>): string {
  const per = (f: (r: RuntimeFigures) => number) =>
    Object.fromEntries(Object.entries(runtimes).map(([n, r]) => [n, f(r)]))
  return barChart([
    {
      title: 'Ingest, 1,000-record batches',
      unit: 'records/s',
      values: per((r) => r.ingest_1000.records_per_s),
    },
    { title: 'Single-record requests', unit: 'req/s', values: per((r) => r.single_record.req_per_s) },
    {
      title: 'CPU-bound requests (500 records x 32 metrics)',
      unit: 'records/s',
      values: per((r) => r.cpu_bound.records_per_s),
    },
    { title: 'Cold start to first 2xx (lower is better)', unit: 'ms', values: per((r) => r.cold_start_ms) },
  ])
}
