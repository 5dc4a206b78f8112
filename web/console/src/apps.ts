// Apps and deployments: upload a Wasm module with its limits (the server's `invalid_app` reason
// shown when it is refused), list releases, deploy one to devices or labels in batches, and list
// deployments (each opens its rollout view).
import { type Api, ApiError, errorOf, withQuery } from './api.js'
import { fmtInt, h, labelText, time } from './format.js'
import type { AppRelease, Deployment } from './types.js'

export function stateChip(state: string): HTMLElement {
  return h('span', { class: `dstate dstate-${state}`, 'data-state': state }, state.replace('_', ' '))
}

/** `site=plant-3, line=a` → {site: 'plant-3', line: 'a'}; throws on a part without `=`. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const i = part.indexOf('=')
    if (i <= 0) throw new Error(`a label is key=value: ${part}`)
    out[part.slice(0, i)] = part.slice(i + 1)
  }
  if (Object.keys(out).length === 0) throw new Error('name at least one label, e.g. site=plant-3')
  return out
}

/** `1, 10%, 100%` → [1, '10%', '100%']. */
export function parseBatches(text: string): (number | string)[] {
  const parts = text.split(/[,\s]+/).filter(Boolean)
  return parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p))
}

const describeError = (e: unknown): string => {
  if (e instanceof ApiError) {
    const details = e.details && typeof e.details === 'object' ? ` (${JSON.stringify(e.details)})` : ''
    return `${e.code}: ${e.message}${details}`
  }
  return (e as Error).message
}

const field = (label: string, input: HTMLElement, hint?: string) =>
  h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('span', { class: 'hint' }, hint) : '')

