import { describe, expect, it } from 'vitest'
import { parseNabTimestamp } from './timestamp.js'

describe('parseNabTimestamp', () => {
  it('reads data and label timestamps as UTC milliseconds', () => {
    const t = Date.UTC(2014, 10, 3, 22, 30, 0)
    expect(parseNabTimestamp('2014-11-03 22:30:00')).toBe(t)
    expect(parseNabTimestamp('2014-11-03 22:30:00.000000')).toBe(t)
    expect(parseNabTimestamp('2014-11-03 22:30:00.5')).toBe(t + 500)
  })

  it('rejects anything else', () => {
    for (const bad of [
      '',
      '2014-11-03',
      '2014-13-03 22:30:00',
      '2014-11-03 24:00:00',
      'abc',
      '2014-11-03 22:30',
    ]) {
      expect(parseNabTimestamp(bad)).toBeNaN()
    }
  })
})
