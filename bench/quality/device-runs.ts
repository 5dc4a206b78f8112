// The quality harness's multi-sensor device runs: a refrigeration compressor whose six metrics all come
// from three latent factors, with persistent equipment faults that last minutes and exact labels.
// Built like the industrial testbed benchmarks: the first BASELINE_ROWS rows of every run are normal
// (the device's baseline), then two faults of different kinds with normal running around them.
//
// The process, per reading (about one a second, jittered, some lost, a dropout or two after the baseline):
// - load l: a setpoint in [0.4, 1] that the operator changes a few times per run (also during the
//   baseline, so it sees several operating points), followed through a 30 s lag, plus a wander;
// - ambient a: 15-35 °C with a slow wander (tau 20 min);
// - a vibration floor wandering on its own (tau 2 min).
// Metrics (truth, before noise): massFlow = F l (1 + 0.005 (a - 25)); suction = S - 0.8 l + 0.03 (a - 25);
// discharge = D + 4 l + 0.25 (a - 25); current = I0 + I1 (massFlow / F) (ratio / ratio at full load),
// ratio = discharge / suction; dischargeTemp lags (tau 90 s) towards a + 30 + 20 l + 4 (ratio - 3)
// (the healthy ratio: a fault's heat is its own offset, below);
// vibration = V (1 + 0.4 l) + floor. Each metric's measurement noise is AR(1) over Student-t
// innovations (noise.ts) and readings are quantised; about 1% of metric values are missing from a row.
//
// Faults (FAULT_KINDS), each ramping in over 60 s, then holding until its end, where it stops at once
// (no lag on the faulty part, so the label [start, end) is exact: every row in it is abnormal):
// - fouling (condenser): discharge +1.5-3 bar, dischargeTemp +6-10 K, current +8-12%;
// - leak (refrigerant undercharge): massFlow -20-30%, suction -0.4-0.8 bar, dischargeTemp +5-9 K,
//   current -6-10%;
// - valve (expansion valve hunting): suction and massFlow oscillate (0.3-0.6 bar, 8-14%, period
//   20-40 s) around their normal values: the means stay, the relation to the load breaks;
// - bearing: vibration grows linearly to 1.8-3x its healthy value, current +3-6%.
// Faults are drawn from a random stream of their own, so `deviceRun(seed, { faults: false })` is the
// clean twin: the very same readings outside the fault spans.
import { createRandom, type Random, seedFrom } from '../../firmware/sensors/random.js'
import { ArNoise } from './noise.js'
import { type FaultSpan, spanOfTimes } from './spans.js'
import { sampleTimes } from './timeline.js'

export const DEVICE_METRICS = [
  'suction',
  'discharge',
  'current',
  'dischargeTemp',
  'vibration',
  'massFlow',
] as const
export type DeviceMetric = (typeof DEVICE_METRICS)[number]
export const DEVICE_FAULT_KINDS = ['fouling', 'leak', 'valve', 'bearing'] as const
export type DeviceFaultKind = (typeof DEVICE_FAULT_KINDS)[number]

/** Rows at the start of every run with no fault and no lost reading: the baseline. */
export const BASELINE_ROWS = 1200
/** Nominal slots of a run (about 55 minutes at one reading a second). */
export const RUN_SLOTS = 3300
const STEP_MS = 1000
const RAMP_MS = 60_000

export interface DeviceRun {
  deviceId: string
  ts: Float64Array
  /** Per metric, per row; NaN where the row lacks the metric. */
  metrics: Record<DeviceMetric, Float64Array>
  faults: FaultSpan[]
  baseline: number
}

interface TimedFault {
  kind: DeviceFaultKind
  startMs: number
  endMs: number
  /** Draws fixed per fault (sizes, period), in [0, 1). */
  u: [number, number, number, number]
}

/** Measurement noise (standard deviation) and resolution per metric. */
const INSTRUMENT: Record<DeviceMetric, { sd: number; resolution: number }> = {
  suction: { sd: 0.03, resolution: 0.01 },
  discharge: { sd: 0.08, resolution: 0.01 },
  current: { sd: 0.15, resolution: 0.1 },
  dischargeTemp: { sd: 0.3, resolution: 0.1 },
  vibration: { sd: 0.05, resolution: 0.01 },
  massFlow: { sd: 0.4, resolution: 0.1 },
}

