import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LIMITS, toRecord } from './record.js'

const NOW = 1_800_000_000_000

describe('records', () => {
  it('accepts a minimal record and fills the server time', () => {
    const r = toRecord({ deviceId: 'pump-1' }, NOW)
    expect(r).toEqual({
      ok: true,
      record: expect.objectContaining({ deviceId: 'pump-1', ts: NOW, metrics: [] }),
    })
  })

  it('collects top-level and nested numeric metrics and keeps unknown fields in the body', () => {
    const input = {
      deviceId: 'd',
      ts: '2026-11-23T00:00:00Z',
      level: 'WARN',
      temp: 21.5,
      fw: '1.2',
      ok: true,
      metrics: { rpm: 900, temp: 22 },
    }
    const r = toRecord(input, NOW)
    if (!r.ok) throw new Error(r.reason)
    expect(r.record.level).toBe('warn')
    expect(r.record.metrics).toEqual([
      ['temp', 22],
      ['rpm', 900],
    ])
    expect(JSON.parse(r.record.body)).toEqual(input)
  })

  it('rejects with a reason', () => {
    const cases: [unknown, RegExp][] = [
      [null, /object/],
      [[1], /object/],
      ['x', /object/],
      [{}, /deviceId/],
      [{ deviceId: '' }, /deviceId/],
      [{ deviceId: 7 }, /deviceId/],
      [{ deviceId: 'a\u0000b' }, /deviceId/],
      [{ deviceId: 'x'.repeat(LIMITS.deviceIdLength + 1) }, /deviceId/],
      [{ deviceId: 'd', ts: 'soon' }, /timestamp/],
      [{ deviceId: 'd', level: 'loud' }, /level/],
      [{ deviceId: 'd', msg: 5 }, /msg/],
      [{ deviceId: 'd', metrics: [1, 2] }, /metrics/],
      [{ deviceId: 'd', metrics: 'hot' }, /metrics/],
      [{ deviceId: 'd', big: 'x'.repeat(LIMITS.recordBytes) }, /larger/],
      [
        Object.fromEntries([['deviceId', 'd'], ...Array.from({ length: 70 }, (_, i) => [`m${i}`, i])]),
        /at most/,
      ],
    ]
    for (const [input, reason] of cases) {
      const r = toRecord(input, NOW)
      expect(r.ok, JSON.stringify(input).slice(0, 80)).toBe(false)
      if (!r.ok) expect(r.reason).toMatch(reason)
    }
  })

  it('never throws, whatever the JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const r = toRecord(v, NOW)
        expect(typeof r.ok).toBe('boolean')
      }),
    )
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), fc.string(), (extra, id) => {
        const r = toRecord({ ...extra, deviceId: id }, NOW)
        if (r.ok) expect(r.record.metrics.every(([, v]) => Number.isFinite(v))).toBe(true)
      }),
    )
  })

  it('ignores __proto__ tricks', () => {
    const r = toRecord(JSON.parse('{"deviceId":"d","__proto__":{"temp":99},"constructor":5}'), NOW)
    if (!r.ok) throw new Error(r.reason)
    expect(r.record.metrics).toEqual([['constructor', 5]])
    expect(({} as Record<string, unknown>).temp).toBeUndefined()
  })
})
