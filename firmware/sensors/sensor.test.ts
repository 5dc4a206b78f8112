import { describe, expect, it } from 'vitest'
import { ReadClock, TimeOrderError } from './sensor.js'

describe('ReadClock', () => {
  it('gives 0 for the first reading, then the time since the last one', () => {
    const c = new ReadClock()
    expect(c.advance(1000)).toBe(0)
    expect(c.advance(1500)).toBe(500)
    expect(c.advance(1500)).toBe(0)
    expect(c.last).toBe(1500)
  })

  it('refuses a time before the last reading, and non-finite times', () => {
    const c = new ReadClock()
    c.advance(1000)
    expect(() => c.advance(999)).toThrow(
      new TimeOrderError('readings must be in time order: 999 is before the last reading at 1000'),
    )
    expect(() => c.advance(Number.NaN)).toThrow('reading time must be a finite number of epoch ms, got NaN')
    expect(() => c.advance('5' as unknown as number)).toThrow(TimeOrderError)
    expect(c.last).toBe(1000)
  })
})
