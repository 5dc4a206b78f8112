// Replay controls: run all at once, or play the timeline at 1×–1000× with pause and scrub.
import type { App, AppState } from '../app.js'
import { byId, fmtInt, fmtTime, h } from './dom.js'
import { kindColour } from './kinds.js'

const SPEEDS = [1, 10, 100, 1000]
const TICK_MS = 100

export function controlsPanel(app: App): void {
  const root = byId('controls')
  const runAll = h(
    'button',
    { id: 'run-all', onclick: () => void run(() => app.replay.runAll(), app.state.dataset?.last) },
    'Run all',
  )
  const play = h('button', { id: 'play', onclick: () => toggle() }, 'Play')
  const speed = h(
    'select',
    { id: 'speed', 'aria-label': 'speed' },
    ...SPEEDS.map((s) => h('option', { value: s }, `${s}×`)),
  )
  speed.value = String(app.state.speed)
  speed.addEventListener('change', () => app.set({ speed: Number(speed.value) }))
  const scrub = h('input', {
    type: 'range',
    id: 'scrub',
    min: 0,
    max: 1000,
    value: 1000,
    'aria-label': 'timeline position',
  })
  const at = h('span', { id: 'at', class: 'mono' })
  const device = h('select', { id: 'device', 'aria-label': 'device' })
  device.addEventListener('change', () => app.set({ device: device.value, view: undefined }))
  const summary = h('p', { id: 'summary', role: 'status', 'aria-live': 'polite' })
  const kinds = h('ul', { class: 'kinds', 'aria-label': 'anomalies by kind' })
  root.append(
    h(
      'div',
      { class: 'row' },
      runAll,
      play,
      h('label', {}, 'Speed ', speed),
      h('label', { class: 'grow' }, 'Time ', scrub),
      at,
    ),
    h('div', { class: 'row' }, h('label', {}, 'Device ', device), summary),
    kinds,
  )

  let timer: ReturnType<typeof setInterval> | undefined
  let inFlight = false
  const run = async (step: () => Promise<AppState['summary']>, cursor: number | undefined) => {
    if (inFlight) return
    inFlight = true
    try {
      const s = await step()
      app.set({ summary: s, cursor: cursor ?? app.state.cursor })
    } catch (e) {
      app.set({ error: (e as Error).message, playing: false })
    } finally {
      inFlight = false
    }
  }
  const toggle = () => {
    const d = app.state.dataset
    if (!d) return
    if (app.state.playing) return app.set({ playing: false })
    const start = app.state.cursor >= d.last ? d.first - 1 : app.state.cursor
    app.set({ playing: true, cursor: start })
  }
  const tick = () => {
    const { dataset: d, playing, cursor, speed: x } = app.state
    if (!d || !playing || inFlight) return
    const next = Math.min(d.last, cursor + TICK_MS * x)
    void run(() => app.replay.runUntil(next), next).then(() => {
      if (next >= d.last) app.set({ playing: false })
    })
  }
  scrub.addEventListener('input', () => {
    const d = app.state.dataset
    if (!d) return
    const t = d.first + ((d.last - d.first) * Number(scrub.value)) / 1000
    app.set({ playing: false })
    void run(() => app.replay.runUntil(t), t)
  })

  app.onChange((s) => {
    const ready = Boolean(s.dataset)
    runAll.disabled = play.disabled = scrub.disabled = device.disabled = !ready || Boolean(s.busy)
    play.textContent = s.playing ? 'Pause' : 'Play'
    play.setAttribute('aria-pressed', String(s.playing))
    if (s.playing && !timer) timer = setInterval(tick, TICK_MS)
    if (!s.playing && timer) {
      clearInterval(timer)
      timer = undefined
    }
    const d = s.dataset
    if (d && document.activeElement !== scrub)
      scrub.value = String(
        d.last > d.first ? Math.round(((s.cursor - d.first) / (d.last - d.first)) * 1000) : 1000,
      )
    at.textContent = d ? fmtTime(Math.max(d.first, Math.min(s.cursor, d.last))) : ''
    const devices = d?.devices ?? []
    if (
      device.options.length !== devices.length ||
      [...device.options].some((o, i) => o.value !== devices[i])
    )
      device.replaceChildren(...devices.map((id) => h('option', { value: id }, id)))
    if (s.device) device.value = s.device
    const m = s.summary
    summary.textContent = m
      ? `${fmtInt(m.done)} of ${fmtInt(m.records)} records analysed · ${fmtInt(m.anomalies)} anomalies on ${fmtInt(m.anomalousRecords)} records · ${m.ms.toFixed(0)} ms in the kernels`
      : 'Import or open a dataset to replay it.'
    summary.dataset.anomalies = String(m?.anomalies ?? '')
    summary.dataset.anomalousRecords = String(m?.anomalousRecords ?? '')
    summary.dataset.done = String(m?.done ?? '')
    summary.dataset.ms = String(m?.ms ?? '')
    summary.dataset.loadMs = String(s.loadMs ?? '')
    kinds.replaceChildren(
      ...(m?.byKind ?? []).map((k) =>
        h(
          'li',
          {},
          h('span', { class: 'swatch', style: `background:${kindColour(k.kind)}` }),
          `${k.kind} ${fmtInt(k.count)}`,
        ),
      ),
    )
  })
}
