// The live anomaly feed across the fleet, newest first: the newest anomalies at sign-in, then
// every anomaly the server pushes (or the poll brings), without reloading.
import { kindColour } from '../../src/ui/kinds.js'
import type { Api } from './api.js'
import { h, num, time } from './format.js'
import type { Live } from './live.js'
import type { Anomaly } from './types.js'

const KEEP = 200

const keyOf = (a: Anomaly) =>
  a.id !== undefined ? `#${a.id}` : `${a.deviceId}|${a.ts}|${a.kind}|${a.metric}`

export function kindChip(kind: string): HTMLElement {
  return h('span', { class: 'kind', style: `--kind:${kindColour(kind)}` }, kind)
}

export async function feedPanel(root: HTMLElement, api: Api, live: Live): Promise<void> {
  const status = h('p', { id: 'live-status', class: 'live-status', role: 'status', 'aria-live': 'polite' })
  const list = h('ol', {
    id: 'feed-list',
    class: 'feed',
    role: 'log',
    'aria-label': 'newest anomalies first',
  })
  const empty = h('p', { class: 'hint', id: 'feed-empty' }, 'No anomalies yet.')
  root.replaceChildren(h('h2', {}, 'Live anomalies'), status, empty, list)
  live.onStatus((s) => {
    status.textContent = s.text
    status.dataset.mode = s.mode
  })

  const seen = new Set<string>()
  const item = (a: Anomaly) =>
    h(
      'li',
      { 'data-device': a.deviceId, 'data-kind': a.kind },
      h(
        'div',
        {},
        kindChip(a.kind),
        ' ',
        h('a', { href: `#/device/${encodeURIComponent(a.deviceId)}` }, a.deviceId),
      ),
      h(
        'div',
        { class: 'hint' },
        time(a.ts),
        a.metric ? ` · ${a.metric} = ${num(a.value)}` : '',
        ` · score ${a.score.toFixed(2)}`,
        a.detail ? ` · ${a.detail}` : '',
      ),
    )
  const add = (items: Anomaly[], prepend: boolean) => {
    const fresh = items.filter((a) => {
      const k = keyOf(a)
      if (seen.has(k)) return false
      seen.add(k)
      return true
    })
    if (fresh.length === 0) return
    const nodes = fresh.map(item)
    if (prepend) list.prepend(...nodes.reverse())
    else list.append(...nodes)
    while (list.children.length > KEEP) list.lastElementChild?.remove()
    empty.hidden = list.children.length > 0
  }

  live.onEvent((e) => {
    if (e.type === 'anomaly') add([e.data], true)
  })
  // The newest anomalies once live updates run: anything stored later comes live (repeats are ignored).
  await live.ready
  try {
    const page = await api.get<{ items: Anomaly[] }>('/v1/anomalies', { limit: 50 })
    for (const a of page.items) if (typeof a.id === 'number') live.seen(a.id)
    add(page.items, false)
  } catch (e) {
    empty.textContent = `Could not load anomalies: ${(e as Error).message}`
  }
}
