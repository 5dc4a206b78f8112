// One device: live charts of each metric (GET /v1/devices/:id/series/:metric) with anomaly
// markers coloured by kind, its status events, its apps with fuel per tick and memory pages (its
// last heartbeat), and a link that opens the same time range in the replay tool.
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { kindColour } from '../../src/ui/kinds.js'
import type { Api } from './api.js'
import { kindChip } from './feed.js'
import { statusChip } from './fleet.js'
import { ago, fmtInt, h, labelText, num, time } from './format.js'
import type { Live } from './live.js'
import { TOKEN_KEY } from './session.js'
import type { Anomaly, AppReport, Device, DeviceEvent, Series } from './types.js'

const POINTS = 600
const MAX_METRICS = 16
const REFRESH_MS = 5000
/** How far back the export is read to find the device's metric names. */
const DISCOVER_SPAN_MS = 10 * 60 * 1000
const DISCOVER_LINES = 2000

/** The names of the metrics in a record: finite numbers at its top level or under `metrics`. */
export function metricsOf(record: Record<string, unknown>, into: Set<string>): void {
  for (const [k, v] of Object.entries(record))
    if (typeof v === 'number' && Number.isFinite(v) && k !== 'score') into.add(k)
  const m = record.metrics
  if (m && typeof m === 'object')
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && Number.isFinite(v)) into.add(k)
}

/** The device's metrics: from its recent records (the export, read only so far) and its anomalies. */
async function discoverMetrics(api: Api, device: Device, signal: AbortSignal): Promise<string[]> {
  const names = new Set<string>()
  const last = device.lastTs ? Date.parse(device.lastTs) : Date.now()
  const res = await api.raw(
    `/v1/export?deviceId=${encodeURIComponent(device.deviceId)}&since=${last - DISCOVER_SPAN_MS}`,
    { signal },
  )
  if (res.ok && res.body) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    let buf = ''
    let lines = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      buf += value
      let nl = buf.indexOf('\n')
      while (nl >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        nl = buf.indexOf('\n')
        lines++
        try {
          const r = JSON.parse(line) as Record<string, unknown>
          if (!('export' in r) && !('error' in r)) metricsOf(r, names)
        } catch {}
      }
      if (lines >= DISCOVER_LINES) {
        await reader.cancel()
        break
      }
    }
  }
  const anomalies = await api.get<{ items: Anomaly[] }>('/v1/anomalies', {
    deviceId: device.deviceId,
    limit: 100,
  })
  // Metrics with recent anomalies first, then by name.
  const flagged = [...new Set(anomalies.items.map((a) => a.metric).filter((m): m is string => Boolean(m)))]
  const rest = [...names].filter((n) => !flagged.includes(n)).sort()
  return [...flagged, ...rest].slice(0, MAX_METRICS)
}

interface Chart {
  plot: uPlot
  markers: { ts: number; value: number; kind: string }[]
  figure: HTMLElement
}

function chart(metric: string, width: number): Chart {
  const figure = h(
    'figure',
    { class: 'chart', 'data-metric': metric, 'aria-label': `${metric}: recent values with anomalies marked` },
    h('figcaption', {}, metric),
  )
  const c: Chart = { plot: undefined as unknown as uPlot, markers: [], figure }
  const markers: uPlot.Plugin = {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx
        ctx.save()
        for (const m of c.markers) {
          ctx.fillStyle = kindColour(m.kind)
          ctx.beginPath()
          ctx.arc(
            u.valToPos(m.ts / 1000, 'x', true),
            u.valToPos(m.value, 'y', true),
            4 * devicePixelRatio,
            0,
            Math.PI * 2,
          )
          ctx.fill()
        }
        ctx.restore()
      },
    },
  }
  c.plot = new uPlot(
    {
      width,
      height: 150,
      scales: { x: { time: true } },
      series: [{}, { label: metric, stroke: '#1f4e8c', width: 1 }],
      axes: [
        { stroke: '#333' },
        // Wide enough for its longest tick label (7 px a character at this size).
        {
          stroke: '#333',
          size: (_u, values) => 24 + 7 * Math.max(3, ...(values ?? []).map((v) => String(v).length)),
        },
      ],
      legend: { show: false },
      cursor: { sync: { key: 'edgewatch-console' } },
      plugins: [markers],
    },
    [[], []],
    figure,
  )
  return c
}

function setSeries(c: Chart, s: Series) {
  const xs = s.values.map((v) => Date.parse(v.ts) / 1000)
  c.markers = s.values
    .filter((v) => v.anomalies.length > 0)
    .map((v) => ({ ts: Date.parse(v.ts), value: v.value, kind: v.anomalies[0]! }))
  c.figure.dataset.points = String(xs.length)
  c.figure.dataset.anomalies = String(c.markers.length)
  c.plot.setData([xs, s.values.map((v) => v.value)])
}