export function deviceRun(seed: number, options: { faults?: boolean } = {}): DeviceRun {
  const r = createRandom(seedFrom('edgewatch/quality/device', seed))
  const fr = createRandom(seedFrom('edgewatch/quality/device-faults', seed))
  const pick = (lo: number, hi: number) => lo + (hi - lo) * r.next()
  const startMs = Date.UTC(2026, 3, 1) + Math.floor(pick(0, 86_400_000))
  const ts = sampleTimes(r, {
    slots: RUN_SLOTS,
    stepMs: STEP_MS,
    startMs,
    jitter: 0.3,
    missing: 0.005,
    dropouts: 1 + Math.floor(r.next() * 2),
    dropoutSlots: [5, 30],
    keepFirst: BASELINE_ROWS,
  })
  const faults = options.faults === false ? [] : scheduleFaults(fr, startMs)
  const setpoints = scheduleSetpoints(r, startMs)
  const F = pick(20, 60)
  const S = pick(3, 5)
  const D = pick(10, 14)
  const I0 = pick(4, 8)
  const I1 = pick(15, 30)
  const V = pick(1, 3)
  const ambientMean = pick(15, 35)
  const fullRatio = (D + 4) / (S - 0.8)
  const noise = Object.fromEntries(
    DEVICE_METRICS.map((m) => [m, new ArNoise(r, pick(0.3, 0.8), 0, 3 + Math.floor(r.next() * 4))]),
  ) as Record<DeviceMetric, ArNoise>

  const n = ts.length
  const metrics = Object.fromEntries(DEVICE_METRICS.map((m) => [m, new Float64Array(n)])) as Record<
    DeviceMetric,
    Float64Array
  >
  let load = setpoints[0]!.value
  let wander = 0
  let ambient = ambientMean + r.gaussian()
  let floor = 0
  let temp = Number.NaN
  for (let i = 0; i < n; i++) {
    const t = ts[i]!
    const dt = i === 0 ? 0 : t - ts[i - 1]!
    const target = setpointAt(setpoints, t)
    load += (target - load) * (1 - Math.exp(-dt / 30_000))
    wander = ou(r, wander, dt, 60_000, 0.03)
    ambient = ambientMean + ou(r, ambient - ambientMean, dt, 1_200_000, 0.5)
    floor = ou(r, floor, dt, 120_000, 0.05 * V)
    const l = Math.min(1.05, Math.max(0.3, load + wander))
    const a = ambient

    const fx = faultEffects(faults, t)
    let massFlow = F * l * (1 + 0.005 * (a - 25)) * fx.flowFactor
    let suction = S - 0.8 * l + 0.03 * (a - 25) + fx.suctionOffset
    const discharge = D + 4 * l + 0.25 * (a - 25) + fx.dischargeOffset
    massFlow *= 1 + fx.flowSwing
    suction += fx.suctionSwing
    const ratio = discharge / suction
    const current = (I0 + I1 * (massFlow / F) * (ratio / fullRatio)) * fx.currentFactor
    // the healthy ratio: the lag must not carry a fault's effect past its end (the labels are exact)
    const healthyRatio = (D + 4 * l + 0.25 * (a - 25)) / (S - 0.8 * l + 0.03 * (a - 25))
    const towards = a + 30 + 20 * l + 4 * (healthyRatio - 3)
    temp = Number.isNaN(temp) ? towards : temp + (towards - temp) * (1 - Math.exp(-dt / 90_000))
    const vibration = (V * (1 + 0.4 * l) + floor) * fx.vibrationFactor
    const truth: Record<DeviceMetric, number> = {
      suction,
      discharge,
      current,
      dischargeTemp: temp + fx.tempOffset,
      vibration,
      massFlow,
    }
    for (const m of DEVICE_METRICS) {
      const { sd, resolution } = INSTRUMENT[m]
      const reading = truth[m] + sd * noise[m].next()
      const lost = i >= BASELINE_ROWS && r.next() < 0.01
      metrics[m][i] = lost ? Number.NaN : Math.round(reading / resolution) * resolution
    }
  }
  const spans = faults.map((f) => spanOfTimes(ts, f.kind, f.startMs, f.endMs))
  return { deviceId: `compressor-${seed}`, ts, metrics, faults: spans, baseline: BASELINE_ROWS }
}

