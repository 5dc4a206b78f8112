// The example apps under the minimal host, on the simulated sensors: report-on-change reduces without missing
// a change, and edge-detect gives, bit for bit, the verdicts and windows of the server's kernel.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { type Kernel, windowFeatures } from '../../kernels/host/kernel.js'
import { DEFAULT_PARAMS, encodeParams } from '../../kernels/host/params.js'
import { PARAM_COUNT, PARAMS_PTR } from '../../kernels/layout.js'
import { loadNodeKernel } from '../../kernels/node.js'
import { createEnvironment, createPump, type Fault, type Sensor, withFaults } from '../sensors/index.js'
import { appPath, EDGE_DETECT_PAGES, ensureApps } from './build.js'
import { type Emitted, TestHost } from './sdk/test-host.js'

const T0 = Date.UTC(2026, 10, 23, 6, 0, 0)
const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

let kernel: Kernel
beforeAll(async () => {
  await ensureApps()
  kernel = await loadNodeKernel()
})

/**
 * Where an app's data segments end in its memory, as the engine writes them: the app is instantiated, and
 * nothing of it run, twice, into a memory of `pages` filled with 0x00 and then 0xff; every byte a segment
 * writes differs from one of the two fills, so the highest byte that changed is the last one written.
 */
async function dataEnd(bytes: Uint8Array<ArrayBuffer>, pages: number): Promise<number> {
  const module = await WebAssembly.compile(bytes)
  let end = 0
  for (const fill of [0x00, 0xff]) {
    const memory = new WebAssembly.Memory({ initial: pages })
    const view = new Uint8Array(memory.buffer).fill(fill)
    const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {}
    for (const { module: from, name, kind } of WebAssembly.Module.imports(module)) {
      imports[from] ??= {}
      imports[from][name] =
        kind === 'memory'
          ? memory
          : () => {
              throw new Error(`${from}.${name} called during instantiation`)
            }
    }
    await WebAssembly.instantiate(module, imports)
    let i = view.length
    while (i > end && view[i - 1] === fill) i--
    end = i
  }
  return end
}

/** A sensor read every periodMs from T0: the times and each channel's values. */
interface Series {
  names: string[]
  ts: Float64Array
  values: Float64Array[]
}

function record(sensor: Sensor, durationMs: number, periodMs = SECOND): Series {
  const names = sensor.channels()
  const count = Math.floor(durationMs / periodMs)
  const ts = new Float64Array(count)
  const values = names.map(() => new Float64Array(count))
  for (let i = 0; i < count; i++) {
    const t = T0 + i * periodMs
    const reading = sensor.read(t)
    ts[i] = t
    names.forEach((name, c) => {
      values[c]![i] = reading[name]!
    })
  }
  return { names, ts, values }
}

function faulty(sensor: Sensor, deviceId: string, faults: Fault[]): Sensor {
  const s = withFaults(sensor, { deviceId })
  for (const f of faults) s.inject(f)
  return s
}

/** Runs an app over a series, one tick per sample; returns what it emitted. */
async function run(app: string, series: Series, memoryPages: number): Promise<Emitted[]> {
  const host = await TestHost.start(readFileSync(appPath(app)), { memoryPages, channels: series.names })
  expect(host.init() ?? 0).toBe(0)
  const reading = new Float64Array(series.names.length)
  for (let i = 0; i < series.ts.length; i++) {
    series.values.forEach((v, c) => {
      reading[c] = v[i]!
    })
    expect(host.tick(series.ts[i]!, reading)).toBe(0)
  }
  expect(host.logs.filter((l) => l.level >= 2)).toEqual([])
  return host.emits
}

/** A number constant of an app's source: `const NAME: f64 = 60_000`. */
function constantOf(source: string, name: string): number {
  const match = new RegExp(`const ${name}: f64 = ([0-9._e+-]+)`).exec(source)
  if (!match) throw new Error(`no constant ${name}`)
  return Number(match[1]!.replaceAll('_', ''))
}

