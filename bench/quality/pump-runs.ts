// The pump physics (firmware/sensors) as report data for bench:quality, seeds 1001-1020 (tuning
// uses 1-20, never these). Two products, both read from `withFaults(createPump(...))` so the labels
// are the wrapper's own, turned from times into row spans:
// - sensor-fault runs: a reading every 10 s for 12 h; the first 2 h clean, then the sensor faults
//   (spike, drift, stuck, noise, default sizes and durations, on a channel the wrapper picks) one
//   after another, 15-25 min apart;
// - equipment-fault runs: a reading every 2 s for 2 h from 06:00 UTC (demand climbing to its 08:00
//   peak, a normal change the detectors must live with); the first PUMP_BASELINE_ROWS rows (48 min,
//   40%) healthy, then one equipment fault (valve, cavitation, bearing or leak, by seed) 3-10 min after
//   the baseline at its default duration, and a second of another kind 10-15 min after it when it fits.
//   A label covers the fault's [start, end); the bearing temperature cooling back after a bearing
//   fault is not in it (the wrapper's labels, faults.ts), so those rows count as normal.
import {
  createPump,
  DEFAULT_DURATION_MS,
  EQUIPMENT_FAULT_KINDS,
  type FaultLabel,
  type FaultySensor,
  PUMP_CHANNELS,
  SENSOR_FAULT_KINDS,
  withFaults,
} from '../../firmware/sensors/index.js'
import { createRandom, seedFrom } from '../../firmware/sensors/random.js'
import type { DeviceRows } from './run-detect.js'
import { type FaultSpan, spanOfTimes } from './spans.js'

export const REPORT_SEEDS = Array.from({ length: 20 }, (_, k) => 1001 + k)

export interface LabelledRun {
  rows: DeviceRows
  faults: FaultSpan[]
  /** Clean rows at the start: the warm-up (sensor faults) or the baseline (equipment faults). */
  clean: number
}

const MINUTE = 60_000

export const SENSOR_RUN = { stepMs: 10_000, rows: 4320, warmupRows: 720 }
export const PUMP_BASELINE_ROWS = 1440
export const EQUIPMENT_RUN = { stepMs: 2000, rows: 3600 }

export function pumpSensorFaultRun(seed: number): LabelledRun {
  const { stepMs, rows, warmupRows } = SENSOR_RUN
  const startMs = Date.UTC(2026, 0, 5)
  const r = createRandom(seedFrom('edgewatch/quality/pump-sensor', seed))
  const pump = device(seed)
  const endMs = startMs + rows * stepMs
  for (let at = startMs + warmupRows * stepMs; ; ) {
    const kind = SENSOR_FAULT_KINDS[Math.floor(r.next() * SENSOR_FAULT_KINDS.length)]!
    const duration = kind === 'spike' ? undefined : DEFAULT_DURATION_MS[kind]
    if (at + (duration ?? stepMs) + 10 * MINUTE > endMs) break
    pump.inject({ kind, start: at, duration })
    at += (duration ?? 0) + (15 + 10 * r.next()) * MINUTE
  }
  return read(pump, startMs, stepMs, rows, warmupRows)
}

export function pumpEquipmentRun(seed: number): LabelledRun {
  const { stepMs, rows } = EQUIPMENT_RUN
  const startMs = Date.UTC(2026, 0, 5, 6)
  const endMs = startMs + rows * stepMs
  const r = createRandom(seedFrom('edgewatch/quality/pump-equipment', seed))
  const pump = device(seed)
  const first = seed % EQUIPMENT_FAULT_KINDS.length
  const second = (first + 1 + Math.floor(r.next() * 3)) % EQUIPMENT_FAULT_KINDS.length
  let at = startMs + PUMP_BASELINE_ROWS * stepMs + (3 + 7 * r.next()) * MINUTE
  for (const k of [first, second]) {
    const kind = EQUIPMENT_FAULT_KINDS[k]!
    const duration = DEFAULT_DURATION_MS[kind]
    if (at + duration > endMs - MINUTE) break
    pump.inject({ kind, start: Math.round(at), duration })
    at += duration + (10 + 5 * r.next()) * MINUTE
  }
  return read(pump, startMs, stepMs, rows, PUMP_BASELINE_ROWS)
}

function device(seed: number): FaultySensor {
  return withFaults(createPump({ seed }), { deviceId: `pump-${seed}`, seed })
}

/** Reads `rows` readings `stepMs` apart and turns the wrapper's labels into row spans. */
function read(pump: FaultySensor, startMs: number, stepMs: number, rows: number, clean: number): LabelledRun {
  const ts = new Float64Array(rows)
  const metrics = Object.fromEntries(PUMP_CHANNELS.map((c) => [c, new Float64Array(rows)]))
  for (let i = 0; i < rows; i++) {
    ts[i] = startMs + i * stepMs
    const reading = pump.read(ts[i]!)
    for (const c of PUMP_CHANNELS) metrics[c]![i] = reading[c]!
  }
  const faults = pump.labels().map((l: FaultLabel) => spanOfTimes(ts, l.kind, l.start, l.end))
  return { rows: { deviceId: pump.deviceId, ts, metrics }, faults, clean }
}
