// Synthetic sensor streams with seeded faults and exact labels, for the seeded-fault check.
// A stream is a daily sine, Gaussian noise and a slow trend; after a clean warm-up, faults of four
// kinds are injected one after another with clean stretches between them.

import { createRandom } from '../../firmware/sensors/random.js'

export type FaultKind = 'spike' | 'drift' | 'stuck' | 'noise'
export const FAULT_KINDS: readonly FaultKind[] = ['spike', 'drift', 'stuck', 'noise']

export interface Fault {
  kind: FaultKind
  /** First faulty sample. */
  start: number
  /** One past the last faulty sample. */
  end: number
}

export interface FaultyStream {
  ts: Float64Array
  values: Float64Array
  faults: Fault[]
  /** Per sample: index of the fault it belongs to, or -1 for a clean sample. */
  faultOf: Int32Array
}

export interface StreamOptions {
  samples?: number
  /** Clean samples before the first fault. */
  warmup?: number
  /** Clean samples between two faults (at least). */
  gap?: number
  /** Sample spacing in ms. */
  stepMs?: number
}

/** A small seeded PRNG, uniform in [0, 1): the sensors' mulberry32. */
export function prng(seed: number): () => number {
  const random = createRandom(seed)
  return () => random.next()
}

function gaussian(rnd: () => number): number {
  const u = 1 - rnd()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd())
}

/** Length of each kind of fault, in samples. */
const LENGTH: Record<FaultKind, number> = { spike: 1, drift: 100, stuck: 40, noise: 30 }

/**
 * One stream: value = level + amplitude * sin(2 pi i / period) + trend * i + sigma * N(0, 1), with
 * sigma 1, amplitude 3 to 6, a period of 1440 samples (a day of minutes), a trend of up to 1 sigma
 * per 1000 samples. Faults, in a seeded order:
 * - spike: one sample off by 8 to 15 sigma, either sign;
 * - drift: a ramp of 5 to 8 sigma over 100 samples, and the level stays shifted afterwards;
 * - stuck: the sensor repeats its last reading for 40 samples;
 * - noise: the noise is 5 to 8 times larger for 30 samples.
 */
export function faultyStream(seed: number, options: StreamOptions = {}): FaultyStream {
  const { samples = 6000, warmup = 600, gap = 150, stepMs = 60_000 } = options
  const rnd = prng(seed)
  const level = (rnd() - 0.5) * 200
  const amplitude = 3 + 3 * rnd()
  const phase = rnd() * 2 * Math.PI
  const trend = (rnd() - 0.5) * 2e-3
  const faults: Fault[] = []
  for (let at = warmup; ; ) {
    const kind = FAULT_KINDS[Math.floor(rnd() * FAULT_KINDS.length)]!
    const end = at + LENGTH[kind]
    if (end + gap > samples) break
    faults.push({ kind, start: at, end })
    at = end + gap + Math.floor(rnd() * 50)
  }
  const ts = new Float64Array(samples)
  const values = new Float64Array(samples)
  const faultOf = new Int32Array(samples).fill(-1)
  let shift = 0
  let size = 0
  let next = 0
  for (let i = 0; i < samples; i++) {
    ts[i] = 1_700_000_000_000 + i * stepMs
    while (next < faults.length && i >= faults[next]!.end) next++
    const f = faults[next]
    const faulty = f !== undefined && i >= f.start
    if (faulty) faultOf[i] = next
    if (faulty && i === f.start) size = f.kind === 'spike' ? 8 + 7 * rnd() : 5 + 3 * rnd()
    if (faulty && f.kind === 'stuck') {
      values[i] = values[i - 1]!
      continue
    }
    if (faulty && f.kind === 'drift') shift += size / LENGTH.drift
    let noise = gaussian(rnd)
    if (faulty && f.kind === 'noise') noise *= size
    let v = level + amplitude * Math.sin((2 * Math.PI * i) / 1440 + phase) + trend * i + shift + noise
    if (faulty && f.kind === 'spike') v += rnd() < 0.5 ? -size : size
    values[i] = v
  }
  return { ts, values, faults, faultOf }
}
