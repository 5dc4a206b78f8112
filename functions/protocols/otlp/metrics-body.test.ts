// The metrics body parser on its own: data points of one device, time, attribute set, resource and
// scope become one record of their metrics; a name repeated there makes another record, never an
// overwrite; a bad point is rejected alone, counted in data points; the record limits hold.
import { create, type MessageInitShape, toBinary } from '@bufbuild/protobuf'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { attrs, nanos } from '../../../test/otlp/requests.js'
import { runs } from '../../app-properties/harness.js'
import { BodyError } from '../../domain/ingest-body.js'
import { LIMITS } from '../../domain/record.js'
import type { DeviceRecord } from '../../domain/types.js'
import { ExportMetricsServiceRequestSchema, type MetricSchema } from './gen/metrics_pb.js'
import { metricsParser } from './metrics-body.js'
import { TOO_LARGE } from './point-groups.js'

const T = 1_700_000_000_000
const NOW = T + 3_600_000

type MetricInit = MessageInitShape<typeof MetricSchema>
type Attributes = Record<string, string | number>

function gauge(name: string, points: [ms: number, value: number | undefined, Attributes?][]): MetricInit {
  return {
    name,
    data: {
      case: 'gauge',
      value: {
        dataPoints: points.map(([ms, value, a]) => ({
          timeUnixNano: nanos(T + ms),
          value: value === undefined ? { case: undefined } : { case: 'asDouble', value },
          attributes: attrs(a ?? {}),
        })),
      },
    },
  }
}

function histogram(name: string, ms: number, count: bigint, sum?: number): MetricInit {
  return {
    name,
    data: { case: 'histogram', value: { dataPoints: [{ timeUnixNano: nanos(T + ms), count, sum }] } },
  }
}

interface ResourceInit {
  resource: Attributes
  scope?: string
  metrics: MetricInit[]
}

async function parse(resources: ResourceInit[], device?: string) {
  const request = create(ExportMetricsServiceRequestSchema, {
    resourceMetrics: resources.map((r) => ({
      resource: { attributes: attrs(r.resource) },
      scopeMetrics: [{ scope: { name: r.scope ?? 's' }, metrics: r.metrics }],
    })),
  })
  const parser = metricsParser({ encoding: 'protobuf', deviceAttributes: ['device.id'] })
  return parser.binary(toBinary(ExportMetricsServiceRequestSchema, request), NOW, async () => {}, device)
}

const shown = (records: DeviceRecord[]) =>
  records.map((r) => [r.deviceId, r.ts - T, Object.fromEntries(r.metrics)] as const)

