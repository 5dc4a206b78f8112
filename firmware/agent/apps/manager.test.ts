import { describe, expect, it } from 'vitest'
import type { AppEvent } from './manager.js'
import { memoryAppStore } from './memory-store.js'
import type { AppRelease } from './release.js'
import { DEFAULT_LIMITS } from './testing/app-server.js'
import { restartWaits, setup } from './testing/manager-setup.js'
import {
  answers,
  endlessLoop,
  forbiddenImport,
  huge,
  memoryHog,
  trapsAfter,
  wellBehaved,
  work,
} from './testing/wasm.js'

const statesOf = (events: AppEvent[], appId: string) =>
  events.flatMap((e) => (e.type === 'app' && e.appId === appId ? [e.state] : []))

describe('app manager', () => {
  it('runs a desired app: downloads it, checks and meters it, ticks it; what it emits becomes records', async () => {
    const t = setup()
    const counter = await t.publish('counter', '1.0.0', wellBehaved())
    t.manager.reading({ flow: 2.5, temp: 20 })
    t.manager.desire([counter])
    const report = await t.until('counter', (r) => r.ticks >= 3)

    expect(report).toMatchObject({
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
    expect(report.fuelPerTick).toBeGreaterThan(0)
    expect(report.fuelMax).toBe(report.fuelPerTick)
    expect(statesOf(t.events, counter.appId)).toEqual(['pending', 'downloading', 'starting', 'running'])
    expect(t.events).toContainEqual({
      type: 'app-log',
      name: 'counter',
      appId: counter.appId,
      level: 1,
      message: 'started',
    })
    const records = t.manager.takeRecords()
    expect(records.map((r) => r.values)).toEqual([
      { counter: 1, first: 2.5 },
      { counter: 2, first: 2.5 },
      { counter: 3, first: 2.5 },
    ])
    // Ticks fall on multiples of tickMs, one tickMs apart.
    expect(records.every((r) => r.ts % 1000 === 0)).toBe(true)
    expect(records[1]!.ts - records[0]!.ts).toBe(1000)
    expect(t.manager.takeRecords()).toEqual([])
    await t.manager.stop()
  })

  it('replaces a version, rolls back to the last known good release without a download, and stops what is no longer desired', async () => {
    const t = setup()
    const v1 = await t.publish('filter', '1.0.0', wellBehaved())
    const v2 = await t.publish('filter', '2.0.0', answers(7))
    t.manager.desire([v1])
    await t.until('filter', (r) => r.ticks >= 2)

    t.manager.desire([v2])
    const v2Report = await t.until('filter', (r) => r.appId === v2.appId && r.ticks >= 2)
    expect(v2Report.errors).toBe(v2Report.ticks) // every tick answered 7: counted, and it keeps running
    expect(v2Report.state).toBe('running')
    let report = t.manager.report()
    expect(report.map((r) => [r.version, r.state])).toEqual([
      ['1.0.0', 'stopped'],
      ['2.0.0', 'running'],
    ])
    // Reported once: after the server took it, the stopped release is not sent again.
    t.manager.reported(report)
    expect(t.manager.report().map((r) => r.version)).toEqual(['2.0.0'])

    t.manager.desire([v1])
    await t.until('filter', (r) => r.appId === v1.appId && r.state === 'running')
    report = t.manager.report()
    expect(report.map((r) => [r.version, r.state])).toEqual([
      ['2.0.0', 'rolled_back'],
      ['1.0.0', 'running'],
    ])
    expect(t.downloads).toEqual([v1.appId, v2.appId]) // v1's bytes came from the store
    expect(statesOf(t.events, v1.appId).slice(-3)).toEqual(['pending', 'starting', 'running'])
    t.manager.reported(report)

    // No apps field: keep what runs. An empty set: stop everything.
    t.manager.desire(undefined)
    expect(t.current('filter')?.state).toBe('running')
    t.manager.desire([])
    expect(t.manager.report().map((r) => [r.version, r.state])).toEqual([['1.0.0', 'stopped']])
    t.manager.reported(t.manager.report())
    expect(t.manager.report()).toEqual([])
    await t.manager.stop()
  })

  it('keeps a report small enough for a heartbeat: departed entries that do not fit wait for the next one', async () => {
    const t = setup()
    const names = Array.from({ length: 16 }, (_, i) => `app-${String(i).padStart(2, '0')}`)
    const long = (r: AppRelease) => ({ ...r, appId: `${r.appId}-${'x'.repeat(50)}`.slice(0, 64) })
    const v1 = await Promise.all(names.map(async (n) => long(await t.publish(n, '1.0.0', answers(0)))))
    const v2 = await Promise.all(names.map(async (n) => long(await t.publish(n, '2.0.0', answers(0)))))
    for (const r of [...v1, ...v2]) t.serve(r.appId, answers(0))
    t.manager.desire(v1)
    await t.clock.runUntil(() => t.manager.report().every((r) => r.ticks > 0))
    t.manager.desire(v2)
    await t.clock.runUntil(() => t.manager.report().filter((r) => r.state === 'running').length === 16)
    const departed: string[] = []
    for (let beat = 0; beat < 8; beat++) {
      const report = t.manager.report()
      expect(JSON.stringify(report).length).toBeLessThanOrEqual(6000)
      departed.push(...report.filter((r) => r.state === 'stopped').map((r) => r.name))
      t.manager.reported(report)
    }
    // The last 8 departures are kept (the bound), and each is reported exactly once.
    expect(departed).toEqual(names.slice(8))
    await t.manager.stop()
  })

  it('fails a release whose bytes do not match its sha256, and one the server does not have', async () => {
    const t = setup()
    const release = await t.publish('x', '1.0.0', wellBehaved())
    t.serve(release.appId, answers(0))
    const missing = { ...(await t.publish('y', '1.0.0', wellBehaved())), appId: 'app-gone' }
    t.manager.desire([release, missing])
    const x = await t.until('x', (r) => r.state === 'failed')
    expect(x.reason).toMatch(/^sha256 mismatch/)
    const y = await t.until('y', (r) => r.state === 'failed')
    expect(y.reason).toMatch(/^download refused \(404 app_not_found\)/)
    expect(await t.store.list()).toEqual([])
    await t.manager.stop()
  })

  it('retries a download that found no network, with backoff', async () => {
    const t = setup()
    const release = await t.publish('x', '1.0.0', wellBehaved())
    t.networkDown.push(true, true)
    t.manager.desire([release])
    await t.until('x', (r) => r.state === 'downloading' && r.reason !== null)
    expect(t.current('x')!.reason).toMatch(/^network: connection refused/)
    const x = await t.until('x', (r) => r.state === 'running')
    expect(x.reason).toBeNull()
    await t.manager.stop()
  })

  it('refuses modules that break the ABI or the bounds before running anything', async () => {
    const t = setup()
    const forbidden = await t.publish('forbidden', '1', forbiddenImport())
    const big = await t.publish('big', '1', huge(300 * 1024))
    const liar = await t.publish('liar', '1', huge(300 * 1024), { size: 1000 })
    const greedy = await t.publish('greedy', '1', huge(200 * 1024), { limits: { memoryPages: 2 } })
    const invalid = {
      ...(await t.publish('invalid', '1', wellBehaved())),
      limits: { ...DEFAULT_LIMITS, fuel: 0 },
    }
    t.manager.desire([forbidden, big, liar, greedy, invalid])
    await t.clock.runUntil(() => t.manager.report().every((r) => r.state === 'failed'))

    const reasons = Object.fromEntries(t.manager.report().map((r) => [r.name, r.reason]))
    expect(reasons).toEqual({
      forbidden: 'forbidden import wasi_snapshot_preview1.fd_write',
      big: 'module too large: 307266 bytes, this device takes at most 262144',
      // Its declared size was small: the bytes are refused by the ABI check (download.test.ts: the transport's bound).
      liar: 'the module is 307266 bytes, above the limit of 262144 bytes',
      greedy: expect.stringMatching(/needs at least 4 pages, above the release's limit of 2 pages/),
      invalid: 'invalid release: limits.fuel',
    })
    // The big one was refused on its declared size, without a download.
    expect(t.downloads).not.toContain(big.appId)
    await t.manager.stop()
  })

  it('an endless loop runs out of fuel: restarts after 1 s, 2 s and 4 s, then is failed with the reason', async () => {
    const t = setup()
    const loop = await t.publish('loop', '1', endlessLoop(), { limits: { fuel: 50_000, maxRestarts: 3 } })
    t.manager.desire([loop])
    const report = await t.until('loop', (r) => r.state === 'failed')

    expect(report).toMatchObject({
      state: 'failed',
      restarts: 3,
      ticks: 4,
      reason: 'fuel_exhausted: a call may use 50000 fuel',
    })
    expect(report.fuelPerTick).toBeGreaterThan(50_000)
    expect(statesOf(t.events, loop.appId)).toEqual([
      'pending',
      'downloading',
      // Never running: not one tick returned (a deployment cannot count it as done). Starting
      // again, with the trap as its reason, after each restart.
      'starting',
      'starting',
      'failed',
    ])
    // From each trap to the next start: 1 s, 2 s, 4 s.
    expect(restartWaits(t.hostLog)).toEqual([1000, 2000, 4000])
    await t.manager.stop()
  })

  it("a trapping app reports the app's own abort message, restarts with backoff, then is failed", async () => {
    const t = setup()
    const trap = await t.publish('trap', '1', trapsAfter(2), { limits: { maxRestarts: 2 } })
    t.manager.desire([trap])
    const failedAt = await t.until('trap', (r) => r.state === 'failed')
    expect(failedAt).toMatchObject({ restarts: 2, ticks: 9, reason: 'abort: boom!' })
    expect(restartWaits(t.hostLog)).toEqual([1000, 2000])
    await t.manager.stop()
  })

  it('a memory hog cannot grow past memoryPages: memory.grow fails, the tick reports it, the app keeps running', async () => {
    const t = setup()
    const hog = await t.publish('hog', '1', memoryHog(), { limits: { memoryPages: 4 } })
    t.manager.desire([hog])
    const report = await t.until('hog', (r) => r.ticks >= 8)
    expect(report).toMatchObject({ state: 'running', memoryPages: 4, errors: 5, restarts: 0 })
    await t.manager.stop()
  })

  it('fuel per tick is the same every tick, after a restart, and in another run', async () => {
    const a = setup()
    const release = await a.publish('work', '1', work(1000))
    a.manager.desire([release])
    const first = await a.until('work', (r) => r.ticks >= 3)
    expect(first.fuelMax).toBe(first.fuelPerTick)
    a.manager.desire([])
    a.manager.desire([release])
    const again = await a.until('work', (r) => r.ticks >= 2)
    expect(again.fuelPerTick).toBe(first.fuelPerTick)

    const b = setup()
    b.manager.desire([{ ...release }])
    b.serve(release.appId, work(1000))
    const other = await b.until('work', (r) => r.ticks >= 2)
    expect(other.fuelPerTick).toBe(first.fuelPerTick)
    // 1000 rounds of a 7-instruction loop body, and a little more: the figure is the instruction count.
    expect(first.fuelPerTick).toBeGreaterThan(7000)
    expect(first.fuelPerTick).toBeLessThan(9000)
    await a.manager.stop()
    await b.manager.stop()
  })

  it('replace telemetry withholds raw readings only while the app runs', async () => {
    const t = setup()
    const reducer = await t.publish('reducer', '1', wellBehaved(), { telemetry: 'replace' })
    t.manager.desire([reducer])
    expect(t.manager.replacesReadings()).toBe(false)
    await t.until('reducer', (r) => r.state === 'running')
    expect(t.manager.replacesReadings()).toBe(true)
    t.manager.desire([])
    expect(t.manager.replacesReadings()).toBe(false)
    await t.manager.stop()
  })

  it('without a host, every desired app is failed with the reason, and nothing is downloaded', async () => {
    const t = setup({ host: null })
    const release = await t.publish('x', '1', wellBehaved())
    t.manager.desire([release])
    const x = await t.until('x', (r) => r.state === 'failed')
    expect(x.reason).toBe('this agent runs no apps (no app host)')
    expect(t.downloads).toEqual([])
  })

  it('a new manager on the same store (a restart) starts a cached release without downloading it', async () => {
    const store = memoryAppStore()
    const first = setup({ store })
    const release = await first.publish('x', '1', wellBehaved())
    first.manager.desire([release])
    await first.until('x', (r) => r.state === 'running')
    await first.manager.stop()

    const second = setup({ store })
    second.manager.desire([release])
    await second.until('x', (r) => r.ticks >= 1)
    expect(second.downloads).toEqual([])
    await second.manager.stop()
  })
})
