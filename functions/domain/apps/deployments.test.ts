// Deployments through the HTTP API on a fake clock: batches and bake time, a failing batch halting
// and its devices sent back, deferred devices catching up, the health gate, operator controls, and
// who may download what. Devices here are protocol-level test devices that report what they are told.
import { beforeEach, describe, expect, it } from 'vitest'
import { custom, minimalApp } from '../../../firmware/apps/wasm/testing/assemble.js'
import { loadNodeKernel } from '../../../kernels/node.js'
import { type TestDevice, testDevice } from '../../../test/device-client.js'
import { createApp } from '../../app.js'
import { openSqliteStore } from '../../store/sqlite.js'
import { resolveAnalysisConfig } from '../analysis-config.js'

const ADMIN = 'deployments-admin-token'
const kernel = await loadNodeKernel()

interface Desired {
  appId: string
  name: string
  version: string
  deploymentId: string
}

let clock: number
let app: ReturnType<typeof createApp>
const admin = (path: string, init: RequestInit = {}) =>
  app.request(path, { ...init, headers: { Authorization: `Bearer ${ADMIN}`, ...(init.headers as object) } })
const post = (path: string, body?: unknown) =>
  admin(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })

beforeEach(() => {
  clock = Date.UTC(2026, 10, 30, 12)
  app = createApp({
    store: openSqliteStore(':memory:'),
    kernel,
    analysis: resolveAnalysisConfig({}),
    tokens: { ingest: ['deployments-ingest-token'], admin: [ADMIN] },
    bodyLimitBytes: 1 << 20,
    fleet: { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 3000 },
    now: () => clock,
  })
})

/** A release of `name`; each version's bytes differ (a custom section). */
async function upload(name: string, version: string): Promise<string> {
  const bytes = minimalApp({ extra: [custom('version', [...new TextEncoder().encode(version)])] })
  const res = await admin(`/v1/apps?name=${name}&version=${version}&fuel=5000`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/wasm' },
    body: bytes as Uint8Array<ArrayBuffer>,
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { id: string }).id
}

async function devices(n: number, labels: Record<string, string> = { site: 'a' }): Promise<TestDevice[]> {
  const made = await post('/v1/fleet/enrolment-tokens', { labels, maxUses: n })
  const { token } = (await made.json()) as { token: string }
  const out = []
  for (let i = 0; i < n; i++) {
    const d = await testDevice(
      async (path, init) => app.request(path, init),
      () => clock,
    )
    expect((await d.enrol(token)).status).toBe(201)
    expect((await d.login()).status).toBe(200)
    out.push(d)
  }
  // In the order deployments take them (by id).
  return out.sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1))
}

async function deploy(
  appId: string,
  rollout: Record<string, unknown> = {},
  target: unknown = { labels: { site: 'a' } },
) {
  const res = await post('/v1/deployments', { app: appId, target, rollout })
  expect(res.status).toBe(201)
  return ((await res.json()) as { id: string }).id
}

/** A device's heartbeat with the apps it runs; answers the apps it is told to run. */
async function beat(d: TestDevice, apps: Record<string, unknown>[] = []): Promise<Desired[]> {
  const res = await d.heartbeat({ uptimeMs: 1, apps })
  expect(res.status).toBe(200)
  return ((await res.json()) as { apps: Desired[] }).apps
}

/** A device that does what it is told: reports every app it was told to run in `state`. */
async function obey(d: TestDevice, state = 'running', reason?: string): Promise<Desired[]> {
  const told = await beat(d)
  const apps = told.map((a) => ({
    appId: a.appId,
    deploymentId: a.deploymentId,
    name: a.name,
    state,
    reason,
  }))
  return beat(d, apps)
}

async function view(id: string) {
  const res = await admin(`/v1/deployments/${id}?limit=1000`)
  expect(res.status).toBe(200)
  return (await res.json()) as {
    state: string
    batch: number
    reason: string | null
    counts: Record<string, number>
    devices: { items: { deviceId: string; state: string; reason: string | null; batch: number }[] }
  }
}