describe('report-on-change', () => {
  const source = readFileSync(
    join(import.meta.dirname, 'examples', 'report-on-change', 'assembly', 'index.ts'),
    'utf8',
  )
  const relative = constantOf(source, 'CHANGE_RELATIVE')
  const absolute = constantOf(source, 'CHANGE_ABSOLUTE')
  const silence = constantOf(source, 'MAX_SILENCE_MS')

  /**
   * Checks every emit against the rule: at each sample a channel is sent exactly when it is its first
   * finite reading, or it moved more than the threshold from the last value sent, or MAX_SILENCE_MS passed
   * since that was sent; what is sent is the reading. Returns how many readings and emits there were.
   */
  function checkRule(series: Series, emits: Emitted[]): { reads: number; sent: number } {
    const byTick = new Map<string, number>()
    for (const e of emits) byTick.set(`${e.name}@${e.ts}`, e.value)
    let reads = 0
    series.names.forEach((name, c) => {
      let last = Number.NaN
      let lastAt = Number.NaN
      for (let i = 0; i < series.ts.length; i++) {
        const ts = series.ts[i]!
        const x = series.values[c]![i]!
        const sent = byTick.get(`${name}@${ts}`)
        if (!Number.isFinite(x)) {
          expect(sent, `${name} at ${ts}`).toBeUndefined()
          continue
        }
        reads += 1
        const due =
          Number.isNaN(last) ||
          Math.abs(x - last) > Math.max(absolute, relative * Math.abs(last)) ||
          ts - lastAt >= silence
        expect(sent, `${name} at ${ts}: ${x} after ${last} sent at ${lastAt}`).toBe(due ? x : undefined)
        if (due) {
          last = x
          lastAt = ts
        }
        // Never behind by more than the threshold, never silent for longer than MAX_SILENCE_MS.
        expect(Math.abs(x - last)).toBeLessThanOrEqual(Math.max(absolute, relative * Math.abs(last)))
        expect(ts - lastAt).toBeLessThan(silence)
      }
    })
    return { reads, sent: emits.length }
  }

  it('sends a fraction of a slowly varying series and every change above its threshold', async () => {
    const series = record(createEnvironment({ seed: 7 }), HOUR)
    const emits = await run('report-on-change', series, 1)
    const { reads, sent } = checkRule(series, emits)
    expect(reads).toBe(4 * 3600)
    expect(sent).toBeLessThan(reads / 4)
    expect(new Set(emits.map((e) => e.name))).toEqual(new Set(series.names))
  })

  it('sends the faults of a pump (a spike, a stuck channel, a valve) and skips readings that are not finite', async () => {
    const sensor = faulty(createPump({ seed: 11 }), 'pump-11', [
      { kind: 'spike', channel: 'pressure', start: T0 + 10 * MINUTE },
      { kind: 'stuck', channel: 'flow', start: T0 + 15 * MINUTE, duration: 5 * MINUTE },
      { kind: 'valve', start: T0 + 25 * MINUTE, duration: 10 * MINUTE },
    ])
    const series = record(sensor, 40 * MINUTE)
    // A sensor dropout: NaN for 30 s on one channel, Infinity once on another.
    series.values[3]!.fill(Number.NaN, 300, 330)
    series.values[4]![500] = Number.POSITIVE_INFINITY
    const emits = await run('report-on-change', series, 1)
    const { reads, sent } = checkRule(series, emits)
    expect(sent).toBeLessThan(reads)
    const spikeAt = T0 + 10 * MINUTE
    expect(emits.some((e) => e.name === 'pressure' && e.ts === spikeAt)).toBe(true)
  })
})

