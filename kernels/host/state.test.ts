import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import * as L from '../layout.js'
import { loadNodeKernel } from '../node.js'
import { ReferenceState, type StateParams } from '../reference/state.js'
import type { Kernel } from './kernel.js'
import { DEFAULT_PARAMS, encodeStateParams } from './params.js'
import { isFlagged, type StateResult, topMetrics } from './state.js'
import { snapshotBytes } from './state-snapshot.js'

let kernel: Kernel
beforeAll(async () => {
  kernel = await loadNodeKernel()
})

const PARAMS: StateParams = { ...DEFAULT_PARAMS.state, baseline: 400 }

/** A deterministic device: `d` metrics driven by one load and a slow walk, with noise. */
function device(rows: number, d: number, seed: number): Float64Array {
  let s = seed >>> 0
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32 - 0.5
  }
  const out = new Float64Array(rows * d)
  let walk = 0
  for (let r = 0; r < rows; r++) {
    walk += 0.01 * rand()
    const load = 1 + 0.2 * Math.sin(r / 50) + walk
    for (let m = 0; m < d; m++) out[r * d + m] = 10 * (m + 1) + (m % 2 ? -3 : 5) * load + 0.3 * rand()
  }
  return out
}

function runWasm(rows: Float64Array, d: number, splits: number[], p = PARAMS): StateResult {
  const params = encodeStateParams(p)
  const n = rows.length / d
  const scores = new Float64Array(n)
  const verdicts = new Uint32Array(n)
  let state: Uint8Array | undefined
  let from = 0
  for (const to of [...splits, n]) {
    const r = kernel.runState!(state, rows.subarray(from * d, to * d), d, params)
    scores.set(r.scores, from)
    verdicts.set(r.verdicts, from)
    state = r.state
    from = to
  }
  return { scores, verdicts, state: state! }
}

function runReference(rows: Float64Array, d: number, p = PARAMS) {
  const ref = new ReferenceState(p)
  return Array.from({ length: rows.length / d }, (_, r) => ref.step(rows.subarray(r * d, (r + 1) * d), d))
}