/** One Ornstein-Uhlenbeck step over dt: mean 0, stationary standard deviation sd, time constant tau. */
function ou(r: Random, x: number, dt: number, tau: number, sd: number): number {
  const keep = Math.exp(-dt / tau)
  return x * keep + sd * Math.sqrt(1 - keep * keep) * r.gaussian()
}

/** Two faults of different kinds after the baseline: 1-3 min in, 4-8 min long, 5-8 min apart. */
function scheduleFaults(r: Random, startMs: number): TimedFault[] {
  const first = Math.floor(r.next() * DEVICE_FAULT_KINDS.length)
  const second =
    (first + 1 + Math.floor(r.next() * (DEVICE_FAULT_KINDS.length - 1))) % DEVICE_FAULT_KINDS.length
  const minute = 60_000
  const u = (): [number, number, number, number] => [r.next(), r.next(), r.next(), r.next()]
  let at = startMs + BASELINE_ROWS * STEP_MS + (1 + 2 * r.next()) * minute
  const faults: TimedFault[] = []
  for (const k of [first, second]) {
    const endMs = at + (4 + 4 * r.next()) * minute
    faults.push({ kind: DEVICE_FAULT_KINDS[k]!, startMs: Math.round(at), endMs: Math.round(endMs), u: u() })
    at = endMs + (5 + 3 * r.next()) * minute
  }
  return faults
}

/** Setpoint changes: two or three in the baseline, two to four after it, each to a level in [0.4, 1]. */
function scheduleSetpoints(r: Random, startMs: number): { atMs: number; value: number }[] {
  const baselineMs = BASELINE_ROWS * STEP_MS
  const runMs = RUN_SLOTS * STEP_MS
  const times = [startMs]
  const inBaseline = 2 + Math.floor(r.next() * 2)
  for (let k = 0; k < inBaseline; k++) times.push(startMs + r.next() * baselineMs)
  const after = 2 + Math.floor(r.next() * 3)
  for (let k = 0; k < after; k++) times.push(startMs + baselineMs + r.next() * (runMs - baselineMs))
  times.sort((x, y) => x - y)
  return times.map((atMs) => ({ atMs, value: 0.4 + 0.6 * r.next() }))
}

function setpointAt(setpoints: { atMs: number; value: number }[], t: number): number {
  let value = setpoints[0]!.value
  for (const s of setpoints) if (s.atMs <= t) value = s.value
  return value
}

interface Effects {
  flowFactor: number
  flowSwing: number
  suctionOffset: number
  suctionSwing: number
  dischargeOffset: number
  currentFactor: number
  tempOffset: number
  vibrationFactor: number
}

/** What the faults active at t do to the metrics (none outside their [start, end)). */
function faultEffects(faults: TimedFault[], t: number): Effects {
  const e: Effects = {
    flowFactor: 1,
    flowSwing: 0,
    suctionOffset: 0,
    suctionSwing: 0,
    dischargeOffset: 0,
    currentFactor: 1,
    tempOffset: 0,
    vibrationFactor: 1,
  }
  for (const f of faults) {
    if (t < f.startMs || t >= f.endMs) continue
    const into = t - f.startMs
    const grown = Math.min(1, into / RAMP_MS)
    const [u0, u1, u2, u3] = f.u
    switch (f.kind) {
      case 'fouling':
        e.dischargeOffset += grown * (1.5 + 1.5 * u0)
        e.tempOffset += grown * (6 + 4 * u1)
        e.currentFactor *= 1 + grown * (0.08 + 0.04 * u2)
        break
      case 'leak':
        e.flowFactor *= 1 - grown * (0.2 + 0.1 * u0)
        e.suctionOffset -= grown * (0.4 + 0.4 * u1)
        e.tempOffset += grown * (5 + 4 * u2)
        e.currentFactor *= 1 - grown * (0.06 + 0.04 * u3)
        break
      case 'valve': {
        const wave = Math.sin((2 * Math.PI * into) / (20_000 + 20_000 * u2))
        e.suctionSwing += grown * (0.3 + 0.3 * u0) * wave
        e.flowSwing += grown * (0.08 + 0.06 * u1) * wave
        break
      }
      case 'bearing':
        e.vibrationFactor *= 1 + (0.8 + 1.2 * u0) * (into / (f.endMs - f.startMs))
        e.currentFactor *= 1 + grown * (0.03 + 0.03 * u1)
        break
    }
  }
  return e
}
