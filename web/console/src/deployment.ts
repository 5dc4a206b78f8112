// One deployment's rollout, batch by batch: its state and reason, counts by device app state, and
// every device with its batch, state, reason and what it last reported; polled while it rolls.
// Pause, resume, abort and roll back are buttons, enabled when the state allows them.
import { type Api, ApiError } from './api.js'
import { stateChip } from './apps.js'
import { fmtInt, h, labelText, num, time } from './format.js'
import type { DeploymentDevice, DeploymentView } from './types.js'

const APP_STATES = [
  'pending',
  'downloading',
  'starting',
  'running',
  'failed',
  'stopped',
  'rolled_back',
  'deferred',
]
const ACTIVE = new Set(['rolling', 'paused', 'halted'])

const ACTIONS: { action: 'pause' | 'resume' | 'abort' | 'rollback'; label: string; when: string[] }[] = [
  { action: 'pause', label: 'Pause', when: ['rolling'] },
  { action: 'resume', label: 'Resume', when: ['paused'] },
  { action: 'abort', label: 'Abort', when: ['rolling', 'paused'] },
  {
    action: 'rollback',
    label: 'Roll back',
    when: ['rolling', 'paused', 'halted', 'succeeded', 'failed', 'aborted'],
  },
]

async function readAll(api: Api, id: string, signal: AbortSignal): Promise<DeploymentView> {
  const first = await api.get<DeploymentView>(
    `/v1/deployments/${encodeURIComponent(id)}`,
    { limit: 1000 },
    signal,
  )
  const items = [...first.devices.items]
  let cursor = first.devices.next
  for (let i = 0; cursor && i < 20; i++) {
    const page = await api.get<DeploymentView>(
      `/v1/deployments/${encodeURIComponent(id)}`,
      { limit: 1000, cursor },
      signal,
    )
    items.push(...page.devices.items)
    cursor = page.devices.next
  }
  return { ...first, devices: { items, next: cursor } }
}

