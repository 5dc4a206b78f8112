// The fleet view: every device (all pages of GET /v1/devices) with its status, name, labels, last
// heartbeat, apps, records and anomalies; filter and sort; a virtualised list (only the rows in
// view are in the page, so thousands of devices stay smooth). Refreshed every few seconds and
// when a live event says something changed; an empty state says how to send a first record.
import { elementScroll, observeElementOffset, observeElementRect, Virtualizer } from '@tanstack/virtual-core'
import type { Api } from './api.js'
import { ago, fmtInt, h, labelText } from './format.js'
import type { Live } from './live.js'
import { type Activity, type Device, STATUSES, type Status } from './types.js'

const ROW = 46
const REFRESH_MS = 10_000

type SortKey = 'status' | 'name' | 'labels' | 'heartbeat' | 'apps' | 'records' | 'anomalies'
const COLUMNS: { key: SortKey; title: string }[] = [
  { key: 'status', title: 'Status' },
  { key: 'name', title: 'Device' },
  { key: 'labels', title: 'Labels' },
  { key: 'heartbeat', title: 'Last heartbeat' },
  { key: 'apps', title: 'Apps' },
  { key: 'records', title: 'Records' },
  { key: 'anomalies', title: 'Anomalies' },
]

export function statusChip(status: string): HTMLElement {
  return h('span', { class: `status status-${status}`, 'data-status': status }, status)
}

/** The last hour's counts: fields of the device items, else GET /v1/fleet/activity, else none. */
class ActivitySource {
  private route: 'unknown' | 'yes' | 'no' = 'unknown'
  constructor(private readonly api: Api) {}

  async read(devices: Device[]): Promise<Map<string, Activity> | null> {
    if (devices.some((d) => d.lastHour)) {
      return new Map(devices.filter((d) => d.lastHour).map((d) => [d.deviceId, d.lastHour!]))
    }
    if (this.route === 'no') return null
    try {
      const res = await this.api.get<{ items: ({ deviceId: string } & Activity)[] }>('/v1/fleet/activity', {
        window: '1h',
      })
      this.route = 'yes'
      return new Map(res.items.map((i) => [i.deviceId, { records: i.records, anomalies: i.anomalies }]))
    } catch {
      if (this.route === 'unknown') this.route = 'no'
      return null
    }
  }
}

const sortValue = (d: Device, key: SortKey): string | number => {
  switch (key) {
    case 'status':
      return STATUSES.indexOf(d.status)
    case 'name':
      return (d.name ?? d.deviceId).toLowerCase()
    case 'labels':
      return labelText(d.labels)
    case 'heartbeat':
      return d.lastHeartbeat ? Date.parse(d.lastHeartbeat) : 0
    case 'apps':
      return d.heartbeat?.apps?.length ?? 0
    case 'records':
      return d.recordCount
    case 'anomalies':
      return d.anomalyCount
  }
}

export function emptyState(origin: string): HTMLElement {
  const curl = [
    `curl -s ${origin}/v1/ingest \\`,
    `  -H "Authorization: Bearer $INGEST_TOKEN" -H 'Content-Type: application/json' \\`,
    `  --data '{"deviceId":"pump-7","temp":41.5,"latencyMs":120}'`,
  ].join('\n')
  const simulate = [
    'npx edgewatch fleet tokens create --label site=lab --max-uses 20',
    `npx edgewatch simulate --server ${origin} --enrol ewe_... --devices 20 --duration 10m`,
  ].join('\n')
  const copy = (text: string) =>
    h(
      'button',
      {
        type: 'button',
        class: 'small',
        onclick: (e: Event) => {
          void navigator.clipboard
            ?.writeText(text)
            .then(() => ((e.target as HTMLElement).textContent = 'Copied'))
        },
      },
      'Copy',
    )
  return h(
    'section',
    { id: 'empty-state', class: 'panel empty-state', 'aria-labelledby': 'empty-title' },
    h('h2', { id: 'empty-title' }, 'No devices yet'),
    h(
      'p',
      {},
      'A device appears here as soon as the server hears from it. Send a first record with the ingest token (replace $INGEST_TOKEN):',
    ),
    h('pre', { id: 'curl-first-record' }, h('code', {}, curl)),
    copy(curl),
    h(
      'p',
      {},
      'Or start virtual devices that run the real device agent: in this browser on the ',
      h('a', { href: '/app/mcu/' }, 'simulated MCU page'),
      ', or a whole fleet from the command line with an enrolment token:',
    ),
    h('pre', {}, h('code', {}, simulate)),
    copy(simulate),
  )
}

