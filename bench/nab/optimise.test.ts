import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { optimiseThreshold, ThresholdSweep } from './optimise.js'
import { type PreparedFile, prepareFile } from './prepare.js'
import type { CostMatrix } from './profiles.js'
import { scoreFiles } from './score-file.js'

const standard: CostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1, tnWeight: 1 }
const lowFn: CostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 2, tnWeight: 1 }

function makeFile(name: string, scores: number[], spans: [number, number][]): PreparedFile {
  const timestamps = scores.map((_, i) => i * 1000)
  return prepareFile(
    name,
    { timestamps, scores },
    spans.map(([a, b]) => ({ start: a * 1000, end: b * 1000 })),
  )
}

/** The best raw score by scoring every distinct score as a threshold (and never firing). */
function bruteForce(files: PreparedFile[], costs: CostMatrix): number {
  const candidates = new Set<number>([Number.POSITIVE_INFINITY])
  for (const f of files) for (let i = f.probation; i < f.rows; i++) candidates.add(f.scores[i]!)
  return Math.max(...[...candidates].map((t) => scoreFiles(files, t, costs).raw))
}

const fileArb = fc
  .record({
    scores: fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 10, maxLength: 80 }),
    cuts: fc.array(fc.tuple(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 12 })), {
      maxLength: 4,
    }),
  })
  .map(({ scores, cuts }) => {
    // Windows from (gap, length) pairs laid end to end; those running past the end are dropped.
    const spans: [number, number][] = []
    let at = 0
    for (const [gap, length] of cuts) {
      const first = at + gap
      const last = first + length
      if (last >= scores.length) break
      spans.push([first, last])
      at = last + 1
    }
    return { scores: scores.map((s) => s / 8), spans }
  })

describe('ThresholdSweep', () => {
  it('finds the same best score as trying every distinct threshold', () => {
    fc.assert(
      fc.property(fc.array(fileArb, { minLength: 1, maxLength: 4 }), (inputs) => {
        const files = inputs.map((f, k) => makeFile(`f${k}.csv`, f.scores, f.spans))
        const sweep = new ThresholdSweep(files)
        for (const costs of [standard, lowFn]) {
          const best = sweep.best(costs)
          expect(best.raw).toBeCloseTo(bruteForce(files, costs), 9)
          expect(scoreFiles(files, best.threshold, costs).raw).toBeCloseTo(best.raw, 9)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('never fires (threshold +Infinity) when no detection pays', () => {
    const flat = makeFile('flat.csv', new Array(100).fill(0.5), [[40, 49]])
    expect(optimiseThreshold([flat], standard)).toEqual({ threshold: Number.POSITIVE_INFINITY, raw: -1 })
  })

  it('prefers the higher of two thresholds with the same score', () => {
    // Rows 0-14 are probationary: lowering the threshold to 0.2 only adds them, which changes nothing.
    const scores = new Array(100).fill(0)
    for (let i = 0; i < 15; i++) scores[i] = 0.2
    scores[40] = 0.9
    const best = optimiseThreshold([makeFile('a.csv', scores, [[40, 49]])], standard)
    expect(best).toEqual({ threshold: 0.9, raw: 1 })
  })

  it('picks the earliest detection of a window when it comes at a lower score', () => {
    const scores = new Array(100).fill(0)
    scores[45] = 0.9
    scores[40] = 0.6
    const file = makeFile('a.csv', scores, [[40, 49]])
    expect(optimiseThreshold([file], standard)).toEqual({ threshold: 0.6, raw: 1 })
  })
})
