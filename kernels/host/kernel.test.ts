import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadNodeKernel } from '../node.js'
import { ReferenceSeries } from '../reference/reference.js'
import {
  type Kernel,
  KernelStateError,
  type SeriesResult,
  stateBytes,
  type WindowFeature,
  windowFeatures,
} from './kernel.js'
import { kindsOf } from './kinds.js'
import { DEFAULT_PARAMS, type DetectorParams, encodeParams, mergeParams } from './params.js'

let kernel: Kernel
beforeAll(async () => {
  kernel = await loadNodeKernel()
})

/** A deterministic series generator: random walk with noise, spikes, level shifts, stuck runs, gaps. */
function makeSeries(seed: number, n: number): { ts: Float64Array; values: Float64Array } {
  let s = seed >>> 0 || 1
  const rnd = () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
  const ts = new Float64Array(n)
  const values = new Float64Array(n)
  let t = 1_700_000_000_000 + Math.floor(rnd() * 1e6)
  let level = rnd() * 100 - 50
  let stuckLeft = 0
  for (let i = 0; i < n; i++) {
    const r = rnd()
    t +=
      r < 0.02 ? Math.floor(rnd() * 300_000) : r < 0.03 ? -Math.floor(rnd() * 5000) : Math.floor(rnd() * 3000)
    if (rnd() < 0.005) level += (rnd() - 0.5) * 200
    let v = level + (rnd() - 0.5) * 4
    if (rnd() < 0.01) v += (rnd() - 0.5) * 500
    if (stuckLeft > 0) {
      stuckLeft--
      v = values[i - 1]!
    } else if (rnd() < 0.004) stuckLeft = 40
    ts[i] = t
    values[i] = i > 0 && rnd() < 0.02 ? values[i - 1]! : v
  }
  return { ts, values }
}

const TUNED: DetectorParams = mergeParams(DEFAULT_PARAMS, {
  threshold: { lo: -60, hi: 60 },
  outlier: { warmup: 10 },
  stuck: { n: 8, minRate: 0.3 },
  window: { ms: 30_000, slideMs: 5_000 },
})

const CONTEXT: DetectorParams = mergeParams(TUNED, { enabled: { context: true } })

/** Shape with short blocks, warm-up and mask, so that it learns, fires and masks within 3000 samples. */
const SHAPE: DetectorParams = mergeParams(CONTEXT, {
  enabled: { shape: true },
  shape: { block: 2, warmup: 60, mask: 10, categories: 8, vigilance: 0.95, alarm: 0.9 },
})

function runWhole(params: DetectorParams, ts: Float64Array, values: Float64Array): SeriesResult {
  return kernel.run(undefined, ts, values, encodeParams(params))
}

function relClose(a: number, b: number): boolean {
  if (a === b) return true
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b))
}

describe('Wasm kernel against the TypeScript reference', () => {
  for (const [name, params] of [
    ['defaults', DEFAULT_PARAMS],
    ['tuned', TUNED],
    ['novelty off', mergeParams(TUNED, { enabled: { novelty: false } })],
    ['context on', CONTEXT],
    ['context without novelty', mergeParams(CONTEXT, { enabled: { novelty: false } })],
    ['context, 1 lag, no hours', mergeParams(CONTEXT, { context: { lags: 1, hours: 0, levels: 5 } })],
    ['context, 4 lags, 48 hours', mergeParams(CONTEXT, { context: { lags: 4, hours: 48, levels: 12 } })],
    ['shape on', SHAPE],
    ['shape alone', mergeParams(SHAPE, { enabled: { novelty: false, context: false } })],
    ['shape, no refractory', mergeParams(SHAPE, { refractory: { samples: 0 } })],
    ['shape, one block of 40', mergeParams(SHAPE, { shape: { block: 40, warmup: 0, categories: 32 } })],
  ] as const) {
    it(`agrees on random series (${name})`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 1, max: 3000 }), (seed, n) => {
          const { ts, values } = makeSeries(seed, n)
          const wasm = runWhole(params, ts, values)
          const ref = new ReferenceSeries(params)
          const refWindows: WindowFeature[] = []
          for (let i = 0; i < n; i++) {
            const r = ref.step(ts[i]!, values[i]!)
            refWindows.push(...r.windows)
            if (!relClose(wasm.scores[i]!, r.score))
              throw new Error(`score ${i}: ${wasm.scores[i]} vs ${r.score}`)
            expect(kindsOf(wasm.flags[i]!)).toEqual(r.kinds)
          }
          const windows = windowFeatures(wasm.windows)
          expect(windows.length).toBe(refWindows.length)
          windows.forEach((w, i) => {
            const r = refWindows[i]!
            for (const key of Object.keys(w) as (keyof typeof w)[]) {
              if (!relClose(w[key], r[key])) throw new Error(`window ${i} ${key}: ${w[key]} vs ${r[key]}`)
            }
          })
        }),
        { numRuns: 40 },
      )
    })
  }
})

