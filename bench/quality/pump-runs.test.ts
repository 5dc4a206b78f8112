import { describe, expect, it } from 'vitest'
import { EQUIPMENT_FAULT_KINDS, SENSOR_FAULT_KINDS } from '../../firmware/sensors/index.js'
import {
  EQUIPMENT_RUN,
  PUMP_BASELINE_ROWS,
  pumpEquipmentRun,
  pumpSensorFaultRun,
  SENSOR_RUN,
} from './pump-runs.js'

describe('pump physics runs for bench:quality', () => {
  it('sensor-fault runs: faults of every kind after the warm-up, none overlapping, reproducible', () => {
    const kinds = new Set<string>()
    for (const seed of [1001, 1002, 1003]) {
      const run = pumpSensorFaultRun(seed)
      expect(run.rows.ts).toHaveLength(SENSOR_RUN.rows)
      expect(run.clean).toBe(SENSOR_RUN.warmupRows)
      expect(run.faults.length).toBeGreaterThan(15)
      run.faults.forEach((f, k) => {
        kinds.add(f.kind)
        expect(f.start).toBeGreaterThanOrEqual(SENSOR_RUN.warmupRows)
        expect(f.end).toBeGreaterThan(f.start)
        if (f.kind === 'spike') expect(f.end - f.start).toBe(1)
        if (k > 0) expect(f.start).toBeGreaterThan(run.faults[k - 1]!.end + 60)
      })
    }
    expect([...kinds].sort()).toEqual([...SENSOR_FAULT_KINDS].sort())
    expect(pumpSensorFaultRun(1004)).toEqual(pumpSensorFaultRun(1004))
  })

  it('equipment runs: a healthy baseline, then equipment faults of their default length', () => {
    const kinds = new Set<string>()
    for (let seed = 1001; seed <= 1008; seed++) {
      const run = pumpEquipmentRun(seed)
      expect(run.rows.ts).toHaveLength(EQUIPMENT_RUN.rows)
      expect(run.clean).toBe(PUMP_BASELINE_ROWS)
      expect(run.faults.length).toBeGreaterThanOrEqual(1)
      for (const f of run.faults) {
        kinds.add(f.kind)
        expect(EQUIPMENT_FAULT_KINDS).toContain(f.kind)
        expect(f.start).toBeGreaterThan(PUMP_BASELINE_ROWS + 80)
        // at least the shortest default (cavitation, 5 min) in 2 s rows
        expect(f.end - f.start).toBeGreaterThanOrEqual(150)
        expect(f.end).toBeLessThanOrEqual(EQUIPMENT_RUN.rows)
      }
    }
    expect([...kinds].sort()).toEqual([...EQUIPMENT_FAULT_KINDS].sort())
  })
})
