import { beforeAll, describe, expect, it } from 'vitest'
import { type Kernel, KernelStateError } from '../../kernels/host/kernel.js'
import { loadNodeKernel } from '../../kernels/node.js'
import { seriesKey } from '../store/port.js'
import { Analyser } from './analyse.js'
import { resolveAnalysisConfig } from './analysis-config.js'
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

function series(n: number, device = 'd1'): DeviceRecord[] {
  return Array.from({ length: n }, (_, i) =>
    rec({
      deviceId: device,
      ts: 1_700_000_000_000 + i * 1000,
      temp: i === 150 ? 79 : 20 + Math.sin(i) * 0.5,
      latencyMs: 100 + (i % 7),
    }),
  )
}

describe('analyser', () => {
  it('applies the rules with their default thresholds', () => {
    const a = new Analyser(kernel, resolveAnalysisConfig({}))
    const out = a.analyse(
      [
        rec({ deviceId: 'd', level: 'error', msg: 'boom' }),
        rec({ deviceId: 'd', temp: 85 }),
        rec({ deviceId: 'd', latencyMs: 1500 }),
      ],
      new Map(),
    )
    expect(out.anomalies.map((x) => x.kind)).toEqual(['error', 'high_temp', 'slow_response'])
    expect(out.verdicts.map((v) => v.kinds)).toEqual([['error'], ['high_temp'], ['slow_response']])
    expect(out.verdicts.every((v) => v.score === 1)).toBe(true)
  })

  it('takes rule thresholds per device', () => {
    const a = new Analyser(
      kernel,
      resolveAnalysisConfig({
        rules: { metrics: [{ kind: 'high_temp', metric: 'temp', above: 50 }] },
        devices: { oven: { rules: { metrics: [{ kind: 'high_temp', metric: 'temp', above: 300 }] } } },
      }),
    )
    const out = a.analyse(
      [rec({ deviceId: 'pump', temp: 60 }), rec({ deviceId: 'oven', temp: 250 })],
      new Map(),
    )
    expect(out.anomalies.map((x) => x.deviceId)).toEqual(['pump'])
  })

  it('finds a statistical anomaly and gives the same answers in one batch or many', () => {
    const a = new Analyser(kernel, resolveAnalysisConfig({}))
    const records = [...series(300, 'd1'), ...series(300, 'd2')]
    const whole = a.analyse(records, new Map())
    expect(
      whole.anomalies.some((x) => x.deviceId === 'd1' && x.metric === 'temp' && x.kind === 'outlier'),
    ).toBe(true)
    const states = new Map<string, SeriesState>()
    const pieces = []
    for (let i = 0; i < records.length; i += 37) {
      const out = a.analyse(records.slice(i, i + 37), states)
      for (const s of out.states) states.set(seriesKey(s.deviceId, s.metric), s)
      pieces.push(out)
    }
    expect(pieces.flatMap((p) => p.verdicts)).toEqual(whole.verdicts)
    expect(pieces.flatMap((p) => p.anomalies)).toEqual(expect.arrayContaining(whole.anomalies))
    expect(pieces.flatMap((p) => p.anomalies)).toHaveLength(whole.anomalies.length)
    expect(states.get(seriesKey('d1', 'temp'))?.sampleCount).toBe(300)
  })

  it('restarts a series whose snapshot an earlier kernel version made, and refuses garbage', () => {
    const a = new Analyser(kernel, resolveAnalysisConfig({}))
    const fresh = a.analyse(series(50), new Map())
    const old = new Uint8Array(504)
    new DataView(old.buffer).setFloat64(0, 2, true)
    const stale = new Map<string, SeriesState>([
      [
        seriesKey('d1', 'temp'),
        { deviceId: 'd1', metric: 'temp', state: old, lastTs: 1, sampleCount: 7, version: 3 },
      ],
    ])
    const upgraded = a.analyse(series(50), stale)
    expect(upgraded.verdicts).toEqual(fresh.verdicts)
    expect(upgraded.states.find((s) => s.metric === 'temp')).toMatchObject({ sampleCount: 57, version: 3 })
    // An empty snapshot (the ingest path's way to restart an unreadable one) starts afresh too.
    const emptied = new Map(stale)
    emptied.set(seriesKey('d1', 'temp'), { ...stale.get(seriesKey('d1', 'temp'))!, state: new Uint8Array(0) })
    expect(a.analyse(series(50), emptied).verdicts).toEqual(fresh.verdicts)
    const garbage = new Map(stale)
    garbage.set(seriesKey('d1', 'temp'), {
      ...stale.get(seriesKey('d1', 'temp'))!,
      state: new Uint8Array(504).fill(7),
    })
    expect(() => a.analyse(series(5), garbage)).toThrow(KernelStateError)
  })

  it('rejects invalid configuration with the path of the problem', () => {
    expect(() => resolveAnalysisConfig({ detectors: { outlier: { z: -1 } } })).toThrow(/z/)
    expect(() => resolveAnalysisConfig({ rules: { metrics: [{ kind: 'x' }] } })).toThrow(/metric/)
    expect(() => resolveAnalysisConfig({ nonsense: true })).toThrow()
  })
})