describe('state snapshots', () => {
  for (const [name, tuned] of [
    ['tuned', TUNED],
    ['context on', CONTEXT],
    ['shape on', SHAPE],
  ] as const)
    it(`processing in random pieces with snapshot and restore gives identical output (${name})`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 2 ** 31 }),
          fc.integer({ min: 2, max: 4000 }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
          (seed, n, cutsAt) => {
            const { ts, values } = makeSeries(seed, n)
            const params = encodeParams(tuned)
            const whole = kernel.run(undefined, ts, values, params)
            const cuts = [...new Set(cutsAt.map((c) => Math.floor(c * n)))].sort((a, b) => a - b)
            let state: Uint8Array | undefined
            let from = 0
            const scores: number[] = []
            const flags: number[] = []
            const windows: number[] = []
            for (const to of [...cuts, n]) {
              const part = kernel.run(state, ts.subarray(from, to), values.subarray(from, to), params)
              // Another series in between must not leak into this one.
              kernel.run(undefined, ts.subarray(0, 5), values.subarray(0, 5), params)
              state = Uint8Array.from(part.state)
              scores.push(...part.scores)
              flags.push(...part.flags)
              windows.push(...part.windows)
              from = to
            }
            expect(Float64Array.from(scores)).toEqual(whole.scores)
            expect(Uint8Array.from(flags)).toEqual(whole.flags)
            expect(Float64Array.from(windows)).toEqual(whole.windows)
            expect(state).toEqual(whole.state)
          },
        ),
        { numRuns: 60 },
      )
    })

  it('rejects a snapshot of the wrong size or version', () => {
    const params = encodeParams(DEFAULT_PARAMS)
    const one = new Float64Array([1])
    expect(() => kernel.run(new Uint8Array(10), one, one, params)).toThrow(KernelStateError)
    const bad = new Uint8Array(stateBytes(6))
    expect(() => kernel.run(bad, one, one, params)).toThrow(/version/)
    expect(() => kernel.run(new Uint8Array(stateBytes(17)), one, one, params)).toThrow(KernelStateError)
  })

  it('crosses the kernel capacity in one call', () => {
    const { ts, values } = makeSeries(7, 150_000)
    const whole = runWhole(CONTEXT, ts, values)
    const ref = new ReferenceSeries(CONTEXT)
    let mismatches = 0
    for (let i = 0; i < ts.length; i++)
      if (!relClose(whole.scores[i]!, ref.step(ts[i]!, values[i]!).score)) mismatches++
    expect(mismatches).toBe(0)
  })
})

describe('snapshot size', () => {
  it('holds only the window buckets in use, and survives a change of window size', () => {
    const ts = Float64Array.from({ length: 100 }, (_, i) => 1_700_000_000_000 + i * 1000)
    const values = ts.map((_, i) => Math.sin(i))
    const first = runWhole(DEFAULT_PARAMS, ts, values)
    expect(first.state.byteLength).toBe(stateBytes(6))
    const wider = mergeParams(DEFAULT_PARAMS, { window: { ms: 120_000 } })
    const next = kernel.run(
      first.state,
      ts.map((t) => t + 100_000),
      values,
      encodeParams(wider),
    )
    expect(next.state.byteLength).toBe(stateBytes(12))
    expect(windowFeatures(next.windows).every((w) => w.end - w.start === 120_000)).toBe(true)
  })
})

