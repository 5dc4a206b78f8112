// The fleet benchmark's deployment phase: one `edgewatch serve` with a 2 s heartbeat interval and one
// `edgewatch simulate` process with DEVICES devices (behind gateways). Once they are all connected:
// 1. `report-on-change` is pushed and deployed to their label; the time from the deployment's creation
//    to each device's `running` is read from GET /v1/deployments/:id (target: p95 < 10 s on 1,000).
// 2. Nine more apps (edge-detect and eight distinct builds of well-behaved) are deployed the same way:
//    10 apps per device, all in the one simulator process. Its resident memory before any app and with
//    all ten gives the agent's memory per app and per device.
// The simulator is then stopped (SIGTERM) and its result checked: no record lost, every app running.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { appPath } from '../../firmware/apps/build.js'
import { type Bytes, name, section } from '../../firmware/apps/wasm/testing/assemble.js'
import { startServer } from '../../test/server-process.js'
import { percentile } from '../abuse/tally.js'
import { enrolmentToken, memoryMb, runSimulate } from './processes.js'

export interface DeploySettings {
  devices: number
  gateway: number
  apps: number
}

const ADMIN = 'bench-fleet-admin-token-'
const LABEL = { bench: 'deploy' }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function deployPhase(s: DeploySettings): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-deploy-'))
  const server = await startServer({
    EDGEWATCH_DATA_DIR: dataDir,
    EDGEWATCH_ADMIN_TOKEN: ADMIN,
    EDGEWATCH_HEARTBEAT_INTERVAL: '2s',
    EDGEWATCH_HEARTBEAT_TIMEOUT: '10s',
    EDGEWATCH_SYNC: process.env.EDGEWATCH_SYNC ?? 'full',
  })
  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${ADMIN}`,
        'Content-Type': 'application/json',
        ...(init.headers as object),
      },
    })
    const body = (await res.json()) as T
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`)
    return body
  }
  const serverPid = server.child.pid!
  let serverPeakMb = memoryMb(serverPid).rss
  const sampler = setInterval(() => {
    serverPeakMb = Math.max(serverPeakMb, memoryMb(serverPid).rss)
  }, 500)
  const token = await enrolmentToken(server.url, ADMIN, s.devices, LABEL)
  console.log(`deploy: server ${server.url}, heartbeat 2 s; simulating ${s.devices} devices`)
  // Long enough for any run; the phase ends it with SIGTERM (it then drains and prints its result).
  const sim = runSimulate(server.url, token, ADMIN, [
    ...['--devices', String(s.devices), '--rate', '1', '--duration', '60m', '--drain', '30s'],
    ...['--gateway', String(s.gateway), '--batch-ms', '5000', '--wave', '500'],
  ])
  const simPid = sim.child.pid!
  let stopped = false
  void sim.done.then(() => {
    stopped = true
  })
  try {
    await until(
      'every device connected',
      async () => countConnected(api),
      (n) => n === s.devices,
      10 * 60_000,
      () => stopped,
    )
    await sleep(10_000) // a few heartbeats, so the baseline is the steady fleet without apps
    const baselineMb = memoryMb(simPid).rss
    console.log(`deploy: all ${s.devices} connected; simulator ${baselineMb.toFixed(0)} MB before apps`)

    const releases = appReleases(s.apps)
    const deployments: Record<string, unknown>[] = []
    for (const r of releases) {
      const app = await api<{ id: string }>(`/v1/apps?${r.query}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/wasm' },
        body: r.bytes,
      })
      const { id } = await api<{ id: string }>('/v1/deployments', {
        method: 'POST',
        body: JSON.stringify({ app: app.id, target: { labels: LABEL } }),
      })
      const view = await until(
        `${r.label} running on every device`,
        async () => api<DeploymentView>(`/v1/deployments/${id}?limit=1000`),
        (v) => v.counts.running === s.devices || v.state === 'halted' || v.state === 'failed',
        5 * 60_000,
        () => stopped,
      )
      const devices = await allDevices(api, id, view)
      const created = Date.parse(view.createdAt)
      const took = devices.filter((d) => d.runningAt !== null).map((d) => Date.parse(d.runningAt!) - created)
      const summary = {
        app: r.label,
        state: view.state,
        running: view.counts.running,
        p50_ms: percentile(took, 50),
        p95_ms: percentile(took, 95),
        max_ms: percentile(took, 100),
        simulator_rss_mb: Math.round(memoryMb(simPid).rss),
      }
      console.log(`deploy: ${JSON.stringify(summary)}`)
      deployments.push(summary)
      if (view.counts.running !== s.devices) break
    }
    await sleep(10_000) // every app ticking for a while
    const withAppsMb = memoryMb(simPid).rss
    const appsRunning = deployments.filter((d) => d.running === s.devices).length * s.devices
    sim.child.kill('SIGTERM')
    const { code, result: r } = await sim.done
    clearInterval(sampler)
    serverPeakMb = Math.max(serverPeakMb, memoryMb(serverPid).hwm)
    const first = deployments[0] as { p95_ms: number | null; running: number } | undefined
    const perAppKb = appsRunning ? ((withAppsMb - baselineMb) * 1024) / appsRunning : null
    const targets = {
      firstDeploymentAllRunning: first?.running === s.devices,
      firstDeploymentP95Under10s: (first?.p95_ms ?? Number.POSITIVE_INFINITY) < 10_000,
      everyAppRunningOnEveryDevice: appsRunning === s.apps * s.devices,
      noRecordLost: r.recordsLost === 0,
    }
    console.log(
      `deploy: simulate exited ${code}; apps ${JSON.stringify(r.apps)}; targets: ${JSON.stringify(targets)}`,
    )
    return {
      devices: s.devices,
      apps_per_device: s.apps,
      deployments,
      apps_running: appsRunning,
      simulator_rss_before_apps_mb: Math.round(baselineMb),
      simulator_rss_with_apps_mb: Math.round(withAppsMb),
      agent_memory_per_app_kb: perAppKb === null ? null : Math.round(perAppKb * 10) / 10,
      agent_memory_per_device_kb: Math.round(((withAppsMb - baselineMb) * 1024 * 10) / s.devices) / 10,
      simulator_apps_at_end: r.apps,
      records_lost: r.recordsLost,
      server_peak_rss_mb: Math.round(serverPeakMb),
      targets,
    }
  } finally {
    clearInterval(sampler)
    if (!stopped) sim.child.kill('SIGKILL')
    await server.stop('SIGTERM')
    rmSync(dataDir, { recursive: true, force: true })
  }
}

interface DeploymentView {
  state: string
  createdAt: string
  counts: Record<string, number>
  devices: { items: { deviceId: string; runningAt: string | null }[]; next: string | null }
}

/** The releases deployed one after another: report-on-change, edge-detect, then distinct well-behaved builds. */
function appReleases(n: number): { label: string; query: string; bytes: Bytes }[] {
  const read = (file: string): Bytes => new Uint8Array(readFileSync(appPath(file)))
  const all = [
    {
      label: 'report-on-change',
      query: 'name=report-on-change&version=1.0.0&telemetry=replace',
      bytes: read('report-on-change'),
    },
    {
      label: 'edge-detect',
      query: 'name=edge-detect&version=1.0.0&memoryPages=28&tickMs=5000',
      bytes: read('edge-detect'),
    },
  ]
  for (let i = 0; all.length < n; i++) {
    // A custom section makes each build distinct bytes (its own sha256, its own compiled module).
    const tag = section(0, name(`bench-copy-${i}`))
    all.push({
      label: `counter-${i}`,
      query: `name=counter-${i}&version=1.0.0&tickMs=5000`,
      bytes: Uint8Array.from([...read('well-behaved'), ...tag]),
    })
  }
  return all.slice(0, n)
}

async function countConnected(api: <T>(path: string) => Promise<T>): Promise<number> {
  let n = 0
  let cursor: string | null = null
  do {
    const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
    const page = await api<{ items: unknown[]; next: string | null }>(
      `/v1/devices?status=connected&limit=1000${q}`,
    )
    n += page.items.length
    cursor = page.next
  } while (cursor)
  return n
}

async function allDevices(
  api: <T>(path: string) => Promise<T>,
  id: string,
  first: DeploymentView,
): Promise<DeploymentView['devices']['items']> {
  const items = [...first.devices.items]
  let cursor = first.devices.next
  while (cursor) {
    const page = await api<DeploymentView>(
      `/v1/deployments/${id}?limit=1000&cursor=${encodeURIComponent(cursor)}`,
    )
    items.push(...page.devices.items)
    cursor = page.devices.next
  }
  return items
}

async function until<T>(
  what: string,
  get: () => Promise<T>,
  ok: (v: T) => boolean,
  ms: number,
  gone: () => boolean,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await get()
    if (ok(v)) return v
    if (gone()) throw new Error(`${what}: the simulator stopped`)
    if (Date.now() > deadline) throw new Error(`${what}: not reached after ${ms / 1000} s`)
    await sleep(500)
  }
}
