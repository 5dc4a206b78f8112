// The runtime against the real AssemblyScript apps (firmware/apps/fixtures and examples, built into
// firmware/apps/build/ by `npm run build:apps`, which the test setup runs): each misbehaving app ends
// with its own reason, and the well-behaved ones run within their limits.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { setup } from '../agent/apps/testing/manager-setup.js'

const built = (name: string) =>
  new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'apps', 'build', `${name}.wasm`)))

describe('the AssemblyScript fixtures', () => {
  it('well-behaved: init logs, every tick emits counter', async () => {
    const t = setup()
    t.manager.desire([await t.publish('well-behaved', '1', built('well-behaved'))])
    const report = await t.until('well-behaved', (r) => r.ticks >= 3)
    expect(report).toMatchObject({ state: 'running', errors: 0, restarts: 0 })
    expect(t.manager.takeRecords().map((r) => r.values)).toEqual([
      { counter: 1 },
      { counter: 2 },
      { counter: 3 },
    ])
    expect(t.events).toContainEqual(
      expect.objectContaining({ type: 'app-log', level: 1, message: 'well-behaved: started' }),
    )
    await t.manager.stop()
  })

  it('endless-loop runs out of fuel, restarts with backoff, then is failed', async () => {
    const t = setup()
    const release = await t.publish('endless-loop', '1', built('endless-loop'), {
      limits: { fuel: 1_000_000, maxRestarts: 2 },
    })
    t.manager.desire([release])
    const report = await t.until('endless-loop', (r) => r.state === 'failed')
    expect(report).toMatchObject({ restarts: 2, reason: 'fuel_exhausted: a call may use 1000000 fuel' })
    await t.manager.stop()
  })

  it('memory-hog cannot grow past memoryPages: its ticks report memory.grow failing, and it keeps running', async () => {
    const t = setup()
    t.manager.desire([
      await t.publish('memory-hog', '1', built('memory-hog'), { limits: { memoryPages: 6 } }),
    ])
    const report = await t.until('memory-hog', (r) => r.ticks >= 12)
    expect(report).toMatchObject({ state: 'running', memoryPages: 6, restarts: 0 })
    expect(report.errors).toBeGreaterThanOrEqual(6)
    await t.manager.stop()
  })

  it('trap: three good ticks, then the app’s own abort message as the reason, restarts, failed', async () => {
    const t = setup()
    t.manager.desire([await t.publish('trap', '1', built('trap'), { limits: { maxRestarts: 1 } })])
    const report = await t.until('trap', (r) => r.state === 'failed')
    expect(report).toMatchObject({ restarts: 1, ticks: 8 })
    expect(report.reason).toMatch(/^abort: trap: deliberate abort after 3 ticks/)
    await t.manager.stop()
  })

  it('refuses forbidden-import, own-memory, no-tick and huge before running anything', async () => {
    const t = setup()
    const names = ['forbidden-import', 'own-memory', 'no-tick', 'huge']
    t.manager.desire(await Promise.all(names.map((n) => t.publish(n, '1', built(n)))))
    await t.clock.runUntil(() => t.manager.report().every((r) => r.state === 'failed'))
    expect(Object.fromEntries(t.manager.report().map((r) => [r.name, r.reason]))).toEqual({
      'forbidden-import': 'forbidden import wasi_snapshot_preview1.fd_write',
      'own-memory': 'the module defines its own memory; an app must import env.memory',
      'no-tick': 'the module does not export tick',
      huge: expect.stringMatching(/^module too large: \d+ bytes, this device takes at most 262144$/),
    })
    await t.manager.stop()
  })

  it('slow: the same fuel every tick, across a restart and across runs', async () => {
    const runs = []
    for (let run = 0; run < 2; run++) {
      const t = setup()
      const release = await t.publish('slow', '1', built('slow'), {
        limits: { fuel: 100_000_000, tickMs: 1000 },
      })
      t.manager.desire([release])
      const first = await t.until('slow', (r) => r.ticks >= 2)
      t.manager.desire([])
      t.manager.desire([release])
      const again = await t.until('slow', (r) => r.ticks >= 1)
      runs.push(first.fuelPerTick, first.fuelMax, again.fuelPerTick)
      await t.manager.stop()
    }
    expect(new Set(runs).size).toBe(1)
    expect(runs[0]).toBeGreaterThan(10_000_000)
  })

  it('the examples run: report-on-change sends channels by name, edge-detect runs the kernel', async () => {
    const t = setup()
    t.manager.reading({ flow: 12.5, temp: 40 })
    t.manager.desire([
      await t.publish('report-on-change', '1', built('report-on-change')),
      await t.publish('edge-detect', '1', built('edge-detect'), {
        limits: { memoryPages: 32, fuel: 10_000_000 },
      }),
    ])
    await t.until('report-on-change', (r) => r.ticks >= 3)
    await t.until('edge-detect', (r) => r.ticks >= 3)
    for (const r of t.manager.report()) expect(r).toMatchObject({ state: 'running', errors: 0, restarts: 0 })
    const values = t.manager.takeRecords().map((r) => r.values)
    expect(values).toContainEqual({ flow: 12.5, temp: 40 })
    await t.manager.stop()
  })
})
