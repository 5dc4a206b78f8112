import { describe, expect, it } from 'vitest'
import {
  advance,
  assignBatches,
  control,
  type DeploymentProgress,
  type DeviceReport,
  desiredRelease,
  type Rollout,
  resolveBatches,
  shownState,
} from './rollout.js'

const start: DeploymentProgress = { state: 'rolling', batch: 0, batchDoneAt: null, reason: null }
const rollout = (r: Partial<Rollout> = {}): Rollout => ({
  batches: [1, 3, 10],
  bakeMs: 1000,
  maxFailures: 0,
  healthGate: null,
  ...r,
})
const noHealth = async () => ({ before: 0, after: 0 })

/** Ten devices in batches [1, 3, 10], all online and pending. */
function fleet(): DeviceReport[] {
  const batchOf = assignBatches([1, 3, 10], 10)
  return batchOf.map((batch, i) => ({
    deviceId: `d${i}`,
    batch,
    state: 'pending',
    reason: null,
    runningAt: null,
    online: true,
  }))
}

const run = (devices: DeviceReport[], batch: number, at = 0) => {
  for (const d of devices) if (d.batch === batch) Object.assign(d, { state: 'running', runningAt: at })
}

describe('batches', () => {
  it('resolves counts and shares to cumulative sizes, the last covering every device', () => {
    expect(resolveBatches([1, '10%', '100%'], 50)).toEqual([1, 5, 50])
    expect(resolveBatches(['50%'], 3)).toEqual([2, 3])
    expect(resolveBatches([5, 2, 5], 4)).toEqual([4])
    expect(resolveBatches([1, '1%'], 10)).toEqual([1, 10])
  })

  it('assigns each device to the first batch that covers it', () => {
    expect(assignBatches([1, 3, 10], 10)).toEqual([0, 1, 1, 2, 2, 2, 2, 2, 2, 2])
    expect(assignBatches([10], 3)).toEqual([0, 0, 0])
  })
})

