import { describe, expect, it } from 'vitest'
import { createRandom } from '../../firmware/sensors/random.js'
import { ArNoise, ar2Variance, isStationary, studentT } from './noise.js'

function moments(xs: Float64Array): { mean: number; variance: number; excessKurtosis: number; lag1: number } {
  const n = xs.length
  let mean = 0
  for (const x of xs) mean += x / n
  let m2 = 0
  let m4 = 0
  let c1 = 0
  for (let i = 0; i < n; i++) {
    const d = xs[i]! - mean
    m2 += (d * d) / n
    m4 += (d * d * d * d) / n
    if (i > 0) c1 += (d * (xs[i - 1]! - mean)) / (n - 1)
  }
  return { mean, variance: m2, excessKurtosis: m4 / (m2 * m2) - 3, lag1: c1 / m2 }
}

describe('Student-t draws', () => {
  it('have unit variance and heavy tails (dof 6: excess kurtosis 3)', () => {
    const r = createRandom(7)
    const xs = Float64Array.from({ length: 200_000 }, () => studentT(r, 6))
    const m = moments(xs)
    expect(Math.abs(m.mean)).toBeLessThan(0.02)
    expect(m.variance).toBeGreaterThan(0.95)
    expect(m.variance).toBeLessThan(1.05)
    expect(m.excessKurtosis).toBeGreaterThan(1.5)
    expect(m.excessKurtosis).toBeLessThan(6)
  })
})

describe('AR(2) noise', () => {
  it('knows the stationary region', () => {
    expect(isStationary(0.5, 0.2)).toBe(true)
    expect(isStationary(0.9, 0.2)).toBe(false)
    expect(isStationary(0, -1)).toBe(false)
    expect(() => new ArNoise(createRandom(1), 1.2, 0, 5)).toThrow(RangeError)
    // AR(1): 1 / (1 - a1²)
    expect(ar2Variance(0.6, 0)).toBeCloseTo(1 / (1 - 0.36), 12)
  })

  it.each([
    [0.8, 0, 5],
    [0.5, -0.3, 4],
    [0.3, 0.4, 6],
  ])('AR(%f, %f) over t(%i) has variance 1 and lag-1 correlation a1 / (1 - a2)', (a1, a2, dof) => {
    const noise = new ArNoise(createRandom(11), a1, a2, dof)
    const xs = Float64Array.from({ length: 200_000 }, () => noise.next())
    const m = moments(xs)
    expect(m.variance).toBeGreaterThan(0.9)
    expect(m.variance).toBeLessThan(1.1)
    expect(m.lag1).toBeCloseTo(a1 / (1 - a2), 1)
  })

  it('is reproducible from its seed', () => {
    const a = new ArNoise(createRandom(3), 0.6, 0, 4)
    const b = new ArNoise(createRandom(3), 0.6, 0, 4)
    for (let i = 0; i < 100; i++) expect(a.next()).toBe(b.next())
  })
})
