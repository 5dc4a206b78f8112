// POST /v1/otlp/v1/metrics's body into device records and rejections, for the one ingest path. The
// data points of one export that share a device, a time, an attribute set, a resource and a scope
// are one record holding all their metrics, each named as its OTLP metric (point-groups.ts):
//
//   resource {device.id: pump-7} · gauge "pump.pressure" · point {time 1700000000000000000,
//   asDouble 4.2, attributes {line: "a"}} · gauge "pump.temp" · point {the same time and
//   attributes, asInt 61}
//   → {"deviceId":"pump-7","ts":1700000000000,"metrics":{"pump.pressure":4.2,"pump.temp":61},
//      "attributes":{"line":"a"},"resource":{"device.id":"pump-7"}}
//
// Gauges and sums give their value (an int64 as the nearest double); histograms, exponential
// histograms and summaries give `<name>.count` and `<name>.sum` (when the point has a sum). The
// device as for logs (attributes.ts: the point's attributes before the resource's). Attribute sets
// are the same when they hold the same keys and values, in any order. Each point is checked on its
// own before it joins a record (its value, device, metric name, time), so one bad point never
// costs the others of its record; rejections count data points, as OTLP's partial success does,
// listed by the point's place in the request (`index`, counted across every metric).
import { type DescMessage, type Message, toJsonString } from '@bufbuild/protobuf'
import { Collector } from '../../domain/ingest-body.js'
import type { BinaryBodyParser } from '../../domain/ingest-prepare.js'
import { LIMITS, toRecord } from '../../domain/record.js'
import {
  deviceAmong,
  inScope,
  keepAttributes,
  type Origin,
  objectOf,
  originOf,
  type Plain,
  resourceDevices,
} from './attributes.js'
import type { KeyValue } from './gen/common_pb.js'
import {
  CountedDataPointSchema,
  ExponentialDataPointSchema,
  ExportMetricsServiceRequestSchema,
  type Metric,
  NumberDataPointSchema,
  SummaryDataPointSchema,
} from './gen/metrics_pb.js'
import type { OtlpBodyOptions } from './logs-body.js'
import { PointGroups, type RecordBase } from './point-groups.js'
import { recordTime } from './record-time.js'
import { decodeRequest } from './request-body.js'

const RESOURCE_TOO_LARGE = `the resource's attributes alone are larger than a record may be (${LIMITS.recordBytes} bytes)`

/** What every kind of data point has that a record is made of. */
interface Point extends Message {
  attributes: KeyValue[]
  timeUnixNano: bigint
}

/** A point's values (in the order of its metric's names), or why it has none. */
type Values = number[] | string

/** A point in a record: what its dead letter needs should the record fail. */
interface Member {
  index: number
  metric: Metric
  schema: DescMessage
  point: Point
}

/** The record metric names a metric's points give, their JSON lengths, or why they cannot be. */
interface Names {
  names: string[]
  lengths: number[]
  problem: string | undefined
}

export function metricsParser(options: OtlpBodyOptions): BinaryBodyParser {
  return {
    textual: options.encoding === 'json',
    binary: async (bytes, now, pause, device) => {
      const request = decodeRequest(ExportMetricsServiceRequestSchema, bytes, options.encoding)
      const c = new Collector(pause)
      const groups = new PointGroups<Member>()
      // Resources, scopes and devices by number in the points' keys: a key then costs the point's
      // own attributes, not its resource's (a long device id or resource is read once).
      const ids = {
        resources: new Map<string, number>(),
        origins: new Map<string, number>(),
        devices: new Map<string, number>(),
      }
      let index = 0
      for (const resourceMetrics of request.resourceMetrics) {
        // What a resource gives its points is found once, not once per scope or point: a resource
        // of many attributes costs its size, however many scopes and points it has.
        const resource = resourceMetrics.resource?.attributes ?? []
        const resourceIds = resourceDevices(options.deviceAttributes, resource)
        const plain = originOf(resource, undefined)
        // Resources and scopes alike in what records keep of them share records.
        const resourceId = numberOf(ids.resources, plain.resourcePlain ? sortedText(plain.resourcePlain) : '')
        // Every record keeps its resource: one too large for a record refuses its points at once,
        // without serialising it again for each of their records.
        const resourceTooLarge =
          plain.resourcePlain !== undefined && JSON.stringify(plain.resourcePlain).length > LIMITS.recordBytes
        for (const scopeMetrics of resourceMetrics.scopeMetrics) {
          const at = inScope(plain, scopeMetrics.scope?.name)
          const origin = numberOf(ids.origins, `${resourceId} ${at.scope ?? ''}`)
          for (const metric of scopeMetrics.metrics) {
            const names = namesOf(metric)
            for (const [schema, point, values] of pointsOf(metric)) {
              if (c.due()) await c.pauseNow()
              const member = { index, metric, schema, point }
              const where = { at, resourceIds, origin, resourceTooLarge }
              const why = place(groups, member, values, names, where, ids.devices, options, now, device)
              if (why !== undefined) c.reject({ index }, why, () => pointText(member))
              index++
            }
          }
        }
      }
      for (const { fields, members } of groups.records) {
        if (c.due()) await c.pauseNow()
        const r = toRecord(fields, now, undefined, device)
        if (r.ok) c.out.records.push(r.record)
        // Not reached: each point was checked as its record will be. Should it be, its points are
        // rejected (after the others, out of index order) rather than lost.
        else for (const m of members) c.reject({ index: m.index }, r.reason, () => pointText(m))
      }
      return c.out
    },
  }
}

