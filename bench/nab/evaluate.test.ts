import { describe, expect, it } from 'vitest'
import { NabInputError } from './errors.js'
import { prepareOutputs, scoreAtThreshold, scoreDetector, scoreOptimised } from './evaluate.js'
import type { Profile } from './profiles.js'
import type { Window } from './windows.js'

const profiles: Profile[] = [
  { name: 'standard', tpWeight: 1, fpWeight: 0.11, fnWeight: 1, tnWeight: 1 },
  { name: 'reward_low_FP_rate', tpWeight: 1, fpWeight: 0.22, fnWeight: 1, tnWeight: 1 },
  { name: 'reward_low_FN_rate', tpWeight: 1, fpWeight: 0.11, fnWeight: 2, tnWeight: 1 },
]

// Two files of 100 one-second rows, with windows at rows 40-49, and 60-64 and 80-89.
const windows = new Map<string, Window[]>([
  ['a/one.csv', [{ start: 40_000, end: 49_000 }]],
  [
    'b/two.csv',
    [
      { start: 60_000, end: 64_000 },
      { start: 80_000, end: 89_000 },
    ],
  ],
])
const timestamps = Array.from({ length: 100 }, (_, i) => i * 1000)
const output = (hits: number[], noise = 0) => {
  const scores = timestamps.map((_, i) => (i % 7 === 0 ? noise : 0))
  for (const i of hits) scores[i] = 1
  return { timestamps, scores }
}

describe('normalised scores', () => {
  it('gives 100 to the perfect detector and 0 to the null one, on every profile', () => {
    const perfect = prepareOutputs(
      new Map([
        ['a/one.csv', output([40])],
        ['b/two.csv', output([60, 80])],
      ]),
      windows,
    )
    const none = prepareOutputs(
      new Map([
        ['a/one.csv', output([])],
        ['b/two.csv', output([])],
      ]),
      windows,
    )
    for (const p of scoreDetector('perfect', perfect, profiles).profiles)
      expect(p.normalised).toBeCloseTo(100, 12)
    for (const p of scoreDetector('null', none, profiles).profiles) {
      expect(p.normalised).toBe(0)
      expect(p.threshold).toBe(Number.POSITIVE_INFINITY)
    }
  })

  it('scores a subset at a threshold chosen on another subset (2-fold use)', () => {
    const files = prepareOutputs(
      new Map([
        ['a/one.csv', output([45], 0.7)],
        ['b/two.csv', output([62, 85], 0.7)],
      ]),
      windows,
    )
    const [a, b] = files as [(typeof files)[0], (typeof files)[0]]
    const standard = profiles[0]!
    const train = scoreOptimised([a], standard)
    expect(train.threshold).toBe(1) // the 0.7 noise only costs false positives
    const test = scoreAtThreshold([b], standard, train.threshold)
    expect(test.nullRaw).toBe(-2)
    expect(test.perfectRaw).toBe(2)
    expect(test.normalised).toBeCloseTo((100 * (test.raw + 2)) / 4, 12)
    expect(test.detail.detectedWindows).toBe(2)
    expect(scoreAtThreshold([b], standard, 0.7).raw).toBeLessThan(test.raw)
  })

  it('rejects an output for a file that has no windows entry', () => {
    expect(() => prepareOutputs(new Map([['c/three.csv', output([])]]), windows)).toThrow(NabInputError)
  })
})
