// OTLP exports (POST /v1/otlp/v1/logs, /v1/otlp/v1/metrics) on shards. A collector or gateway
// exports many devices' records at once, so an ingest token's export is cut by shard: each log
// record or data point goes to the shard of the device its attributes name (the route's own
// lookup, protocols/otlp/attributes.ts), inside copies of its resource and scope; entries that
// name no device go with the first one that does (its shard rejects them, as one writer would).
// Parts travel as protobuf whatever the export's encoding, so the shards' answers are read as
// bytes and the batch is answered in the export's own encoding: the rejected counts added up, the
// first refused part's error as the batch's.
import { fromBinary, toBinary } from '@bufbuild/protobuf'
import { type OtlpAnswer, type Signal, statusAnswer, success } from '../protocols/otlp/answers.js'
import { deviceAmong, resourceDevices } from '../protocols/otlp/attributes.js'
import type { KeyValue } from '../protocols/otlp/gen/common_pb.js'
import {
  type ExportLogsServiceRequest,
  ExportLogsServiceRequestSchema,
  ExportLogsServiceResponseSchema,
  type LogRecord,
} from '../protocols/otlp/gen/logs_pb.js'
import {
  type ExportMetricsServiceRequest,
  ExportMetricsServiceRequestSchema,
  ExportMetricsServiceResponseSchema,
  type Metric,
} from '../protocols/otlp/gen/metrics_pb.js'
import { StatusSchema } from '../protocols/otlp/gen/status_pb.js'
import { decodeRequest, type OtlpEncoding } from '../protocols/otlp/request-body.js'
import { shardOf } from './shards.js'

/** A shard's part of an export, as protobuf. */
export interface OtlpPart {
  shard: number
  body: Uint8Array
}

export type OtlpPlan = { whole: number } | { parts: OtlpPart[] }

/** How an export goes to the shards; one that cannot be read goes whole to shard 0, which answers it. */
export function planExport(
  signal: Signal,
  encoding: OtlpEncoding,
  bytes: Uint8Array,
  deviceAttributes: readonly string[],
  shards: number,
): OtlpPlan {
  // A resource's device ids are found once for all its entries (resourceDevices), so an entry's
  // shard costs its own attributes, however many its resource has.
  const resources = new Map<KeyValue[], (string | undefined)[]>()
  const shardFor = (own: KeyValue[], resource: KeyValue[]) => {
    const ids = resources.get(resource) ?? resourceDevices(deviceAttributes, resource)
    resources.set(resource, ids)
    const device = deviceAmong(deviceAttributes, own, ids)
    return device === undefined ? undefined : shardOf(device, shards)
  }
  try {
    return signal === 'logs'
      ? planLogs(decodeRequest(ExportLogsServiceRequestSchema, bytes, encoding), shardFor)
      : planMetrics(decodeRequest(ExportMetricsServiceRequestSchema, bytes, encoding), shardFor)
  } catch {
    return { whole: 0 }
  }
}

type ShardFor = (own: KeyValue[], resource: KeyValue[]) => number | undefined

/**
 * Each entry's shard, in entry order; an entry that names no device gets the first shard that is
 * named (shard 0 when none is).
 */
function shardsOf<E>(entries: [E, number | undefined][]): Map<E, number> {
  const first = entries.find(([, s]) => s !== undefined)?.[1] ?? 0
  return new Map(entries.map(([e, s]) => [e, s ?? first]))
}

/** The shards in the order their first entry comes, and what each one's part is. */
function planned<R>(
  order: Map<unknown, number>,
  partOf: (shard: number) => R,
  encode: (r: R) => Uint8Array,
): OtlpPlan {
  const shards = [...new Set(order.values())]
  if (shards.length <= 1) return { whole: shards[0] ?? 0 }
  return { parts: shards.map((shard) => ({ shard, body: encode(partOf(shard)) })) }
}

function planLogs(request: ExportLogsServiceRequest, shardFor: ShardFor): OtlpPlan {
  const order = shardsOf(
    request.resourceLogs.flatMap((rl) =>
      rl.scopeLogs.flatMap((sl) =>
        sl.logRecords.map((lr): [LogRecord, number | undefined] => [
          lr,
          shardFor(lr.attributes, attributesOf(rl)),
        ]),
      ),
    ),
  )
  // The export with only the shard's log records, in copies of their resources and scopes.
  const partOf = (shard: number): ExportLogsServiceRequest => ({
    ...request,
    resourceLogs: request.resourceLogs
      .map((rl) => ({
        ...rl,
        scopeLogs: rl.scopeLogs
          .map((sl) => ({ ...sl, logRecords: sl.logRecords.filter((lr) => order.get(lr) === shard) }))
          .filter((sl) => sl.logRecords.length > 0),
      }))
      .filter((rl) => rl.scopeLogs.length > 0),
  })
  return planned(order, partOf, (r) => toBinary(ExportLogsServiceRequestSchema, r))
}