describe('edge-detect', () => {
  const params = encodeParams(DEFAULT_PARAMS)

  interface Verdict {
    channel: string
    ts: number
    flags: number
    score: number
  }
  interface Window {
    channel: string
    ts: number
    mean: number
    std: number
    min: number
    max: number
    count: number
  }

  /** What the app emitted, as verdicts and windows (each name is "<channel>.<field>"). */
  function parse(emits: Emitted[]): { verdicts: Verdict[]; windows: Window[] } {
    const verdicts: Verdict[] = []
    const windows: Window[] = []
    for (let i = 0; i < emits.length; i++) {
      const e = emits[i]!
      if (e.name.endsWith('.anomaly')) {
        const channel = e.name.slice(0, -'.anomaly'.length)
        const flags = emits[++i]!
        expect(flags).toEqual({ ts: e.ts, name: `${channel}.flags`, value: flags.value })
        verdicts.push({ channel, ts: e.ts, flags: flags.value, score: e.value })
      } else if (e.name.endsWith('.window.mean')) {
        const channel = e.name.slice(0, -'.window.mean'.length)
        const fields = emits.slice(i, i + 5)
        expect(fields.map((f) => [f.ts, f.name])).toEqual(
          ['mean', 'std', 'min', 'max', 'count'].map((f) => [e.ts, `${channel}.window.${f}`]),
        )
        const [mean, std, min, max, count] = fields.map((f) => f.value) as [
          number,
          number,
          number,
          number,
          number,
        ]
        windows.push({ channel, ts: e.ts, mean, std, min, max, count })
        i += 4
      } else {
        throw new Error(`edge-detect emitted ${e.name}, which is neither an anomaly nor a window`)
      }
    }
    return { verdicts, windows }
  }

  /** What the server's kernel gives on each channel's finite (ts, value) samples, as the app reports it. */
  function expected(series: Series): { verdicts: Verdict[]; windows: Window[] } {
    const verdicts: Verdict[] = []
    const windows: Window[] = []
    series.names.forEach((channel, c) => {
      const keep = Array.from(series.values[c]!, (x) => Number.isFinite(x))
      const ts = series.ts.filter((_, i) => keep[i])
      const values = series.values[c]!.filter((_, i) => keep[i])
      const result = kernel.run(undefined, ts, values, params)
      result.flags.forEach((flags, i) => {
        if (flags !== 0) verdicts.push({ channel, ts: ts[i]!, flags, score: result.scores[i]! })
      })
      for (const w of windowFeatures(result.windows)) {
        // Only the windows that tile time are sent (no overlap with the last one sent).
        if (w.end % (w.end - w.start) !== 0) continue
        // A window is reported at the first sample at or after its end: the one that closed it.
        const at = ts.find((t) => t >= w.end)!
        windows.push({ channel, ts: at, mean: w.mean, std: w.std, min: w.min, max: w.max, count: w.count })
      }
    })
    return { verdicts, windows }
  }

  const byChannelAndTime = <T extends { channel: string; ts: number }>(a: T, b: T) =>
    a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : a.ts - b.ts

  /** Equal field by field with Object.is: the same f64 bits (up to NaN payloads), -0 apart from 0. */
  function expectSame<T extends object>(actual: T[], wanted: T[], what: string): void {
    expect(actual.length, `${what}: count`).toBe(wanted.length)
    actual.forEach((a, i) => {
      for (const key of Object.keys(a) as (keyof T)[]) {
        if (!Object.is(a[key], wanted[i]![key])) {
          expect.fail(
            `${what} ${i}: ${String(key)} ${a[key]} is not ${wanted[i]![key]} (${JSON.stringify(a)})`,
          )
        }
      }
    })
  }

  const cases: [string, () => Sensor][] = [
    [
      'pump 1: spike, stuck, drift, valve',
      () =>
        faulty(createPump({ seed: 1 }), 'pump-1', [
          { kind: 'spike', channel: 'flow', start: T0 + 8 * MINUTE },
          { kind: 'stuck', channel: 'pressure', start: T0 + 12 * MINUTE, duration: 4 * MINUTE },
          { kind: 'drift', channel: 'bearingTemp', start: T0 + 20 * MINUTE, duration: 15 * MINUTE },
          { kind: 'valve', start: T0 + 40 * MINUTE, duration: 10 * MINUTE },
        ]),
    ],
    [
      'pump 2: cavitation, noise',
      () =>
        faulty(createPump({ seed: 2 }), 'pump-2', [
          { kind: 'noise', channel: 'vibration', start: T0 + 10 * MINUTE },
          { kind: 'cavitation', start: T0 + 30 * MINUTE },
        ]),
    ],
    [
      'pump 3: leak, spikes',
      () =>
        faulty(createPump({ seed: 3 }), 'pump-3', [
          { kind: 'spike', channel: 'current', start: T0 + 5 * MINUTE },
          { kind: 'spike', channel: 'fluidTemp', start: T0 + 6 * MINUTE },
          { kind: 'leak', start: T0 + 20 * MINUTE },
        ]),
    ],
    [
      'environment 4: spike, stuck, drift',
      () =>
        faulty(createEnvironment({ seed: 4 }), 'env-4', [
          { kind: 'spike', channel: 'humidity', start: T0 + 9 * MINUTE },
          { kind: 'stuck', channel: 'co2', start: T0 + 15 * MINUTE, duration: 5 * MINUTE },
          { kind: 'drift', channel: 'temperature', start: T0 + 30 * MINUTE, duration: 20 * MINUTE },
        ]),
    ],
    ['environment 5: no fault', () => createEnvironment({ seed: 5 })],
  ]

  it.each(cases)('gives the server kernel verdicts and windows bit for bit: %s', async (name, sensor) => {
    const series = record(sensor(), HOUR)
    if (name.startsWith('pump 3')) {
      // Readings that are not finite never reach the server (JSON has no NaN): the app skips them too.
      series.values[0]!.fill(Number.NaN, 1000, 1030)
      series.values[2]![2000] = Number.NEGATIVE_INFINITY
    }
    const actual = parse(await run('edge-detect', series, EDGE_DETECT_PAGES))
    const wanted = expected(series)
    expectSame(actual.verdicts.sort(byChannelAndTime), wanted.verdicts.sort(byChannelAndTime), 'verdict')
    expectSame(actual.windows.sort(byChannelAndTime), wanted.windows.sort(byChannelAndTime), 'window')
    // An hour of 60 s windows that tile time: 59 or 60 per channel.
    expect(actual.windows.length).toBeGreaterThanOrEqual(series.names.length * 59)
    if (!name.endsWith('no fault')) expect(actual.verdicts.length).toBeGreaterThan(0)
  })

  it(`needs ${EDGE_DETECT_PAGES} pages of memory and asks for them in its import`, async () => {
    const bytes = readFileSync(appPath('edge-detect'))
    await expect(TestHost.start(bytes, { memoryPages: EDGE_DETECT_PAGES - 1, channels: [] })).rejects.toThrow(
      `needs ${EDGE_DETECT_PAGES} pages`,
    )
    const host = await TestHost.start(bytes, { memoryPages: EDGE_DETECT_PAGES, channels: ['x'] })
    expect(host.init()).toBe(0)
    expect(host.pages()).toBe(EDGE_DETECT_PAGES)
    expect(EDGE_DETECT_PAGES).toBe(28)
    // Its own data stays below the kernel's params block, where the kernel never writes.
    const end = await dataEnd(bytes, EDGE_DETECT_PAGES)
    expect(end).toBeGreaterThan(0)
    expect(end).toBeLessThanOrEqual(PARAMS_PTR)
  })

  it("runs on the server's default parameters, bit for bit", async () => {
    const host = await TestHost.start(readFileSync(appPath('edge-detect')), {
      memoryPages: EDGE_DETECT_PAGES,
      channels: [],
    })
    expect(host.init()).toBe(0)
    const written = new Uint8Array(host.memory.buffer, PARAMS_PTR, PARAM_COUNT * 8)
    expect(written).toEqual(new Uint8Array(params.buffer))
  })
})
