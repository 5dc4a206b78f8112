// OTLP export requests built in tests and the protocols benchmark: log records and gauge points
// of named devices, encoded as an exporter encodes them (binary protobuf, or OTLP/JSON with hex
// trace ids), with the attribute helpers that make it short to write them.

import type { MessageInitShape } from '@bufbuild/protobuf'
import { create, toBinary, toJsonString } from '@bufbuild/protobuf'
import type { AnyValueSchema, KeyValueSchema } from '../../functions/protocols/otlp/gen/common_pb.js'
import {
  type ExportLogsServiceRequest,
  ExportLogsServiceRequestSchema,
  type LogRecordSchema,
} from '../../functions/protocols/otlp/gen/logs_pb.js'
import {
  type ExportMetricsServiceRequest,
  ExportMetricsServiceRequestSchema,
} from '../../functions/protocols/otlp/gen/metrics_pb.js'

type Value = string | number | boolean

/** An attribute value: strings, booleans, doubles; integers written `123n` are int64. */
export function anyValue(v: Value | bigint): MessageInitShape<typeof AnyValueSchema> {
  if (typeof v === 'string') return { value: { case: 'stringValue', value: v } }
  if (typeof v === 'boolean') return { value: { case: 'boolValue', value: v } }
  if (typeof v === 'bigint') return { value: { case: 'intValue', value: v } }
  return { value: { case: 'doubleValue', value: v } }
}

export function attrs(pairs: Record<string, Value | bigint>): MessageInitShape<typeof KeyValueSchema>[] {
  return Object.entries(pairs).map(([key, v]) => ({ key, value: anyValue(v) }))
}

export const nanos = (ms: number) => BigInt(ms) * 1_000_000n

export interface LogEntry {
  device?: string
  ts: number
  severity?: number
  text?: string
  msg?: string
  attributes?: Record<string, Value | bigint>
}

/** One resource per device (device.id on the resource), one scope, the entries in order. */
export function logsRequest(entries: LogEntry[]): ExportLogsServiceRequest {
  const byDevice = new Map<string | undefined, LogEntry[]>()
  for (const e of entries) byDevice.set(e.device, [...(byDevice.get(e.device) ?? []), e])
  return create(ExportLogsServiceRequestSchema, {
    resourceLogs: [...byDevice].map(([device, list]) => ({
      resource: { attributes: device === undefined ? [] : attrs({ 'device.id': device }) },
      scopeLogs: [
        {
          scope: { name: 'test' },
          logRecords: list.map(
            (e): MessageInitShape<typeof LogRecordSchema> => ({
              timeUnixNano: nanos(e.ts),
              severityNumber: e.severity ?? 0,
              severityText: e.text ?? '',
              body: e.msg === undefined ? undefined : anyValue(e.msg),
              attributes: attrs(e.attributes ?? {}),
            }),
          ),
        },
      ],
    })),
  })
}

export interface GaugeEntry {
  device: string
  ts: number
  metrics: Record<string, number>
}

/** One resource per entry (device.id), a gauge per metric with the entry's one point. */
export function gaugesRequest(entries: GaugeEntry[]): ExportMetricsServiceRequest {
  return create(ExportMetricsServiceRequestSchema, {
    resourceMetrics: entries.map((e) => ({
      resource: { attributes: attrs({ 'device.id': e.device }) },
      scopeMetrics: [
        {
          scope: { name: 'test' },
          metrics: Object.entries(e.metrics).map(([name, value]) => ({
            name,
            data: {
              case: 'gauge' as const,
              value: {
                dataPoints: [{ timeUnixNano: nanos(e.ts), value: { case: 'asDouble' as const, value } }],
              },
            },
          })),
        },
      ],
    })),
  })
}

export const logsProtobuf = (r: ExportLogsServiceRequest) => toBinary(ExportLogsServiceRequestSchema, r)
export const logsJson = (r: ExportLogsServiceRequest) => toJsonString(ExportLogsServiceRequestSchema, r)
export const metricsProtobuf = (r: ExportMetricsServiceRequest) =>
  toBinary(ExportMetricsServiceRequestSchema, r)
export const metricsJson = (r: ExportMetricsServiceRequest) =>
  toJsonString(ExportMetricsServiceRequestSchema, r)
