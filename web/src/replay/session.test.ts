import 'fake-indexeddb/auto'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { configFromEnv } from '../../../functions/config.js'
import { Analyser } from '../../../functions/domain/analyse.js'
import { resolveAnalysisConfig } from '../../../functions/domain/analysis-config.js'
import { toRecord } from '../../../functions/domain/record.js'
import type { DeviceRecord } from '../../../functions/domain/types.js'
import { DEFAULT_PARAMS } from '../../../kernels/host/defaults.js'
import type { Kernel } from '../../../kernels/host/kernel.js'
import { loadNodeKernel } from '../../../kernels/node.js'
import { fixtureLines } from '../../e2e/fixture.js'
import { type Chunk, ChunkBuilder } from '../store/chunk.js'
import { compareKinds } from './compare.js'
import { decimate } from './decimate.js'
import { paramsJson, resultsCsv, resultsNdjson } from './results.js'
import { join, ReplaySession } from './session.js'

let kernel: Kernel
beforeAll(async () => {
  kernel = await loadNodeKernel()
})

function recordsOf(n: number, seed = 7): DeviceRecord[] {
  return [...fixtureLines({ records: n, seed })].map((l) => {
    const r = toRecord(JSON.parse(l), 0)
    if (!r.ok) throw new Error(r.reason)
    return r.record
  })
}

function chunksOf(records: DeviceRecord[], size: number): Chunk[] {
  const chunks: Chunk[] = []
  for (let i = 0; i < records.length; i += size) {
    const b = new ChunkBuilder('t')
    for (const r of records.slice(i, i + size)) b.add(r, undefined, 1)
    chunks.push({ ...b.take()!, index: chunks.length })
  }
  return chunks
}

describe('replay session', () => {
  it('finds exactly what the server analyser finds, whatever the chunking', () => {
    const records = recordsOf(3000)
    const oracle = new Analyser(kernel, resolveAnalysisConfig({})).analyse(records, new Map())
    const anomalous = oracle.verdicts.filter((v) => v.kinds.length).length
    for (const size of [3000, 777, 50]) {
      const s = new ReplaySession(kernel, join(chunksOf(records, size)))
      const summary = s.runAll()
      expect(summary.anomalies).toBe(oracle.anomalies.length)
      expect(summary.anomalousRecords).toBe(anomalous)
      const { scores, kinds } = s.verdicts()
      expect(Array.from(scores)).toEqual(oracle.verdicts.map((v) => v.score))
      expect(kinds.map((k) => k.split(',').filter(Boolean).sort())).toEqual(
        oracle.verdicts.map((v) => [...v.kinds].sort()),
      )
    }
  })

  it('gives the same answers played step by step as all at once, and replays after going back', () => {
    const records = recordsOf(1500, 3)
    const data = join(chunksOf(records, 400))
    const whole = new ReplaySession(kernel, data)
    whole.runAll()
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 1, maxLength: 6 }), (steps) => {
        const s = new ReplaySession(kernel, data)
        for (const step of steps) s.runTo(step)
        s.runTo(1500)
        expect(s.summary().anomalies).toBe(whole.summary().anomalies)
        expect(s.verdicts()).toEqual(whole.verdicts())
      }),
      { numRuns: 25 },
    )
    const s = new ReplaySession(kernel, data)
    const t = data.ts[700]!
    s.runTo(s.recordsUntil(t))
    expect(s.position).toBe(data.ts.filter((x) => x <= t).length)
    expect(s.position).toBe(702) // three devices share each second
  })

  it('re-runs with new parameters and refuses invalid ones', () => {
    const s = new ReplaySession(kernel, join(chunksOf(recordsOf(2000), 2000)))
    const base = s.runAll().anomalies
    s.configure({ detectors: { outlier: { z: 2 } } })
    expect(s.runAll().anomalies).toBeGreaterThan(base)
    expect(() => s.configure({ detectors: { outlier: { z: -1 } } })).toThrow(/z/)
    expect(() => s.configure({ nonsense: 1 } as never)).toThrow()
  })

  it('exports results as NDJSON and CSV with every field, score and kinds', () => {
    const body = [
      JSON.stringify({ deviceId: 'd', ts: 0, temp: 1, note: 'a "quoted", text' }),
      JSON.stringify({ deviceId: 'd', ts: 1000, hum: 2 }),
    ]
    const scores = Float64Array.of(0.1, 0.9)
    const kinds = ['', 'spike,outlier']
    expect([...resultsNdjson(body, scores, kinds)].map((l) => JSON.parse(l))).toEqual([
      {
        deviceId: 'd',
        ts: '1970-01-01T00:00:00.000Z',
        temp: 1,
        note: 'a "quoted", text',
        score: 0.1,
        anomalies: '',
      },
      { deviceId: 'd', ts: '1970-01-01T00:00:01.000Z', hum: 2, score: 0.9, anomalies: 'spike,outlier' },
    ])
    expect([...resultsCsv(body, scores, kinds)].join('')).toBe(
      'deviceId,ts,temp,note,hum,score,anomalies\n' +
        'd,1970-01-01T00:00:00.000Z,1,"a ""quoted"", text",,0.1,\n' +
        'd,1970-01-01T00:00:01.000Z,,,2,0.9,"spike,outlier"\n',
    )
  })
})

