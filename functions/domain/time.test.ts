import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseIsoTime, parseTimestamp } from './time.js'

describe('timestamps', () => {
  it('reads ISO-8601 with and without offsets, and the space form as UTC', () => {
    expect(parseTimestamp('2026-11-23T10:00:00Z')).toBe(Date.UTC(2026, 10, 23, 10))
    expect(parseTimestamp('2026-11-23T10:00:00+02:00')).toBe(Date.UTC(2026, 10, 23, 8))
    expect(parseTimestamp('2026-11-23 10:00:00')).toBe(Date.UTC(2026, 10, 23, 10))
    expect(parseTimestamp('2026-11-23T10:00:00.123456Z')).toBe(Date.UTC(2026, 10, 23, 10, 0, 0, 123))
    expect(parseTimestamp('2026-11-23')).toBe(Date.UTC(2026, 10, 23))
  })

  it('reads epoch milliseconds, and epoch seconds when asked', () => {
    expect(parseTimestamp(1_700_000_000_000)).toBe(1_700_000_000_000)
    expect(parseTimestamp(1_700_000_000, true)).toBe(1_700_000_000_000)
    expect(parseTimestamp('1700000000', true)).toBe(1_700_000_000_000)
    expect(parseTimestamp('1700000000000', true)).toBe(1_700_000_000_000)
  })

  it('rejects garbage, out-of-range and non-finite values with a message', () => {
    for (const bad of [
      'yesterday',
      '2026-13-45T99:00:00Z',
      '',
      'NaN',
      -5,
      1e20,
      Number.NaN,
      {},
      [],
      true,
      '1'.repeat(100),
    ]) {
      expect(typeof parseTimestamp(bad)).toBe('string')
    }
  })

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        const r = parseTimestamp(v)
        expect(typeof r === 'string' || Number.isFinite(r)).toBe(true)
      }),
    )
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(() => parseIsoTime(s)).not.toThrow()
      }),
    )
  })
})