const appsTable = (apps: AppReport[]) =>
  apps.length === 0
    ? h('p', { class: 'hint' }, 'No apps reported in its last heartbeat.')
    : h(
        'table',
        { id: 'device-apps' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...[
              'App',
              'State',
              'Ticks',
              'Fuel per tick',
              'Fuel max',
              'Memory pages',
              'Restarts',
              'Errors',
              'Reason',
            ].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          ...apps.map((a) =>
            h(
              'tr',
              { 'data-app': a.name, 'data-state': a.state },
              h('td', {}, `${a.name}@${a.version}`),
              h('td', {}, h('span', { class: `app app-${a.state}` }, a.state)),
              h('td', { class: 'num' }, num(a.ticks)),
              h('td', { class: 'num' }, num(a.fuelPerTick)),
              h('td', { class: 'num' }, num(a.fuelMax)),
              h('td', { class: 'num' }, num(a.memoryPages)),
              h('td', { class: 'num' }, num(a.restarts)),
              h('td', { class: 'num' }, num(a.errors)),
              h('td', {}, a.reason ?? ''),
            ),
          ),
        ),
      )

const eventsTable = (events: DeviceEvent[]) =>
  events.length === 0
    ? h('p', { class: 'hint' }, 'No events yet.')
    : h(
        'table',
        { id: 'device-events' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Time'),
            h('th', { scope: 'col' }, 'Event'),
            h('th', { scope: 'col' }, 'Detail'),
          ),
        ),
        h(
          'tbody',
          {},
          ...events.map((e) =>
            h(
              'tr',
              { 'data-kind': e.kind },
              h('td', {}, time(e.ts)),
              h('td', {}, e.kind),
              h('td', {}, e.detail ?? ''),
            ),
          ),
        ),
      )

/** The replay tool's URL for this device and time range: it fills its "From a server" form. */
export function replayUrl(origin: string, deviceId: string, since: number, until: number): string {
  const q = new URLSearchParams({
    server: origin,
    deviceId,
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
  })
  return `/app/?${q}`
}

