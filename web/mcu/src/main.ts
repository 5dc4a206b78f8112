// The simulated-MCU page (served at /app/mcu/): virtual microcontrollers running the device agent in
// shard workers (fleet.ts). `?enrol=TOKEN&devices=N` starts N at once (optional `server`, `sensor`,
// `batch` ms, `shards`); the form does the same by hand. The main thread draws only the page of cards
// in view, twice a second, and exposes `window.edgewatchMcu` for tests and the benchmark.
import type { FaultRequest, McuAction } from '../../../firmware/browser/mcu-shard.js'
import { Card } from './card.js'
import { Fleet, type FleetCounts, type StartRequest } from './fleet.js'
import './mcu.css'

const REFRESH_MS = 500
const CARDS_PER_TASK = 1
const params = new URLSearchParams(location.search)
const pageSize = Math.max(1, Number(params.get('page') ?? 12))
const shardCount = Math.max(
  1,
  Number(params.get('shards') ?? Math.min(4, Math.max(1, (navigator.hardwareConcurrency || 2) - 1))),
)
const fleet = new Fleet(shardCount, Number(params.get('appWorkers') ?? 1))
const selected = new Set<number>()
let page = 0
let latest: FleetCounts | null = null

// The main thread's long tasks (> 50 ms), for the benchmark and the status line.
const longTasks = { count: 0, longestMs: 0, at: [] as { start: number; ms: number }[] }
/** How long drawing the cards took (its synchronous part), ms: the last time and the longest. */
const drawn = { last: 0, longest: 0 }
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      longTasks.count += 1
      longTasks.longestMs = Math.max(longTasks.longestMs, e.duration)
      longTasks.at.push({ start: Math.round(e.startTime), ms: Math.round(e.duration) })
      if (longTasks.at.length > 20) longTasks.at.shift()
    }
  }).observe({ type: 'longtask', buffered: true })
} catch {
  // No long task timing in this browser.
}

const root = document.getElementById('mcu')!
root.innerHTML = `
<header class="bar">
  <h1>edgewatch · simulated MCUs</h1>
  <form id="start">
    <input name="enrol" placeholder="enrolment token" required size="24" />
    <input name="devices" type="number" min="1" max="5000" value="4" title="MCUs" />
    <select name="sensor"><option>pump</option><option>env</option><option>mixed</option></select>
    <input name="server" placeholder="server (default: this page's)" size="22" />
    <button>start</button>
  </form>
  <p id="summary" aria-live="polite">no MCUs yet</p>
</header>
<section class="bar" id="bulk">
  <label><input type="checkbox" id="select-all" /> select all</label>
  <span id="selected">0 selected</span>
  <button data-bulk="reboot">reboot</button>
  <button data-bulk="power-off">power off</button>
  <button data-bulk="power-on">power on</button>
  <button data-bulk="cut">cut network</button>
  <button data-bulk="restore">restore network</button>
  <select id="bulk-fault"></select>
  <button data-bulk="fault">inject</button>
  <span class="pager"><button id="prev">◀</button> <span id="page">page 1</span> <button id="next">▶</button></span>
</section>
<main id="grid"></main>`

const $ = <T extends HTMLElement>(sel: string) => root.querySelector<T>(sel)!
const grid = $<HTMLElement>('#grid')
const summary = $<HTMLElement>('#summary')
const bulkFault = $<HTMLSelectElement>('#bulk-fault')
for (const k of ['spike', 'drift', 'stuck', 'noise', 'valve', 'cavitation', 'bearing', 'leak'])
  bulkFault.append(new Option(k, k))

const report = (e: unknown) => {
  summary.dataset.error = e instanceof Error ? e.message : String(e)
  console.error(e)
}

const cards: Card[] = []
const actions = {
  control: (index: number, action: string) => void fleet.control(index, action as McuAction).catch(report),
  fault: (index: number, kind: string, channel: string, durationS: number) =>
    void fleet.fault(index, faultOf(kind, channel, durationS)).catch(report),
  select: (index: number, on: boolean) => {
    if (on) selected.add(index)
    else selected.delete(index)
    $<HTMLElement>('#selected').textContent = `${selected.size} selected`
  },
}
/** The card of slot i, made when first needed (not all at load: a short first task). */
const cardAt = (i: number): Card => {
  while (cards.length <= i) cards.push(new Card(actions))
  return cards[i]!
}

function faultOf(kind: string, channel: string, durationS: number): FaultRequest {
  const f: FaultRequest = { kind: kind as FaultRequest['kind'] }
  if (channel) f.channel = channel
  if (durationS > 0) f.durationMs = durationS * 1000
  return f
}

async function start(r: StartRequest): Promise<number[]> {
  const indices = await fleet.start(r)
  void refresh()
  return indices
}

$<HTMLFormElement>('#start').addEventListener('submit', (e) => {
  e.preventDefault()
  const form = new FormData(e.target as HTMLFormElement)
  void start({
    enrolmentToken: String(form.get('enrol')),
    devices: Number(form.get('devices')),
    server: String(form.get('server') || location.origin),
    sensor: String(form.get('sensor')) as StartRequest['sensor'],
    rateHz: 1,
    batchMs: Number(params.get('batch') ?? 5000),
  }).catch(report)
})

