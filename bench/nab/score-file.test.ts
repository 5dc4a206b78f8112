import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readResultsFile } from './corpus.js'
import { NabInputError } from './errors.js'
import { nabPaths } from './paths.js'
import { prepareFile } from './prepare.js'
import type { CostMatrix } from './profiles.js'
import { falsePositiveValue, scaledSigmoid, truePositiveReward } from './reward.js'
import { scoreFile } from './score-file.js'
import { loadWindows } from './windows.js'

const MINUTE = 60_000
const standard: CostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1, tnWeight: 1 }
const lowFp: CostMatrix = { tpWeight: 1, fpWeight: 0.22, fnWeight: 1, tnWeight: 1 }

/** A file of `rows` one-minute rows (probation: 15 rows when rows = 100), windows given as row spans. */
function file(detections: number[], spans: [number, number][] = [[40, 49]], rows = 100) {
  const timestamps = Array.from({ length: rows }, (_, i) => i * MINUTE)
  const scores = new Array<number>(rows).fill(0)
  for (const i of detections) scores[i] = 1
  const windows = spans.map(([a, b]) => ({ start: a * MINUTE, end: b * MINUTE }))
  return prepareFile('test.csv', { timestamps, scores }, windows)
}

const w = { first: 40, last: 49 }

describe('scoreFile on hand-made cases', () => {
  it('charges fnWeight for a missed window and counts scored rows only', () => {
    const s = scoreFile(file([]), 0.5, standard)
    expect(s.raw).toBe(-1)
    expect(s).toMatchObject({ tp: 0, fp: 0, fn: 10, tn: 75, total: 100, windows: 1, detectedWindows: 0 })
  })

  it('rewards a detection by its position in the window', () => {
    expect(scoreFile(file([40]), 0.5, standard).raw).toBe(1)
    expect(scoreFile(file([45]), 0.5, standard).raw).toBeCloseTo(truePositiveReward(45, w), 12)
    expect(scoreFile(file([49]), 0.5, standard).raw).toBeLessThan(scoreFile(file([45]), 0.5, standard).raw)
  })

  it('counts only the first detection in a window', () => {
    const one = scoreFile(file([42]), 0.5, standard)
    const many = scoreFile(file([42, 44, 47, 48, 49]), 0.5, standard)
    expect(many.raw).toBe(one.raw)
    expect(many.raw).toBeCloseTo(truePositiveReward(42, w), 12)
    expect(many).toMatchObject({ tp: 5, fn: 5, detectedWindows: 1 })
  })

  it('charges a full fpWeight for a false positive before any window', () => {
    const s = scoreFile(file([20, 30]), 0.5, standard)
    expect(s.raw).toBeCloseTo(-1 - 2 * 0.11, 12)
    expect(s).toMatchObject({ fp: 2, tn: 73 })
  })

  it('weighs a false positive after a window by its distance from that window', () => {
    const near = scoreFile(file([40, 50]), 0.5, standard).raw
    const far = scoreFile(file([40, 58]), 0.5, standard).raw
    expect(near).toBeCloseTo(1 + 0.11 * scaledSigmoid(1 / 9), 12)
    expect(far).toBeCloseTo(1 + 0.11 * scaledSigmoid(1), 12)
    expect(scoreFile(file([40, 99]), 0.5, standard).raw).toBeCloseTo(1 - 0.11, 12)
    expect(near).toBeGreaterThan(far)
  })

  it('measures a false positive from the closest preceding window', () => {
    const spans: [number, number][] = [
      [30, 34],
      [60, 69],
    ]
    const s = scoreFile(file([30, 60, 36, 75], spans), 0.5, standard)
    const expected =
      2 +
      0.11 *
        (falsePositiveValue(36, { first: 30, last: 34 }) + falsePositiveValue(75, { first: 60, last: 69 }))
    expect(s.raw).toBeCloseTo(expected, 12)
  })

  it('scales by the profile weights', () => {
    expect(scoreFile(file([20]), 0.5, lowFp).raw).toBeCloseTo(-1 - 0.22, 12)
    const lowFn = { ...standard, fnWeight: 2 }
    expect(scoreFile(file([]), 0.5, lowFn).raw).toBe(-2)
  })

  it('ignores detections in the probationary period (the first 15 rows of 100)', () => {
    const ignored = scoreFile(file([0, 7, 14]), 0.5, standard)
    expect(ignored.raw).toBe(-1)
    expect(ignored).toMatchObject({ fp: 0, tn: 75 })
    expect(scoreFile(file([15]), 0.5, standard).raw).toBeCloseTo(-1.11, 12)
  })

  it('counts a window inside the probationary period as missed, whatever is detected in it', () => {
    const s = scoreFile(file([5, 6], [[5, 8]]), 0.5, standard)
    expect(s.raw).toBe(-1)
    expect(s).toMatchObject({ tp: 0, fn: 0, detectedWindows: 0 })
  })

  it('treats a score equal to the threshold as a detection', () => {
    expect(scoreFile(file([40]), 1, standard).raw).toBe(1)
    expect(scoreFile(file([40]), 1.0000001, standard).raw).toBe(-1)
  })
})

describe('prepareFile', () => {
  it('rejects a window that holds no row and mismatched columns', () => {
    expect(() => file([], [[200, 210]])).toThrow(NabInputError)
    expect(() => prepareFile('x.csv', { timestamps: [1, 2], scores: [0] }, [])).toThrow(/2 timestamps but 1/)
    expect(() => prepareFile('x.csv', { timestamps: [1], scores: [Number.NaN] }, [])).toThrow(/finite/)
  })
})

describe('scoreFile on published outputs (tiny label file)', () => {
  // NAB's published per-file scores of the numenta detector at its standard threshold.
  const paths = nabPaths()
  const windows = loadWindows(join(paths.root, 'labels', 'combined_windows_tiny.json'))
  const threshold = 0.542187690735
  const cases = [
    ['realKnownCause/nyc_taxi.csv', 2.43572773247, { tp: 7, tn: 8534, fp: 1, fn: 1028, total: 10320 }],
    [
      'realKnownCause/rogue_agent_key_hold.csv',
      -1.11370102385,
      { tp: 1, tn: 1408, fp: 2, fn: 189, total: 1882 },
    ],
  ] as const

  for (const [name, raw, counts] of cases) {
    it(name, () => {
      const [category, base] = name.split('/') as [string, string]
      const output = readResultsFile(join(paths.results, 'numenta', category, `numenta_${base}`))
      const s = scoreFile(prepareFile(name, output, windows.get(name)!), threshold, standard)
      expect(s.raw).toBeCloseTo(raw, 9)
      expect(s).toMatchObject(counts)
    })
  }
})
