import { beforeAll, describe, expect, it } from 'vitest'
import type { Kernel } from '../../kernels/host/kernel.js'
import { loadNodeKernel } from '../../kernels/node.js'
import { seriesKey } from '../store/port.js'
import { Analyser } from './analyse.js'
import { resolveAnalysisConfig } from './analysis-config.js'
import { DEVICE_STATE_METRIC, decodeDeviceState } from './device-state.js'
import { toRecord } from './record.js'
import type { DeviceRecord, SeriesState } from './types.js'

let kernel: Kernel
beforeAll(async () => {
  kernel = await loadNodeKernel()
})

const rec = (o: Record<string, unknown>): DeviceRecord => {
  const r = toRecord(o, 0)
  if (!r.ok) throw new Error(r.reason)
  return r.record
}

/**
 * A pump-like device: flow, pressure and current follow one load; from row `faultFrom` pressure falls
 * while flow holds (a broken relation no single series sees as a jump). `rpm` first appears at row 120,
 * in the baseline's second half; an `info` log line without metrics now and then.
 */
function pump(n: number, faultFrom: number, device = 'p1'): DeviceRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const load = 1 + 0.1 * Math.sin(i / 40) + 0.01 * Math.sin(i * 2.7)
    const fault = i >= faultFrom ? 0.7 : 1
    const ts = 1_700_000_000_000 + i * 1000
    if (i % 50 === 25) return rec({ deviceId: device, ts, level: 'info', msg: 'tick' })
    return rec({
      deviceId: device,
      ts,
      flow: 100 * load + ((i * 7) % 5) * 0.1,
      pressure: fault * (6 - 2 * load) + ((i * 3) % 4) * 0.01,
      current: 20 + 10 * load + ((i * 11) % 3) * 0.05,
      ...(i >= 120 ? { rpm: 1450 + (i % 3) } : {}),
    })
  })
}

const CONFIG = { detectors: { state: { baseline: 200 } } }

function analyseInBatches(records: DeviceRecord[], size: number, config: unknown = CONFIG) {
  const analyser = new Analyser(kernel, resolveAnalysisConfig(config))
  const states = new Map<string, SeriesState>()
  const verdicts = []
  const anomalies = []
  for (let from = 0; from < records.length; from += size) {
    const out = analyser.analyse(records.slice(from, from + size), states)
    for (const s of out.states) states.set(seriesKey(s.deviceId, s.metric), s)
    verdicts.push(...out.verdicts)
    anomalies.push(...out.anomalies)
  }
  return { verdicts, anomalies, states }
}

describe('analyser: the per-device state detector', () => {
  it('flags every row of a persistent fault as `state`, naming the metric that moved', () => {
    const records = pump(800, 500)
    const { verdicts, anomalies, states } = analyseInBatches(records, 100)
    const state = anomalies.filter((a) => a.kind === 'state')
    const rows = records.map((r, i) => ({ r, i })).filter(({ r }) => r.metrics.length > 0)
    const faulty = rows.filter(({ i }) => i >= 500)
    const flagged = new Set(state.map((a) => a.ts))
    for (const { r } of faulty) expect(flagged.has(r.ts), `ts ${r.ts}`).toBe(true)
    expect(rows.filter(({ i }) => i >= 200 && i < 500 && flagged.has(records[i]!.ts))).toEqual([])
    expect(state[0]!.metric).toBe('pressure')
    expect(state[0]!.detail).toMatch(/^off its learnt state; most: pressure/)
    for (const { i } of faulty) {
      expect(verdicts[i]!.kinds).toContain('state')
      expect(verdicts[i]!.score).toBeGreaterThanOrEqual(0.5)
    }
    const model = decodeDeviceState(states.get(seriesKey('p1', DEVICE_STATE_METRIC))!.state)
    expect(model.metrics).toEqual(['current', 'flow', 'pressure', 'rpm'])
  })

  it('gives the same verdicts whatever the batches (a metric joining mid-baseline included)', () => {
    const records = [...pump(700, 450, 'a'), ...pump(700, 300, 'b')].sort((x, y) => x.ts - y.ts)
    const whole = analyseInBatches(records, records.length)
    for (const size of [1, 7, 333]) {
      const batched = analyseInBatches(records, size)
      expect(batched.verdicts).toEqual(whole.verdicts)
      expect(batched.anomalies).toEqual(whole.anomalies)
    }
    expect(whole.anomalies.some((a) => a.kind === 'state' && a.deviceId === 'b')).toBe(true)
  })

  it('gives the same verdicts whatever order a record lists its metrics in', () => {
    const records = pump(800, 500)
    const reversed = records.map((r) => ({ ...r, metrics: [...r.metrics].reverse() }))
    const a = analyseInBatches(records, 100)
    const b = analyseInBatches(reversed, 100)
    expect(b.verdicts).toEqual(a.verdicts)
    expect(b.anomalies.filter((x) => x.kind === 'state')).toEqual(
      a.anomalies.filter((x) => x.kind === 'state'),
    )
  })

  it('stays off when disabled, and adds nothing during the baseline', () => {
    const off = analyseInBatches(pump(800, 500), 100, {
      detectors: { state: { baseline: 200 }, enabled: { state: false } },
    })
    expect(off.anomalies.filter((a) => a.kind === 'state')).toEqual([])
    expect(off.states.has(seriesKey('p1', DEVICE_STATE_METRIC))).toBe(false)
    const early = analyseInBatches(pump(150, 0), 50)
    expect(early.anomalies.filter((a) => a.kind === 'state')).toEqual([])
  })

  it('loads each device state with its series (the reserved metric name)', () => {
    const analyser = new Analyser(kernel, resolveAnalysisConfig(CONFIG))
    expect(analyser.seriesOf(pump(3, 0)).map((s) => s.metric)).toEqual([
      DEVICE_STATE_METRIC,
      'flow',
      'pressure',
      'current',
    ])
    // Where the state detector is off, no device state is stored, so none is looked up.
    const off = new Analyser(kernel, resolveAnalysisConfig({ detectors: { enabled: { state: false } } }))
    expect(off.seriesOf(pump(3, 0)).map((s) => s.metric)).toEqual(['flow', 'pressure', 'current'])
  })
})