/** Puts a point in its record; the reason when it is rejected. */
function place(
  groups: PointGroups<Member>,
  member: Member,
  values: Values,
  names: Names,
  where: { at: Origin; resourceIds: (string | undefined)[]; origin: number; resourceTooLarge: boolean },
  devices: Map<string, number>,
  options: OtlpBodyOptions,
  now: number,
  device: string | undefined,
): string | undefined {
  if (typeof values === 'string') return values
  const { point } = member
  const { at, origin } = where
  const deviceId = deviceAmong(options.deviceAttributes, point.attributes, where.resourceIds) ?? device
  if (deviceId === undefined)
    return `no device attribute: a data point or its resource needs one of ${options.deviceAttributes.join(', ')}`
  if (where.resourceTooLarge) return RESOURCE_TOO_LARGE
  if (names.problem !== undefined) return names.problem
  for (let i = 0; i < values.length; i++)
    if (!Number.isFinite(values[i])) return metricsProblem([[names.names[i]!, values[i]!]])
  const attributes = point.attributes.length > 0 ? sortedText(objectOf(point.attributes)) : ''
  const key = `${numberOf(devices, deviceId)} ${point.timeUnixNano} ${origin} ${attributes}`
  const open = (): RecordBase | string => {
    const fields: Record<string, unknown> = { deviceId, ...recordTime(point.timeUnixNano), metrics: {} }
    keepAttributes(fields, point.attributes, at)
    const r = toRecord(fields, now, undefined, device)
    return r.ok ? { fields, size: r.record.body.length } : r.reason
  }
  return groups.add(key, open, names.names, names.lengths, values, member)
}

/** A metric's points with their schema (for the dead letter) and their values. */
function* pointsOf(metric: Metric): Generator<[DescMessage, Point, Values]> {
  const data = metric.data
  switch (data.case) {
    case 'gauge':
    case 'sum':
      for (const p of data.value.dataPoints) {
        const v = p.value
        const values: Values =
          v.case === 'asDouble'
            ? [v.value]
            : v.case === 'asInt'
              ? [Number(v.value)]
              : 'the data point has no value'
        yield [NumberDataPointSchema, p, values]
      }
      return
    case 'histogram':
      for (const p of data.value.dataPoints) yield [CountedDataPointSchema, p, counted(p.count, p.sum)]
      return
    case 'exponentialHistogram':
      for (const p of data.value.dataPoints) yield [ExponentialDataPointSchema, p, counted(p.count, p.sum)]
      return
    case 'summary':
      for (const p of data.value.dataPoints) yield [SummaryDataPointSchema, p, counted(p.count, p.sum)]
      return
    default:
      return // no data: no points
  }
}

function counted(count: bigint, sum: number | undefined): number[] {
  return sum === undefined ? [Number(count)] : [Number(count), sum]
}

/** The names a metric's points give: its own, or `.count` and `.sum` (a point without a sum gives the first). */
function namesOf(metric: Metric): Names {
  const { name } = metric
  const single = metric.data.case === 'gauge' || metric.data.case === 'sum'
  const names = single ? [name] : [`${name}.count`, `${name}.sum`]
  return {
    names,
    lengths: names.map((n) => JSON.stringify(n).length),
    problem: metricsProblem(names.map((n) => [n, 0])),
  }
}

/** Why a record would refuse these metrics (record.ts says), or undefined. */
function metricsProblem(entries: [string, number][]): string | undefined {
  const metrics: Record<string, number> = Object.create(null)
  for (const [name, value] of entries) metrics[name] = value
  const r = toRecord({ deviceId: 'd', metrics }, 0)
  return r.ok ? undefined : r.reason
}

/** The number a text has in `numbers`, given the next one the first time. */
function numberOf(numbers: Map<string, number>, text: string): number {
  const n = numbers.get(text)
  if (n !== undefined) return n
  numbers.set(text, numbers.size)
  return numbers.size - 1
}

/** An object's JSON with its keys in order: the same text for the same keys and values in any order. */
function sortedText(object: Record<string, Plain>): string {
  return JSON.stringify(
    Object.keys(object)
      .sort()
      .map((k) => [k, object[k]]),
  )
}

/** A rejected point as its dead letter: the metric's name with the point in OTLP/JSON. */
function pointText({ metric, schema, point }: Member): string {
  const json = toJsonString(schema, point as never)
  return `{"name":${JSON.stringify(metric.name)},"dataPoint":${json}}`
}
