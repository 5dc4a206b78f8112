// PointGroups on its own: whatever the keys and names, no record holds a name twice or more than
// a record may carry, every value is in exactly one record, and a key refused once stays refused.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { runs } from '../../app-properties/harness.js'
import { LIMITS } from '../../domain/record.js'
import { PointGroups } from './point-groups.js'

const base = (key: string) => () => ({ fields: { deviceId: key, metrics: {} }, size: 40 })
const lengths = (names: readonly string[]) => names.map((n) => JSON.stringify(n).length)

describe('PointGroups', () => {
  it('places each value once, never a name twice in a record, never past the metrics limit', () => {
    const point = fc.record({
      key: fc.constantFrom('k1', 'k2'),
      names: fc.constantFrom(['a'], ['b'], ['a', 'b'], ['c.count', 'c.sum']),
    })
    fc.assert(
      fc.property(fc.array(point, { maxLength: 200 }), (points) => {
        const groups = new PointGroups<number>()
        points.forEach((p, i) => {
          const values = p.names.map(() => i)
          expect(groups.add(p.key, base(p.key), p.names, lengths(p.names), values, i)).toBeUndefined()
        })
        const placed: string[] = []
        for (const r of groups.records) {
          const metrics = r.fields.metrics as Record<string, number>
          const names = Object.keys(metrics)
          expect(names.length).toBeLessThanOrEqual(LIMITS.metricsPerRecord)
          for (const n of names) placed.push(`${r.fields.deviceId} ${n} ${metrics[n]}`)
          for (const m of r.members) expect(points[m]!.key).toBe(r.fields.deviceId)
        }
        const sent = points.flatMap((p, i) => p.names.map((n) => `${p.key} ${n} ${i}`))
        expect(placed.sort()).toEqual(sent.sort())
      }),
      { numRuns: runs(200) },
    )
  })

  it('answers the reason a key was refused for its every point, opening it once', () => {
    const groups = new PointGroups<number>()
    let opened = 0
    const open = () => {
      opened++
      return 'deviceId must be printable'
    }
    for (let i = 0; i < 3; i++)
      expect(groups.add('k', open, ['a'], lengths(['a']), [i], i)).toBe('deviceId must be printable')
    expect(opened).toBe(1)
    expect(groups.records).toEqual([])
  })

  it('makes one record per reading of a name sent many times at one key', () => {
    const groups = new PointGroups<number>()
    for (let i = 0; i < 20_000; i++) groups.add('k', base('k'), ['a'], lengths(['a']), [i], i)
    expect(groups.records).toHaveLength(20_000)
    expect(groups.records.map((r) => (r.fields.metrics as Record<string, number>).a)).toEqual(
      Array.from({ length: 20_000 }, (_, i) => i),
    )
  })
})
