import { describe, expect, it } from 'vitest'
import { createEnvironment } from './environment.js'
import {
  DEFAULT_DURATION_MS,
  EQUIPMENT_CHANNELS,
  EQUIPMENT_FAULT_KINDS,
  type Fault,
  FaultError,
  type FaultySensor,
  SENSOR_FAULT_KINDS,
  withFaults,
} from './faults.js'
import { createPump, PUMP_CHANNELS } from './pump.js'
import type { Reading, Sensor } from './sensor.js'
import { allFinite, HOUR, MINUTE, MONDAY, mean, std } from './test-helpers.js'

const T0 = MONDAY + 9 * HOUR

/** Two identical devices; faults go into `faulty` only, so any difference is the fault's doing. */
function twins(make: () => Sensor, deviceId = 'dev-1') {
  return { clean: withFaults(make(), { deviceId }), faulty: withFaults(make(), { deviceId }) }
}

/** Reads both twins every `stepMs` over [from, to) and returns the paired readings. */
function run(clean: FaultySensor, faulty: FaultySensor, from: number, to: number, stepMs = 1000) {
  const rows: { t: number; a: Reading; b: Reading }[] = []
  for (let t = from; t < to; t += stepMs) rows.push({ t, a: clean.read(t), b: faulty.read(t) })
  return rows
}

describe('equipment faults move the pump through its physics', () => {
  for (const kind of EQUIPMENT_FAULT_KINDS) {
    it(`${kind}: exact label; moves exactly its channels, only inside [start, end)`, () => {
      for (const seed of [1, 2, 3, 4, 5, 6]) {
        const { clean, faulty } = twins(() => createPump({ seed }), `pump-${seed}`)
        const start = T0 + 5 * MINUTE + 500
        const label = faulty.inject({ kind, start })
        const end = start + DEFAULT_DURATION_MS[kind]
        expect(label).toEqual({
          deviceId: `pump-${seed}`,
          start,
          end,
          kind,
          sensors: [...EQUIPMENT_CHANNELS[kind]],
        })
        expect(faulty.labels()).toEqual([label])

        const rows = run(clean, faulty, T0, end + 5 * MINUTE)
        const before = rows.filter((r) => r.t < start)
        const during = rows.filter((r) => r.t >= start && r.t < end)
        const after = rows.filter((r) => r.t >= end)
        for (const r of before) expect(r.b).toEqual(r.a)
        // After the end the hydraulics are healthy again at once; only the temperatures, with their thermal
        // lag, are still relaxing.
        for (const r of after) {
          for (const c of ['flow', 'pressure', 'current', 'vibration']) expect(r.b[c]).toBe(r.a[c])
        }
        const spec = clean.describe()
        const shift = (c: string) => Math.abs(mean(during.map((r) => r.b[c]! - r.a[c]!))) / spec[c]!.sigma
        const moved = label.sensors.map(shift)
        const others = PUMP_CHANNELS.filter((c) => !label.sensors.includes(c)).map(shift)
        // Each labelled channel moves clearly; each other channel moves less than any labelled one.
        expect(Math.min(...moved)).toBeGreaterThan(4)
        expect(Math.max(...others)).toBeLessThan(Math.min(...moved))
      }
    })
  }

  it('valve: flow down, pressure up, current down, vibration up, grown in over about 30 s', () => {
    const { clean, faulty } = twins(() => createPump({ seed: 21 }))
    faulty.inject({ kind: 'valve', start: T0 + 1 })
    run(clean, faulty, T0, T0 + 1)
    faulty.read(T0 + 2000)
    const p = faulty.sensor as ReturnType<typeof createPump>
    expect(p.condition.valve).toBeGreaterThan(0)
    expect(p.condition.valve).toBeLessThan(0.05)
    const rows = run(clean, faulty, T0 + 60_000, T0 + 10 * MINUTE)
    expect(p.condition.valve).toBe(1)
    const d = (c: string) => mean(rows.map((r) => r.b[c]! / r.a[c]!))
    expect(d('flow')).toBeLessThan(0.85)
    expect(d('pressure')).toBeGreaterThan(1.02)
    expect(d('current')).toBeLessThan(0.97)
    expect(d('vibration')).toBeGreaterThan(1.1)
  })

  it('cavitation: flow and pressure drop and fluctuate, vibration several times up', () => {
    const { clean, faulty } = twins(() => createPump({ seed: 22 }))
    faulty.inject({ kind: 'cavitation', start: T0 + 1 })
    const rows = run(clean, faulty, T0, T0 + 5 * MINUTE).filter((r) => r.t > T0 + 30_000)
    const col = (c: string, side: 'a' | 'b') => rows.map((r) => r[side][c]!)
    expect(mean(col('flow', 'b'))).toBeLessThan(mean(col('flow', 'a')))
    expect(mean(col('pressure', 'b'))).toBeLessThan(mean(col('pressure', 'a')))
    expect(std(col('flow', 'b'))).toBeGreaterThan(2 * std(col('flow', 'a')))
    expect(std(col('pressure', 'b'))).toBeGreaterThan(2 * std(col('pressure', 'a')))
    expect(mean(col('vibration', 'b'))).toBeGreaterThan(3 * mean(col('vibration', 'a')))
  })

  it('bearing: vibration and bearing temperature rise over the duration, current slightly up', () => {
    const { clean, faulty } = twins(() => createPump({ seed: 23 }))
    const start = T0 + 1
    faulty.inject({ kind: 'bearing', start, duration: 30 * MINUTE })
    const rows = run(clean, faulty, T0, T0 + 30 * MINUTE)
    const diff = (c: string, from: number, to: number) =>
      mean(rows.filter((r) => r.t >= T0 + from && r.t < T0 + to).map((r) => r.b[c]! - r.a[c]!))
    const vib = [0, 10, 20].map((m) => diff('vibration', m * MINUTE, (m + 5) * MINUTE))
    expect(vib[1]!).toBeGreaterThan(vib[0]!)
    expect(vib[2]!).toBeGreaterThan(vib[1]!)
    const temp = [1, 5, 10, 20, 29].map((m) => diff('bearingTemp', m * MINUTE, m * MINUTE + 30_000))
    for (let i = 1; i < temp.length; i++) expect(temp[i]!).toBeGreaterThan(temp[i - 1]!)
    expect(temp[0]!).toBeLessThan(0.5)
    expect(temp[4]!).toBeGreaterThan(10)
    const current = diff('current', 25 * MINUTE, 30 * MINUTE) / mean(rows.map((r) => r.a.current!))
    expect(current).toBeGreaterThan(0.01)
    expect(current).toBeLessThan(0.08)
  })

  it('leak: flow up at lower pressure, current up', () => {
    const { clean, faulty } = twins(() => createPump({ seed: 24 }))
    faulty.inject({ kind: 'leak', start: T0 + 1 })
    const rows = run(clean, faulty, T0, T0 + 10 * MINUTE).filter((r) => r.t > T0 + 30_000)
    const d = (c: string) => mean(rows.map((r) => r.b[c]! - r.a[c]!))
    expect(d('flow')).toBeGreaterThan(0)
    expect(d('pressure')).toBeLessThan(0)
    expect(d('current')).toBeGreaterThan(0)
  })

  it('a smaller size is a milder fault', () => {
    const { clean, faulty } = twins(() => createPump({ seed: 25 }))
    const mild = twins(() => createPump({ seed: 25 })).faulty
    faulty.inject({ kind: 'valve', start: T0 + 1 })
    mild.inject({ kind: 'valve', start: T0 + 1, size: 0.3 })
    let full = 0
    let part = 0
    for (let t = T0 + 60_000; t < T0 + 5 * MINUTE; t += 1000) {
      const a = clean.read(t).flow!
      full += a - faulty.read(t).flow!
      part += a - mild.read(t).flow!
    }
    expect(part).toBeGreaterThan(0)
    expect(part).toBeLessThan(0.6 * full)
  })
})