describe('detector behaviour', () => {
  const base = (n: number, f: (i: number) => number) => {
    const ts = new Float64Array(n)
    const values = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      ts[i] = 1_700_000_000_000 + i * 1000
      values[i] = f(i)
    }
    return { ts, values }
  }
  const noise = (i: number) => 20 + Math.sin(i * 1.7) * 0.5 + Math.cos(i * 0.31) * 0.3

  it('scores stay in [0, 1) and reach 0.5 exactly when a detector fires', () => {
    const { ts, values } = makeSeries(99, 5000)
    for (const params of [
      TUNED,
      mergeParams(TUNED, { enabled: { novelty: false } }),
      CONTEXT,
      mergeParams(CONTEXT, { enabled: { novelty: false } }),
      SHAPE,
    ]) {
      const r = runWhole(params, ts, values)
      for (let i = 0; i < ts.length; i++) {
        expect(r.scores[i]).toBeGreaterThanOrEqual(0)
        expect(r.scores[i]).toBeLessThan(1)
        expect(r.scores[i]! >= 0.5).toBe(r.flags[i] !== 0)
      }
    }
  })

  it('flags a value past the whole range seen so far as novelty, and ranks by how far past', () => {
    const { ts, values } = base(400, (i) => (i === 300 ? 21.2 : i === 350 ? 24 : noise(i)))
    const r = runWhole(DEFAULT_PARAMS, ts, values)
    expect(kindsOf(r.flags[300]!)).toContain('novelty')
    expect(r.scores[350]!).toBeGreaterThan(r.scores[300]!)
    // Context (on by default) may take this noise's first steps for new patterns; novelty may not.
    const novelty = (f: number) => kindsOf(f).includes('novelty')
    expect(r.flags.slice(DEFAULT_PARAMS.novelty.warmup, 300).some(novelty)).toBe(false)
    expect(r.scores[299]!).toBeLessThan(r.scores[300]!)
  })

  it('flags a step whose every context is new as context, even inside the range seen so far', () => {
    // A square wave between 10 and 20, then one value in the middle: no new extreme, a new pattern.
    const { ts, values } = base(1600, (i) => (i === 1500 ? 15 : i % 20 < 10 ? 10 : 20))
    const params = mergeParams(DEFAULT_PARAMS, { enabled: { context: true } })
    const r = runWhole(params, ts, values)
    expect(kindsOf(r.flags[1500]!)).toContain('context')
    expect(kindsOf(r.flags[1500]!)).not.toContain('novelty')
    for (let i = params.context.warmup; i < 1500; i++) {
      expect(kindsOf(r.flags[i]!)).not.toContain('context')
      expect(r.scores[i]!).toBeLessThan(r.scores[1500]!)
    }
    const off = runWhole(mergeParams(DEFAULT_PARAMS, { enabled: { context: false } }), ts, values)
    expect(kindsOf(off.flags[1500]!)).not.toContain('context')
  })

  it('flags a flat stretch inside the range after a noisy history as shape, not novelty', () => {
    // A noisy wave between 5 and 95 (period 100 samples); then it stays flat at 50 (no new extreme).
    const wave = (i: number) => 50 + 40 * Math.sin((i * 2 * Math.PI) / 100) + ((i * 7919) % 11) - 5
    const { ts, values } = base(6000, (i) => (i >= 5000 && i < 5400 ? 50 : wave(i)))
    const params = mergeParams(DEFAULT_PARAMS, { enabled: { shape: true } })
    const r = runWhole(params, ts, values)
    const shapeAt = [...r.flags].flatMap((f, i) => (kindsOf(f).includes('shape') ? [i] : []))
    expect(shapeAt.filter((i) => i >= 5000 && i < 5000 + 8 * params.shape.block).length).toBe(1)
    expect(shapeAt.filter((i) => i >= 2000 && i < 5000)).toEqual([])
    expect(r.flags.slice(5000, 5400).every((f) => !kindsOf(f).includes('novelty'))).toBe(true)
  })

  it('after a ranked alarm, ranks the next refractory.samples samples 0 and keeps their verdicts', () => {
    // Two jumps past the range 3 samples apart: the second would rank higher, but it is refractory.
    const params = mergeParams(DEFAULT_PARAMS, { refractory: { samples: 5, rank: 0.1 } })
    const { ts, values } = base(400, (i) => (i === 300 ? 22 : i === 303 ? 30 : noise(i)))
    const r = runWhole(params, ts, values)
    expect(r.scores[300]!).toBeGreaterThan(0.55)
    expect(kindsOf(r.flags[303]!)).toContain('novelty')
    expect(r.scores[303]).toBe(0.5)
    const free = runWhole(mergeParams(params, { refractory: { samples: 0 } }), ts, values)
    expect(free.scores[303]!).toBeGreaterThan(free.scores[300]!)
    expect(free.flags).toEqual(r.flags)
  })

  it('does not take the first steps after a stuck stretch for spikes', () => {
    const { ts, values } = base(400, (i) => (i >= 200 && i < 260 ? 21.25 : noise(i)))
    const r = runWhole(DEFAULT_PARAMS, ts, values)
    expect(r.flags.slice(260, 280).every((f) => !kindsOf(f).includes('spike'))).toBe(true)
  })

  it('flags a spike and an outlier on a single jump', () => {
    const { ts, values } = base(300, (i) => (i === 200 ? 80 : noise(i)))
    const r = runWhole(DEFAULT_PARAMS, ts, values)
    expect(kindsOf(r.flags[200]!)).toEqual(expect.arrayContaining(['outlier', 'spike']))
    const jump = (f: number) => kindsOf(f).some((k) => k === 'outlier' || k === 'spike')
    expect(r.flags.slice(0, 200).some(jump)).toBe(false)
  })

  it('flags a small level shift as drift', () => {
    const { ts, values } = base(600, (i) => noise(i) + (i >= 300 ? 1.5 : 0))
    const r = runWhole(DEFAULT_PARAMS, ts, values)
    const driftAt = [...r.flags].findIndex((f) => kindsOf(f).includes('drift'))
    expect(driftAt).toBeGreaterThanOrEqual(300)
    expect(driftAt).toBeLessThan(340)
  })

  it('flags a stuck sensor once, only where the series normally varies', () => {
    const { ts, values } = base(400, (i) => (i >= 200 && i < 260 ? 21.25 : noise(i)))
    const r = runWhole(DEFAULT_PARAMS, ts, values)
    const stuck = [...r.flags].flatMap((f, i) => (kindsOf(f).includes('stuck') ? [i] : []))
    expect(stuck).toEqual([200 + DEFAULT_PARAMS.stuck.n - 1])
    const flat = base(400, () => 5)
    expect(runWhole(DEFAULT_PARAMS, flat.ts, flat.values).flags.every((f) => f === 0)).toBe(true)
  })

  it('flags values beyond configured thresholds', () => {
    const params = mergeParams(DEFAULT_PARAMS, { threshold: { hi: 21 } })
    const { ts, values } = base(50, (i) => (i === 10 ? 25 : 20))
    const r = runWhole(params, ts, values)
    expect(kindsOf(r.flags[10]!)).toContain('threshold')
  })

  it('emits window features that match a direct computation', () => {
    const { ts, values } = base(200, (i) => (i * 7) % 13)
    const r = runWhole(DEFAULT_PARAMS, ts, values)
    const windows = windowFeatures(r.windows)
    expect(windows.length).toBeGreaterThan(10)
    for (const w of windows) {
      const inside = [...values].filter((_, i) => ts[i]! >= w.start && ts[i]! < w.end)
      const mean = inside.reduce((a, b) => a + b, 0) / inside.length
      const std = Math.sqrt(inside.reduce((a, b) => a + (b - mean) ** 2, 0) / inside.length)
      expect(w.count).toBe(inside.length)
      expect(w.mean).toBeCloseTo(mean, 9)
      expect(w.std).toBeCloseTo(std, 9)
      expect(w.min).toBe(Math.min(...inside))
      expect(w.max).toBe(Math.max(...inside))
      expect(w.range).toBe(w.max - w.min)
      expect(w.end - w.start).toBe(60_000)
    }
  })
})

describe('params', () => {
  it('rejects invalid parameters with a clear message', () => {
    expect(() => mergeParams(DEFAULT_PARAMS, { outlier: { alpha: 2 } })).toThrow(/alpha/)
    expect(() => mergeParams(DEFAULT_PARAMS, { window: { ms: 65_000 } })).toThrow(/window/)
    expect(() => mergeParams(DEFAULT_PARAMS, { context: { levels: 32 } })).toThrow(/context/)
    expect(() => mergeParams(DEFAULT_PARAMS, { context: { lags: 5 } })).toThrow(/lags/)
    expect(() => mergeParams(DEFAULT_PARAMS, { shape: { categories: 33 } })).toThrow(/categories/)
    expect(() => mergeParams(DEFAULT_PARAMS, { shape: { vigilance: 0 } })).toThrow(/vigilance/)
    expect(() => mergeParams(DEFAULT_PARAMS, { shape: { block: 0.5 } })).toThrow(/block/)
    expect(() => mergeParams(DEFAULT_PARAMS, { refractory: { rank: 2 } })).toThrow(/rank/)
  })
})
