// POST /v1/otlp/v1/metrics's body into device records and rejections, for the one ingest path. One
// data point, one record, its value the metric named as the OTLP metric is:
//
//   resource {device.id: pump-7} · gauge "pump.pressure" · point {time 1700000000000000000,
//   asDouble 4.2, attributes {line: "a"}}
//   → {"deviceId":"pump-7","ts":1700000000000,"time":"2023-11-14T22:13:20Z",
//      "metrics":{"pump.pressure":4.2},"attributes":{"line":"a"},"resource":{"device.id":"pump-7"}}
//
// Gauges and sums give their value (an int64 as the nearest double); histograms, exponential
// histograms and summaries give `<name>.count` and `<name>.sum` (when the point has a sum). The
// device as for logs (attributes.ts: the point's attributes before the resource's). Rejections are
// listed by the point's place in the request (`index`, counted across every metric).
import { type DescMessage, type Message, toJsonString } from '@bufbuild/protobuf'
import { Collector } from '../../domain/ingest-body.js'
import type { BinaryBodyParser } from '../../domain/ingest-prepare.js'
import { type RecordResult, toRecord } from '../../domain/record.js'
import { deviceOf, keepAttributes, type Origin, originOf } from './attributes.js'
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
import { recordTime } from './record-time.js'
import { decodeRequest } from './request-body.js'

/** What every kind of data point has that a record is made of. */
interface Point extends Message {
  attributes: KeyValue[]
  timeUnixNano: bigint
}

/** A point's metrics, or why it has none. */
type Values = Record<string, number> | string

export function metricsParser(options: OtlpBodyOptions): BinaryBodyParser {
  return {
    textual: options.encoding === 'json',
    binary: async (bytes, now, pause, device) => {
      const request = decodeRequest(ExportMetricsServiceRequestSchema, bytes, options.encoding)
      const c = new Collector(pause)
      let index = 0
      for (const resourceMetrics of request.resourceMetrics) {
        const resource = resourceMetrics.resource?.attributes ?? []
        for (const scopeMetrics of resourceMetrics.scopeMetrics) {
          const at = originOf(resource, scopeMetrics.scope?.name)
          for (const metric of scopeMetrics.metrics) {
            for (const [schema, point, values] of pointsOf(metric)) {
              if (c.due()) await c.pauseNow()
              const r = pointRecord(point, values, at, options, now, device)
              if (r.ok) c.out.records.push(r.record)
              else c.reject({ index }, r.reason, () => pointText(metric, schema, point))
              index++
            }
          }
        }
      }
      return c.out
    },
  }
}

/** A metric's points with their schema (for the dead letter) and their values. */
function* pointsOf(metric: Metric): Generator<[DescMessage, Point, Values]> {
  const { name } = metric
  const data = metric.data
  switch (data.case) {
    case 'gauge':
    case 'sum':
      for (const p of data.value.dataPoints) {
        const v = p.value
        const values: Values =
          v.case === 'asDouble'
            ? { [name]: v.value }
            : v.case === 'asInt'
              ? { [name]: Number(v.value) }
              : 'the data point has no value'
        yield [NumberDataPointSchema, p, values]
      }
      return
    case 'histogram':
      for (const p of data.value.dataPoints) yield [CountedDataPointSchema, p, counted(name, p.count, p.sum)]
      return
    case 'exponentialHistogram':
      for (const p of data.value.dataPoints)
        yield [ExponentialDataPointSchema, p, counted(name, p.count, p.sum)]
      return
    case 'summary':
      for (const p of data.value.dataPoints) yield [SummaryDataPointSchema, p, counted(name, p.count, p.sum)]
      return
    default:
      return // no data: no points
  }
}

function counted(name: string, count: bigint, sum: number | undefined): Values {
  const values: Record<string, number> = { [`${name}.count`]: Number(count) }
  if (sum !== undefined) values[`${name}.sum`] = sum
  return values
}

function pointRecord(
  point: Point,
  values: Values,
  at: Origin,
  options: OtlpBodyOptions,
  now: number,
  device: string | undefined,
): RecordResult {
  if (typeof values === 'string') return { ok: false, reason: values }
  const deviceId = deviceOf(options.deviceAttributes, point.attributes, at.resource) ?? device
  if (deviceId === undefined)
    return {
      ok: false,
      reason: `no device attribute: a data point or its resource needs one of ${options.deviceAttributes.join(', ')}`,
    }
  const record: Record<string, unknown> = { deviceId, ...recordTime(point.timeUnixNano), metrics: values }
  keepAttributes(record, point.attributes, at)
  return toRecord(record, now, undefined, device)
}

/** A rejected point as its dead letter: the metric's name with the point in OTLP/JSON. */
function pointText(metric: Metric, schema: DescMessage, point: Point): string {
  const json = toJsonString(schema, point as never)
  return `{"name":${JSON.stringify(metric.name)},"dataPoint":${json}}`
}