describe('single-sensor faults', () => {
  const sensors = {
    pump: () => createPump({ seed: 31 }),
    environment: () => createEnvironment({ seed: 32 }),
  }

  for (const [name, make] of Object.entries(sensors)) {
    for (const kind of SENSOR_FAULT_KINDS) {
      it(`${kind} on ${name}: only its channel, only inside its label`, () => {
        const { clean, faulty } = twins(make)
        const channel = clean.channels()[1]!
        const start = T0 + 2 * MINUTE + 300 // between two readings
        const label = faulty.inject({ kind, channel, start })
        expect(label.sensors).toEqual([channel])
        expect(label.kind).toBe(kind)
        const rows = run(clean, faulty, T0, T0 + 20 * MINUTE)
        const final = faulty.labels()[0]!
        const changed = rows.filter((r) => r.b[channel] !== r.a[channel])
        for (const r of rows) {
          for (const c of clean.channels()) if (c !== channel) expect(r.b[c]).toBe(r.a[c])
        }
        // Every changed reading lies inside the final label.
        for (const r of changed) {
          expect(r.t).toBeGreaterThanOrEqual(final.start)
          expect(r.t).toBeLessThan(final.end)
        }
        const sigma = clean.describe()[channel]!.sigma
        const inside = rows.filter((r) => r.t >= final.start && r.t < final.end)
        const diffs = inside.map((r) => r.b[channel]! - r.a[channel]!)
        switch (kind) {
          case 'spike':
            // The first reading at or after start, and the label moved onto it.
            expect(label).toEqual({ deviceId: 'dev-1', start, end: start + 1, kind, sensors: [channel] })
            expect(final).toEqual({ ...label, start: start + 700, end: start + 701 })
            expect(changed.map((r) => r.t)).toEqual([start + 700])
            expect(Math.abs(diffs[0]!)).toBeGreaterThan(15 * sigma)
            break
          case 'drift': {
            expect(final).toEqual(label)
            expect(final.end - final.start).toBe(10 * MINUTE)
            // A straight ramp from 0: the offset at 3/4 of the way is three times the one at 1/4.
            const q1 = mean(diffs.slice(140, 160))
            const q3 = mean(diffs.slice(440, 460))
            expect(Math.abs(q3)).toBeGreaterThan(8 * sigma)
            expect(q3 / q1).toBeGreaterThan(2.5)
            expect(q3 / q1).toBeLessThan(3.5)
            break
          }
          case 'stuck': {
            expect(final).toEqual(label)
            const held = rows.filter((r) => r.t < start).at(-1)!.b[channel]
            for (const r of inside) expect(r.b[channel]).toBe(held)
            break
          }
          case 'noise':
            expect(final).toEqual(label)
            expect(Math.abs(mean(diffs))).toBeLessThan(2 * sigma)
            expect(std(diffs)).toBeGreaterThan(4 * sigma)
            break
        }
      })
    }
  }

  it('faulty readings keep the resolution and the instrument range', () => {
    const e = withFaults(createEnvironment({ seed: 33 }), { deviceId: 'env-1' })
    e.read(T0)
    e.inject({ kind: 'spike', channel: 'humidity', start: T0 + 1, size: 500 })
    e.inject({ kind: 'noise', channel: 'temperature', start: T0 + 1, size: 1.2345 })
    for (let t = T0 + 1000; t < T0 + 60_000; t += 1000) {
      const r = e.read(t)
      expect(r.humidity).toBeLessThanOrEqual(100)
      expect(Math.abs(r.temperature! * 100 - Math.round(r.temperature! * 100))).toBeLessThan(1e-6)
    }
  })

  it('a spike without a size goes towards the side with room', () => {
    for (let seed = 0; seed < 50; seed++) {
      const e = withFaults(createEnvironment({ seed, params: { temperatureMean: 20 } }), {
        deviceId: 'e',
        seed,
      })
      e.read(T0)
      e.inject({ kind: 'spike', channel: 'humidity', start: T0 + 1 })
      const r = e.read(T0 + 1000)
      expect(r.humidity).toBeGreaterThan(0)
      expect(r.humidity).toBeLessThan(100)
    }
  })
})

