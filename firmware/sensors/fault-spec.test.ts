import { describe, expect, it } from 'vitest'
import { createEnvironment } from './environment.js'
import { applyFaultPlans, type FaultPlan, FaultSpecError, parseFaultSpec, parseTime } from './fault-spec.js'
import { type FaultySensor, withFaults } from './faults.js'
import { createPump } from './pump.js'
import { MINUTE, MONDAY } from './test-helpers.js'

const S = MONDAY + 8 * 3_600_000

function fleet(pumps = 10, envs = 5): FaultySensor[] {
  const out: FaultySensor[] = []
  for (let i = 1; i <= pumps; i++) out.push(withFaults(createPump({ seed: i }), { deviceId: `pump-${i}` }))
  for (let i = 1; i <= envs; i++)
    out.push(withFaults(createEnvironment({ seed: 100 + i }), { deviceId: `env-${i}` }))
  return out
}

describe('parseFaultSpec', () => {
  it('reads the documented example', () => {
    expect(parseFaultSpec('pump-3:cavitation@120s+5m, *:spike@30s, env-1:drift(temperature)@10m+2m')).toEqual(
      [
        {
          text: 'pump-3:cavitation@120s+5m',
          devices: { type: 'device', deviceId: 'pump-3' },
          kind: 'cavitation',
          offsetMs: 120_000,
          durationMs: 300_000,
        },
        { text: '*:spike@30s', devices: { type: 'all' }, kind: 'spike', offsetMs: 30_000 },
        {
          text: 'env-1:drift(temperature)@10m+2m',
          devices: { type: 'device', deviceId: 'env-1' },
          kind: 'drift',
          channel: 'temperature',
          offsetMs: 600_000,
          durationMs: 120_000,
        },
      ] satisfies FaultPlan[],
    )
  })

  it('reads shares, ids with colons, compound times and loose whitespace', () => {
    const plans = parseFaultSpec(
      ' 10%:leak@1h ,0.5%:valve@0s+1m30s, site:a:pump-1 : noise ( flow ) @ 250ms + 1.5h ',
    )
    expect(plans.map((p) => p.devices)).toEqual([
      { type: 'share', percent: 10 },
      { type: 'share', percent: 0.5 },
      { type: 'device', deviceId: 'site:a:pump-1' },
    ])
    expect(plans.map((p) => [p.kind, p.channel, p.offsetMs, p.durationMs])).toEqual([
      ['leak', undefined, 3_600_000, undefined],
      ['valve', undefined, 0, 90_000],
      ['noise', 'flow', 250, 5_400_000],
    ])
  })

  it('reads an empty spec as no faults', () => {
    expect(parseFaultSpec('')).toEqual([])
    expect(parseFaultSpec('  ')).toEqual([])
  })

  it('parses times with units ms, s, m, h, d', () => {
    expect(parseTime('250ms')).toBe(250)
    expect(parseTime('90s')).toBe(90_000)
    expect(parseTime('1m30s')).toBe(90_000)
    expect(parseTime('1.5h')).toBe(5_400_000)
    expect(parseTime('1d2h')).toBe(93_600_000)
    expect(parseTime('0s')).toBe(0)
    expect(parseTime('.5s')).toBe(500)
  })

  const unit = 'write a number with a unit (ms, s, m, h, d), e.g. 90s or 1m30s'
  const bad: [string, string, string][] = [
    [
      'pump-3:cavitaton@120s',
      'fault spec item 1 "pump-3:cavitaton@120s": unknown fault kind "cavitaton" (kinds: spike, drift, stuck, noise, valve, cavitation, bearing, leak)',
      'cavitaton',
    ],
    [
      'pump-3:valve',
      'fault spec item 1 "pump-3:valve": missing start: add @<offset> after the kind, e.g. valve@2m',
      'valve',
    ],
    [
      'valve@1m',
      'fault spec item 1 "valve@1m": missing "selector:" before the fault kind, e.g. pump-3:valve@1m or *:spike@30s',
      'valve@1m',
    ],
    [
      ':valve@1m',
      'fault spec item 1 ":valve@1m": empty device selector before ":" (a device id, * or N%)',
      '',
    ],
    [
      '150%:valve@1m',
      'fault spec item 1 "150%:valve@1m": bad share "150%": a percentage above 0 and at most 100',
      '150%',
    ],
    [
      '0%:valve@1m',
      'fault spec item 1 "0%:valve@1m": bad share "0%": a percentage above 0 and at most 100',
      '0%',
    ],
    [
      'x%:valve@1m',
      'fault spec item 1 "x%:valve@1m": bad share "x%": a percentage above 0 and at most 100',
      'x%',
    ],
    [
      'pump-3:valve(flow)@1m',
      `fault spec item 1 "pump-3:valve(flow)@1m": valve is an equipment fault: it moves several channels through the pump's physics and takes no channel`,
      'valve(flow)',
    ],
    [
      'env-1:drift(te mp)@1m',
      'fault spec item 1 "env-1:drift(te mp)@1m": bad channel name "te mp" in parentheses',
      'te mp',
    ],
    ['env-1:drift()@1m', 'fault spec item 1 "env-1:drift()@1m": bad channel name "" in parentheses', ''],
    [
      'env-1:drift(temperature@1m',
      'fault spec item 1 "env-1:drift(temperature@1m": bad fault "drift(temperature": write a kind with an optional channel, e.g. drift(temperature)',
      'drift(temperature',
    ],
    [
      'pump-3:valve@12x',
      `fault spec item 1 "pump-3:valve@12x": bad start offset: "12x" is not a time: ${unit}`,
      '12x',
    ],
    [
      'pump-3:valve@120',
      `fault spec item 1 "pump-3:valve@120": bad start offset: "120" is not a time: ${unit}`,
      '120',
    ],
    [
      'pump-3:valve@',
      'fault spec item 1 "pump-3:valve@": bad start offset: empty time: write a number with a unit (ms, s, m, h, d), e.g. 90s',
      '',
    ],
    ['pump-3:valve@1m+0s', 'fault spec item 1 "pump-3:valve@1m+0s": duration "0s" must be above 0', '0s'],
    [
      'pump-3:valve@1m+5',
      `fault spec item 1 "pump-3:valve@1m+5": bad duration: "5" is not a time: ${unit}`,
      '5',
    ],
    [
      'pump-3:spike@1m+5s',
      'fault spec item 1 "pump-3:spike@1m+5s": a spike hits one reading and takes no duration',
      '5s',
    ],
    [
      'pump-3:valve@1m@2m',
      'fault spec item 1 "pump-3:valve@1m@2m": more than one "@" (one start per item)',
      'valve@1m@2m',
    ],
    [
      'pump-3:valve@1m+2m+3m',
      'fault spec item 1 "pump-3:valve@1m+2m+3m": more than one "+" (one duration per item)',
      '1m+2m+3m',
    ],
    [
      'a:valve@1m,,b:leak@1m',
      'fault spec item 2 "": empty item (two commas in a row, or a comma at the end?)',
      '',
    ],
    ['a:valve@1m, ', 'fault spec item 2 "": empty item (two commas in a row, or a comma at the end?)', ''],
  ]
  for (const [spec, message, part] of bad) {
    it(`refuses ${JSON.stringify(spec)}, naming the bad part`, () => {
      let error: unknown
      try {
        parseFaultSpec(spec)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(FaultSpecError)
      expect((error as FaultSpecError).message).toBe(message)
      expect((error as FaultSpecError).part).toBe(part)
    })
  }
})

describe('applyFaultPlans', () => {
  it('injects each plan at the simulation start plus its offset and returns exact labels', () => {
    const devices = fleet()
    const labels = applyFaultPlans(
      parseFaultSpec(
        'pump-3:cavitation@120s+5m, *:spike(flow)@30s, env-1:drift(temperature)@10m+2m, pump-1:bearing@1h',
      ),
      devices,
      S,
    )
    expect(labels[0]).toEqual({
      deviceId: 'pump-3',
      start: S + 120_000,
      end: S + 420_000,
      kind: 'cavitation',
      sensors: ['flow', 'pressure', 'current', 'vibration'],
    })
    // "*" with a channel: the devices that have it (the pumps), in id order.
    const spikes = labels.filter((l) => l.kind === 'spike')
    expect(spikes.map((l) => l.deviceId)).toEqual([
      'pump-1',
      'pump-10',
      'pump-2',
      'pump-3',
      'pump-4',
      'pump-5',
      'pump-6',
      'pump-7',
      'pump-8',
      'pump-9',
    ])
    for (const l of spikes) expect(l).toMatchObject({ start: S + 30_000, end: S + 30_001, sensors: ['flow'] })
    expect(labels.at(-2)).toEqual({
      deviceId: 'env-1',
      start: S + 600_000,
      end: S + 720_000,
      kind: 'drift',
      sensors: ['temperature'],
    })
    expect(labels.at(-1)).toEqual({
      deviceId: 'pump-1',
      start: S + 3_600_000,
      end: S + 3_600_000 + 30 * MINUTE,
      kind: 'bearing',
      sensors: ['vibration', 'bearingTemp', 'current'],
    })
    // Each device keeps its own labels.
    expect(
      devices
        .find((d) => d.deviceId === 'pump-3')!
        .labels()
        .map((l) => l.kind),
    ).toEqual(['cavitation', 'spike'])
  })

  it('sends "*" equipment faults to pumps only, and "*" channel faults to devices that have the channel', () => {
    const devices = fleet()
    expect(applyFaultPlans(parseFaultSpec('*:valve@1m'), devices, S)).toHaveLength(10)
    const env = applyFaultPlans(parseFaultSpec('*:drift(co2)@1m'), devices, S)
    expect(env.map((l) => l.deviceId)).toEqual(['env-1', 'env-2', 'env-3', 'env-4', 'env-5'])
    expect(applyFaultPlans(parseFaultSpec('*:noise@1m'), devices, S)).toHaveLength(15)
  })

  it('picks an N% share from the seed, at least one device, whatever order the devices come in', () => {
    const a = applyFaultPlans(parseFaultSpec('20%:leak@1m'), fleet(), S, 7).map((l) => l.deviceId)
    const b = applyFaultPlans(parseFaultSpec('20%:leak@1m'), fleet().reverse(), S, 7).map((l) => l.deviceId)
    expect(a).toHaveLength(2)
    expect(new Set(a).size).toBe(2)
    expect(b).toEqual(a)
    for (const id of a) expect(id).toMatch(/^pump-/)
    const seeds = new Set<string>()
    for (let seed = 0; seed < 20; seed++) {
      seeds.add(
        applyFaultPlans(parseFaultSpec('20%:leak@1m'), fleet(), S, seed)
          .map((l) => l.deviceId)
          .join(),
      )
    }
    expect(seeds.size).toBeGreaterThan(5)
    expect(applyFaultPlans(parseFaultSpec('50%:noise(co2)@1m'), fleet(), S)).toHaveLength(3)
    expect(applyFaultPlans(parseFaultSpec('1%:valve@1m'), fleet(), S)).toHaveLength(1)
    expect(applyFaultPlans(parseFaultSpec('100%:valve@1m'), fleet(), S)).toHaveLength(10)
  })

  const failures: [string, string, string][] = [
    [
      'pump-99:valve@1m',
      'fault spec item "pump-99:valve@1m": unknown device "pump-99" (15 devices)',
      'pump-99',
    ],
    [
      'env-1:valve@1m',
      'fault spec item "env-1:valve@1m": env-1: valve is a pump fault, and this is not a pump (kind: environment)',
      'env-1',
    ],
    [
      'env-2:drift(flow)@1m',
      'fault spec item "env-2:drift(flow)@1m": env-2 has no channel "flow" (channels: temperature, humidity, pressure, co2)',
      'env-2',
    ],
    [
      '*:drift(rpm)@1m',
      'fault spec item "*:drift(rpm)@1m": no device fits: drift needs a channel "rpm"',
      '*:drift(rpm)@1m',
    ],
  ]
  for (const [spec, message, part] of failures) {
    it(`refuses ${JSON.stringify(spec)} with a clear message`, () => {
      expect(() => applyFaultPlans(parseFaultSpec(spec), fleet(), S)).toThrow(
        new FaultSpecError(message, part),
      )
      try {
        applyFaultPlans(parseFaultSpec(spec), fleet(), S)
      } catch (e) {
        expect((e as FaultSpecError).part).toBe(part)
      }
    })
  }

  it('refuses equipment faults on "*" when there is no pump', () => {
    expect(() => applyFaultPlans(parseFaultSpec('*:leak@1m'), fleet(0, 2), S)).toThrow(
      'fault spec item "*:leak@1m": no device fits: leak needs a pump',
    )
  })

  it('refuses a fault that would start before a reading already made', () => {
    const devices = fleet(1, 0)
    devices[0]!.read(S + MINUTE)
    expect(() => applyFaultPlans(parseFaultSpec('pump-1:valve@30s'), devices, S)).toThrow(
      `fault spec item "pump-1:valve@30s": pump-1: a fault starting at ${S + 30_000} is not after the last reading (${S + MINUTE}); readings already made cannot change`,
    )
  })

  it('is all or nothing: one bad item injects nothing', () => {
    const devices = fleet()
    expect(() =>
      applyFaultPlans(parseFaultSpec('pump-1:valve@1m, *:spike@1m, pump-99:leak@1m'), devices, S),
    ).toThrow('unknown device "pump-99"')
    for (const d of devices) expect(d.labels()).toEqual([])
  })

  it('refuses two devices with one id', () => {
    const devices = [...fleet(2, 0), ...fleet(1, 0)]
    expect(() => applyFaultPlans([], devices, S)).toThrow(
      new FaultSpecError('two devices share the id "pump-1"', 'pump-1'),
    )
  })

  it('drives a small simulated fleet end to end', () => {
    const devices = fleet(3, 1)
    const labels = applyFaultPlans(parseFaultSpec('pump-2:valve@10s+1m, env-1:stuck(co2)@5s+20s'), devices, S)
    const readings = new Map<string, Record<string, number>[]>()
    for (let t = S; t < S + 2 * MINUTE; t += 1000) {
      for (const d of devices) {
        if (!readings.has(d.deviceId)) readings.set(d.deviceId, [])
        readings.get(d.deviceId)!.push(d.read(t))
      }
    }
    const co2 = readings.get('env-1')!.map((r) => r.co2)
    expect(new Set(co2.slice(6, 25)).size).toBe(1)
    expect(co2[5]).toBe(co2[6])
    const flow = readings.get('pump-2')!.map((r) => r.flow!)
    expect(Math.max(...flow.slice(45, 70))).toBeLessThan(Math.min(...flow.slice(0, 10)))
    expect(labels.map((l) => [l.deviceId, l.start - S, l.end - S])).toEqual([
      ['pump-2', 10_000, 70_000],
      ['env-1', 5_000, 25_000],
    ])
  })
})
