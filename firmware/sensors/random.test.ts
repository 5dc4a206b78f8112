import { describe, expect, it } from 'vitest'
import { between, createRandom, seedFrom } from './random.js'

describe('random', () => {
  it('is deterministic from the seed and differs between seeds', () => {
    const a = createRandom(42)
    const b = createRandom(42)
    const c = createRandom(43)
    const xs = Array.from({ length: 100 }, () => a.next())
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs)
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(xs)
  })

  it('gives uniforms in [0, 1) with mean 1/2', () => {
    const r = createRandom(1)
    let sum = 0
    for (let i = 0; i < 100_000; i++) {
      const u = r.next()
      expect(u >= 0 && u < 1).toBe(true)
      sum += u
    }
    expect(sum / 100_000).toBeCloseTo(0.5, 2)
  })

  it('gives standard normals: mean 0, variance 1, finite', () => {
    const r = createRandom(7)
    const n = 200_000
    let sum = 0
    let sq = 0
    let beyond3 = 0
    for (let i = 0; i < n; i++) {
      const g = r.gaussian()
      expect(Number.isFinite(g)).toBe(true)
      sum += g
      sq += g * g
      if (Math.abs(g) > 3) beyond3++
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01)
    expect(sq / n).toBeCloseTo(1, 1)
    // P(|Z| > 3) = 0.27%.
    expect(beyond3 / n).toBeGreaterThan(0.0018)
    expect(beyond3 / n).toBeLessThan(0.0036)
  })

  it('hashes device ids to distinct seeds, salted', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => seedFrom(`pump-${i}`))
    expect(new Set(ids).size).toBe(10_000)
    expect(seedFrom('pump-1', 1)).not.toBe(seedFrom('pump-1', 2))
    expect(seedFrom('pump-1')).toBe(seedFrom('pump-1'))
  })

  it('between draws in [lo, hi)', () => {
    const r = createRandom(3)
    for (let i = 0; i < 1000; i++) {
      const v = between(r, -2, 5)
      expect(v >= -2 && v < 5).toBe(true)
    }
  })
})