export function deploymentView(root: HTMLElement, api: Api, id: string): () => void {
  const abort = new AbortController()
  const head = h('div', { id: 'rollout-head' }, h('p', { class: 'hint' }, 'Loading the deployment…'))
  const actionStatus = h('p', { id: 'action-status', role: 'status', 'aria-live': 'polite' })
  const buttons = ACTIONS.map((a) =>
    h(
      'button',
      {
        type: 'button',
        id: `action-${a.action}`,
        class: a.action === 'abort' || a.action === 'rollback' ? 'danger' : '',
        onclick: () => void act(a.action, a.label),
      },
      a.label,
    ),
  )
  const counts = h('div', {
    id: 'rollout-counts',
    class: 'counts',
    role: 'list',
    'aria-label': 'devices by app state',
  })
  const batchesEl = h('div', { id: 'rollout-batches' })
  root.replaceChildren(
    h('p', {}, h('a', { href: '#/apps' }, '← Apps and deployments')),
    head,
    h('div', { class: 'actions', role: 'group', 'aria-label': 'control the deployment' }, ...buttons),
    actionStatus,
    counts,
    batchesEl,
  )

  let view: DeploymentView | undefined
  const act = async (action: string, label: string) => {
    actionStatus.className = ''
    actionStatus.textContent = `${label}…`
    try {
      await api.post(`/v1/deployments/${encodeURIComponent(id)}/${action}`)
      actionStatus.textContent = `${label}: done.`
      await load()
    } catch (e) {
      actionStatus.className = 'error'
      actionStatus.textContent = `${label} refused: ${e instanceof ApiError ? `${e.code}: ${e.message}` : (e as Error).message}`
    }
  }

  const deviceRow = (d: DeploymentDevice) => {
    const r = d.report
    return h(
      'tr',
      { 'data-device': d.deviceId, 'data-state': d.state },
      h('td', {}, h('a', { href: `#/device/${encodeURIComponent(d.deviceId)}` }, d.deviceId)),
      h('td', {}, stateChip(d.state)),
      h('td', {}, d.reason ?? ''),
      h('td', { class: 'num' }, num(r?.ticks)),
      h('td', { class: 'num' }, num(r?.fuelPerTick)),
      h('td', { class: 'num' }, num(r?.memoryPages)),
      h('td', { class: 'num' }, num(r?.restarts)),
      h('td', {}, time(d.reportedAt)),
    )
  }

  const draw = (v: DeploymentView) => {
    root.dataset.state = v.state
    const total = v.rollout.batches.length
    head.replaceChildren(
      h('h2', { class: 'view-title' }, `Deployment ${v.id} `, stateChip(v.state)),
      h(
        'dl',
        { class: 'facts' },
        ...(
          [
            ['Release', `${v.appName}@${v.appVersion ?? '?'}`],
            ['Target', v.target.labels ? labelText(v.target.labels) : (v.target.devices ?? []).join(', ')],
            [
              'Batch',
              `${v.batch} of ${total} (cumulative sizes ${v.rollout.batches.map(fmtInt).join(', ')})`,
            ],
            ['Bake', `${v.rollout.bakeMs / 1000} s`],
            ['Max failures', `${Math.round(v.rollout.maxFailures * 1000) / 10}%`],
            [
              'Health gate',
              v.rollout.healthGate ? `margin ${Math.round(v.rollout.healthGate.margin * 100)}%` : 'off',
            ],
            ['Devices', fmtInt(v.devicesTotal)],
            ['Updated', time(v.updatedAt)],
          ] as const
        ).flatMap(([k, val]) => [h('dt', {}, k), h('dd', {}, val)]),
      ),
      v.reason
        ? h('p', { id: 'rollout-reason', class: v.state === 'succeeded' ? '' : 'error' }, v.reason)
        : '',
    )
    for (const [i, a] of ACTIONS.entries()) buttons[i]!.disabled = !a.when.includes(v.state)
    counts.replaceChildren(
      ...APP_STATES.filter((s) => (v.counts[s] ?? 0) > 0 || s === 'running' || s === 'failed').map((s) =>
        h(
          'span',
          { role: 'listitem', class: 'count', 'data-count': s },
          stateChip(s),
          ` ${fmtInt(v.counts[s] ?? 0)}`,
        ),
      ),
    )
    const byBatch = new Map<number, DeploymentDevice[]>()
    for (const d of v.devices.items) byBatch.set(d.batch, [...(byBatch.get(d.batch) ?? []), d])
    batchesEl.replaceChildren(
      ...[...byBatch.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([batch, devices]) =>
          h(
            'section',
            { class: 'panel', 'data-batch': batch, 'aria-labelledby': `batch-${batch}` },
            h(
              'h3',
              { id: `batch-${batch}` },
              `Batch ${batch}`,
              batch < v.batch
                ? ' (done)'
                : batch === v.batch
                  ? ACTIVE.has(v.state)
                    ? ' (current)'
                    : ''
                  : ' (waiting)',
              h('span', { class: 'hint' }, ` · ${devices.length} devices`),
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
                  ...[
                    'Device',
                    'State',
                    'Reason',
                    'Ticks',
                    'Fuel per tick',
                    'Memory pages',
                    'Restarts',
                    'Reported',
                  ].map((t) => h('th', { scope: 'col' }, t)),
                ),
              ),
              h('tbody', {}, ...devices.map(deviceRow)),
            ),
          ),
        ),
    )
  }

  let busy = false
  const load = async () => {
    if (busy) return
    busy = true
    try {
      view = await readAll(api, id, abort.signal)
      if (!abort.signal.aborted) draw(view)
    } catch (e) {
      if (!abort.signal.aborted)
        head.replaceChildren(
          h('p', { class: 'error', role: 'alert' }, `Could not load ${id}: ${(e as Error).message}`),
        )
    } finally {
      busy = false
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  const tick = async () => {
    await load()
    if (abort.signal.aborted) return
    // Every second while it rolls; slower once it has ended (devices may still roll back).
    timer = setTimeout(() => void tick(), view && view.state === 'rolling' ? 1000 : 5000)
  }
  void tick()
  return () => {
    abort.abort()
    if (timer) clearTimeout(timer)
  }
}