describe('state detector', () => {
  it('matches the TypeScript reference bit for bit, through snapshots taken mid-stream', () => {
    const d = 6
    const rows = device(3000, d, 7)
    // a missing value now and then, and a fault: metric 2 leaves the others' relation at row 2000
    for (let r = 0; r < 3000; r++) {
      if (r % 37 === 5) rows[r * d + (r % d)] = Number.NaN
      if (r >= 2000 && r < 2300) rows[r * d + 2] = rows[r * d + 2]! + 15
    }
    const whole = runWasm(rows, d, [])
    const split = runWasm(rows, d, [1, 199, 200, 201, 399, 400, 1234, 2100])
    const reference = runReference(rows, d)
    expect(Array.from(split.scores)).toEqual(Array.from(whole.scores))
    expect(Array.from(split.verdicts)).toEqual(Array.from(whole.verdicts))
    expect(split.state).toEqual(whole.state)
    reference.forEach((step, r) => {
      expect(whole.scores[r], `row ${r}`).toBe(step.score)
      expect(isFlagged(whole.verdicts[r]!)).toBe(step.flagged)
      expect(topMetrics(whole.verdicts[r]!)).toEqual(step.top)
    })
    expect(reference.some((s) => s.flagged)).toBe(true)
  })

  it('flags every row while the device stays abnormal and names the metric that moved', () => {
    const d = 4
    const rows = device(2000, d, 3)
    for (let r = 1000; r < 1600; r++) rows[r * d + 1] = rows[r * d + 1]! * 1.5
    const { verdicts } = runWasm(rows, d, [])
    for (let r = 1000; r < 1600; r++) {
      expect(isFlagged(verdicts[r]!), `row ${r}`).toBe(true)
      expect(topMetrics(verdicts[r]!)[0]).toBe(1)
    }
    const clean = Array.from(verdicts.subarray(400, 1000)).filter(isFlagged).length
    expect(clean).toBe(0)
  })

  it('never scores a device of one metric (the series detectors watch it)', () => {
    const rows = device(1000, 1, 9)
    for (let r = 600; r < 1000; r++) rows[r] = rows[r]! * 3
    const { scores, verdicts } = runWasm(rows, 1, [])
    expect(scores.every((s) => s === 0)).toBe(true)
    expect(verdicts.every((v) => v === 0)).toBe(true)
  })

  it('scores nothing during the baseline, and keeps its baseline length when the params change', () => {
    const d = 3
    const rows = device(600, d, 5)
    const first = runWasm(rows.subarray(0, 300 * d), d, [])
    expect(first.scores.every((s) => s === 0)).toBe(true)
    // the device started with a 400-row baseline: a later 1000-row default does not lengthen it
    const later = kernel.runState!(
      first.state,
      rows.subarray(300 * d),
      d,
      encodeStateParams({ ...PARAMS, baseline: 1000 }),
    )
    expect(later.scores.subarray(100).some((s) => s > 0)).toBe(true)
  })

  it('keeps only the metrics a device has in its snapshot, and grows it when a metric joins', () => {
    const d = 4
    const rows = device(900, d, 11)
    // the fourth metric first appears at row 150, in the baseline's first half
    for (let r = 0; r < 150; r++) rows[r * d + 3] = Number.NaN
    const whole = runWasm(rows, d, [])
    expect(whole.state.byteLength).toBe(snapshotBytes(4))
    const params = encodeStateParams(PARAMS)
    const first = new Float64Array(150 * 3)
    for (let r = 0; r < 150; r++) for (let m = 0; m < 3; m++) first[r * 3 + m] = rows[r * d + m]!
    const a = kernel.runState!(undefined, first, 3, params)
    expect(a.state.byteLength).toBe(snapshotBytes(3))
    const b = kernel.runState!(a.state, rows.subarray(150 * d), d, params)
    expect(Array.from(a.scores)).toEqual(Array.from(whole.scores.subarray(0, 150)))
    expect(Array.from(b.scores)).toEqual(Array.from(whole.scores.subarray(150)))
    expect(Array.from(b.verdicts)).toEqual(Array.from(whole.verdicts.subarray(150)))
    expect(b.state).toEqual(whole.state)
    expect(() => kernel.runState!(b.state, rows.subarray(0, 6), 2, params)).toThrow(RangeError)
  })

  it('refuses a snapshot it did not make, and rows of a bad shape', () => {
    const params = encodeStateParams(PARAMS)
    const rows = new Float64Array(6)
    expect(() => kernel.runState!(new Uint8Array(10), rows, 2, params)).toThrow(/bytes is not one/)
    const wrongVersion = new Uint8Array(snapshotBytes(2))
    new DataView(wrongVersion.buffer).setFloat64(0, 99, true)
    expect(() => kernel.runState!(wrongVersion, rows, 2, params)).toThrow(/version 99/)
    expect(() => kernel.runState!(undefined, rows, 4, params)).toThrow(/d values per row/)
    expect(() => kernel.runState!(undefined, rows, L.STATE_METRICS_MAX + 1, params)).toThrow(/metrics/)
  })

  it('stays finite and matches the reference on hostile rows (NaN, infinities, huge, constant)', () => {
    const value = fc.oneof(
      fc.double(),
      fc.constant(Number.NaN),
      fc.constant(Number.POSITIVE_INFINITY),
      fc.constant(1e300),
      fc.constant(0),
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: L.STATE_METRICS_MAX }),
        fc.array(value, { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 2, max: 40 }),
        (d, values, baseline) => {
          const n = Math.floor(values.length / d)
          if (n === 0) return
          const rows = Float64Array.from(values.slice(0, n * d))
          const p = { ...PARAMS, baseline }
          const wasm = runWasm(rows, d, [Math.floor(n / 2)], p)
          const reference = runReference(rows, d, p)
          reference.forEach((step, r) => {
            expect(Object.is(wasm.scores[r], step.score)).toBe(true)
            expect(isFlagged(wasm.verdicts[r]!)).toBe(step.flagged)
          })
          for (const s of wasm.scores) expect(s >= 0 && s < 1).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
  })
})
