import { describe, expect, it } from 'vitest'
import { SHIFT_LABEL, UNIVARIATE_KINDS, univariateStream } from './univariate.js'

describe('the quality univariate streams', () => {
  it('are reproducible from their seed, and seeds differ', () => {
    const a = univariateStream(4)
    const b = univariateStream(4)
    expect(b.ts).toEqual(a.ts)
    expect(b.values).toEqual(a.values)
    expect(b.faults).toEqual(a.faults)
    expect(univariateStream(5).values.slice(0, 100)).not.toEqual(a.values.slice(0, 100))
  })

  it('lay faults of every kind after a clean warm-up, apart and of the documented lengths', () => {
    const kinds = new Set<string>()
    for (const seed of [1, 2, 3]) {
      const s = univariateStream(seed)
      expect(s.faults.length).toBeGreaterThan(40)
      expect(s.faults[0]!.start).toBeGreaterThanOrEqual(s.warmup)
      s.faults.forEach((f, k) => {
        kinds.add(f.kind)
        const length = f.end - f.start
        if (f.kind === 'spike') expect(length).toBe(1)
        if (f.kind === 'shift') expect(length).toBe(SHIFT_LABEL)
        if (f.kind === 'stuck') expect(length).toBeGreaterThanOrEqual(30)
        if (f.kind === 'burst') expect(length).toBeGreaterThanOrEqual(20)
        expect(length).toBeLessThanOrEqual(60)
        if (k > 0) expect(f.start - s.faults[k - 1]!.end).toBeGreaterThanOrEqual(150)
      })
      expect(s.faults.at(-1)!.end).toBeLessThanOrEqual(s.values.length)
    }
    expect([...kinds].sort()).toEqual([...UNIVARIATE_KINDS].sort())
  })

  it('change only the labelled rows of the clean twin (and the level a shift leaves behind)', () => {
    for (const seed of [1, 2]) {
      const s = univariateStream(seed)
      const clean = univariateStream(seed, { faults: false })
      expect(clean.faults).toEqual([])
      expect(clean.ts).toEqual(s.ts)
      const diff = (i: number) => s.values[i]! - clean.values[i]!
      let level = 0
      let from = 0
      for (const f of s.faults) {
        // clean rows since the last fault: moved by the level shifts so far, nothing else
        for (let i = from; i < f.start; i++) expect(Math.abs(diff(i) - level)).toBeLessThan(1e-6)
        if (f.kind === 'spike')
          expect(Math.abs(diff(f.start) - level)).toBeGreaterThan(8 * s.sigma - s.resolution)
        if (f.kind === 'stuck')
          for (let i = f.start; i < f.end; i++) expect(s.values[i]).toBe(s.values[f.start - 1])
        if (f.kind === 'burst') {
          let sq = 0
          for (let i = f.start; i < f.end; i++) sq += (diff(i) - level) ** 2
          expect(Math.sqrt(sq / (f.end - f.start))).toBeGreaterThan(2 * s.sigma)
        }
        if (f.kind === 'shift') {
          const moved = diff(f.start) - level
          expect(Math.abs(moved)).toBeGreaterThan(5 * s.sigma - s.resolution)
          for (let i = f.start; i < f.end; i++) expect(Math.abs(diff(i) - level - moved)).toBeLessThan(1e-6)
          level += moved
        }
        from = f.end
      }
    }
  })

  it('give quantised readings with lost samples and dropouts', () => {
    const s = univariateStream(6)
    for (const v of s.values)
      expect(Math.abs(v / s.resolution - Math.round(v / s.resolution))).toBeLessThan(1e-6)
    expect(s.values.length).toBeLessThan(12_000 * 0.995)
    let longest = 0
    for (let i = 1; i < s.ts.length; i++) longest = Math.max(longest, s.ts[i]! - s.ts[i - 1]!)
    expect(longest).toBeGreaterThanOrEqual(20 * 60_000 * 0.5)
    for (let i = 1; i < s.warmup; i++) expect(s.ts[i]! - s.ts[i - 1]!).toBeLessThan(2 * 60_000)
  })
})
