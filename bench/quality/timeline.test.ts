import { describe, expect, it } from 'vitest'
import { createRandom } from '../../firmware/sensors/random.js'
import { sampleTimes, type TimelineOptions } from './timeline.js'

const OPTIONS: TimelineOptions = {
  slots: 20_000,
  stepMs: 60_000,
  startMs: Date.UTC(2026, 0, 1),
  jitter: 0.5,
  missing: 0.02,
  dropouts: 3,
  dropoutSlots: [50, 100],
  keepFirst: 1000,
}

describe('sample times', () => {
  const ts = sampleTimes(createRandom(5), OPTIONS)

  it('are strictly increasing, jittered around the slots, and keep the first slots whole', () => {
    for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThan(ts[i - 1]!)
    for (let i = 0; i < OPTIONS.keepFirst; i++) {
      const slot = OPTIONS.startMs + i * OPTIONS.stepMs
      expect(Math.abs(ts[i]! - slot)).toBeLessThanOrEqual(OPTIONS.stepMs * 0.25 + 1)
    }
    const steps = new Set(Array.from(ts.subarray(1, 200), (t, i) => t - ts[i]!))
    expect(steps.size).toBeGreaterThan(100)
  })

  it('lose about `missing` of the slots and leave dropout gaps', () => {
    const lost = OPTIONS.slots - ts.length
    // 2% of 19,000 slots plus 150-300 in dropouts (they may overlap)
    expect(lost).toBeGreaterThan(0.015 * 19_000 + 50)
    expect(lost).toBeLessThan(0.025 * 19_000 + 300)
    // Generated reading times (simulated, seeded), not a clock: a dropout shows as a gap of many
    // reading steps between two readings.
    let longest = 0
    for (let i = 1; i < ts.length; i++) longest = Math.max(longest, ts[i]! - ts[i - 1]!)
    expect(longest).toBeGreaterThan(50 * OPTIONS.stepMs)
  })

  it('refuse jitter that could reorder readings', () => {
    expect(() => sampleTimes(createRandom(1), { ...OPTIONS, jitter: 1 })).toThrow(RangeError)
  })
})
