// Export: the results (records with score and kinds) as NDJSON or CSV, and the parameter set as JSON.
import type { App } from '../app.js'
import { byId, h } from './dom.js'

export function exportPanel(app: App): void {
  const root = byId('export')
  const save = (format: 'ndjson' | 'csv' | 'params') =>
    void app.task('Preparing the file…', async () => {
      const blob = await app.replay.exportResults(format)
      const base = app.state.dataset?.name.replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_') || 'edgewatch'
      const name = format === 'params' ? 'edgewatch-config.json' : `${base}.results.${format}`
      const a = h('a', { href: URL.createObjectURL(blob), download: name })
      document.body.append(a)
      a.click()
      a.remove()
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
    })
  const buttons = [
    h('button', { id: 'export-ndjson', onclick: () => save('ndjson') }, 'Results (NDJSON)'),
    h('button', { id: 'export-csv', onclick: () => save('csv') }, 'Results (CSV)'),
    h('button', { id: 'export-params', onclick: () => save('params') }, 'Parameters (JSON)'),
  ]
  root.append(
    h('h3', {}, 'Export'),
    h('div', { class: 'row' }, ...buttons),
    h('p', { class: 'hint' }, 'The parameters file is what the server loads with EDGEWATCH_CONFIG_FILE.'),
  )
  app.onChange((s) => {
    for (const b of buttons) b.disabled = !s.dataset || Boolean(s.busy)
  })
}