describe('withFaults', () => {
  it('starts a fault "now" (1 ms after the last reading) when no start is given', () => {
    const e = withFaults(createEnvironment({ seed: 1 }), { deviceId: 'env-1' })
    expect(() => e.inject({ kind: 'noise' })).toThrow(
      new FaultError("env-1: a fault needs a start time before the sensor's first reading"),
    )
    e.read(T0)
    const label = e.inject({ kind: 'stuck', channel: 'co2', duration: 5000 })
    expect(label).toEqual({
      deviceId: 'env-1',
      start: T0 + 1,
      end: T0 + 5001,
      kind: 'stuck',
      sensors: ['co2'],
    })
  })

  it('picks a channel from its seed when none is given, and labels it', () => {
    const picked = new Set<string>()
    for (let seed = 0; seed < 40; seed++) {
      const e = withFaults(createPump({ seed: 1 }), { deviceId: 'p', seed })
      const label = e.inject({ kind: 'drift', start: T0 })
      expect(label.sensors).toHaveLength(1)
      expect(PUMP_CHANNELS).toContain(label.sensors[0])
      picked.add(label.sensors[0]!)
      const again = withFaults(createPump({ seed: 1 }), { deviceId: 'p', seed }).inject({
        kind: 'drift',
        start: T0,
      })
      expect(again).toEqual(label)
    }
    expect(picked.size).toBeGreaterThan(3)
  })

  it('is deterministic: the same faults on the same devices give the same readings and labels', () => {
    const make = () => {
      const p = withFaults(createPump({ seed: 5 }), { deviceId: 'pump-5', seed: 9 })
      p.inject({ kind: 'noise', start: T0 + 10_000 })
      p.inject({ kind: 'spike', start: T0 + 20_500 })
      p.inject({ kind: 'drift', start: T0 + 30_000, duration: 60_000 })
      p.inject({ kind: 'cavitation', start: T0 + 45_000, duration: 60_000 })
      return p
    }
    const a = make()
    const b = make()
    for (let t = T0; t < T0 + 3 * MINUTE; t += 1000) expect(b.read(t)).toEqual(a.read(t))
    expect(b.labels()).toEqual(a.labels())
  })

  it('refuses faults it cannot apply, with messages that say why', () => {
    const env = withFaults(createEnvironment({ seed: 1 }), { deviceId: 'env-1' })
    const pump = withFaults(createPump({ seed: 1 }), { deviceId: 'pump-1' })
    pump.read(T0)
    const cases: [FaultySensor, Fault, string][] = [
      [
        env,
        { kind: 'valve', start: T0 },
        'env-1: valve is a pump fault, and this is not a pump (kind: environment)',
      ],
      [
        pump,
        { kind: 'leak', channel: 'flow', start: T0 + 1 },
        "pump-1: leak moves several channels through the pump's physics and takes no channel",
      ],
      [
        pump,
        { kind: 'bearing', start: T0 + 1, size: 1.5 },
        'pump-1: bearing size is a severity in (0, 1], got 1.5',
      ],
      [
        env,
        { kind: 'drift', channel: 'flow', start: T0 },
        'env-1 has no channel "flow" (channels: temperature, humidity, pressure, co2)',
      ],
      [
        env,
        { kind: 'stuck', channel: 'co2', start: T0, size: 3 },
        'env-1: stuck repeats the last value and takes no size',
      ],
      [
        env,
        { kind: 'noise', channel: 'co2', start: T0, size: -1 },
        'env-1: noise size must be a finite non-zero number above 0, got -1',
      ],
      [
        env,
        { kind: 'spike', channel: 'co2', start: T0, duration: 5 },
        'env-1: a spike hits one reading and takes no duration',
      ],
      [
        env,
        { kind: 'drift', start: T0, duration: 0 },
        'env-1: fault duration must be a positive number of ms, got 0',
      ],
      [env, { kind: 'drift', start: Number.NaN }, 'env-1: fault start must be a finite epoch ms, got NaN'],
      [
        pump,
        { kind: 'noise', start: T0 },
        `pump-1: a fault starting at ${T0} is not after the last reading (${T0}); readings already made cannot change`,
      ],
      [
        env,
        { kind: 'melt' as 'spike', start: T0 },
        'env-1: unknown fault kind "melt" (kinds: spike, drift, stuck, noise, valve, cavitation, bearing, leak)',
      ],
    ]
    for (const [sensor, fault, message] of cases) {
      expect(() => sensor.check(fault)).toThrow(new FaultError(message))
      expect(() => sensor.inject(fault)).toThrow(new FaultError(message))
    }
    expect(env.labels()).toEqual([])
    expect(pump.labels()).toEqual([])
  })

  it('hands out copies: changing a returned label changes nothing', () => {
    const e = withFaults(createEnvironment({ seed: 1 }), { deviceId: 'env-1' })
    const label = e.inject({ kind: 'noise', channel: 'co2', start: T0 })
    label.sensors.push('x')
    label.end = 0
    e.labels()[0]!.start = 0
    expect(e.labels()).toEqual([
      { deviceId: 'env-1', start: T0, end: T0 + 2 * MINUTE, kind: 'noise', sensors: ['co2'] },
    ])
  })

  it('a stuck channel holds the value as read, whatever the caller did to the reading', () => {
    const e = withFaults(createEnvironment({ seed: 2 }), { deviceId: 'env-2' })
    const before = e.read(T0)
    const co2 = before.co2
    before.co2 = -1
    e.inject({ kind: 'stuck', channel: 'co2', duration: 10_000 })
    expect(e.read(T0 + 1000).co2).toBe(co2)
    expect(e.read(T0 + 5000).co2).toBe(co2)
  })

  it("keeps the inner sensor's time-order rule", () => {
    const e = withFaults(createPump({ seed: 1 }), { deviceId: 'p' })
    e.read(T0)
    expect(() => e.read(T0 - 1)).toThrow('readings must be in time order')
  })

  it('never gives NaN or Infinity, whatever faults overlap', () => {
    const bad: string[] = []
    for (let seed = 0; seed < 60; seed++) {
      const d = withFaults(seed % 3 ? createPump({ seed }) : createEnvironment({ seed }), {
        deviceId: `d${seed}`,
        seed,
      })
      let t = T0
      d.read(t)
      const kinds = d.kind === 'pump' ? [...SENSOR_FAULT_KINDS, ...EQUIPMENT_FAULT_KINDS] : SENSOR_FAULT_KINDS
      for (let i = 0; i < 12; i++) {
        const kind = kinds[(i + seed) % kinds.length]!
        d.inject({ kind, start: t + 1 + i * 20_000, ...(i % 4 || kind === 'spike' ? {} : { duration: 1 }) })
      }
      for (let i = 0; i < 600; i++) {
        t += [1000, 0, 333, 5000][i % 4]!
        const r = d.read(t)
        if (!allFinite(r) && bad.length < 10) bad.push(`${d.deviceId} at ${t}: ${JSON.stringify(r)}`)
      }
    }
    expect(bad).toEqual([])
  })
})