export function deviceView(root: HTMLElement, api: Api, live: Live, id: string): () => void {
  const abort = new AbortController()
  const charts = new Map<string, Chart>()
  let metrics: string[] = []
  let device: Device | undefined
  let range: { from: number; to: number } | undefined

  const head = h('div', { class: 'device-head' })
  const chartList = h(
    'div',
    { class: 'chart-list', id: 'device-charts' },
    h('p', { class: 'hint' }, 'Loading charts…'),
  )
  const legend = h('p', { class: 'legend', id: 'chart-legend' })
  const apps = h('div', {})
  const events = h('div', {})
  const anomalies = h('div', {})
  const replay = h(
    'a',
    { id: 'open-replay', class: 'button', href: '/app/' },
    'Open this range in the replay tool',
  )
  replay.addEventListener('click', () => {
    // The replay tool reads the token from this tab's session (same origin) to pull the export.
    sessionStorage.setItem(TOKEN_KEY, api.token)
  })
  root.replaceChildren(
    h('p', {}, h('a', { href: '#/fleet' }, '← Fleet')),
    head,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'charts-title' },
      h('h3', { id: 'charts-title' }, 'Metrics'),
      legend,
      replay,
      chartList,
    ),
    h(
      'div',
      { class: 'two' },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'apps-title' },
        h('h3', { id: 'apps-title' }, 'Apps'),
        apps,
      ),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'events-title' },
        h('h3', { id: 'events-title' }, 'Status events'),
        events,
      ),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'anoms-title' },
      h('h3', { id: 'anoms-title' }, 'Recent anomalies'),
      anomalies,
    ),
  )

  const drawHead = (d: Device) => {
    head.replaceChildren(
      h('h2', { class: 'view-title' }, d.name ?? d.deviceId, ' ', statusChip(d.status)),
      h(
        'dl',
        { class: 'facts' },
        ...(
          [
            ['Id', d.deviceId],
            ['Labels', labelText(d.labels) || '–'],
            [
              'Last heartbeat',
              d.lastHeartbeat ? `${ago(d.lastHeartbeat)} (${time(d.lastHeartbeat)})` : 'never',
            ],
            ['Agent', d.agentVersion ?? '–'],
            ['Last record', time(d.lastTs)],
            ['Records', fmtInt(d.recordCount)],
            ['Anomalies', fmtInt(d.anomalyCount)],
            ...(d.lastHour
              ? ([
                  [
                    'Last hour',
                    `${fmtInt(d.lastHour.records)} records, ${fmtInt(d.lastHour.anomalies)} anomalies`,
                  ],
                ] as const)
              : []),
          ] as const
        ).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      ),
    )
  }

  /** A chart's width: its column of the grid (26rem or more each). */
  const width = () => {
    const gridWidth = chartList.clientWidth
    const columns = Math.max(1, Math.floor((gridWidth + 16) / (26 * 15 + 16)))
    return Math.max(300, Math.floor((gridWidth - (columns - 1) * 16) / columns) - 4)
  }

  const loadCharts = async () => {
    if (!device) return
    const series = await Promise.all(
      metrics.map((m) =>
        api.get<Series>(
          `/v1/devices/${encodeURIComponent(id)}/series/${encodeURIComponent(m)}`,
          { limit: POINTS },
          abort.signal,
        ),
      ),
    )
    if (abort.signal.aborted) return
    const kinds = new Set<string>()
    let from = Number.POSITIVE_INFINITY
    let to = Number.NEGATIVE_INFINITY
    for (const s of series) {
      let c = charts.get(s.metric)
      if (!c) {
        c = chart(s.metric, width())
        charts.set(s.metric, c)
      }
      setSeries(c, s)
      for (const v of s.values) for (const k of v.anomalies) kinds.add(k)
      if (s.values.length) {
        from = Math.min(from, Date.parse(s.values[0]!.ts))
        to = Math.max(to, Date.parse(s.values.at(-1)!.ts))
      }
    }
    // In the order of `metrics` (a metric that just had an anomaly comes first).
    chartList.replaceChildren(...metrics.flatMap((m) => (charts.get(m) ? [charts.get(m)!.figure] : [])))
    if (metrics.length === 0)
      chartList.replaceChildren(h('p', { class: 'hint' }, 'No metrics in its recent records.'))
    legend.replaceChildren(...(kinds.size ? ['Markers: ', ...[...kinds].sort().map((k) => kindChip(k))] : []))
    if (Number.isFinite(from)) {
      range = { from, to: to + 1 }
      replay.setAttribute('href', replayUrl(location.origin, id, range.from, range.to))
    }
  }

  const loadDevice = async () => {
    device = await api.get<Device>(`/v1/devices/${encodeURIComponent(id)}`, undefined, abort.signal)
    drawHead(device)
    apps.replaceChildren(appsTable(device.heartbeat?.apps ?? []))
  }
  const loadEvents = async () => {
    const page = await api.get<{ items: DeviceEvent[] }>(
      `/v1/devices/${encodeURIComponent(id)}/events`,
      { limit: 50 },
      abort.signal,
    )
    events.replaceChildren(eventsTable(page.items))
  }
  const loadAnomalies = async () => {
    const page = await api.get<{ items: Anomaly[] }>(
      '/v1/anomalies',
      { deviceId: id, limit: 20 },
      abort.signal,
    )
    anomalies.replaceChildren(
      page.items.length === 0
        ? h('p', { class: 'hint' }, 'None.')
        : h(
            'ul',
            { class: 'plain' },
            ...page.items.map((a) =>
              h(
                'li',
                {},
                kindChip(a.kind),
                ` ${time(a.ts)}`,
                a.metric ? ` · ${a.metric} = ${num(a.value)}` : '',
                ` · score ${a.score.toFixed(2)}`,
                a.detail ? ` · ${a.detail}` : '',
              ),
            ),
          ),
    )
  }

  const fail = (e: unknown) => {
    if (abort.signal.aborted) return
    head.replaceChildren(
      h('p', { class: 'error', role: 'alert' }, `Could not load ${id}: ${(e as Error).message}`),
    )
  }
  let busy = false
  const refresh = async (all: boolean) => {
    if (busy) return
    busy = true
    try {
      await loadDevice()
      if (all) await Promise.all([loadCharts(), loadEvents(), loadAnomalies()])
    } catch (e) {
      fail(e)
    } finally {
      busy = false
    }
  }

  void (async () => {
    try {
      await loadDevice()
      await loadEvents()
      metrics = await discoverMetrics(api, device!, abort.signal)
      await Promise.all([loadCharts(), loadAnomalies()])
    } catch (e) {
      fail(e)
    }
  })()

  const timer = setInterval(() => void refresh(true), REFRESH_MS)
  let soon: ReturnType<typeof setTimeout> | undefined
  const off = live.onEvent((e) => {
    if (e.data.deviceId !== id) return
    // Every anomaly's metric counts, not only the first event's of the half second: a records
    // event arriving first would otherwise leave a new metric out of the charts for good.
    if (e.type === 'anomaly' && e.data.metric && !metrics.includes(e.data.metric))
      metrics = [e.data.metric, ...metrics]
    soon ??= setTimeout(() => {
      soon = undefined
      void refresh(true)
    }, 500)
  })
  const onResize = () => {
    for (const c of charts.values()) c.plot.setSize({ width: width(), height: 150 })
  }
  addEventListener('resize', onResize)
  return () => {
    abort.abort()
    clearInterval(timer)
    if (soon) clearTimeout(soon)
    off()
    removeEventListener('resize', onResize)
    for (const c of charts.values()) c.plot.destroy()
  }
}
