// The agent with apps, against the fake server on a fake clock: the desired set arrives in heartbeat
// answers, modules are downloaded with the device token, app states go back in heartbeat bodies, and
// what apps emit reaches the server in the sampler's batches.
import { describe, expect, it } from 'vitest'
import type { StoredRecord } from '../testing/fake-server.js'
import { harness } from '../testing/harness.js'
import { inlineAppHost } from './inline-host.js'
import type { AppReport } from './release.js'
import { withApps } from './testing/app-server.js'
import { forbiddenImport, wellBehaved } from './testing/wasm.js'

function setup() {
  const h = harness()
  const apps = withApps(h.server)
  const agent = h.agent({ transport: h.transportOf(apps.fetch), appHost: inlineAppHost() })
  const device = () => [...h.server.devices.values()][0]
  const lastApps = () => (device()?.heartbeats.at(-1)?.apps ?? []) as AppReport[]
  return { h, apps, agent, device, lastApps }
}

const isApp = (r: StoredRecord) => 'counter' in r
const isRaw = (r: StoredRecord) => 'n' in r

describe('agent with apps', () => {
  it('runs what heartbeat answers ask for, reports it in the next heartbeats, and sends what it emits as records', async () => {
    const { h, apps, agent, lastApps } = setup()
    const counter = await apps.publish('counter', '1.0.0', wellBehaved())
    apps.desired = [counter]
    await agent.start()
    await h.clock.runUntil(() => lastApps()[0]?.state === 'running' && lastApps()[0]!.ticks >= 5)

    const [reported] = lastApps()
    expect(Object.keys(reported!).sort()).toEqual(
      [
        'appId',
        'name',
        'version',
        'deploymentId',
        'state',
        'ticks',
        'fuelPerTick',
        'fuelMax',
        'memoryPages',
        'restarts',
        'errors',
        'reason',
        'since',
      ].sort(),
    )
    expect(reported).toMatchObject({
      appId: counter.appId,
      name: 'counter',
      version: '1.0.0',
      deploymentId: counter.deploymentId,
      state: 'running',
      memoryPages: 1,
      restarts: 0,
      errors: 0,
      reason: null,
    })
    // Downloaded once (with the device token: the app server answers 401 without one).
    expect(apps.downloads).toEqual([counter.appId])

    const stats = await h.drive(agent.stop({ drainMs: 60_000 }).then(() => agent.stats()))
    expect(stats.appRecords).toBeGreaterThanOrEqual(5)
    expect(stats.apps[0]).toMatchObject({ name: 'counter', state: 'running' })
    // Every reading and every app record reached the server, in batches with Idempotency-Keys.
    const appRecords = h.server.records.filter(isApp)
    expect(appRecords.length).toBe(stats.appRecords)
    expect(h.server.records.filter(isRaw).length).toBe(stats.readings)
    expect(h.server.records.length).toBe(stats.readings + stats.appRecords)
    expect(appRecords.map((r) => r.counter)).toEqual(appRecords.map((_, i) => i + 1))
    expect(appRecords.every((r) => r.deviceId === stats.deviceId && typeof r.first === 'number')).toBe(true)
    const batches = [...h.server.batches.values()].filter((b) => b.body.includes('"counter"'))
    expect(batches.length).toBeGreaterThan(0)
    expect(batches.some((b) => b.body.includes('"n"'))).toBe(true) // in the same batches as readings
    expect(h.events).toContainEqual(
      expect.objectContaining({ type: 'app', name: 'counter', state: 'running' }),
    )
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'app-log', message: 'started' }))
  })

  it("with telemetry 'replace', raw readings are not recorded while the app runs", async () => {
    const { h, apps, agent, lastApps } = setup()
    const reducer = await apps.publish('reducer', '1.0.0', wellBehaved(), { telemetry: 'replace' })
    await agent.start()
    await h.clock.runUntil(() => agent.stats().batchesAcked >= 3)
    apps.desired = [reducer]
    await h.clock.runUntil(() => lastApps()[0]?.state === 'running' && agent.stats().appRecords >= 20)
    const during = agent.stats()
    expect(during.readingsReplaced).toBeGreaterThan(0)

    apps.desired = []
    await h.clock.runUntil(() => lastApps().length === 0 && agent.stats().readings > during.readings + 10)
    const stats = await h.drive(agent.stop({ drainMs: 60_000 }).then(() => agent.stats()))

    const appTs = h.server.records.filter(isApp).map((r) => r.ts)
    const rawTs = h.server.records.filter(isRaw).map((r) => r.ts)
    // Between the app's second and its last record, no raw reading was recorded.
    const from = appTs[1]!
    const to = appTs.at(-2)!
    expect(rawTs.filter((ts) => ts > from && ts < to)).toEqual([])
    expect(rawTs.some((ts) => ts < from) && rawTs.some((ts) => ts > appTs.at(-1)!)).toBe(true)
    expect(h.server.records.length).toBe(stats.readings + stats.appRecords)
    expect(stats.readingsReplaced).toBeGreaterThan(10)
  })

  it('reports an app that cannot run as failed with its reason, once stopped as stopped, then nothing', async () => {
    const { h, apps, agent, device, lastApps } = setup()
    const bad = await apps.publish('bad', '1.0.0', forbiddenImport())
    const tampered = await apps.publish('tampered', '1.0.0', wellBehaved())
    apps.tamper(tampered.appId, forbiddenImport())
    await agent.start()
    await h.clock.runUntil(() => (device()?.heartbeats.length ?? 0) >= 1)
    expect(lastApps()).toEqual([]) // no apps field: nothing runs, nothing is reported
    apps.desired = [bad, tampered]
    await h.clock.runUntil(() => lastApps().length === 2)
    expect(lastApps().map((a) => [a.name, a.state, a.reason])).toEqual([
      ['bad', 'failed', 'forbidden import wasi_snapshot_preview1.fd_write'],
      ['tampered', 'failed', expect.stringMatching(/^sha256 mismatch/)],
    ])
    // The answer to the next heartbeat stops them; the one after reports that, once.
    apps.desired = []
    await h.clock.runUntil(() => lastApps()[0]?.state === 'stopped')
    expect(lastApps().map((a) => [a.name, a.state])).toEqual([
      ['bad', 'stopped'],
      ['tampered', 'stopped'],
    ])
    const beats = device()!.heartbeats.length
    await h.clock.runUntil(() => device()!.heartbeats.length > beats)
    expect(lastApps()).toEqual([])
    await h.drive(agent.stop())
  })
})
