import { describe, expect, it } from 'vitest'
import { probationLength } from './probation.js'

describe('probationLength', () => {
  it('is the floor of 15% of the rows', () => {
    expect(probationLength(100)).toBe(15)
    expect(probationLength(4032)).toBe(604)
    expect(probationLength(1882)).toBe(282)
  })

  it('is capped at 750 rows (15% of 5000)', () => {
    expect(probationLength(5000)).toBe(750)
    expect(probationLength(5007)).toBe(750)
    expect(probationLength(22695)).toBe(750)
  })

  it('takes another fraction', () => {
    expect(probationLength(100, 0.1)).toBe(10)
    expect(probationLength(100_000, 0.1)).toBe(500)
  })
})
