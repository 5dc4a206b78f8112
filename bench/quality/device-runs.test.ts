import { describe, expect, it } from 'vitest'
import {
  BASELINE_ROWS,
  DEVICE_FAULT_KINDS,
  DEVICE_METRICS,
  type DeviceRun,
  deviceRun,
} from './device-runs.js'

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length
}

function correlation(a: Float64Array, b: Float64Array): number {
  const idx = [...a.keys()].filter((i) => !Number.isNaN(a[i]!) && !Number.isNaN(b[i]!))
  const ma = mean(idx.map((i) => a[i]!))
  const mb = mean(idx.map((i) => b[i]!))
  let ab = 0
  let aa = 0
  let bb = 0
  for (const i of idx) {
    ab += (a[i]! - ma) * (b[i]! - mb)
    aa += (a[i]! - ma) ** 2
    bb += (b[i]! - mb) ** 2
  }
  return ab / Math.sqrt(aa * bb)
}

/** Mean of faulty minus clean over the second half of a span (past the ramp), NaN rows skipped. */
function shiftIn(run: DeviceRun, clean: DeviceRun, metric: string, start: number, end: number): number {
  const m = (run.metrics as Record<string, Float64Array>)[metric]!
  const c = (clean.metrics as Record<string, Float64Array>)[metric]!
  const ds: number[] = []
  for (let i = Math.floor((start + end) / 2); i < end; i++) if (!Number.isNaN(m[i]!)) ds.push(m[i]! - c[i]!)
  return mean(ds)
}

describe('the compressor device runs', () => {
  it('are reproducible from their seed', () => {
    const a = deviceRun(3)
    expect(deviceRun(3)).toEqual(a)
    expect(deviceRun(4).metrics.current.slice(0, 50)).not.toEqual(a.metrics.current.slice(0, 50))
  })

  it('start with a baseline of complete, fault-free rows, then two faults of different kinds lasting minutes', () => {
    const kinds = new Set<string>()
    for (let seed = 1; seed <= 8; seed++) {
      const run = deviceRun(seed)
      expect(run.baseline).toBe(BASELINE_ROWS)
      for (const m of DEVICE_METRICS)
        for (let i = 0; i < BASELINE_ROWS; i++) expect(run.metrics[m][i]).not.toBeNaN()
      expect(run.ts[BASELINE_ROWS - 1]! - run.ts[0]!).toBeCloseTo((BASELINE_ROWS - 1) * 1000, -3)
      expect(run.faults).toHaveLength(2)
      expect(run.faults[0]!.kind).not.toBe(run.faults[1]!.kind)
      expect(run.faults[0]!.start).toBeGreaterThan(BASELINE_ROWS + 50)
      for (const f of run.faults) {
        kinds.add(f.kind)
        // 4 to 8 minutes at about a reading a second, less the lost readings and a dropout
        expect(f.end - f.start).toBeGreaterThan(190)
        expect(f.end - f.start).toBeLessThanOrEqual(481)
      }
      expect(run.faults[1]!.start - run.faults[0]!.end).toBeGreaterThan(250)
      // a metric missing from about 1% of the rows after the baseline
      const lost = run.metrics.suction.slice(BASELINE_ROWS).filter(Number.isNaN).length
      expect(lost / (run.ts.length - BASELINE_ROWS)).toBeGreaterThan(0.002)
      expect(lost / (run.ts.length - BASELINE_ROWS)).toBeLessThan(0.03)
    }
    expect([...kinds].sort()).toEqual([...DEVICE_FAULT_KINDS].sort())
  })

  it('differ from the clean twin in the labelled rows only, the way each fault is documented', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const run = deviceRun(seed)
      const clean = deviceRun(seed, { faults: false })
      expect(clean.ts).toEqual(run.ts)
      const inFault = new Uint8Array(run.ts.length)
      for (const f of run.faults) inFault.fill(1, f.start, f.end)
      let faultyRows = 0
      let changed = 0
      for (let i = 0; i < run.ts.length; i++) {
        const differs = DEVICE_METRICS.some((m) => !Object.is(run.metrics[m][i], clean.metrics[m][i]))
        if (!inFault[i]) expect(differs, `seed ${seed} row ${i}`).toBe(false)
        else {
          faultyRows++
          if (differs) changed++
        }
      }
      expect(changed / faultyRows).toBeGreaterThan(0.9)
      for (const { kind, start, end } of run.faults) {
        const shift = (m: string) => shiftIn(run, clean, m, start, end)
        if (kind === 'fouling') {
          expect(shift('discharge')).toBeGreaterThan(1.4)
          expect(shift('dischargeTemp')).toBeGreaterThan(5.5)
        }
        if (kind === 'leak') {
          expect(shift('suction')).toBeLessThan(-0.35)
          expect(shift('dischargeTemp')).toBeGreaterThan(4.5)
          expect(shift('massFlow')).toBeLessThan(0)
        }
        if (kind === 'valve') {
          // the mean stays, the readings swing
          expect(Math.abs(shift('suction'))).toBeLessThan(0.1)
          const swing: number[] = []
          for (let i = start + 60; i < end; i++)
            swing.push(Math.abs(run.metrics.suction[i]! - clean.metrics.suction[i]!))
          expect(mean(swing.filter((x) => !Number.isNaN(x)))).toBeGreaterThan(0.15)
        }
        if (kind === 'bearing') {
          const last = run.metrics.vibration[end - 1]! / clean.metrics.vibration[end - 1]!
          expect(last).toBeGreaterThan(1.6)
        }
      }
    }
  })

  it('move the metrics together through the load', () => {
    const clean = deviceRun(2, { faults: false })
    expect(correlation(clean.metrics.massFlow, clean.metrics.current)).toBeGreaterThan(0.8)
    expect(correlation(clean.metrics.massFlow, clean.metrics.suction)).toBeLessThan(-0.5)
    expect(correlation(clean.metrics.massFlow, clean.metrics.discharge)).toBeGreaterThan(0.5)
  })
})
