import { describe, expect, it } from 'vitest'
import { createEnvironment, ENVIRONMENT_CHANNELS, environmentParams } from './environment.js'
import { TimeOrderError } from './sensor.js'
import { allFinite, correlation, HOUR, MINUTE, MONDAY, mean, std } from './test-helpers.js'

describe('environment', () => {
  it('reads temperature, humidity, pressure and co2 as an environment sensor', () => {
    const e = createEnvironment({ seed: 1 })
    expect(e.kind).toBe('environment')
    expect(e.channels()).toEqual(['temperature', 'humidity', 'pressure', 'co2'])
    expect(Object.keys(e.read(MONDAY))).toEqual(e.channels())
  })

  it('is deterministic from its seed', () => {
    const times = [MONDAY, MONDAY + 1000, MONDAY + HOUR, MONDAY + 30 * HOUR]
    const a = createEnvironment({ seed: 5 })
    const b = createEnvironment({ seed: 5 })
    const c = createEnvironment({ seed: 6 })
    const ra = times.map((t) => a.read(t))
    expect(times.map((t) => b.read(t))).toEqual(ra)
    expect(times.map((t) => c.read(t))).not.toEqual(ra)
    expect(environmentParams(5)).toEqual(environmentParams(5))
  })

  it('refuses readings out of time order', () => {
    const e = createEnvironment({ seed: 1 })
    e.read(MONDAY)
    expect(() => e.read(MONDAY - 1)).toThrow(TimeOrderError)
  })

  it('temperature has a daily cycle peaking in the afternoon; humidity moves against it', () => {
    let corrSum = 0
    for (let seed = 1; seed <= 10; seed++) {
      const e = createEnvironment({ seed, params: { siteShift: 0 } })
      const temp: number[] = []
      const hum: number[] = []
      const afternoon: number[] = []
      const dawn: number[] = []
      for (let t = MONDAY; t < MONDAY + 3 * 24 * HOUR; t += 5 * MINUTE) {
        const r = e.read(t)
        temp.push(r.temperature!)
        hum.push(r.humidity!)
        const h = (t / HOUR) % 24
        if (h >= 14 && h < 16) afternoon.push(r.temperature!)
        if (h >= 2 && h < 4) dawn.push(r.temperature!)
      }
      expect(mean(afternoon)).toBeGreaterThan(mean(dawn))
      const c = correlation(temp, hum)
      expect(c).toBeLessThan(0)
      corrSum += c
    }
    expect(corrSum / 10).toBeLessThan(-0.5)
  })

  it('pressure wanders slowly around 1013 hPa', () => {
    const e = createEnvironment({ seed: 2 })
    const ps: number[] = []
    const steps: number[] = []
    let last = Number.NaN
    for (let t = MONDAY; t < MONDAY + 60 * 24 * HOUR; t += 10 * MINUTE) {
      const p = e.read(t).pressure!
      ps.push(p)
      if (!Number.isNaN(last)) steps.push(Math.abs(p - last))
      last = p
    }
    expect(Math.abs(mean(ps) - 1013)).toBeLessThan(12)
    expect(Math.min(...ps)).toBeGreaterThan(960)
    expect(Math.max(...ps)).toBeLessThan(1060)
    expect(std(ps)).toBeGreaterThan(2)
    // Slow: ten minutes move it by tenths of a hPa, not hPa.
    expect(mean(steps)).toBeLessThan(0.25)
  })

  it('co2 follows occupancy: high in weekday working hours, near outdoor at night and at weekends', () => {
    const e = createEnvironment({
      seed: 3,
      params: { siteShift: 0, co2Occupied: 800, airTauMs: 45 * MINUTE },
    })
    const at = (day: number, hour: number) => MONDAY + day * 24 * HOUR + hour * HOUR
    const byKey: Record<string, number[]> = { weekdayWork: [], night: [], weekend: [] }
    for (let t = MONDAY; t < MONDAY + 7 * 24 * HOUR; t += 5 * MINUTE) {
      const r = e.read(t)
      const h = (t / HOUR) % 24
      const day = Math.floor((t - MONDAY) / (24 * HOUR))
      if (day < 5 && h >= 14 && h < 16) byKey.weekdayWork!.push(r.co2!)
      if (h >= 2 && h < 5) byKey.night!.push(r.co2!)
      if (day >= 5 && h >= 14 && h < 16) byKey.weekend!.push(r.co2!)
    }
    expect(at(0, 0)).toBe(MONDAY)
    const outdoor = e.params.co2Outdoor
    expect(mean(byKey.weekdayWork!)).toBeGreaterThan(outdoor + 600)
    expect(mean(byKey.night!)).toBeLessThan(outdoor + 50)
    expect(mean(byKey.weekend!)).toBeLessThan(outdoor + 120)
  })

  it('never gives NaN or Infinity and stays in plausible ranges, at any cadence', () => {
    const bad: string[] = []
    const check = (ok: boolean, what: string) => {
      if (!ok && bad.length < 20) bad.push(what)
    }
    for (let seed = 0; seed < 200; seed++) {
      const e = createEnvironment({ seed })
      const spec = e.describe()
      let t = MONDAY + seed * 7_919_000
      const gaps = [1000, 0, 60_000, 6 * HOUR, 13, 2 * 24 * HOUR]
      for (let i = 0; i < 300; i++) {
        t += gaps[(i + seed) % gaps.length]!
        const r = e.read(t)
        const at = `seed ${seed} reading ${i} ${JSON.stringify(r)}`
        check(allFinite(r), `not finite: ${at}`)
        for (const c of ENVIRONMENT_CHANNELS)
          check(r[c]! >= spec[c]!.min && r[c]! <= spec[c]!.max, `${c} out of range: ${at}`)
        check(r.temperature! > -25 && r.temperature! < 50, `temperature: ${at}`)
        check(r.humidity! >= 0 && r.humidity! <= 100, `humidity: ${at}`)
        check(r.pressure! > 940 && r.pressure! < 1080, `pressure: ${at}`)
        check(r.co2! > 350 && r.co2! < 2000, `co2: ${at}`)
      }
    }
    expect(bad).toEqual([])
  })

  it('measurement noise matches describe() and readings are quantised', () => {
    const e = createEnvironment({ seed: 4 })
    const spec = e.describe()
    const t = MONDAY + 10 * HOUR
    const byChannel: Record<string, number[]> = Object.fromEntries(ENVIRONMENT_CHANNELS.map((c) => [c, []]))
    for (let i = 0; i < 4000; i++) {
      const r = e.read(t)
      for (const c of ENVIRONMENT_CHANNELS) byChannel[c]!.push(r[c]!)
    }
    for (const c of ENVIRONMENT_CHANNELS) {
      const q = spec[c]!.resolution
      const expected = Math.sqrt(spec[c]!.sigma ** 2 + (q * q) / 12)
      expect(std(byChannel[c]!)).toBeGreaterThan(expected * 0.85)
      expect(std(byChannel[c]!)).toBeLessThan(expected * 1.15)
      const steps = Math.round(1 / q)
      for (const v of byChannel[c]!) expect(Math.abs(v * steps - Math.round(v * steps))).toBeLessThan(1e-6)
    }
  })
})
