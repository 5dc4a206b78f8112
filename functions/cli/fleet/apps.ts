// `fleet apps ...`, `fleet deploy` and `fleet deployments ...`: push a Wasm app release, deploy it to
// devices by label or id in batches, and follow a deployment (a live view on a terminal, a line per
// change otherwise) until it ends; pause, resume, abort or roll it back.
import { readFileSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import { ApiFailure, type Client } from './client.js'
import { type Command, count, duration, UsageError } from './command.js'
import { labelText, lines, more, table, when } from './format.js'

/** Devices listed by `deployments ID` (those not running first). */
const DEVICES_SHOWN = 20
/** How often a followed deployment is read again. */
const FOLLOW_EVERY_MS = 1000
const FINISHED = ['halted', 'succeeded', 'failed', 'aborted', 'rolled_back']
const STATES = [
  'running',
  'pending',
  'downloading',
  'starting',
  'deferred',
  'failed',
  'stopped',
  'rolled_back',
]

interface App {
  id: string
  name: string
  version: string
  sha256: string
  size: number
  limits: { memoryPages: number; fuel: number; tickMs: number; wallMs: number; maxRestarts: number }
  telemetry: string
  imports: string[]
  createdAt: string
}

interface Deployment {
  id: string
  app: string
  appName: string
  target: { devices?: string[]; labels?: Record<string, string> }
  rollout: { batches: number[]; bakeMs: number; maxFailures: number; healthGate: { margin: number } | null }
  state: string
  batch: number
  reason: string | null
  createdAt: string
  updatedAt: string
}

interface DeploymentView extends Deployment {
  appVersion: string | null
  devicesTotal: number
  counts: Record<string, number>
  devices: {
    items: {
      deviceId: string
      batch: number
      state: string
      reason: string | null
      report: Record<string, unknown> | null
    }[]
    next: string | null
  }
}

const path = {
  apps: '/v1/apps',
  app: (id: string) => `/v1/apps/${encodeURIComponent(id)}`,
  deployments: '/v1/deployments',
  deployment: (id: string) => `/v1/deployments/${encodeURIComponent(id)}`,
}

const LIMIT_FLAGS = [
  ['memory-pages', 'memoryPages'],
  ['fuel', 'fuel'],
  ['tick-ms', 'tickMs'],
  ['wall-ms', 'wallMs'],
  ['max-restarts', 'maxRestarts'],
] as const

export const APP_COMMANDS: Record<string, Command> = {
  'apps push': {
    usage:
      'apps push FILE --version V [--name NAME] [--memory-pages P] [--fuel F] [--tick-ms T] [--wall-ms W] [--max-restarts R] [--telemetry add|replace]',
    flags: ['version', 'name', 'memory-pages', 'fuel', 'tick-ms', 'wall-ms', 'max-restarts', 'telemetry'],
    ids: 1,
    check(values) {
      if (values.version === undefined) throw new UsageError('give the release a --version')
      for (const [flag] of LIMIT_FLAGS) if (values[flag] !== undefined) count(values[flag], `--${flag}`)
      if (values.telemetry !== undefined && !['add', 'replace'].includes(values.telemetry))
        throw new UsageError('--telemetry must be add or replace')
    },
    async run(c, { id: file, values }) {
      const bytes = readModule(file)
      const query = new URLSearchParams({
        name: values.name ?? basename(file).replace(/\.wasm$/i, ''),
        version: values.version!,
      })
      for (const [flag, param] of LIMIT_FLAGS) if (values[flag] !== undefined) query.set(param, values[flag])
      if (values.telemetry) query.set('telemetry', values.telemetry)
      const app = await c.call<App>('POST', `${path.apps}?${query}`, bytes, 'application/wasm')
      c.print(app, () =>
        lines(
          `app ${app.id}: ${app.name} ${app.version}, ${app.size} bytes, sha256 ${app.sha256}`,
          `limits: ${limitText(app.limits)}; telemetry ${app.telemetry}`,
          `deploy it with: edgewatch fleet deploy ${app.id} --to label=KEY=VALUE`,
        ),
      )
    },
  },
  'apps list': {
    usage: 'apps list [--limit N]',
    flags: ['limit'],
    ids: 0,
    async run(c, { values }) {
      const limit = values.limit === undefined ? undefined : count(values.limit, '--limit')
      const page = await c.collect<App>(path.apps, new URLSearchParams(), limit)
      c.print(page, () =>
        page.items.length === 0
          ? 'no apps\n'
          : table(
              ['ID', 'NAME', 'VERSION', 'SIZE', 'LIMITS', 'CREATED'],
              page.items.map((a) => [
                a.id,
                a.name,
                a.version,
                String(a.size),
                limitText(a.limits),
                when(a.createdAt),
              ]),
            ) + more(page, 'apps'),
      )
    },
  },
  'apps show': {
    usage: 'apps show ID',
    flags: [],
    ids: 1,
    async run(c, { id }) {
      const a = await c.call<App>('GET', path.app(id))
      c.print(a, () =>
        lines(
          `app ${a.id}: ${a.name} ${a.version}`,
          `size ${a.size} bytes, sha256 ${a.sha256}`,
          `limits: ${limitText(a.limits)}; telemetry ${a.telemetry}`,
          `imports: ${a.imports.join(', ') || '-'}`,
          `created ${when(a.createdAt)}`,
        ),
      )
    },
  },
  'apps delete': {
    usage: 'apps delete ID',
    flags: [],
    ids: 1,
    async run(c, { id }) {
      const answer = await c.call<{ deleted: string }>('DELETE', path.app(id))
      c.print(answer, () => lines(`deleted app ${answer.deleted}`))
    },
  },
  deploy: {
    usage:
      'deploy APP --to label=k=v|device=ID ... [--batches 1,10%,100%] [--bake 30s] [--max-failures 10%] [--health-gate MARGIN] [--watch]',
    flags: ['to', 'batches', 'bake', 'max-failures', 'health-gate', 'watch'],
    ids: 1,
    check(values) {
      targetOf(values.to)
      if (values.batches !== undefined) batchesOf(values.batches)
      if (values.bake !== undefined && !/^0+(ms|s|m|h)?$/.test(values.bake)) duration(values.bake, '--bake')
      if (values['max-failures'] !== undefined) shareOf(values['max-failures'], '--max-failures')
      if (values['health-gate'] !== undefined) shareOf(values['health-gate'], '--health-gate')
    },
    async run(c, { id: app, values }) {
      const release = await resolveApp(c, app)
      const rollout: Record<string, unknown> = {}
      if (values.batches !== undefined) rollout.batches = batchesOf(values.batches)
      if (values.bake !== undefined) rollout.bake = values.bake
      if (values['max-failures'] !== undefined) rollout.maxFailures = shareOf(values['max-failures'], '')
      if (values['health-gate'] !== undefined)
        rollout.healthGate = { margin: shareOf(values['health-gate'], '') }
      const d = await c.call<Deployment>('POST', path.deployments, {
        app: release.id,
        target: targetOf(values.to),
        rollout,
      })
      if (values.watch) return follow(c, d.id)
      c.print(d, () =>
        lines(
          `deployment ${d.id}: ${release.name} ${release.version} to ${total(d)} devices (${targetText(d)}), ${rolloutText(d)}`,
          `follow it with: edgewatch fleet deployments ${d.id}`,
        ),
      )
    },
  },
  deployments: {
    usage: 'deployments [ID] [--watch] [--limit N]',
    flags: ['watch', 'limit'],
    ids: 'optional',
    check(values) {
      if (values.limit !== undefined) count(values.limit, '--limit')
    },
    async run(c, { id, values }) {
      if (id) return values.watch || c.io.interactive ? follow(c, id) : show(c, id)
      const limit = values.limit === undefined ? undefined : count(values.limit, '--limit')
      const page = await c.collect<Deployment>(path.deployments, new URLSearchParams(), limit)
      c.print(page, () =>
        page.items.length === 0
          ? 'no deployments\n'
          : table(
              ['ID', 'APP', 'STATE', 'BATCH', 'DEVICES', 'TARGET', 'CREATED'],
              page.items.map((d) => [
                d.id,
                `${d.appName} (${d.app})`,
                d.state,
                `${d.batch}/${d.rollout.batches.length}`,
                String(total(d)),
                targetText(d),
                when(d.createdAt),
              ]),
            ) + more(page, 'deployments'),
      )
    },
  },
}

for (const action of ['pause', 'resume', 'abort', 'rollback'] as const) {
  APP_COMMANDS[`deployments ${action}`] = {
    usage: `deployments ${action} ID`,
    flags: [],
    ids: 1,
    async run(c, { id }) {
      const d = await c.call<Deployment>('POST', `${path.deployment(id)}/${action}`)
      c.print(d, () => lines(`deployment ${d.id}: ${d.state}${d.reason ? ` (${d.reason})` : ''}`))
    },
  }
}

function readModule(file: string): Uint8Array {
  try {
    if (!statSync(file).isFile()) throw new Error('not a file')
    return readFileSync(file)
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
}

/** An app id (app_…), NAME@VERSION, or NAME for its newest release. */
async function resolveApp(c: Client, text: string): Promise<App> {
  if (text.startsWith('app_')) return c.call<App>('GET', path.app(text))
  const at = text.lastIndexOf('@')
  const [name, version] = at > 0 ? [text.slice(0, at), text.slice(at + 1)] : [text, undefined]
  const apps = await c.collect<App>(path.apps, new URLSearchParams())
  const found = apps.items.find((a) => a.name === name && (version === undefined || a.version === version))
  if (!found)
    throw new ApiFailure('not_found', `no app ${version ? `${name} ${version}` : name}: push it first`)
  return found
}

function targetOf(to: string[] | undefined): { labels: Record<string, string> } | { devices: string[] } {
  if (!to?.length)
    throw new UsageError(
      'give the devices: --to label=KEY=VALUE (repeat for several labels) or --to device=ID',
    )
  const labels: Record<string, string> = {}
  const devices: string[] = []
  for (const t of to) {
    if (t.startsWith('device=') && t.length > 7) devices.push(t.slice(7))
    else if (/^label=[^=]+=/.test(t)) {
      const pair = t.slice(6)
      const eq = pair.indexOf('=')
      labels[pair.slice(0, eq)] = pair.slice(eq + 1)
    } else throw new UsageError(`--to must be label=KEY=VALUE or device=ID; got ${JSON.stringify(t)}`)
  }
  if (devices.length && Object.keys(labels).length)
    throw new UsageError('--to names devices or labels, not both')
  return devices.length ? { devices } : { labels }
}

function batchesOf(text: string): (number | string)[] {
  const parts = text.split(',').map((s) => s.trim())
  return parts.map((p) => {
    if (/^\d{1,3}(\.\d+)?%$/.test(p)) return p
    if (/^\d+$/.test(p) && Number(p) > 0) return Number(p)
    throw new UsageError(
      `--batches is a list of device counts or shares, e.g. 1,10%,100%; got ${JSON.stringify(p)}`,
    )
  })
}

/** "10%" or 0.1 as a number from 0 to 1. */
function shareOf(text: string, flag: string): number {
  const n = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text)
  if (!/^\d+(\.\d+)?%?$/.test(text) || !(n >= 0 && n <= 1))
    throw new UsageError(`${flag} is a share such as 10% or 0.1; got ${JSON.stringify(text)}`)
  return n
}

async function show(c: Client, id: string): Promise<void> {
  const view = await readView(c, id)
  c.print(view, () => viewText(view))
}

/**
 * Reads the deployment every second until it ends. On a terminal the view is redrawn in place;
 * elsewhere a line is printed whenever its state or counts change, then the whole view at the end.
 */
async function follow(c: Client, id: string): Promise<void> {
  let drawn = 0
  let last = ''
  for (;;) {
    const view = await readView(c, id)
    const done = FINISHED.includes(view.state)
    if (c.json) {
      if (done) c.io.out(JSON.stringify(view) + '\n')
    } else if (c.io.interactive) {
      const text = viewText(view)
      c.io.out((drawn ? `\x1b[${drawn}F\x1b[J` : '') + text)
      drawn = text.split('\n').length - 1
    } else {
      const line = progressLine(view)
      if (line !== last) c.io.out(`${when(new Date(c.io.now()).toISOString())}  ${line}\n`)
      last = line
      if (done) c.io.out(viewText(view))
    }
    if (done) return
    await c.io.sleep(FOLLOW_EVERY_MS)
  }
}

async function readView(c: Client, id: string): Promise<DeploymentView> {
  return c.call<DeploymentView>('GET', `${path.deployment(id)}?limit=1000`)
}

function viewText(v: DeploymentView): string {
  const head = lines(
    `deployment ${v.id}: ${v.appName} ${v.appVersion ?? '(deleted)'} (${v.app}) to ${v.devicesTotal} devices (${targetText(v)})`,
    `${v.state}, batch ${v.batch} of ${v.rollout.batches.length}; ${rolloutText(v)}${v.reason ? `\nreason: ${v.reason}` : ''}`,
    progressLine(v),
  )
  const order = (s: string) => (s === 'failed' ? 0 : s === 'running' ? 2 : 1)
  const items = [...v.devices.items].sort((a, b) => order(a.state) - order(b.state)).slice(0, DEVICES_SHOWN)
  const shown =
    v.devicesTotal > items.length
      ? `(${items.length} of ${v.devicesTotal} devices shown, those not running first)\n`
      : ''
  return (
    head +
    table(
      ['DEVICE', 'BATCH', 'STATE', 'TICKS', 'FUEL/TICK', 'PAGES', 'RESTARTS', 'REASON'],
      items.map((d) => [
        d.deviceId,
        String(d.batch),
        d.state,
        stat(d.report, 'ticks'),
        stat(d.report, 'fuelPerTick'),
        stat(d.report, 'memoryPages'),
        stat(d.report, 'restarts'),
        d.reason ?? '',
      ]),
    ) +
    shown
  )
}

/** A bar of running devices, then the count in each state. */
function progressLine(v: DeploymentView): string {
  const width = 30
  const running = v.counts.running ?? 0
  const filled = v.devicesTotal ? Math.round((running / v.devicesTotal) * width) : 0
  const counts = STATES.filter((s) => s === 'running' || (v.counts[s] ?? 0) > 0)
    .map((s) => `${s} ${v.counts[s] ?? 0}`)
    .join(', ')
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${v.state}: ${counts} of ${v.devicesTotal}`
}

function stat(report: Record<string, unknown> | null, key: string): string {
  const v = report?.[key]
  return typeof v === 'number' ? String(v) : '-'
}

const total = (d: Deployment) => d.rollout.batches[d.rollout.batches.length - 1] ?? 0

function targetText(d: Deployment): string {
  if (d.target.labels) return `labels ${labelText(d.target.labels)}`
  const ids = d.target.devices ?? []
  return ids.length <= 3
    ? `devices ${ids.join(', ')}`
    : `devices ${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more`
}

function rolloutText(d: Deployment): string {
  const r = d.rollout
  const gate = r.healthGate
    ? `health gate margin ${Math.round(r.healthGate.margin * 100)}%`
    : 'no health gate'
  return `batches ${r.batches.join(', ')}; bake ${r.bakeMs / 1000} s; up to ${Math.round(r.maxFailures * 100)}% failures a batch; ${gate}`
}

function limitText(l: App['limits']): string {
  return `${l.memoryPages} pages, fuel ${l.fuel}/tick, tick ${l.tickMs} ms, watchdog ${l.wallMs} ms, ${l.maxRestarts} restarts`
}