describe('metricsParser', () => {
  it('makes one record of the gauges, sums and histograms a device reads at one time', async () => {
    const out = await parse([
      {
        resource: { 'device.id': 'pump-7' },
        metrics: [
          gauge('pressure', [
            [0, 4.2],
            [1000, 4.3],
          ]),
          gauge('temp', [
            [0, 61],
            [1000, 62],
          ]),
          {
            name: 'starts',
            data: {
              case: 'sum',
              value: { dataPoints: [{ timeUnixNano: nanos(T), value: { case: 'asInt', value: 3n } }] },
            },
          },
          histogram('latency', 0, 2n, 40),
        ],
      },
    ])
    expect(out.rejectedCount).toBe(0)
    expect(shown(out.records)).toEqual([
      ['pump-7', 0, { pressure: 4.2, temp: 61, starts: 3, 'latency.count': 2, 'latency.sum': 40 }],
      ['pump-7', 1000, { pressure: 4.3, temp: 62 }],
    ])
    expect(JSON.parse(out.records[0]!.body)).toEqual({
      deviceId: 'pump-7',
      ts: T,
      metrics: { pressure: 4.2, temp: 61, starts: 3, 'latency.count': 2, 'latency.sum': 40 },
      resource: { 'device.id': 'pump-7' },
      scope: 's',
    })
  })

  it('keeps points apart that differ in attribute set, scope or resource; the same set in another order is one', async () => {
    const out = await parse([
      {
        resource: { 'device.id': 'a' },
        metrics: [
          gauge('x', [
            [0, 1, { line: 'l1', zone: 'z' }],
            [0, 2, { line: 'l2' }],
          ]),
          gauge('y', [[0, 3, { zone: 'z', line: 'l1' }]]),
        ],
      },
      { resource: { 'device.id': 'a' }, scope: 'other', metrics: [gauge('y', [[0, 4]])] },
      { resource: { 'device.id': 'a', site: 'b' }, metrics: [gauge('y', [[0, 5]])] },
      // The same resource and scope again, in another ResourceMetrics: the same key as the first.
      { resource: { 'device.id': 'a' }, metrics: [gauge('z', [[0, 6]])] },
    ])
    expect(shown(out.records)).toEqual([
      ['a', 0, { x: 1, y: 3 }],
      ['a', 0, { x: 2 }],
      ['a', 0, { y: 4 }],
      ['a', 0, { y: 5 }],
      ['a', 0, { z: 6 }],
    ])
    expect(JSON.parse(out.records[0]!.body).attributes).toEqual({ line: 'l1', zone: 'z' })
  })

  it('puts a name repeated at one time and attribute set in another record, pairing the readings in order', async () => {
    const out = await parse([
      {
        resource: { 'device.id': 'a' },
        metrics: [
          gauge('x', [
            [0, 1],
            [0, 2],
            [0, 3],
          ]),
          gauge('y', [
            [0, 10],
            [0, 20],
          ]),
          gauge('x', [[0, 4]]),
        ],
      },
    ])
    expect(out.rejectedCount).toBe(0)
    expect(shown(out.records)).toEqual([
      ['a', 0, { x: 1, y: 10 }],
      ['a', 0, { x: 2, y: 20 }],
      ['a', 0, { x: 3 }],
      ['a', 0, { x: 4 }],
    ])
  })

  it('rejects a bad point alone, by its index, counting data points', async () => {
    const out = await parse([
      {
        resource: { 'device.id': 'a' },
        metrics: [
          gauge('ok', [
            [0, 1],
            [1, Number.NaN],
            [2, undefined],
          ]),
          gauge('x'.repeat(65), [[0, 2]]),
          histogram('h'.repeat(60), 0, 1n), // `.count` takes it past 64 characters
          gauge('other', [[0, 3]]),
        ],
      },
      { resource: {}, metrics: [gauge('ok', [[0, 4]])] },
      { resource: { 'device.id': 'bad\u0001id' }, metrics: [gauge('ok', [[0, 5]])] },
      { resource: { 'device.id': 'a' }, metrics: [gauge('late', [[7e12, 6]])] },
    ])
    expect(shown(out.records)).toEqual([['a', 0, { ok: 1, other: 3 }]])
    expect(out.rejectedCount).toBe(7)
    expect(out.rejected.map((r) => [r.index, r.reason])).toEqual([
      [1, 'metric ok is not a finite number'],
      [2, 'the data point has no value'],
      [3, 'metric names must be 1-64 characters'],
      [4, 'metric names must be 1-64 characters'],
      [6, 'no device attribute: a data point or its resource needs one of device.id'],
      [7, expect.stringMatching(/^deviceId must be/)],
      [8, expect.stringMatching(/^timestamp out of range/)],
    ])
    expect(JSON.parse(out.rejected[0]!.raw!)).toEqual({
      name: 'ok',
      dataPoint: { timeUnixNano: String(nanos(T + 1)), asDouble: 'NaN' },
    })
  })

  it('starts another record past the metrics a record may carry', async () => {
    const names = Array.from({ length: LIMITS.metricsPerRecord + 6 }, (_, i) => `m${i}`)
    const out = await parse([
      { resource: { 'device.id': 'a' }, metrics: names.map((n, i) => gauge(n, [[0, i]])) },
    ])
    expect(out.rejectedCount).toBe(0)
    expect(out.records.map((r) => r.metrics.length)).toEqual([LIMITS.metricsPerRecord, 6])
    expect(out.records.flatMap((r) => r.metrics.map(([n]) => n))).toEqual(names)
  })

  it('starts another record before one grows past the size limit, and rejects a point too large alone', async () => {
    // A resource that leaves room for a few metrics only.
    const big = { 'device.id': 'a', pad: 'p'.repeat(LIMITS.recordBytes - 400) }
    const names = Array.from({ length: 12 }, (_, i) => `metric.${'n'.repeat(20)}.${i}`)
    const out = await parse([{ resource: big, metrics: names.map((n) => gauge(n, [[0, 1.25]])) }])
    expect(out.rejectedCount).toBe(0)
    expect(out.records.length).toBeGreaterThan(1)
    for (const r of out.records) expect(r.body.length).toBeLessThanOrEqual(LIMITS.recordBytes)
    expect(out.records.flatMap((r) => r.metrics.map(([n]) => n))).toEqual(names)
    // A record is filled exactly up to the limit: one more metric would not have fit.
    const first = out.records[0]!
    expect(first.body.length + `,"${names[0]}":1.25`.length).toBeGreaterThan(LIMITS.recordBytes)

    // Room for `"m":1` (5 characters) but not for a 62-character name.
    const tight = { 'device.id': 'a', pad: 'p'.repeat(LIMITS.recordBytes - 140) }
    const alone = await parse([
      { resource: tight, metrics: [gauge(`m.${'n'.repeat(60)}`, [[0, 1]]), gauge('m', [[0, 1]])] },
    ])
    expect(alone.rejected.map((r) => [r.index, r.reason])).toEqual([[0, TOO_LARGE]])
    expect(shown(alone.records)).toEqual([['a', 0, { m: 1 }]])
  })

  it('keeps a resource of many attributes on the records of its many points; one too large for a record refuses them', async () => {
    const times = Array.from({ length: 500 }, (_, i): [number, number] => [i, i])
    const resource = (attributes: number) => {
      const out: Attributes = {}
      for (let i = 0; i < attributes; i++) out[`a${i}`] = i
      return { ...out, 'device.id': 'a' }
    }
    const out = await parse([{ resource: resource(2000), metrics: [gauge('x', times), gauge('y', times)] }])
    expect(out.rejectedCount).toBe(0)
    expect(out.records).toHaveLength(500)
    expect(out.records.every((r, i) => r.ts === T + i && r.metrics.length === 2)).toBe(true)
    const large = await parse([
      { resource: resource(20_000), metrics: [gauge('x', times), gauge('y', times)] },
    ])
    expect(large.records).toEqual([])
    expect(large.rejectedCount).toBe(1000)
    expect(large.rejected[0]!.reason).toMatch(/^the resource's attributes alone are larger than a record/)
  })

  it("gives a device token's device to points that name none", async () => {
    const out = await parse([{ resource: {}, metrics: [gauge('x', [[0, 1]]), gauge('y', [[0, 2]])] }], 'own')
    expect(shown(out.records)).toEqual([['own', 0, { x: 1, y: 2 }]])
  })
})

describe('metricsParser on arbitrary exports', () => {
  const point = fc.record({
    device: fc.constantFrom('a', 'b', 'bad\u0001id', undefined),
    ms: fc.constantFrom(0, 1, 2),
    value: fc.oneof(fc.double(), fc.constant(undefined)),
    attributes: fc.constantFrom<Attributes>({}, { line: 'l' }, { zone: 1 }),
  })
  const metric = fc.record({
    name: fc.constantFrom('a', 'b', 'a.count', 'x'.repeat(65)),
    kind: fc.constantFrom('gauge', 'histogram'),
    points: fc.array(point, { maxLength: 6 }),
  })

  it("stores every valid point's values once, under their names, on its device and time; counts the rest", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(metric, { maxLength: 8 }), async (metrics) => {
        // The device on each point's attributes; the resource names none.
        const inits: MetricInit[] = metrics.map((m) =>
          m.kind === 'gauge'
            ? gauge(
                m.name,
                m.points.map((p) => [p.ms, p.value, { ...p.attributes, ...deviceAttribute(p.device) }]),
              )
            : {
                name: m.name,
                data: {
                  case: 'histogram',
                  value: {
                    dataPoints: m.points.map((p) => ({
                      timeUnixNano: nanos(T + p.ms),
                      count: 2n,
                      sum: p.value,
                      attributes: attrs({ ...p.attributes, ...deviceAttribute(p.device) }),
                    })),
                  },
                },
              },
        )
        const out = await parse([{ resource: {}, metrics: inits }])
        const expected: string[] = []
        let invalid = 0
        for (const m of metrics)
          for (const p of m.points) {
            const values: [string, number | undefined][] = [[m.name, p.value]]
            if (m.kind === 'histogram') {
              values[0] = [`${m.name}.count`, 2]
              if (p.value !== undefined) values.push([`${m.name}.sum`, p.value])
            }
            const ok =
              p.device !== undefined &&
              p.device !== 'bad\u0001id' &&
              values.every(([n, v]) => v !== undefined && Number.isFinite(v) && n.length <= 64)
            if (ok) for (const [n, v] of values) expected.push(JSON.stringify([p.device, p.ms, n, v]))
            else invalid++
          }
        const got = out.records.flatMap((r) =>
          r.metrics.map(([n, v]) => JSON.stringify([r.deviceId, r.ts - T, n, v])),
        )
        expect(got.sort()).toEqual(expected.sort())
        expect(out.rejectedCount).toBe(invalid)
        for (const r of out.records) {
          // No name twice in a record, and its body holds its metrics.
          expect(new Set(r.metrics.map(([n]) => n)).size).toBe(r.metrics.length)
          expect(Object.keys(JSON.parse(r.body).metrics)).toHaveLength(r.metrics.length)
        }
        // The same export gives the same records in the same order.
        const again = await parse([{ resource: {}, metrics: inits }])
        expect(again.records.map((r) => r.body)).toEqual(out.records.map((r) => r.body))
      }),
      { numRuns: runs(300) },
    )
  })
})

