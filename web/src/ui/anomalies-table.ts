// The anomalies found so far, for the selected device; a row (click or Enter) jumps the charts to it.
import type { App, AppState } from '../app.js'
import { byId, fmtInt, fmtTime, h } from './dom.js'
import { kindColour } from './kinds.js'

const PAGE = 25

export function anomaliesTable(app: App): void {
  const root = byId('anomalies')
  const heading = h('h3', {}, 'Anomalies')
  const kind = h('select', { 'aria-label': 'kind filter' }, h('option', { value: '' }, 'all kinds'))
  kind.addEventListener('change', () => {
    offset = 0
    void refresh(app.state)
  })
  const body = h('tbody')
  const more = h('div', { class: 'row' })
  root.append(
    h('div', { class: 'row' }, heading, kind),
    h(
      'table',
      { id: 'anomaly-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['time', 'kind', 'metric', 'value', 'score', 'line', 'detail'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      body,
    ),
    more,
  )
  let offset = 0
  let shown = ''
  const page = (step: number) => {
    offset = Math.max(0, offset + step)
    void refresh(app.state)
  }

  const jump = (ts: number) => {
    const d = app.state.dataset
    if (!d) return
    const span = Math.max(60_000, (d.last - d.first) / 50)
    app.set({ view: { from: ts - span / 2, to: ts + span / 2 } })
  }
  const refresh = async (s: AppState) => {
    if (!s.dataset || !s.device) {
      body.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No dataset open.')))
      more.replaceChildren()
      return
    }
    const { rows, total } = await app.replay.anomalies(
      { deviceId: s.device, kind: kind.value || undefined },
      offset,
      PAGE,
    )
    heading.textContent = `Anomalies on ${s.device}: ${fmtInt(total)}`
    const kinds = s.summary?.byKind.map((k) => k.kind) ?? []
    if (kind.options.length - 1 !== kinds.length) {
      const keep = kind.value
      kind.replaceChildren(
        h('option', { value: '' }, 'all kinds'),
        ...kinds.map((k) => h('option', { value: k }, k)),
      )
      kind.value = kinds.includes(keep) ? keep : ''
    }
    body.replaceChildren(
      ...(rows.length === 0
        ? [h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'None so far.'))]
        : rows.map((r) => {
            const tr = h(
              'tr',
              {
                tabindex: 0,
                onclick: () => jump(r.ts),
                onkeydown: (e: Event) => (e as KeyboardEvent).key === 'Enter' && jump(r.ts),
              },
              h('td', { class: 'mono' }, fmtTime(r.ts)),
              h('td', {}, h('span', { class: 'swatch', style: `background:${kindColour(r.kind)}` }), r.kind),
              h('td', {}, r.metric ?? ''),
              h('td', { class: 'num' }, r.value === null ? '' : String(r.value)),
              h('td', { class: 'num' }, r.score.toFixed(3)),
              h('td', { class: 'num' }, r.line),
              h('td', {}, r.detail ?? ''),
            )
            return tr
          })),
    )
    more.replaceChildren(
      h(
        'button',
        {
          class: 'small',
          disabled: offset === 0,
          onclick: () => page(-PAGE),
        },
        'Previous',
      ),
      h(
        'span',
        { class: 'hint' },
        total ? `${fmtInt(offset + 1)}–${fmtInt(Math.min(total, offset + PAGE))} of ${fmtInt(total)}` : '',
      ),
      h(
        'button',
        {
          class: 'small',
          disabled: offset + PAGE >= total,
          onclick: () => page(PAGE),
        },
        'Next',
      ),
    )
  }
  app.onChange((s) => {
    const key = JSON.stringify([s.dataset?.id, s.device, s.summary?.anomalies, s.summary?.done])
    if (key === shown) return
    if (shown.split(',')[1] !== key.split(',')[1]) offset = 0
    shown = key
    void refresh(s).catch((e: Error) => app.set({ error: e.message }))
  })
}