describe('parameters file', () => {
  it('is what the server loads: the same analysis configuration comes back', () => {
    const tuned = {
      detectors: { ...structuredClone(DEFAULT_PARAMS), outlier: { alpha: 0.05, z: 2.5, warmup: 30 } },
      rules: {
        errorLevels: ['fatal' as const],
        metrics: [{ kind: 'high_temp', metric: 'temp', above: 70, below: undefined }],
      },
    }
    const server = configFromEnv({ EDGEWATCH_CONFIG: paramsJson(tuned) })
    expect(server.analysis).toEqual(resolveAnalysisConfig(tuned))
    expect(server.analysis.fleet.detectors.outlier.z).toBe(2.5)
    expect(server.analysis.fleet.rules.metrics).toEqual([
      { kind: 'high_temp', metric: 'temp', above: 70 },
      { kind: 'slow_response', metric: 'latencyMs', above: 1000 },
    ])
  })
})

describe('compare', () => {
  it('lists the records where server and local kinds differ, ignoring order', () => {
    const c = compareKinds(
      ['', 'spike', 'spike,outlier', 'drift', ''],
      ['', 'spike', 'outlier,spike', '', 'stuck'],
    )
    expect(c.same).toBe(3)
    expect(c.different).toBe(2)
    expect(c.differences).toEqual([
      { at: 3, server: ['drift'], local: [] },
      { at: 4, server: [], local: ['stuck'] },
    ])
    expect(c.byKind).toEqual([
      { kind: 'drift', both: 0, serverOnly: 1, localOnly: 0 },
      { kind: 'outlier', both: 1, serverOnly: 0, localOnly: 0 },
      { kind: 'spike', both: 2, serverOnly: 0, localOnly: 0 },
      { kind: 'stuck', both: 0, serverOnly: 0, localOnly: 1 },
    ])
    expect(() => compareKinds([''], [])).toThrow(/same records/)
  })
})

describe('decimate', () => {
  it('keeps every point when few, and each bucket’s extremes when many', () => {
    const ts = Float64Array.from({ length: 10_000 }, (_, i) => i)
    const values = Float64Array.from(ts, (i) => (i === 4321 ? 100 : i === 8000 ? -100 : Math.sin(i / 100)))
    expect(decimate(ts, values, 0, 99, 500).ts).toHaveLength(100)
    const d = decimate(ts, values, 0, 9999, 400)
    expect(d.ts.length).toBeLessThanOrEqual(400)
    expect(Array.from(d.values)).toContain(100)
    expect(Array.from(d.values)).toContain(-100)
    expect([...d.ts].every((t, i) => i === 0 || t > d.ts[i - 1]!)).toBe(true)
  })
})
