// Compare with the server: for data pulled from its export, the kinds it flagged against the local run's.
import type { App } from '../app.js'
import type { Comparison } from '../replay/compare.js'
import { byId, fmtInt, h } from './dom.js'

export function comparePanel(app: App): void {
  const root = byId('compare')
  const out = h('div', { id: 'comparison', role: 'status', 'aria-live': 'polite' })
  root.append(h('h3', {}, 'Server vs local'), out)
  let key = ''
  const show = (c: Comparison) => {
    out.dataset.different = String(c.different)
    out.replaceChildren(
      h(
        'p',
        {},
        c.different === 0
          ? `Identical on all ${fmtInt(c.same)} records.`
          : `${fmtInt(c.different)} records differ; ${fmtInt(c.same)} agree.`,
      ),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['kind', 'both', 'server only', 'local only'].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          ...c.byKind.map((k) =>
            h(
              'tr',
              {},
              h('td', {}, k.kind),
              h('td', { class: 'num' }, fmtInt(k.both)),
              h('td', { class: 'num' }, fmtInt(k.serverOnly)),
              h('td', { class: 'num' }, fmtInt(k.localOnly)),
            ),
          ),
        ),
      ),
      c.differences.length
        ? h(
            'ul',
            { class: 'diffs' },
            ...c.differences
              .slice(0, 50)
              .map((d) =>
                h(
                  'li',
                  { class: 'mono' },
                  `record ${d.at + 1}: server [${d.server.join(', ')}] · local [${d.local.join(', ')}]`,
                ),
              ),
          )
        : '',
    )
  }
  app.onChange((s) => {
    const next = JSON.stringify([s.dataset?.id, s.summary?.anomalies, s.summary?.done, s.config])
    if (next === key) return
    key = next
    if (!s.dataset?.fromServer) {
      out.replaceChildren(
        h('p', { class: 'hint' }, 'Pull data from a server’s export to compare its verdicts with this run.'),
      )
      return
    }
    if (s.summary && s.summary.done < s.summary.records) {
      out.replaceChildren(h('p', { class: 'hint' }, 'Run the whole dataset to compare.'))
      return
    }
    void app.replay.compare().then(show, (e: Error) => app.set({ error: e.message }))
  })
}
