import { describe, expect, it } from 'vitest'
import { dailyCycle, dayOfWeek, demand, hourOfDay, occupancy, smoothstep } from './daily.js'
import { HOUR, MONDAY } from './test-helpers.js'

describe('daily', () => {
  it('gives the UTC hour of the day and the day of the week, with a site offset', () => {
    expect(hourOfDay(MONDAY + 7.5 * HOUR)).toBe(7.5)
    expect(hourOfDay(MONDAY + 23 * HOUR, 2)).toBe(1)
    expect(hourOfDay(MONDAY + 1 * HOUR, -2)).toBe(23)
    expect(hourOfDay(-HOUR)).toBe(23)
    expect(dayOfWeek(MONDAY)).toBe(1)
    expect(dayOfWeek(MONDAY + 5 * 24 * HOUR)).toBe(6)
    expect(dayOfWeek(MONDAY - 1)).toBe(0)
    expect(dayOfWeek(MONDAY + 23 * HOUR, 2)).toBe(2)
    expect(dayOfWeek(0)).toBe(4)
  })

  it('has a daily cycle that peaks at its hour', () => {
    expect(dailyCycle(15, 15)).toBe(1)
    expect(dailyCycle(3, 15)).toBeCloseTo(-1, 12)
  })

  it('has water demand low at night with a morning and an evening peak', () => {
    const at = Array.from({ length: 24 * 60 }, (_, m) => demand(m / 60))
    const argmax = (from: number, to: number) => {
      let best = from
      for (let m = from; m < to; m++) if (at[m]! > at[best]!) best = m
      return best / 60
    }
    expect(Math.abs(argmax(4 * 60, 12 * 60) - 8)).toBeLessThan(0.5)
    expect(Math.abs(argmax(15 * 60, 23 * 60) - 19)).toBeLessThan(0.5)
    expect(Math.min(...at)).toBeGreaterThan(0.5)
    expect(Math.max(...at)).toBeLessThan(1)
    expect(demand(3)).toBeLessThan(demand(13.5))
    expect(demand(13.5)).toBeLessThan(demand(8))
    expect(demand(8)).toBeLessThan(demand(19))
  })

  it('has occupancy in working hours on weekdays, with a lunch dip, little at weekends', () => {
    expect(occupancy(3, 1)).toBe(0)
    expect(occupancy(10, 1)).toBe(1)
    expect(occupancy(12.5, 1)).toBeCloseTo(0.65, 12)
    expect(occupancy(10, 0)).toBeCloseTo(0.1, 12)
    expect(occupancy(10, 6)).toBeCloseTo(0.1, 12)
    expect(occupancy(21, 3)).toBe(0)
    for (let h = 0; h < 24; h += 0.25) {
      expect(occupancy(h, 2)).toBeGreaterThanOrEqual(0)
      expect(occupancy(h, 2)).toBeLessThanOrEqual(1)
    }
  })

  it('has a smoothstep from 0 to 1', () => {
    expect(smoothstep(-1)).toBe(0)
    expect(smoothstep(0.5)).toBe(0.5)
    expect(smoothstep(2)).toBe(1)
  })
})
