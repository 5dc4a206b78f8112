// The datasets kept in this browser: open, rename, delete; storage use; a dataset's skipped rows.
import type { App, AppState } from '../app.js'
import { type Dataset, DatasetStore, storageUse } from '../store/datasets.js'
import { byId, fmtBytes, fmtInt, fmtTime, h } from './dom.js'

export function datasetsPanel(app: App): void {
  const root = byId('datasets')
  const usage = h('p', { class: 'hint', id: 'usage' })
  const list = h('ul', { class: 'datasets', 'aria-label': 'datasets' })
  const problems = h('div', { class: 'problems' })
  root.append(h('h3', {}, 'Datasets'), usage, list, problems)

  const withStore = async <T>(fn: (s: DatasetStore) => Promise<T>): Promise<T> => {
    const store = await DatasetStore.open()
    try {
      return await fn(store)
    } finally {
      store.close()
    }
  }
  const refresh = async () => {
    app.set({ datasets: await withStore((s) => s.list()) })
    const use = await storageUse()
    usage.textContent = use ? `Storage: ${fmtBytes(use.usage)} used of ${fmtBytes(use.quota)}` : ''
  }

  const render = (state: AppState) => {
    list.replaceChildren(
      ...(state.datasets.length === 0
        ? [h('li', { class: 'empty' }, 'No datasets yet: import a file or pull from a server.')]
        : state.datasets.map((d) =>
            h(
              'li',
              { class: d.id === state.dataset?.id ? 'current' : undefined, 'data-id': d.id },
              h(
                'button',
                {
                  class: 'open',
                  'aria-current': d.id === state.dataset?.id ? 'true' : undefined,
                  onclick: () => void app.openDataset(d.id),
                },
                d.name,
              ),
              h(
                'span',
                { class: 'meta' },
                `${fmtInt(d.records)} records · ${d.devices.length} devices${d.complete ? '' : ' · incomplete'}${d.fromServer ? ' · from server' : ''}`,
              ),
              h(
                'button',
                {
                  class: 'small',
                  'aria-label': `rename ${d.name}`,
                  onclick: () => {
                    const name = prompt('New name', d.name)
                    if (name !== null)
                      void app.task('Renaming…', () => withStore((s) => s.rename(d.id, name))).then(refresh)
                  },
                },
                'Rename',
              ),
              h(
                'button',
                {
                  class: 'small danger',
                  'aria-label': `delete ${d.name}`,
                  onclick: () => {
                    if (!confirm(`Delete ${d.name} from this browser?`)) return
                    void app
                      .task('Deleting…', () => withStore((s) => s.remove(d.id)))
                      .then(async () => {
                        if (app.state.dataset?.id === d.id)
                          app.set({ dataset: undefined, summary: undefined, series: [] })
                        await refresh()
                      })
                  },
                },
                'Delete',
              ),
            ),
          )),
    )
    const d = state.dataset
    problems.replaceChildren()
    if (d && d.invalid > 0)
      problems.append(
        h('h4', {}, `${fmtInt(d.invalid)} rows skipped`),
        h('ul', {}, ...d.problems.slice(0, 20).map((p) => h('li', {}, `line ${p.line}: ${p.reason}`))),
      )
    if (d)
      problems.append(
        h(
          'p',
          { class: 'hint' },
          `${fmtTime(d.first)} → ${fmtTime(d.last)} · ${fmtBytes(d.bytes)} · ${d.source}`,
        ),
      )
  }
  // Re-render only when the list or the open dataset changes, so focus survives a playing timeline.
  let shown: [Dataset[], Dataset | undefined] | undefined
  app.onChange((state) => {
    if (shown && shown[0] === state.datasets && shown[1] === state.dataset) return
    shown = [state.datasets, state.dataset]
    render(state)
  })
  void refresh()
}
