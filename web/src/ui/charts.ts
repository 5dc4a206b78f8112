// One uPlot chart per metric of the selected device, anomaly markers coloured by kind; drag to
// zoom, double-click to reset, the buttons (or ←/→ and +/− on a focused chart) pan and zoom. Data is decimated for
// display in the worker: detection always ran on every sample.
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import type { App, AppState } from '../app.js'
import type { MetricTrace } from '../replay/worker.js'
import { byId, h } from './dom.js'
import { kindColour } from './kinds.js'

const MAX_POINTS = 2000

export function chartsPanel(app: App): void {
  const root = byId('charts')
  let plots: uPlot[] = []
  let drawn = ''
  let pending = false

  /** Zooms the shown range around its middle: factor < 1 in, > 1 out. */
  const zoomBy = (factor: number) => {
    const d = app.state.dataset
    if (!d) return
    const v = app.state.view ?? { from: d.first, to: d.last }
    const mid = (v.from + v.to) / 2
    const half = Math.max(1000, ((v.to - v.from) / 2) * factor)
    app.set({ view: { from: mid - half, to: mid + half } })
  }
  const pan = (dir: number) => {
    const d = app.state.dataset
    if (!d) return
    const v = app.state.view ?? { from: d.first, to: d.last }
    const shift = (v.to - v.from) * 0.25 * dir
    app.set({ view: { from: v.from + shift, to: v.to + shift } })
  }
  const toolbar = h(
    'div',
    { class: 'row' },
    h('button', { class: 'small', 'aria-label': 'pan left', onclick: () => pan(-1) }, '←'),
    h('button', { class: 'small', 'aria-label': 'pan right', onclick: () => pan(1) }, '→'),
    h('button', { class: 'small', 'aria-label': 'zoom in', onclick: () => zoomBy(0.5) }, '+'),
    h('button', { class: 'small', 'aria-label': 'zoom out', onclick: () => zoomBy(2) }, '−'),
    h('button', { class: 'small', onclick: () => app.set({ view: undefined }) }, 'Show all'),
    h('span', { class: 'hint' }, 'Drag on a chart to zoom; on a focused chart ←/→ pan and +/− zoom.'),
  )
  const list = h('div', { class: 'chart-list' })
  root.append(toolbar, list)

  const draw = async (s: AppState) => {
    const d = s.dataset
    if (!d || !s.device) {
      for (const p of plots) p.destroy()
      plots = []
      list.replaceChildren(h('p', { class: 'empty' }, 'Charts appear here once a dataset is open.'))
      return
    }
    const from = s.view?.from ?? d.first
    const to = s.view?.to ?? d.last
    const traces = await app.replay.traces(s.device, from, to, MAX_POINTS)
    root.dataset.from = String(from)
    root.dataset.to = String(to)
    for (const p of plots) p.destroy()
    plots = traces.map((t) => plot(t, from, to, (range) => app.set({ view: range }), pan, zoomBy))
    list.replaceChildren(...plots.map((p) => p.root.parentElement ?? p.root))
  }

  /** What the charts show: they redraw when it changes (once at a time, catching up after). */
  const keyOf = (s: AppState) =>
    JSON.stringify([s.dataset?.id, s.device, s.view, s.summary?.done, s.summary?.anomalies, s.config])
  app.onChange((s) => {
    const key = keyOf(s)
    if (key === drawn || pending) return
    drawn = key
    pending = true
    void draw(s)
      .catch((e: Error) => app.set({ error: e.message }))
      .finally(() => {
        pending = false
        if (drawn !== keyOf(app.state)) {
          drawn = ''
          app.set({})
        }
      })
  })
}

function plot(
  t: MetricTrace,
  from: number,
  to: number,
  zoom: (r: { from: number; to: number } | undefined) => void,
  pan: (dir: number) => void,
  zoomBy: (factor: number) => void,
): uPlot {
  const box = h(
    'figure',
    { class: 'chart', tabindex: 0, 'aria-label': `${t.metric} chart; arrow keys pan, plus and minus zoom` },
    h('figcaption', {}, t.metric),
  )
  box.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft') pan(-1)
    if (e.key === 'ArrowRight') pan(1)
    if (e.key === '+' || e.key === '=') zoomBy(0.5)
    if (e.key === '-') zoomBy(2)
  })
  const markers: uPlot.Plugin = {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx
        ctx.save()
        for (const m of t.markers) {
          const x = u.valToPos(m.ts / 1000, 'x', true)
          const y = m.value === null ? u.bbox.top + 6 : u.valToPos(m.value, 'y', true)
          ctx.fillStyle = kindColour(m.kind)
          ctx.beginPath()
          ctx.arc(x, y, 4 * devicePixelRatio, 0, Math.PI * 2)
          ctx.fill()
        }
        ctx.restore()
      },
    },
  }
  const opts: uPlot.Options = {
    width: Math.max(320, (document.getElementById('charts')?.clientWidth ?? 800) - 16),
    height: 180,
    scales: { x: { time: true, min: from / 1000, max: to / 1000 } },
    series: [{}, { label: t.metric, stroke: '#1f4e8c', width: 1 }],
    axes: [{ stroke: '#333' }, { stroke: '#333' }],
    legend: { show: false },
    cursor: { drag: { x: true, y: false }, sync: { key: 'edgewatch' } },
    plugins: [markers],
    hooks: {
      setSelect: [
        (u) => {
          if (u.select.width < 4) return
          const a = u.posToVal(u.select.left, 'x') * 1000
          const b = u.posToVal(u.select.left + u.select.width, 'x') * 1000
          zoom({ from: a, to: b })
        },
      ],
    },
  }
  const xs = Array.from(t.ts, (v) => v / 1000)
  const u = new uPlot(opts, [xs, Array.from(t.values)], box)
  u.over.addEventListener('dblclick', () => zoom(undefined))
  return u
}
