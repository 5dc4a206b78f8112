import { describe, expect, it } from 'vitest'
import { Lag, Walk } from './dynamics.js'
import { createRandom } from './random.js'
import { mean, std } from './test-helpers.js'

describe('Lag', () => {
  it('starts at its first target, then closes 63% of a step in one time constant', () => {
    const lag = new Lag(60_000)
    expect(lag.follow(10, 0)).toBe(10)
    expect(lag.follow(20, 60_000)).toBeCloseTo(20 - 10 * Math.exp(-1), 12)
  })

  it('gives the same value whatever the read cadence', () => {
    const coarse = new Lag(300_000, 0)
    const fine = new Lag(300_000, 0)
    coarse.follow(50, 600_000)
    for (let i = 0; i < 600; i++) fine.follow(50, 1000)
    expect(fine.value).toBeCloseTo(coarse.value, 9)
  })
})

describe('Walk', () => {
  it('keeps its stationary standard deviation at any cadence', () => {
    for (const dt of [1000, 60_000, 3_600_000]) {
      const w = new Walk(600_000, 2)
      const g = createRandom(dt)
      const xs: number[] = []
      for (let i = 0; i < 100_000; i++) xs.push(w.step(dt, g.gaussian()))
      expect(Math.abs(mean(xs))).toBeLessThan(0.15)
      expect(std(xs)).toBeGreaterThan(1.85)
      expect(std(xs)).toBeLessThan(2.15)
    }
  })

  it('does not move in zero time', () => {
    const w = new Walk(1000, 1, 0.5)
    expect(w.step(0, 3)).toBe(0.5)
  })
})