type Point = { attributes: KeyValue[] }

function pointsOf(metric: Metric): Point[] {
  return metric.data.case === undefined ? [] : metric.data.value.dataPoints
}

function planMetrics(request: ExportMetricsServiceRequest, shardFor: ShardFor): OtlpPlan {
  const order = shardsOf(
    request.resourceMetrics.flatMap((rm) =>
      rm.scopeMetrics.flatMap((sm) =>
        sm.metrics.flatMap((m) =>
          pointsOf(m).map((p): [Point, number | undefined] => [p, shardFor(p.attributes, attributesOf(rm))]),
        ),
      ),
    ),
  )
  // The export with only the shard's data points, in copies of their metrics, scopes and resources.
  const metricFor = (m: Metric, shard: number): Metric =>
    ({
      ...m,
      data: {
        ...m.data,
        value: { ...m.data.value, dataPoints: pointsOf(m).filter((p) => order.get(p) === shard) },
      },
    }) as Metric
  const partOf = (shard: number): ExportMetricsServiceRequest => ({
    ...request,
    resourceMetrics: request.resourceMetrics
      .map((rm) => ({
        ...rm,
        scopeMetrics: rm.scopeMetrics
          .map((sm) => ({
            ...sm,
            metrics: sm.metrics.map((m) => metricFor(m, shard)).filter((m) => pointsOf(m).length > 0),
          }))
          .filter((sm) => sm.metrics.length > 0),
      }))
      .filter((rm) => rm.scopeMetrics.length > 0),
  })
  return planned(order, partOf, (r) => toBinary(ExportMetricsServiceRequestSchema, r))
}

/** One empty list for every resource without attributes: shardFor then keys them all as one. */
const NO_ATTRIBUTES: KeyValue[] = []

function attributesOf(resourceEntries: { resource?: { attributes: KeyValue[] } | undefined }): KeyValue[] {
  return resourceEntries.resource?.attributes ?? NO_ATTRIBUTES
}

/**
 * A part with the batch's fingerprint (idempotency.ts) as a field no OTLP message has (15, bytes),
 * which decoders skip: a part's stored body hash then matches only when the whole export is the same.
 */
export function withFingerprint(body: Uint8Array, fingerprint: string): Uint8Array {
  const bytes = new TextEncoder().encode(fingerprint)
  if (bytes.length > 127) throw new Error('a fingerprint is shorter than 128 bytes')
  const out = new Uint8Array(body.length + 2 + bytes.length)
  out.set(body)
  out.set([(15 << 3) | 2, bytes.length], body.length)
  out.set(bytes, body.length + 2)
  return out
}

/** The batch's answer from its parts' (protobuf) answers, in the export's encoding. */
export function mergeAnswers(signal: Signal, encoding: OtlpEncoding, answers: Uint8Array[]): OtlpAnswer {
  let rejected = 0n
  const messages: string[] = []
  for (const bytes of answers) {
    const partial =
      signal === 'logs'
        ? fromBinary(ExportLogsServiceResponseSchema, bytes).partialSuccess
        : fromBinary(ExportMetricsServiceResponseSchema, bytes).partialSuccess
    if (!partial) continue
    rejected += 'rejectedLogRecords' in partial ? partial.rejectedLogRecords : partial.rejectedDataPoints
    if (partial.errorMessage) messages.push(partial.errorMessage)
  }
  const partial = rejected > 0n ? { rejected: Number(rejected), message: messages.join('; ') } : undefined
  return success(signal, encoding, partial, {})
}

/** A part's refusal (a protobuf google.rpc.Status) in the export's encoding. */
export function refusalOf(
  status: number,
  bytes: Uint8Array,
  encoding: OtlpEncoding,
  headers: Headers,
): OtlpAnswer {
  let message = 'a shard refused its part of the export'
  try {
    message = fromBinary(StatusSchema, bytes).message || message
  } catch {}
  const kept: Record<string, string> = {}
  for (const name of ['retry-after', 'www-authenticate']) {
    const value = headers.get(name)
    if (value !== null) kept[name] = value
  }
  return statusAnswer(encoding, status as 400, message, kept)
}
