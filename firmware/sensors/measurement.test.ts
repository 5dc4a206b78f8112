import { describe, expect, it } from 'vitest'
import { measure, quantise, stepsPerUnit } from './measurement.js'

describe('measurement', () => {
  it('quantises to exact short decimals and clamps to the range', () => {
    expect(stepsPerUnit(0.1)).toBe(10)
    expect(stepsPerUnit(0.01)).toBe(100)
    expect(stepsPerUnit(0)).toBe(0)
    expect(quantise(21.2999, 10, -40, 85)).toBe(21.3)
    expect(String(quantise(0.1 + 0.2, 100, 0, 1))).toBe('0.3')
    expect(quantise(120, 10, 0, 100)).toBe(100)
    expect(quantise(-5, 10, 0, 100)).toBe(0)
    expect(Object.is(quantise(-0.01, 10, -1, 1), 0)).toBe(true)
    expect(quantise(1.23456, 0, 0, 10)).toBe(1.23456)
  })

  it('adds sigma times the normal draw before quantising', () => {
    const spec = { unit: 'x', sigma: 0.5, resolution: 0.1, min: 0, max: 100 }
    expect(measure(10, 0.5, 2, 10, spec)).toBe(11)
    expect(measure(10, 0.5, -30, 10, spec)).toBe(0)
  })
})
