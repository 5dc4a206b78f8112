// The quality harness's own univariate streams with seeded faults, built to differ from
// bench/faults/streams.ts in every way a detector could have been fitted to (only the PRNG is shared):
// - times: a reading about every minute with jitter, lost readings and dropouts (timeline.ts);
// - noise: AR(2) over Student-t innovations (noise.ts), not white Gaussian;
// - a daily cycle with a second harmonic (a lopsided day), following the clock across gaps;
// - a baseline that wanders (Ornstein-Uhlenbeck, tau 3-9 h) and trends;
// - quantised readings (a resolution of 0.2-0.8 sigma), like a real sensor's output;
// - faults of four kinds, sizes in units of sigma, the noise's marginal standard deviation:
//   spike (one reading off by 8-14 sigma), shift (the level steps by 5-8 sigma and stays: the label
//   covers the first SHIFT_LABEL rows, after which the new level is the normal one), stuck (30-60 rows
//   repeat the last reading) and burst (20-40 rows with extra Gaussian noise of 4-7 sigma).
// Labels are exact row spans; the first `warmup` rows are clean and keep every reading. Faults draw
// from a random stream of their own, so the same seed with `faults: false` gives the clean twin: the
// same readings outside the spans, apart from the levels shifts leave behind.
import { createRandom, type Random, seedFrom } from '../../firmware/sensors/random.js'
import { ArNoise } from './noise.js'
import type { FaultSpan } from './spans.js'
import { sampleTimes } from './timeline.js'

export const UNIVARIATE_KINDS = ['spike', 'shift', 'stuck', 'burst'] as const
export type UnivariateKind = (typeof UNIVARIATE_KINDS)[number]

/** Rows a level shift's label covers: the change, not the new normal that follows. */
export const SHIFT_LABEL = 40

export interface UnivariateStream {
  ts: Float64Array
  values: Float64Array
  faults: FaultSpan[]
  /** Clean rows at the start. */
  warmup: number
  /** The noise's marginal standard deviation, the unit of every fault size. */
  sigma: number
  /** The readings' resolution. */
  resolution: number
}

export interface UnivariateOptions {
  /** Nominal sample slots (rows present are fewer: losses and dropouts). */
  slots?: number
  warmup?: number
  /** false: the clean twin (no fault applied, no labels). */
  faults?: boolean
}

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
const STEP_MS = 60_000

export function univariateStream(seed: number, options: UnivariateOptions = {}): UnivariateStream {
  const { slots = 12_000, warmup = 720, faults: withFaults = true } = options
  const r = createRandom(seedFrom('edgewatch/quality/univariate', seed))
  const fr = createRandom(seedFrom('edgewatch/quality/univariate-faults', seed))
  const pick = (lo: number, hi: number) => lo + (hi - lo) * r.next()
  const ts = sampleTimes(r, {
    slots,
    stepMs: STEP_MS,
    startMs: Date.UTC(2026, 2, 1) + Math.floor(pick(0, DAY_MS)),
    jitter: pick(0.1, 0.6),
    missing: pick(0.005, 0.03),
    dropouts: 2 + Math.floor(r.next() * 3),
    dropoutSlots: [20, 240],
    keepFirst: warmup,
  })
  const n = ts.length
  const sigma = pick(0.5, 3)
  const resolution = sigma * pick(0.2, 0.8)
  const level = pick(-100, 100)
  const amplitude = sigma * pick(2, 8)
  const harmonic = pick(0, 0.5)
  const phase = pick(0, 2 * Math.PI)
  const phase2 = pick(0, 2 * Math.PI)
  const trendPerMs = (sigma * pick(-1, 1)) / DAY_MS
  const wanderTau = pick(3, 9) * HOUR_MS
  const wanderSd = sigma * pick(0.5, 1.5)
  let a1 = 0
  let a2 = 0
  do {
    a1 = pick(0.3, 0.85)
    a2 = pick(-0.3, 0.1)
  } while (!(Math.abs(a1) + a2 < 0.95))
  const noise = new ArNoise(r, a1, a2, 3 + Math.floor(r.next() * 4))

  const faults = withFaults ? placeFaults(fr, n, warmup) : []
  const values = new Float64Array(n)
  let wander = wanderSd * r.gaussian()
  let shift = 0
  let next = 0
  let size = 0
  for (let i = 0; i < n; i++) {
    const t = ts[i]!
    const dt = i === 0 ? 0 : t - ts[i - 1]!
    const keep = Math.exp(-dt / wanderTau)
    wander = wander * keep + wanderSd * Math.sqrt(1 - keep * keep) * r.gaussian()
    while (next < faults.length && i >= faults[next]!.end) next++
    const f = faults[next]
    const kind = f !== undefined && i >= f.start ? (f.kind as UnivariateKind) : undefined
    if (kind && i === f!.start) {
      size =
        sigma *
        (kind === 'spike' ? 8 + 6 * fr.next() : kind === 'shift' ? 5 + 3 * fr.next() : 4 + 3 * fr.next())
      if (kind !== 'burst' && fr.next() < 0.5) size = -size
      // whole steps of the resolution, so the shifted readings are the clean ones moved exactly
      if (kind === 'shift') shift += Math.round(size / resolution) * resolution
    }
    const angle = (2 * Math.PI * t) / DAY_MS
    const day = amplitude * (Math.sin(angle + phase) + harmonic * Math.sin(2 * angle + phase2))
    let v = level + day + trendPerMs * (t - ts[0]!) + wander + shift + sigma * noise.next()
    if (kind === 'spike') v += size
    if (kind === 'burst') v += size * fr.gaussian()
    values[i] = kind === 'stuck' ? values[i - 1]! : Math.round(v / resolution) * resolution
  }
  return { ts, values, faults, warmup, sigma, resolution }
}

/** Faults one after another from `warmup` on, 150-250 clean rows apart, none running past the end. */
function placeFaults(r: Random, n: number, warmup: number): FaultSpan[] {
  const faults: FaultSpan[] = []
  for (let at = warmup; ; ) {
    const kind = UNIVARIATE_KINDS[Math.floor(r.next() * UNIVARIATE_KINDS.length)]!
    const length =
      kind === 'spike'
        ? 1
        : kind === 'shift'
          ? SHIFT_LABEL
          : kind === 'stuck'
            ? 30 + Math.floor(r.next() * 31)
            : 20 + Math.floor(r.next() * 21)
    if (at + length + 150 > n) break
    faults.push({ kind, start: at, end: at + length })
    at += length + 150 + Math.floor(r.next() * 101)
  }
  return faults
}
