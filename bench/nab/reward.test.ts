import { describe, expect, it } from 'vitest'
import { falsePositiveValue, scaledSigmoid, truePositiveReward } from './reward.js'

describe('scaledSigmoid', () => {
  it('has the published values at the window edges', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5)
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5)
    expect(scaledSigmoid(0)).toBe(0)
    expect(scaledSigmoid(1)).toBeCloseTo(-0.98661, 5)
  })

  it('is decreasing and clamped to -1 beyond three window lengths', () => {
    expect(scaledSigmoid(2.9)).toBeGreaterThan(-1)
    expect(scaledSigmoid(3.01)).toBe(-1)
    expect(scaledSigmoid(100)).toBe(-1)
    for (let y = -1; y < 3; y += 0.25) expect(scaledSigmoid(y + 0.25)).toBeLessThan(scaledSigmoid(y))
  })
})

describe('truePositiveReward', () => {
  const window = { first: 10, last: 19 } // 10 rows

  it('is exactly 1 at the first row of the window', () => {
    expect(truePositiveReward(10, window)).toBe(1)
  })

  it('falls through the window and stays positive at its last row', () => {
    expect(truePositiveReward(14, window)).toBeCloseTo(scaledSigmoid(-6 / 10) / scaledSigmoid(-1), 12)
    expect(truePositiveReward(19, window)).toBeCloseTo(scaledSigmoid(-1 / 10) / scaledSigmoid(-1), 12)
    expect(truePositiveReward(19, window)).toBeGreaterThan(0)
    expect(truePositiveReward(15, window)).toBeLessThan(truePositiveReward(14, window))
  })
})

describe('falsePositiveValue', () => {
  const window = { first: 10, last: 19 } // length 10: distances in units of 9 rows

  it('is -1 with no preceding window', () => {
    expect(falsePositiveValue(5, undefined)).toBe(-1)
  })

  it('is mild right after a window and grows to -1 far from it', () => {
    expect(falsePositiveValue(20, window)).toBeCloseTo(scaledSigmoid(1 / 9), 12)
    expect(falsePositiveValue(20, window)).toBeGreaterThan(-0.3)
    expect(falsePositiveValue(28, window)).toBeCloseTo(scaledSigmoid(1), 12)
    expect(falsePositiveValue(19 + 9 * 3 + 1, window)).toBe(-1)
  })

  it('measures in single rows after a one-row window', () => {
    expect(falsePositiveValue(12, { first: 10, last: 10 })).toBeCloseTo(scaledSigmoid(2), 12)
  })
})