describe('advance, on a fake clock', () => {
  it('waits for a batch, bakes it, then releases the next, and succeeds at the end', async () => {
    const devices = fleet()
    let p = await advance(start, rollout(), devices, 0, noHealth)
    expect(p).toEqual(start)
    run(devices, 0)
    p = await advance(p, rollout(), devices, 100, noHealth)
    expect(p).toMatchObject({ state: 'rolling', batch: 0, batchDoneAt: 100 })
    p = await advance(p, rollout(), devices, 1099, noHealth)
    expect(p.batch).toBe(0)
    p = await advance(p, rollout(), devices, 1100, noHealth)
    expect(p).toMatchObject({ batch: 1, batchDoneAt: null })
    run(devices, 1)
    run(devices, 2)
    p = await advance(p, rollout(), devices, 1200, noHealth)
    p = await advance(p, rollout(), devices, 2200, noHealth)
    expect(p).toMatchObject({ batch: 2 })
    p = await advance(p, rollout(), devices, 2300, noHealth)
    p = await advance(p, rollout(), devices, 3300, noHealth)
    expect(p).toMatchObject({ state: 'succeeded', batch: 2, reason: null })
  })

  it('moves through every batch in one call when there is no bake time', async () => {
    const devices = fleet()
    for (const b of [0, 1, 2]) run(devices, b)
    expect(await advance(start, rollout({ bakeMs: 0 }), devices, 5, noHealth)).toMatchObject({
      state: 'succeeded',
      batch: 2,
    })
  })

  it('halts when failures in a batch pass the threshold, naming a device and its reason', async () => {
    const devices = fleet()
    run(devices, 0)
    let p = await advance(start, rollout({ bakeMs: 0 }), devices, 0, noHealth)
    expect(p.batch).toBe(1)
    devices[1]!.state = 'failed'
    devices[1]!.reason = 'fuel_exhausted'
    p = await advance(p, rollout({ bakeMs: 0 }), devices, 10, noHealth)
    expect(p).toMatchObject({ state: 'halted', batch: 1 })
    expect(p.reason).toBe('1 of 2 devices in batch 2 failed (d1: fuel_exhausted)')
    // Devices of a halted deployment go back to the release they ran before.
    expect(
      desiredRelease({ state: p.state, currentBatch: 1, batch: 1, appId: 'new', previousAppId: 'old' }),
    ).toBe('old')
  })

  it('tolerates failures within the threshold and ends failed, not succeeded', async () => {
    const devices = fleet()
    for (const b of [0, 1, 2]) run(devices, b)
    devices[9]!.state = 'failed'
    const p = await advance(start, rollout({ bakeMs: 0, maxFailures: 0.2 }), devices, 0, noHealth)
    expect(p).toMatchObject({ state: 'failed', reason: '1 of 10 devices failed, within the threshold' })
  })

  it('defers offline devices: they never fail the deployment, and its end waits for them', async () => {
    const devices = fleet()
    for (const b of [0, 1, 2]) run(devices, b)
    Object.assign(devices[5]!, { state: 'pending', online: false })
    expect(shownState(devices[5]!)).toBe('deferred')
    let p = await advance(start, rollout({ bakeMs: 0 }), devices, 0, noHealth)
    expect(p).toMatchObject({ state: 'rolling', batch: 2 })
    // It comes back and catches up.
    Object.assign(devices[5]!, { state: 'running', online: true })
    p = await advance(p, rollout({ bakeMs: 0 }), devices, 10, noHealth)
    expect(p).toMatchObject({ state: 'succeeded' })
  })

  it('a device offline that runs the release shows running, and one that failed shows failed', () => {
    expect(shownState({ ...fleet()[0]!, state: 'running', online: false })).toBe('running')
    expect(shownState({ ...fleet()[0]!, state: 'failed', online: false })).toBe('failed')
    expect(shownState({ ...fleet()[0]!, state: 'downloading', online: false })).toBe('deferred')
  })

  it('halts on the health gate when more of the batch has anomalies after the release than before', async () => {
    const devices = fleet()
    run(devices, 0)
    const seen: string[][] = []
    const worse = async (running: DeviceReport[]) => {
      seen.push(running.map((d) => d.deviceId))
      return { before: 0, after: 1 }
    }
    const r = rollout({ bakeMs: 500, healthGate: { margin: 0.1 } })
    let p = await advance(start, r, devices, 0, worse)
    expect(seen).toEqual([])
    p = await advance(p, r, devices, 500, worse)
    expect(seen).toEqual([['d0']])
    expect(p).toMatchObject({ state: 'halted', batch: 0 })
    expect(p.reason).toBe("health gate: 100% of batch 1's devices had anomalies after the release, 0% before")
  })

  it('passes the health gate when the rise is within the margin', async () => {
    const devices = fleet()
    run(devices, 0)
    const r = rollout({ bakeMs: 0, healthGate: { margin: 0.25 } })
    const p = await advance(start, r, devices, 0, async () => ({ before: 0.5, after: 0.7 }))
    expect(p).toMatchObject({ state: 'rolling', batch: 1 })
  })

  it('leaves paused, halted and finished deployments where they are', async () => {
    const devices = fleet()
    for (const b of [0, 1, 2]) run(devices, b)
    for (const state of ['paused', 'halted', 'aborted', 'rolled_back', 'succeeded'] as const) {
      const p = { ...start, state }
      expect(await advance(p, rollout({ bakeMs: 0 }), devices, 0, noHealth)).toBe(p)
    }
  })
})

describe('operator controls', () => {
  it('pauses and resumes, aborts and rolls back, refusing what the state does not allow', () => {
    const paused = control(start, 'pause')
    expect(paused).toMatchObject({ state: 'paused' })
    expect(control(paused as DeploymentProgress, 'resume')).toMatchObject({ state: 'rolling' })
    expect(control(start, 'resume')).toEqual({ refused: 'cannot resume a deployment that is rolling' })
    expect(control(start, 'abort')).toMatchObject({ state: 'aborted', reason: 'aborted by an operator' })
    expect(control({ ...start, state: 'halted' }, 'abort')).toHaveProperty('refused')
    expect(control({ ...start, state: 'succeeded' }, 'rollback')).toMatchObject({ state: 'rolled_back' })
    expect(control({ ...start, state: 'rolled_back' }, 'rollback')).toHaveProperty('refused')
  })

  it('an aborted deployment keeps the release where it was given, and the old one elsewhere', () => {
    const row = { state: 'aborted' as const, currentBatch: 1, appId: 'new', previousAppId: 'old' }
    expect(desiredRelease({ ...row, batch: 1 })).toBe('new')
    expect(desiredRelease({ ...row, batch: 2 })).toBe('old')
    expect(desiredRelease({ ...row, state: 'rolled_back', batch: 0 })).toBe('old')
    expect(desiredRelease({ ...row, state: 'rolled_back', batch: 0, previousAppId: null })).toBeNull()
  })
})