describe('metricsParser on damaged exports', () => {
  it('refuses a body that is no export with a BodyError, and keeps every record within the limits', async () => {
    const parser = metricsParser({ encoding: 'protobuf', deviceAttributes: ['device.id'] })
    const valid = create(ExportMetricsServiceRequestSchema, {
      resourceMetrics: [
        {
          resource: { attributes: attrs({ 'device.id': 'a' }) },
          scopeMetrics: [
            { metrics: [gauge('x', [[0, 1]]), histogram('h', 0, 3n, 2.5), gauge('y', [[0, 2]])] },
          ],
        },
      ],
    })
    const bytes = toBinary(ExportMetricsServiceRequestSchema, valid)
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        async (flips, cut) => {
          const body = bytes.slice(0, bytes.length - (cut % 4))
          for (const [at, value] of flips) body[at % body.length] = value
          let out: Awaited<ReturnType<typeof parser.binary>>
          try {
            out = await parser.binary(body, NOW, async () => {})
          } catch (e) {
            expect(e).toBeInstanceOf(BodyError)
            return
          }
          for (const r of out.records) {
            expect(r.metrics.length).toBeLessThanOrEqual(LIMITS.metricsPerRecord)
            expect(r.body.length).toBeLessThanOrEqual(LIMITS.recordBytes)
          }
          expect(out.rejected.length).toBeLessThanOrEqual(out.rejectedCount)
        },
      ),
      { numRuns: runs(300) },
    )
  })
})

function deviceAttribute(device: string | undefined): Attributes {
  return device === undefined ? {} : { 'device.id': device }
}