export function fleetView(root: HTMLElement, api: Api, live: Live): () => void {
  let devices: Device[] = []
  let activity: Map<string, Activity> | null = null
  let shown: Device[] = []
  let sort: { key: SortKey; dir: 1 | -1 } = { key: 'status', dir: 1 }
  let loaded = false
  const activitySource = new ActivitySource(api)

  const statusSelect = h(
    'select',
    { id: 'filter-status' },
    h('option', { value: '' }, 'any status'),
    ...STATUSES.map((s) => h('option', { value: s }, s)),
  )
  const labelInput = h('input', { id: 'filter-label', type: 'search', placeholder: 'site=plant-3 or site' })
  const textInput = h('input', { id: 'filter-text', type: 'search', placeholder: 'id, name or label' })
  const summary = h('p', { id: 'fleet-summary', class: 'hint', role: 'status' })
  const filters = h(
    'div',
    { class: 'filters', role: 'search', 'aria-label': 'Filter devices' },
    h('label', {}, 'Status ', statusSelect),
    h('label', {}, 'Label ', labelInput),
    h('label', {}, 'Search ', textInput),
    summary,
  )
  const header = h('div', { class: 'row head', role: 'row' })
  const spacer = h('div', { class: 'spacer', role: 'rowgroup' })
  const scroller = h('div', { class: 'scroller', id: 'fleet-rows' }, spacer)
  const table = h(
    'div',
    { class: 'fleet-table', role: 'table', 'aria-label': 'Devices', id: 'fleet-table' },
    h('div', { role: 'rowgroup' }, header),
    scroller,
  )
  const content = h('div', { class: 'fleet-content' }, filters, table)
  const loading = h('p', { class: 'hint' }, 'Loading devices…')
  root.replaceChildren(h('h2', { class: 'view-title' }, 'Fleet'), loading)

  const drawHeader = () => {
    header.replaceChildren(
      ...COLUMNS.map((c) =>
        h(
          'div',
          {
            role: 'columnheader',
            class: `cell col-${c.key}`,
            'aria-sort': sort.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none',
          },
          h(
            'button',
            {
              type: 'button',
              class: 'sort',
              'data-sort': c.key,
              onclick: () => {
                sort = { key: c.key, dir: sort.key === c.key ? (-sort.dir as 1 | -1) : 1 }
                apply()
              },
            },
            c.title,
            sort.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : '',
          ),
        ),
      ),
    )
  }

  const virtualizer = new Virtualizer<HTMLDivElement, HTMLDivElement>({
    count: 0,
    getScrollElement: () => scroller,
    estimateSize: () => ROW,
    overscan: 8,
    scrollToFn: elementScroll,
    observeElementRect,
    observeElementOffset,
    onChange: () => drawRows(),
  })
  const unmount = virtualizer._didMount()

  const cellCounts = (total: number, lastHour: number | undefined) =>
    h(
      'div',
      {},
      fmtInt(total),
      lastHour === undefined ? '' : h('div', { class: 'hint' }, `${fmtInt(lastHour)} last hour`),
    )

  const row = (d: Device, index: number, start: number) => {
    const apps = d.heartbeat?.apps ?? []
    const act = activity?.get(d.deviceId)
    return h(
      'div',
      {
        class: 'row',
        role: 'row',
        'aria-rowindex': index + 2,
        'data-device': d.deviceId,
        style: `transform:translateY(${start}px);height:${ROW}px`,
      },
      h('div', { role: 'cell', class: 'cell col-status' }, statusChip(d.status)),
      h(
        'div',
        { role: 'cell', class: 'cell col-name' },
        h(
          'a',
          { href: `#/device/${encodeURIComponent(d.deviceId)}`, title: d.deviceId },
          d.name ?? d.deviceId,
        ),
        d.name ? h('div', { class: 'hint mono' }, d.deviceId) : '',
      ),
      h(
        'div',
        { role: 'cell', class: 'cell col-labels', title: labelText(d.labels) },
        labelText(d.labels) || '–',
      ),
      h(
        'div',
        { role: 'cell', class: 'cell col-heartbeat', title: d.lastHeartbeat ?? '' },
        d.status === 'unmanaged' ? 'no agent' : ago(d.lastHeartbeat),
      ),
      h(
        'div',
        { role: 'cell', class: 'cell col-apps' },
        ...(apps.length === 0
          ? ['–']
          : apps.map((a) =>
              h(
                'span',
                {
                  class: `app app-${a.state}`,
                  title: `${a.name}@${a.version} ${a.state}${a.reason ? `: ${a.reason}` : ''}`,
                },
                `${a.name} ${a.state}`,
              ),
            )),
      ),
      h('div', { role: 'cell', class: 'cell col-records num' }, cellCounts(d.recordCount, act?.records)),
      h('div', { role: 'cell', class: 'cell col-anomalies num' }, cellCounts(d.anomalyCount, act?.anomalies)),
    )
  }

  function drawRows() {
    spacer.style.height = `${virtualizer.getTotalSize()}px`
    spacer.replaceChildren(
      ...virtualizer.getVirtualItems().map((v) => {
        const d = shown[v.index]
        return d ? row(d, v.index, v.start) : h('div')
      }),
    )
  }

  function apply() {
    const status = statusSelect.value
    const label = labelInput.value.trim()
    const [lk, lv] = label.includes('=')
      ? [label.slice(0, label.indexOf('=')), label.slice(label.indexOf('=') + 1)]
      : [label, undefined]
    const text = textInput.value.trim().toLowerCase()
    shown = devices.filter(
      (d) =>
        (!status || d.status === status) &&
        (!lk || (lk in d.labels && (lv === undefined || d.labels[lk] === lv))) &&
        (!text ||
          d.deviceId.toLowerCase().includes(text) ||
          (d.name ?? '').toLowerCase().includes(text) ||
          labelText(d.labels).toLowerCase().includes(text)),
    )
    const { key, dir } = sort
    shown.sort((a, b) => {
      const x = sortValue(a, key)
      const y = sortValue(b, key)
      const c = x < y ? -1 : x > y ? 1 : a.deviceId < b.deviceId ? -1 : 1
      return c * dir
    })
    const counts = new Map<Status, number>()
    for (const d of devices) counts.set(d.status, (counts.get(d.status) ?? 0) + 1)
    summary.textContent = `${fmtInt(shown.length)} of ${fmtInt(devices.length)} devices · ${STATUSES.filter(
      (s) => counts.get(s),
    )
      .map((s) => `${fmtInt(counts.get(s)!)} ${s}`)
      .join(' · ')}${activity ? '' : ' · totals (no last-hour counts on this server)'}`
    table.setAttribute('aria-rowcount', String(shown.length + 1))
    drawHeader()
    virtualizer.setOptions({ ...virtualizer.options, count: shown.length })
    virtualizer._willUpdate()
    virtualizer.measure()
    drawRows()
  }

  for (const el of [statusSelect, labelInput, textInput]) el.addEventListener('input', apply)

  let stopped = false
  let inFlight = false
  const load = async () => {
    if (inFlight || stopped) return
    inFlight = true
    try {
      const list = await api.all<Device>('/v1/devices')
      if (stopped) return
      devices = list
      activity = await activitySource.read(list)
      if (stopped) return
      const wasLoaded = loaded
      loaded = true
      root.dataset.devices = String(devices.length)
      if (devices.length === 0) {
        root.replaceChildren(h('h2', { class: 'view-title' }, 'Fleet'), emptyState(location.origin))
        return
      }
      if (!wasLoaded || !content.isConnected)
        root.replaceChildren(h('h2', { class: 'view-title' }, 'Fleet'), content)
      apply()
    } catch (e) {
      if (!loaded) loading.textContent = `Could not load devices: ${(e as Error).message}`
    } finally {
      inFlight = false
    }
  }

  let soon: ReturnType<typeof setTimeout> | undefined
  const refreshSoon = (ms: number) => {
    if (soon) return
    soon = setTimeout(() => {
      soon = undefined
      void load()
    }, ms)
  }
  const offEvent = live.onEvent((e) => refreshSoon(e.type === 'device' ? 300 : 5000))
  const timer = setInterval(() => void load(), REFRESH_MS)
  void load()
  return () => {
    stopped = true
    clearInterval(timer)
    if (soon) clearTimeout(soon)
    offEvent()
    unmount()
  }
}
