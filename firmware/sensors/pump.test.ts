import { describe, expect, it } from 'vitest'
import { demand, hourOfDay } from './daily.js'
import { createPump, PUMP_CHANNELS, Pump, pumpParams } from './pump.js'
import { TimeOrderError } from './sensor.js'
import { allFinite, correlation, HOUR, MINUTE, MONDAY, mean, std } from './test-helpers.js'

/** A day of readings every `stepMs`, with the noiseless state beside each. */
function day(pump: Pump, stepMs = MINUTE, from = MONDAY) {
  const readings = []
  const states = []
  for (let t = from; t < from + 24 * HOUR; t += stepMs) {
    readings.push(pump.read(t))
    states.push({ ...pump.state })
  }
  return { readings, states }
}

function col<T>(rows: T[], key: keyof T): number[] {
  return rows.map((r) => r[key] as number)
}

describe('pump', () => {
  it('reads every channel, in a fixed order, as a pump', () => {
    const p = createPump({ seed: 1 })
    expect(p.kind).toBe('pump')
    expect(p.channels()).toEqual(['flow', 'pressure', 'current', 'vibration', 'bearingTemp', 'fluidTemp'])
    expect(Object.keys(p.read(MONDAY))).toEqual(p.channels())
    expect(Object.keys(p.describe())).toEqual(p.channels())
  })

  it('is deterministic from its seed', () => {
    const times = [MONDAY, MONDAY + 1000, MONDAY + 2000, MONDAY + HOUR, MONDAY + 5 * HOUR + 17]
    const a = createPump({ seed: 99 })
    const b = createPump({ seed: 99 })
    const c = createPump({ seed: 100 })
    const ra = times.map((t) => a.read(t))
    expect(times.map((t) => b.read(t))).toEqual(ra)
    expect(times.map((t) => c.read(t))).not.toEqual(ra)
  })

  it('gives 10,000 pumps 10,000 different designs', () => {
    const flows = new Set<number>()
    const heads = new Set<number>()
    let slow = 0
    for (let seed = 0; seed < 10_000; seed++) {
      const p = pumpParams(seed)
      flows.add(p.ratedFlow)
      heads.add(p.ratedHead)
      if (p.speedRpm === 1450) slow++
      expect(p.ratedFlow).toBeGreaterThanOrEqual(10)
      expect(p.ratedFlow).toBeLessThanOrEqual(400)
      expect(p.shutoffHead).toBeGreaterThan(p.ratedHead)
      expect(p.bestEfficiency).toBeGreaterThan(0.5)
      expect(p.bestEfficiency).toBeLessThanOrEqual(0.88)
    }
    expect(flows.size).toBe(10_000)
    expect(heads.size).toBe(10_000)
    expect(slow).toBeGreaterThan(1000)
    expect(slow).toBeLessThan(5000)
  })

  it('refuses readings out of time order, allows a repeat of the same time', () => {
    const p = createPump({ seed: 1 })
    p.read(MONDAY + 1000)
    expect(() => p.read(MONDAY + 1000)).not.toThrow()
    expect(() => p.read(MONDAY + 999)).toThrow(TimeOrderError)
    expect(() => p.read(MONDAY + 999)).toThrow(
      `readings must be in time order: ${MONDAY + 999} is before the last reading at ${MONDAY + 1000}`,
    )
    expect(() => p.read(Number.NaN)).toThrow(TimeOrderError)
    expect(() => p.read(Number.POSITIVE_INFINITY)).toThrow(TimeOrderError)
    // A refused reading leaves the clock where it was.
    expect(() => p.read(MONDAY + 2000)).not.toThrow()
  })

  it('flow follows the daily demand: low at night, peaks morning and evening', () => {
    const p = createPump({ seed: 3 })
    const { readings, states } = day(p)
    const hours = states.map((_, i) => hourOfDay(MONDAY + i * MINUTE, p.params.demandShift))
    const flow = col(readings, 'flow')
    expect(correlation(flow, hours.map(demand))).toBeGreaterThan(0.9)
    const at = (h: number) => mean(flow.slice(h * 60 - 20, h * 60 + 20))
    expect(at(8)).toBeGreaterThan(at(2) * 1.2)
    expect(at(19)).toBeGreaterThan(at(2) * 1.2)
    expect(at(8)).toBeGreaterThan(at(13.5))
  })

  it('in normal operation current rises with flow, and pressure falls as flow rises (along the pump curve)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { readings } = day(createPump({ seed }))
      const flow = col(readings, 'flow')
      expect(correlation(flow, col(readings, 'current'))).toBeGreaterThan(0.8)
      expect(correlation(flow, col(readings, 'pressure'))).toBeLessThan(-0.8)
    }
  })

  it('closing the valve lowers flow, raises pressure and vibration, lowers current: pressure and flow move against each other', () => {
    const p = createPump({ seed: 11 })
    const flows: number[] = []
    const pressures: number[] = []
    const t = MONDAY + 10 * HOUR
    p.read(t)
    const healthy = { ...p.state }
    for (let i = 0; i <= 20; i++) {
      p.condition.valve = i / 20
      const r = p.read(t)
      flows.push(r.flow!)
      pressures.push(r.pressure!)
    }
    const closed = { ...p.state }
    expect(closed.flow).toBeLessThan(healthy.flow * 0.8)
    expect(closed.pressure).toBeGreaterThan(healthy.pressure + 0.2)
    expect(closed.current).toBeLessThan(healthy.current)
    expect(closed.vibration).toBeGreaterThan(healthy.vibration * 1.1)
    expect(correlation(flows, pressures)).toBeLessThan(-0.95)
  })

  it('cavitation lowers flow and pressure and makes them fluctuate, and raises vibration strongly', () => {
    const healthy = createPump({ seed: 12 })
    const sick = createPump({ seed: 12 })
    sick.condition.cavitation = 1
    const h = { flow: [] as number[], pressure: [] as number[], vibration: [] as number[] }
    const s = { flow: [] as number[], pressure: [] as number[], vibration: [] as number[] }
    for (let t = MONDAY + 10 * HOUR; t < MONDAY + 10 * HOUR + 5 * MINUTE; t += 1000) {
      const a = healthy.read(t)
      const b = sick.read(t)
      for (const k of ['flow', 'pressure', 'vibration'] as const) {
        h[k].push(a[k]!)
        s[k].push(b[k]!)
      }
    }
    expect(mean(s.flow)).toBeLessThan(mean(h.flow) * 0.95)
    expect(mean(s.pressure)).toBeLessThan(mean(h.pressure) - 0.3)
    expect(std(s.flow)).toBeGreaterThan(3 * std(h.flow))
    expect(std(s.pressure)).toBeGreaterThan(3 * std(h.pressure))
    expect(mean(s.vibration)).toBeGreaterThan(3 * mean(h.vibration))
  })

  it('a leak raises flow through the pump at lower pressure and raises current', () => {
    const p = createPump({ seed: 13 })
    const t = MONDAY + 10 * HOUR
    p.read(t)
    const healthy = { ...p.state }
    p.condition.leak = 1
    p.read(t)
    expect(p.state.flow).toBeGreaterThan(healthy.flow * 1.15)
    expect(p.state.pressure).toBeLessThan(healthy.pressure - 0.2)
    expect(p.state.current).toBeGreaterThan(healthy.current)
  })

  it('bearing temperature follows a heat step through a first-order lag of 8-15 minutes', () => {
    const p = createPump({ seed: 14 })
    const t0 = MONDAY + 10 * HOUR
    p.read(t0)
    const before = p.state.bearingTemp
    p.condition.bearing = 1
    const temps: number[] = []
    for (let t = t0 + 1000; t <= t0 + 60 * MINUTE; t += 1000) {
      p.read(t)
      temps.push(p.state.bearingTemp)
    }
    const tau = p.params.bearingTauMs
    expect(tau).toBeGreaterThanOrEqual(8 * MINUTE)
    expect(tau).toBeLessThanOrEqual(15 * MINUTE)
    const rise = (i: number) => temps[i]! - before
    // 35 K of bearing heat plus a little friction: after one time constant about 63% of the way.
    const oneTau = Math.round(tau / 1000) - 1
    expect(rise(0)).toBeLessThan(0.2)
    expect(rise(oneTau)).toBeGreaterThan(0.6 * 35 * 0.9)
    expect(rise(oneTau)).toBeLessThan(0.66 * 40)
    expect(rise(temps.length - 1)).toBeGreaterThan(35 * 0.95)
  })

  it('scales by the affinity laws: flow ~ speed, head ~ speed², power ~ speed³ (no static head)', () => {
    const t = MONDAY + 10 * HOUR
    const full = createPump({ seed: 15, params: { speedRatio: 1, staticHead: 0 } })
    const slow = createPump({ seed: 15, params: { speedRatio: 0.9, staticHead: 0 } })
    full.read(t)
    slow.read(t)
    expect(slow.state.flow / full.state.flow).toBeCloseTo(0.9, 6)
    expect(slow.state.head / full.state.head).toBeCloseTo(0.81, 6)
    expect(slow.state.shaftPower / full.state.shaftPower).toBeCloseTo(0.729, 6)
  })

  it('efficiency peaks at the best efficiency point: hydraulic over shaft power is highest near Q = Qbep', () => {
    const p = createPump({ seed: 16 })
    const t = MONDAY + 10 * HOUR
    const points: { x: number; eta: number }[] = []
    for (let v = 0; v <= 1; v += 0.05) {
      for (const leak of [0, 0.5, 1]) {
        p.condition.valve = v
        p.condition.leak = leak
        p.read(t)
        const s = p.state
        const bep = p.params.ratedFlow * p.params.speedRatio
        points.push({ x: s.flow / bep, eta: ((9810 / 3.6e6) * s.flow * s.head) / s.shaftPower })
      }
    }
    const best = points.reduce((a, b) => (b.eta > a.eta ? b : a))
    expect(Math.abs(best.x - 1)).toBeLessThan(0.15)
    expect(best.eta).toBeLessThanOrEqual(p.params.bestEfficiency + 1e-9)
    expect(best.eta).toBeGreaterThan(p.params.bestEfficiency * 0.97)
  })

  it('measurement noise matches describe() and readings are quantised to the resolution', () => {
    const p = createPump({ seed: 17 })
    const spec = p.describe()
    const t = MONDAY + 10 * HOUR
    const byChannel: Record<string, number[]> = Object.fromEntries(PUMP_CHANNELS.map((c) => [c, []]))
    // Reading again at the same time advances no physics: what varies is the instrument.
    for (let i = 0; i < 4000; i++) {
      const r = p.read(t)
      for (const c of PUMP_CHANNELS) byChannel[c]!.push(r[c]!)
    }
    for (const c of ['flow', 'pressure', 'current'] as const) {
      const q = spec[c]!.resolution
      const expected = Math.sqrt(spec[c]!.sigma ** 2 + (q * q) / 12)
      expect(std(byChannel[c]!)).toBeGreaterThan(expected * 0.9)
      expect(std(byChannel[c]!)).toBeLessThan(expected * 1.1)
    }
    for (const c of PUMP_CHANNELS) {
      const steps = Math.round(1 / spec[c]!.resolution)
      for (const v of byChannel[c]!) expect(Number.isInteger(Math.round(v * steps * 1e6) / 1e6)).toBe(true)
      // Exact short decimals: the printed value has no more decimals than the resolution.
      for (const v of byChannel[c]!.slice(0, 50)) {
        expect(String(v).split('.')[1]?.length ?? 0).toBeLessThanOrEqual(
          String(spec[c]!.resolution).split('.')[1]!.length,
        )
      }
    }
  })

  it('never gives NaN or Infinity and stays in plausible ranges, healthy or not, at any cadence', () => {
    const bad: string[] = []
    const check = (ok: boolean, what: string) => {
      if (!ok && bad.length < 20) bad.push(what)
    }
    for (let seed = 0; seed < 200; seed++) {
      const p = createPump({ seed })
      const spec = p.describe()
      const { ratedFlow, ratedCurrent } = p.params
      let t = MONDAY + seed * 997_331
      const gaps = [1000, 1000, 7, 60_000, 3 * HOUR, 0, 250]
      for (let i = 0; i < 300; i++) {
        t += gaps[(i + seed) % gaps.length]!
        const phase = Math.floor(i / 60)
        // Healthy, then each condition, then everything at once, with out-of-range values (clamped).
        p.condition.valve = phase === 1 || phase === 4 ? 1 : 0
        p.condition.cavitation = phase === 2 || phase === 4 ? 1 : 0
        p.condition.leak = phase === 3 || phase === 4 ? (seed % 2 ? 1 : 7) : 0
        p.condition.bearing = phase === 4 ? (seed % 3 ? 1 : -3) : 0
        const r = p.read(t)
        const at = `seed ${seed} reading ${i} ${JSON.stringify(r)}`
        check(allFinite(r), `not finite: ${at}`)
        check(allFinite(p.state as unknown as Record<string, number>), `state not finite: ${at}`)
        for (const c of PUMP_CHANNELS)
          check(r[c]! >= spec[c]!.min && r[c]! <= spec[c]!.max, `${c} out of range: ${at}`)
        check(r.flow! < 2 * ratedFlow, `flow: ${at}`)
        check(r.pressure! > 0, `pressure: ${at}`)
        check(r.current! > 0 && r.current! < 1.3 * ratedCurrent, `current: ${at}`)
        // Every fault at once may shake a pump apart, but not beyond 45 mm/s.
        check(r.vibration! > 0 && r.vibration! < 45, `vibration: ${at}`)
        check(r.bearingTemp! > 0 && r.bearingTemp! < 110, `bearingTemp: ${at}`)
        check(r.fluidTemp! > 0 && r.fluidTemp! < 45, `fluidTemp: ${at}`)
        if (phase === 0) {
          // Healthy: below ISO 10816 zone C (4.5-7.1 mm/s) and below the motor's rating.
          check(r.vibration! < 7.1, `healthy vibration: ${at}`)
          check(r.current! < ratedCurrent, `healthy current: ${at}`)
        }
      }
    }
    expect(bad).toEqual([])
  })

  it('is a plain object with nothing runtime-specific: reads before any clock exists, from any start', () => {
    const p = new Pump(5, pumpParams(5))
    expect(allFinite(p.read(0))).toBe(true)
    expect(allFinite(p.read(-1 + 2))).toBe(true)
  })
})