export function appsView(root: HTMLElement, api: Api, go: (hash: string) => void): () => void {
  let apps: AppRelease[] = []
  const abort = new AbortController()

  // Upload.
  const file = h('input', {
    id: 'app-file',
    name: 'file',
    type: 'file',
    accept: '.wasm,application/wasm',
    required: true,
  })
  const name = h('input', {
    id: 'app-name',
    name: 'name',
    required: true,
    pattern: '[A-Za-z0-9][A-Za-z0-9._+\\-]*',
  })
  const version = h('input', { id: 'app-version', name: 'version', required: true, value: '1.0.0' })
  const num = (id: string, placeholder: string) =>
    h('input', { id, name: id, type: 'number', min: 0, placeholder })
  const memoryPages = num('app-memoryPages', '1')
  const fuel = num('app-fuel', '1000000')
  const tickMs = num('app-tickMs', '1000')
  const wallMs = num('app-wallMs', '100')
  const maxRestarts = num('app-maxRestarts', '3')
  const telemetry = h(
    'select',
    { id: 'app-telemetry' },
    h('option', { value: 'add' }, 'add'),
    h('option', { value: 'replace' }, 'replace'),
  )
  const uploadStatus = h('p', { id: 'upload-status', role: 'status', 'aria-live': 'polite' })
  file.addEventListener('change', () => {
    const f = file.files?.[0]
    if (f && !name.value) name.value = f.name.replace(/\.wasm$/, '').replace(/[^A-Za-z0-9._+-]/g, '-')
  })
  const upload = h(
    'form',
    { id: 'upload-form', class: 'panel form-grid', 'aria-labelledby': 'upload-title' },
    h('h3', { id: 'upload-title' }, 'Upload an app release'),
    field('Module (.wasm)', file),
    field('Name', name),
    field('Version', version),
    field('Memory pages', memoryPages, '64 KiB each'),
    field('Fuel per tick', fuel),
    field('Tick, ms', tickMs),
    field('Wall clock per tick, ms', wallMs),
    field('Restarts before failed', maxRestarts),
    field('Telemetry', telemetry),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Upload')),
    uploadStatus,
  )
  upload.addEventListener('submit', (e) => {
    e.preventDefault()
    const f = file.files?.[0]
    if (!f) return
    uploadStatus.className = ''
    uploadStatus.textContent = `Uploading ${f.name}…`
    const query = {
      name: name.value.trim(),
      version: version.value.trim(),
      memoryPages: memoryPages.value,
      fuel: fuel.value,
      tickMs: tickMs.value,
      wallMs: wallMs.value,
      maxRestarts: maxRestarts.value,
      telemetry: telemetry.value,
    }
    void (async () => {
      try {
        const res = await api.raw(withQuery('/v1/apps', query), {
          method: 'POST',
          headers: { 'content-type': 'application/wasm' },
          body: await f.arrayBuffer(),
        })
        if (!res.ok) throw await errorOf(res)
        const app = (await res.json()) as AppRelease
        await loadApps()
        appSelect.value = app.id
        uploadStatus.textContent = `Uploaded ${app.name}@${app.version} (${fmtInt(app.size)} bytes).`
      } catch (err) {
        uploadStatus.className = 'error'
        uploadStatus.textContent = `Refused: ${describeError(err)}`
      }
    })()
  })

  // Releases.
  const appsList = h('div', { id: 'apps-list' }, h('p', { class: 'hint' }, 'Loading apps…'))
  const drawApps = () => {
    appSelect.replaceChildren(...apps.map((a) => h('option', { value: a.id }, `${a.name}@${a.version}`)))
    appsList.replaceChildren(
      apps.length === 0
        ? h(
            'p',
            { class: 'hint' },
            'No releases yet: upload one above (npm run build:apps builds the examples into firmware/apps/build/).',
          )
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...[
                  'Release',
                  'Size',
                  'Memory',
                  'Fuel',
                  'Tick',
                  'Wall',
                  'Restarts',
                  'Telemetry',
                  'Uploaded',
                  '',
                ].map((t) => h('th', { scope: 'col' }, t)),
              ),
            ),
            h(
              'tbody',
              {},
              ...apps.map((a) =>
                h(
                  'tr',
                  { 'data-app': a.id },
                  h('td', {}, `${a.name}@${a.version}`),
                  h('td', { class: 'num' }, fmtInt(a.size)),
                  h('td', { class: 'num' }, a.limits.memoryPages),
                  h('td', { class: 'num' }, fmtInt(a.limits.fuel)),
                  h('td', { class: 'num' }, `${a.limits.tickMs} ms`),
                  h('td', { class: 'num' }, `${a.limits.wallMs} ms`),
                  h('td', { class: 'num' }, a.limits.maxRestarts),
                  h('td', {}, a.telemetry),
                  h('td', {}, time(a.createdAt)),
                  h(
                    'td',
                    {},
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'small',
                        onclick: () => {
                          appSelect.value = a.id
                          targetText.focus()
                        },
                      },
                      'Deploy…',
                    ),
                  ),
                ),
              ),
            ),
          ),
    )
  }
  const loadApps = async () => {
    apps = await api.all<AppRelease>('/v1/apps', {}, 20, abort.signal)
    drawApps()
  }

  // Deploy.
  const appSelect = h('select', { id: 'deploy-app', required: true })
  const targetKind = h(
    'select',
    { id: 'deploy-target-kind' },
    h('option', { value: 'labels' }, 'devices with labels'),
    h('option', { value: 'devices' }, 'these devices'),
  )
  const targetText = h('input', { id: 'deploy-target', required: true, placeholder: 'site=plant-3' })
  targetKind.addEventListener('change', () => {
    targetText.placeholder = targetKind.value === 'labels' ? 'site=plant-3' : 'dev-…, dev-…'
  })
  const batches = h('input', { id: 'deploy-batches', value: '100%', placeholder: '1, 10%, 100%' })
  const bake = h('input', { id: 'deploy-bake', value: '0', placeholder: '1m' })
  const maxFailures = h('input', { id: 'deploy-maxFailures', value: '0', placeholder: '5%' })
  const gate = h('input', { id: 'deploy-gate', type: 'checkbox', 'aria-label': 'health gate on' })
  const margin = h('input', { id: 'deploy-margin', value: '10%', 'aria-label': 'health gate margin' })
  const deployStatus = h('p', { id: 'deploy-status', role: 'status', 'aria-live': 'polite' })
  const deploy = h(
    'form',
    { id: 'deploy-form', class: 'panel form-grid', 'aria-labelledby': 'deploy-title' },
    h('h3', { id: 'deploy-title' }, 'Deploy'),
    field('Release', appSelect),
    field('Target', targetKind),
    field('Labels or devices', targetText, 'key=value pairs, or device ids, comma separated'),
    field('Batches', batches, 'cumulative: 1, 10%, 100%'),
    field('Bake', bake, 'between batches: 30s, 1m'),
    field('Max failures', maxFailures, 'per batch: 0, 5%'),
    field('Health gate', h('span', { class: 'inline' }, gate, h('span', {}, 'on, margin'), margin)),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Deploy')),
    deployStatus,
  )
  deploy.addEventListener('submit', (e) => {
    e.preventDefault()
    deployStatus.className = ''
    void (async () => {
      try {
        const target =
          targetKind.value === 'labels'
            ? { labels: parseLabels(targetText.value) }
            : { devices: targetText.value.split(/[,\s]+/).filter(Boolean) }
        const rollout: Record<string, unknown> = {
          batches: parseBatches(batches.value),
          bake: /^\d+$/.test(bake.value.trim()) ? Number(bake.value) : bake.value.trim(),
          maxFailures: /^[\d.]+$/.test(maxFailures.value.trim())
            ? Number(maxFailures.value)
            : maxFailures.value.trim(),
        }
        if (gate.checked) rollout.healthGate = { margin: margin.value.trim() }
        const d = await api.post<Deployment>('/v1/deployments', { app: appSelect.value, target, rollout })
        go(`#/deployments/${d.id}`)
      } catch (err) {
        deployStatus.className = 'error'
        deployStatus.textContent = `Refused: ${describeError(err)}`
      }
    })()
  })

  // Deployments.
  const deploymentsList = h(
    'div',
    { id: 'deployments-list' },
    h('p', { class: 'hint' }, 'Loading deployments…'),
  )
  const loadDeployments = async () => {
    const items = await api.all<Deployment>('/v1/deployments', { limit: 100 }, 1, abort.signal)
    deploymentsList.replaceChildren(
      items.length === 0
        ? h('p', { class: 'hint' }, 'No deployments yet.')
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Deployment', 'App', 'Target', 'State', 'Batch', 'Reason', 'Started'].map((t) =>
                  h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              ...items.map((d) =>
                h(
                  'tr',
                  { 'data-deployment': d.id },
                  h('td', {}, h('a', { href: `#/deployments/${d.id}` }, d.id)),
                  h('td', {}, d.appName),
                  h(
                    'td',
                    {},
                    d.target.labels ? labelText(d.target.labels) : `${d.target.devices?.length ?? 0} devices`,
                  ),
                  h('td', {}, stateChip(d.state)),
                  h('td', { class: 'num' }, `${d.batch} of ${d.rollout.batches.length}`),
                  h('td', {}, d.reason ?? ''),
                  h('td', {}, time(d.createdAt)),
                ),
              ),
            ),
          ),
    )
  }

  root.replaceChildren(
    h('h2', { class: 'view-title' }, 'Apps and deployments'),
    h('div', { class: 'two' }, upload, deploy),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'releases-title' },
      h('h3', { id: 'releases-title' }, 'Releases'),
      appsList,
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'deployments-title' },
      h('h3', { id: 'deployments-title' }, 'Deployments'),
      deploymentsList,
    ),
  )
  const fail = (where: HTMLElement) => (e: unknown) => {
    if (!abort.signal.aborted)
      where.replaceChildren(h('p', { class: 'error', role: 'alert' }, describeError(e)))
  }
  void loadApps().catch(fail(appsList))
  void loadDeployments().catch(fail(deploymentsList))
  const timer = setInterval(() => void loadDeployments().catch(fail(deploymentsList)), 5000)
  return () => {
    abort.abort()
    clearInterval(timer)
  }
}