describe('deployments', () => {
  it('rolls out batch by batch, each baked, and succeeds when every device runs the release', async () => {
    const fleet = await devices(4)
    const v1 = await upload('counter', '1.0.0')
    const dep = await deploy(v1, { batches: [1, '50%', '100%'], bake: '10s' })
    expect((await beat(fleet[0]!)).map((a) => a.appId)).toEqual([v1])
    expect(await beat(fleet[1]!)).toEqual([])
    await obey(fleet[0]!)
    // Devices 3 and 4 have never been heard from: deferred.
    expect(await view(dep)).toMatchObject({
      state: 'rolling',
      batch: 1,
      counts: { running: 1, pending: 1, deferred: 2 },
    })
    clock += 9_999
    await obey(fleet[0]!)
    expect(await beat(fleet[1]!)).toEqual([])
    clock += 250 // the bake is over (and a process looks again at most every 250 ms)
    await obey(fleet[0]!)
    expect((await beat(fleet[1]!)).map((a) => a.name)).toEqual(['counter'])
    expect(await beat(fleet[2]!)).toEqual([])
    await obey(fleet[1]!)
    clock += 10_000
    for (const d of fleet) await obey(d)
    clock += 10_000
    for (const d of fleet) await obey(d)
    expect(await view(dep)).toMatchObject({ state: 'succeeded', batch: 3, counts: { running: 4 } })
  })

  it('halts when a batch fails and sends its devices back to the release they ran before', async () => {
    const fleet = await devices(3)
    const v1 = await upload('counter', '1.0.0')
    await deploy(v1)
    for (const d of fleet) await obey(d)
    const v2 = await upload('counter', '2.0.0')
    const dep = await deploy(v2, { batches: [1, '100%'] })
    expect((await beat(fleet[0]!)).map((a) => a.appId)).toEqual([v2])
    expect((await beat(fleet[1]!)).map((a) => a.appId)).toEqual([v1])
    const told = await obey(fleet[0]!, 'failed', 'fuel_exhausted: 5000 units used in one tick')
    expect(told.map((a) => a.appId)).toEqual([v1])
    const halted = await view(dep)
    expect(halted).toMatchObject({ state: 'halted', counts: { failed: 1, pending: 2 } })
    expect(halted.reason).toBe(
      '1 of 1 devices in batch 1 failed (' +
        fleet[0]!.deviceId +
        ': fuel_exhausted: 5000 units used in one tick)',
    )
    // Back on v1 (the agent kept it), it reports running: rolled back.
    await beat(fleet[0]!, [{ appId: v1, deploymentId: dep, name: 'counter', state: 'running' }])
    const after = await view(dep)
    expect(after.counts).toMatchObject({ rolled_back: 1, pending: 2 })
    expect(after.devices.items[0]).toMatchObject({
      state: 'rolled_back',
      reason: expect.stringContaining('fuel'),
    })
    // The others never got v2.
    for (const d of fleet.slice(1)) expect((await obey(d)).map((a) => a.appId)).toEqual([v1])
  })

  it('defers an offline device, which never fails the deployment and catches up when it returns', async () => {
    const fleet = await devices(3)
    for (const d of fleet) await beat(d)
    const v1 = await upload('counter', '1.0.0')
    const dep = await deploy(v1)
    clock += 4000 // past the heartbeat timeout: nobody has beaten since
    expect((await view(dep)).counts).toMatchObject({ deferred: 3 })
    await obey(fleet[0]!)
    await obey(fleet[1]!)
    const waiting = await view(dep)
    expect(waiting).toMatchObject({ state: 'rolling', counts: { running: 2, deferred: 1 } })
    expect(waiting.devices.items.find((i) => i.deviceId === fleet[2]!.deviceId)?.state).toBe('deferred')
    clock += 60_000
    await obey(fleet[2]!)
    expect(await view(dep)).toMatchObject({ state: 'succeeded', counts: { running: 3 } })
  })

  it('halts on the health gate when devices show anomalies after the release', async () => {
    const fleet = await devices(2)
    const v1 = await upload('counter', '1.0.0')
    const dep = await deploy(v1, { batches: [1, '100%'], bake: '30s', healthGate: true })
    await obey(fleet[0]!)
    clock += 5000
    // Its telemetry goes wrong after the release: an error line is an anomaly.
    const sent = await fleet[0]!.ingest([{ ts: clock, level: 'error', msg: 'sensor bus stuck' }])
    expect(sent.status).toBe(200)
    clock += 25_000
    await obey(fleet[0]!)
    const halted = await view(dep)
    expect(halted.state).toBe('halted')
    expect(halted.reason).toBe(
      "health gate: 100% of batch 1's devices had anomalies after the release, 0% before",
    )
    expect(await beat(fleet[1]!)).toEqual([])
  })

  it('passes the health gate when nothing new goes wrong', async () => {
    const fleet = await devices(2)
    const v1 = await upload('counter', '1.0.0')
    const dep = await deploy(v1, { batches: [1, '100%'], bake: '30s', healthGate: { margin: '10%' } })
    await obey(fleet[0]!)
    await fleet[0]!.ingest([{ ts: clock, level: 'info', temp: 21 }])
    clock += 30_000
    await obey(fleet[0]!)
    expect(await view(dep)).toMatchObject({ state: 'rolling', batch: 2 })
  })

  it('pauses, resumes, aborts and rolls back, refusing what the state does not allow', async () => {
    const fleet = await devices(2)
    const v1 = await upload('counter', '1.0.0')
    const dep = await deploy(v1, { batches: [1, '100%'] })
    expect((await post(`/v1/deployments/${dep}/pause`)).status).toBe(200)
    await obey(fleet[0]!)
    expect(await beat(fleet[1]!)).toEqual([])
    const refused = await post(`/v1/deployments/${dep}/pause`)
    expect(refused.status).toBe(409)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('invalid_state')
    expect((await post(`/v1/deployments/${dep}/resume`)).status).toBe(200)
    await obey(fleet[0]!)
    expect((await beat(fleet[1]!)).map((a) => a.appId)).toEqual([v1])
    expect((await post(`/v1/deployments/${dep}/abort`)).status).toBe(200)
    expect((await beat(fleet[1]!)).map((a) => a.appId)).toEqual([v1])
    expect((await post(`/v1/deployments/${dep}/rollback`)).status).toBe(200)
    expect(await obey(fleet[0]!)).toEqual([])
    expect((await view(dep)).state).toBe('rolled_back')
    expect((await post('/v1/deployments/dep_nope/pause')).status).toBe(404)
  })

  it('refuses to delete a release while devices run it or may go back to it', async () => {
    const fleet = await devices(1)
    const v1 = await upload('counter', '1.0.0')
    await deploy(v1)
    await obey(fleet[0]!)
    const refused = await admin(`/v1/apps/${v1}`, { method: 'DELETE' })
    expect(refused.status).toBe(409)
    const v2 = await upload('counter', '2.0.0')
    await deploy(v2)
    await obey(fleet[0]!)
    // v1 is what a rollback of v2's deployment would send the device back to.
    expect((await admin(`/v1/apps/${v1}`, { method: 'DELETE' })).status).toBe(409)
    const v3 = await upload('counter', '3.0.0')
    expect((await admin(`/v1/apps/${v3}`, { method: 'DELETE' })).status).toBe(200)
    expect((await admin(`/v1/apps/${v3}`)).status).toBe(404)
  })

  it('lets a device download only the releases it is to run, with their sha256', async () => {
    const [a, b] = await devices(2)
    const v1 = await upload('counter', '1.0.0')
    const other = await upload('other', '1.0.0')
    await deploy(v1, {}, { devices: [a!.deviceId] })
    const told = await beat(a!)
    const download = (d: TestDevice, id: string) =>
      app.request(`/v1/device/apps/${id}`, { headers: { Authorization: `Bearer ${d.token}` } })
    const res = await download(a!, v1)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/wasm')
    const bytes = new Uint8Array(await res.arrayBuffer())
    const sha = Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex')
    expect(sha).toBe((told[0] as unknown as { sha256: string }).sha256)
    expect((await download(b!, v1)).status).toBe(404)
    expect((await download(a!, other)).status).toBe(404)
    // The admin token is not a device's; a device token opens no admin route.
    expect((await admin(`/v1/device/apps/${v1}`)).status).toBe(401)
    const asDevice = await app.request('/v1/apps', { headers: { Authorization: `Bearer ${a!.token}` } })
    expect(asDevice.status).toBe(403)
  })

  it('refuses targets with no devices and unknown apps', async () => {
    await devices(1)
    const v1 = await upload('counter', '1.0.0')
    const none = await post('/v1/deployments', { app: v1, target: { labels: { site: 'nowhere' } } })
    expect([none.status, ((await none.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      'no_devices',
    ])
    const unknown = await post('/v1/deployments', { app: 'app_nope', target: { labels: { site: 'a' } } })
    expect(unknown.status).toBe(404)
    const bad = await post('/v1/deployments', {
      app: v1,
      target: { labels: { site: 'a' } },
      rollout: { bake: 'soon' },
    })
    expect(bad.status).toBe(400)
  })
})
