// Import: drop or pick a file, or pull from a server's /v1/export; a progress bar while it runs.
import { proxy } from 'comlink'
import type { App } from '../app.js'
import type { ImportProgress } from '../import/import.js'
import type { Dataset } from '../store/datasets.js'
import { byId, fmtBytes, fmtInt, h } from './dom.js'

export function importPanel(app: App): void {
  const root = byId('import')
  const progress = h('progress', { max: 1, value: 0, 'aria-label': 'import progress', hidden: true })
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' })
  const report = (p: ImportProgress) => {
    progress.hidden = false
    if (p.totalBytes) {
      progress.max = p.totalBytes
      progress.value = p.bytes
    } else progress.removeAttribute('value')
    status.textContent = `${fmtBytes(p.bytes)}${p.totalBytes ? ` of ${fmtBytes(p.totalBytes)}` : ''} · ${fmtInt(p.records)} records · ${fmtInt(p.invalid)} skipped`
  }
  const done = async (dataset: Dataset | undefined) => {
    progress.hidden = true
    if (!dataset) return
    status.textContent = `Imported ${fmtInt(dataset.records)} records${dataset.invalid ? `, skipped ${fmtInt(dataset.invalid)} (see the dataset)` : ''}.`
    app.set({ datasets: [dataset, ...app.state.datasets.filter((d) => d.id !== dataset.id)] })
    await app.openDataset(dataset.id)
  }
  const importFile = async (file: File) => {
    status.textContent = `Reading ${file.name}…`
    await done(await app.task(`Importing ${file.name}…`, () => app.importer.importFile(file, proxy(report))))
  }

  const input = h('input', {
    type: 'file',
    id: 'file',
    accept: '.csv,.ndjson,.jsonl,.json,.gz,text/csv,application/json',
  })
  input.addEventListener('change', () => {
    const file = input.files?.[0]
    if (file) void importFile(file)
    input.value = ''
  })
  const drop = h(
    'div',
    { class: 'drop', id: 'drop' },
    h('label', { for: 'file' }, 'Drop a log file here, or choose one: '),
    input,
    h('p', { class: 'hint' }, 'NDJSON, JSON array or CSV with a header; gzip too.'),
  )
  drop.addEventListener('dragover', (e) => {
    e.preventDefault()
    drop.classList.add('over')
  })
  drop.addEventListener('dragleave', () => drop.classList.remove('over'))
  drop.addEventListener('drop', (e) => {
    e.preventDefault()
    drop.classList.remove('over')
    const file = e.dataTransfer?.files[0]
    if (file) void importFile(file)
  })

  const field = (label: string, name: string, attrs: Record<string, string> = {}) =>
    h('label', {}, label, h('input', { name, ...attrs }))
  const form = h(
    'form',
    { class: 'pull' },
    h('h3', {}, 'From a server'),
    field('Server', 'server', { placeholder: 'this page’s server', type: 'url' }),
    field('Token', 'token', { type: 'password', required: 'true', autocomplete: 'off' }),
    field('Device', 'deviceId', { placeholder: 'all devices' }),
    field('From', 'since', { placeholder: '2026-11-01T00:00:00Z' }),
    field('To', 'until', { placeholder: 'now' }),
    h('button', { type: 'submit' }, 'Pull export'),
  )
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const f = new FormData(form)
    const get = (k: string) => String(f.get(k) ?? '').trim()
    void (async () => {
      status.textContent = 'Asking the server…'
      const pull = {
        server: get('server'),
        token: get('token'),
        deviceId: get('deviceId'),
        since: get('since'),
        until: get('until'),
      }
      await done(
        await app.task('Pulling the export…', () => app.importer.importFromServer(pull, proxy(report))),
      )
    })()
  })
  // Opened from the console (/app/?server=&deviceId=&since=&until=): the form is filled in, with
  // the admin token the console keeps for this tab.
  const params = new URLSearchParams(location.search)
  for (const k of ['server', 'deviceId', 'since', 'until']) {
    const v = params.get(k)
    const input = form.elements.namedItem(k)
    if (v && input instanceof HTMLInputElement) input.value = v
  }
  const token = form.elements.namedItem('token')
  if (params.has('deviceId') && token instanceof HTMLInputElement)
    token.value = sessionStorage.getItem('edgewatch.adminToken') ?? ''
  root.append(drop, form, progress, status)
}
