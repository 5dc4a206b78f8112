import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TOLERANCE } from '../faults/recall.js'
import {
  addCounts,
  addSeeded,
  checkSeeded,
  countPoints,
  emptyCounts,
  emptySeeded,
  pointScore,
} from './score.js'

/** Flags with 1 at the given rows. */
function flagsAt(rows: number, at: number[]): Uint8Array {
  const f = new Uint8Array(rows)
  for (const i of at) f[i] = 1
  return f
}

describe('seeded-fault scoring', () => {
  const faults = [
    { kind: 'spike', start: 20, end: 21 },
    { kind: 'stuck', start: 40, end: 50 },
    { kind: 'spike', start: 70, end: 71 },
  ]

  it('finds a fault flagged inside its span or within the tolerance after its start, and nothing else', () => {
    // spike at 20 flagged 3 rows late (in tolerance); stuck flagged at 49 (its last row); spike at 70
    // flagged only at 70 + TOLERANCE, one row too late.
    const c = checkSeeded(faults, flagsAt(100, [23, 49, 70 + TOLERANCE]), 10)
    expect(c.faults).toBe(3)
    expect(c.detected).toBe(2)
    expect(c.byKind).toEqual({ spike: { faults: 2, detected: 1 }, stuck: { faults: 1, detected: 1 } })
    // the flag at 70 + TOLERANCE is outside every window: one false alarm
    expect(c.falseAlarms).toBe(1)
  })

  it('counts clean rows after the warm-up, outside spans and tolerance windows', () => {
    const c = checkSeeded(faults, flagsAt(100, [0, 5, 95]), 10)
    // 90 rows from 10; excluded: spike 20..25, stuck 40..50, spike 70..75 = 5 + 10 + 5 rows
    expect(c.cleanRows).toBe(90 - 20)
    // the flags at 0 and 5 are in the warm-up; 95 is a false alarm
    expect(c.falseAlarms).toBe(1)
    expect(c.detected).toBe(0)
  })

  it('adds streams kind by kind', () => {
    const total = addSeeded(emptySeeded(), checkSeeded(faults, flagsAt(100, [20]), 0))
    addSeeded(total, checkSeeded([{ kind: 'burst', start: 3, end: 9 }], flagsAt(10, [8, 9]), 0))
    expect(total.faults).toBe(4)
    expect(total.detected).toBe(2)
    expect(total.byKind.burst).toEqual({ faults: 1, detected: 1 })
    expect(total.byKind.spike).toEqual({ faults: 2, detected: 1 })
    expect(total.falseAlarms).toBe(1)
  })
})

describe('point-wise scoring', () => {
  const faults = [{ kind: 'leak', start: 10, end: 20 }]

  it('counts rows after the baseline against the spans', () => {
    // flagged: 2 in the baseline (ignored), 12..17 inside the fault (6 TP), 25 and 26 outside (2 FP)
    const c = countPoints(faults, flagsAt(30, [2, 12, 13, 14, 15, 16, 17, 25, 26]), 5)
    expect(c).toEqual({ tp: 6, fn: 4, fp: 2, tn: 30 - 5 - 10 - 2 })
    const s = pointScore(c)
    expect(s.precision).toBeCloseTo(6 / 8, 12)
    expect(s.recall).toBeCloseTo(6 / 10, 12)
    expect(s.f1).toBeCloseTo((2 * 0.75 * 0.6) / 1.35, 12)
  })

  it('scores a perfect detector 1 and a silent one 0', () => {
    const all = Array.from({ length: 10 }, (_, k) => 10 + k)
    expect(pointScore(countPoints(faults, flagsAt(30, all), 0))).toEqual({ precision: 1, recall: 1, f1: 1 })
    expect(pointScore(countPoints(faults, flagsAt(30, []), 0))).toEqual({ precision: 0, recall: 0, f1: 0 })
  })

  it('pools counts over runs before the ratios (not a mean of per-run F1)', () => {
    const a = countPoints(faults, flagsAt(30, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]), 0)
    const b = countPoints(faults, flagsAt(30, [0, 1]), 0)
    const pooled = addCounts(addCounts(emptyCounts(), a), b)
    expect(pooled).toEqual({ tp: 10, fp: 2, fn: 10, tn: 38 })
    expect(pointScore(pooled).f1).toBeCloseTo((2 * (10 / 12) * 0.5) / (10 / 12 + 0.5), 12)
  })
})

describe('scoring holds on any spans and flags', () => {
  const spans = fc.array(
    fc.record({
      kind: fc.constantFrom('a', 'b'),
      start: fc.integer({ min: -5, max: 120 }),
      length: fc.integer({ min: 0, max: 30 }),
    }),
    { maxLength: 8 },
  )
  const flags = fc.uint8Array({ min: 0, max: 1, maxLength: 100 })

  it('counts every row once and keeps ratios in [0, 1]', () => {
    fc.assert(
      fc.property(spans, flags, fc.integer({ min: -3, max: 110 }), (raw, f, from) => {
        const faults = raw.map((s) => ({ kind: s.kind, start: s.start, end: s.start + s.length }))
        const c = countPoints(faults, f, from)
        expect(c.tp + c.fp + c.fn + c.tn).toBe(Math.max(0, f.length - Math.max(0, from)))
        const flagged = f.slice(Math.max(0, from)).reduce((n, x) => n + x, 0)
        expect(c.tp + c.fp).toBe(flagged)
        const s = pointScore(c)
        for (const x of [s.precision, s.recall, s.f1]) expect(x >= 0 && x <= 1).toBe(true)
        const seeded = checkSeeded(
          faults.filter((x) => x.start >= 0 && x.start < f.length),
          f,
          from,
        )
        expect(seeded.detected).toBeLessThanOrEqual(seeded.faults)
        expect(seeded.falseAlarms).toBeLessThanOrEqual(seeded.cleanRows)
        expect(seeded.cleanRows).toBeLessThanOrEqual(Math.max(0, f.length - Math.max(0, from)))
      }),
    )
  })
})
