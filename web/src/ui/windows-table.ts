// The window features (count, mean, std, min, max, range) of the selected device's series.
import { windowFeatures } from '../../../kernels/host/kernel.js'
import type { App } from '../app.js'
import { byId, fmtTime, h } from './dom.js'

const SHOWN = 20

export function windowsTable(app: App): void {
  const root = byId('windows')
  const metric = h('select', { 'aria-label': 'window metric' })
  const body = h('tbody')
  const note = h('p', { class: 'hint' })
  root.append(
    h('div', { class: 'row' }, h('h3', {}, 'Window features'), metric, note),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['start', 'end', 'count', 'mean', 'std', 'min', 'max', 'range'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      body,
    ),
  )
  let key = ''
  const refresh = async () => {
    const { device } = app.state
    if (!device || !metric.value) return body.replaceChildren()
    const all = windowFeatures(await app.replay.windows(device, metric.value))
    note.textContent = `${all.length} windows closed; the last ${Math.min(SHOWN, all.length)}:`
    const num = (v: number) => h('td', { class: 'num' }, Number.isInteger(v) ? String(v) : v.toFixed(3))
    body.replaceChildren(
      ...all
        .slice(-SHOWN)
        .reverse()
        .map((w) =>
          h(
            'tr',
            {},
            h('td', { class: 'mono' }, fmtTime(w.start)),
            h('td', { class: 'mono' }, fmtTime(w.end)),
            num(w.count),
            num(w.mean),
            num(w.std),
            num(w.min),
            num(w.max),
            num(w.range),
          ),
        ),
    )
  }
  metric.addEventListener('change', () => void refresh())
  app.onChange((s) => {
    const metrics = s.series.filter((x) => x.deviceId === s.device).map((x) => x.metric)
    const next = JSON.stringify([s.dataset?.id, s.device, metrics, s.summary?.done, s.summary?.anomalies])
    if (next === key) return
    key = next
    const keep = metric.value
    metric.replaceChildren(...metrics.map((m) => h('option', { value: m }, m)))
    if (metrics.includes(keep)) metric.value = keep
    void refresh().catch((e: Error) => app.set({ error: e.message }))
  })
}