$<HTMLInputElement>('#select-all').addEventListener('change', (e) => {
  const on = (e.target as HTMLInputElement).checked
  selected.clear()
  if (on) for (let i = 0; i < fleet.size; i++) selected.add(i)
  $<HTMLElement>('#selected').textContent = `${selected.size} selected`
  void refresh()
})
for (const b of root.querySelectorAll<HTMLButtonElement>('[data-bulk]')) {
  b.addEventListener('click', () => {
    const action = b.dataset.bulk!
    for (const i of selected) {
      if (action === 'fault')
        void fleet.fault(i, { kind: bulkFault.value as FaultRequest['kind'] }).catch(report)
      else void fleet.control(i, action as McuAction).catch(report)
    }
  })
}
$<HTMLButtonElement>('#prev').addEventListener('click', () => turn(-1))
$<HTMLButtonElement>('#next').addEventListener('click', () => turn(1))

function turn(by: number) {
  const pages = Math.max(1, Math.ceil(fleet.size / pageSize))
  page = Math.min(pages - 1, Math.max(0, page + by))
  void refresh()
}

let refreshing = false
async function refresh(): Promise<void> {
  if (refreshing) return
  refreshing = true
  try {
    const first = page * pageSize
    const visible = Array.from({ length: Math.min(pageSize, fleet.size - first) }, (_, i) => first + i)
    const [counts, views] = await Promise.all([fleet.counts(), fleet.views(visible)])
    latest = counts
    const apps = Object.entries(counts.apps)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ')
    summary.textContent =
      `${counts.started} MCUs in ${counts.shards} workers · ${counts.connected} connected · ` +
      `${counts.readings} readings · ${counts.acked} acked · outbox ${counts.outbox}` +
      (apps ? ` · apps: ${apps}` : '') +
      ` · anomalies: ${counts.edgeAnomalies} device, ${counts.serverAnomalies} server` +
      ` · longest main-thread task ${Math.round(longTasks.longestMs)} ms`
    Object.assign(summary.dataset, {
      started: String(counts.started),
      connected: String(counts.connected),
      readings: String(counts.readings),
    })
    const pages = Math.max(1, Math.ceil(fleet.size / pageSize))
    $<HTMLElement>('#page').textContent = `page ${page + 1} of ${pages}`
    // One card per task, so that no task holds the main thread long, even on a busy machine.
    for (let from = 0; from < views.length; from += CARDS_PER_TASK) {
      if (from > 0) await new Promise((r) => setTimeout(r, 0))
      const drawStart = performance.now()
      for (let i = from; i < Math.min(views.length, from + CARDS_PER_TASK); i++) {
        const v = views[i]!
        const card = cardAt(i)
        card.fill(v, selected.has(v.index))
        if (card.root.parentElement !== grid || grid.children[i] !== card.root) grid.append(card.root)
      }
      drawn.last = performance.now() - drawStart
      drawn.longest = Math.max(drawn.longest, drawn.last)
    }
    for (let i = views.length; i < cards.length; i++) cards[i]!.root.remove()
  } catch (e) {
    report(e)
  } finally {
    refreshing = false
  }
}
setInterval(() => void refresh(), REFRESH_MS)

// The test API: counts, each MCU, and its controls by index.
const api = {
  ready: true,
  longTasks,
  drawn,
  /** Starts counting long tasks afresh (the benchmark measures its steady window apart from start-up). */
  resetLongTasks: () => {
    longTasks.count = 0
    longTasks.longestMs = 0
    drawn.longest = 0
  },
  start: (r: Partial<StartRequest> & { enrolmentToken: string; devices: number }) =>
    start({
      server: location.origin,
      sensor: 'pump',
      rateHz: 1,
      batchMs: Number(params.get('batch') ?? 5000),
      ...r,
    }),
  counts: async () => ({
    ...(await fleet.counts()),
    longestTaskMs: longTasks.longestMs,
    longTasks: longTasks.count,
    longestDrawMs: drawn.longest,
  }),
  mcu: async (index: number) => (await fleet.views([index]))[0] ?? null,
  list: () => fleet.list(),
  control: (index: number, action: McuAction) => fleet.control(index, action),
  fault: (index: number, fault: FaultRequest) => fleet.fault(index, fault),
  page: (n: number) => {
    page = n
    return refresh()
  },
  latest: () => latest,
}
;(window as unknown as { edgewatchMcu: typeof api }).edgewatchMcu = api

const enrol = params.get('enrol')
if (enrol) {
  $<HTMLInputElement>('#start input[name=enrol]').value = enrol
  void start({
    enrolmentToken: enrol,
    devices: Number(params.get('devices') ?? 1),
    server: params.get('server') ?? location.origin,
    sensor: (params.get('sensor') ?? 'pump') as StartRequest['sensor'],
    rateHz: 1,
    batchMs: Number(params.get('batch') ?? 5000),
  }).catch(report)
}
