// POST /v1/otlp/v1/logs's body into device records and rejections, for the one ingest path. One
// log record, one record:
//
//   resource {device.id: pump-7} · scope "sensors" · log record {time 1700000000123000000,
//   severity 13 "WARN", body "pressure high", attributes {bar: 4.2}}
//   → {"deviceId":"pump-7","ts":1700000000123,"time":"2023-11-14T22:13:20.123Z","level":"warn",
//      "severity":"WARN","msg":"pressure high","attributes":{"bar":4.2},
//      "resource":{"device.id":"pump-7"},"scope":"sensors"}
//
// The device is the first configured attribute present (record's own before the resource's, see
// attributes.ts); a device token's records default to its device. The time is the record's
// timestamp, else the time it was observed, else when it arrives. A body that is not a string is
// kept as its JSON text. Rejections are listed by the log record's place in the request (`index`,
// counted across resources and scopes) with the record in OTLP/JSON as their dead letter.
import { toJsonString } from '@bufbuild/protobuf'
import { Collector } from '../../domain/ingest-body.js'
import type { BinaryBodyParser } from '../../domain/ingest-prepare.js'
import { type RecordResult, toRecord } from '../../domain/record.js'
import {
  deviceAmong,
  inScope,
  keepAttributes,
  type Origin,
  originOf,
  plainOf,
  resourceDevices,
} from './attributes.js'
import {
  type ExportLogsServiceRequest,
  ExportLogsServiceRequestSchema,
  type LogRecord,
  LogRecordSchema,
} from './gen/logs_pb.js'
import { recordTime } from './record-time.js'
import { decodeRequest, type OtlpEncoding } from './request-body.js'
import { levelOf } from './severity.js'

export interface OtlpBodyOptions {
  encoding: OtlpEncoding
  /** Attribute names whose value is the device id, the first present wins. */
  deviceAttributes: readonly string[]
}

export function logsParser(options: OtlpBodyOptions): BinaryBodyParser {
  return {
    textual: options.encoding === 'json',
    binary: async (bytes, now, pause, device) => {
      const request: ExportLogsServiceRequest = decodeRequest(
        ExportLogsServiceRequestSchema,
        bytes,
        options.encoding,
      )
      const c = new Collector(pause)
      let index = 0
      for (const resourceLogs of request.resourceLogs) {
        // A resource's attributes are read once for all its scopes and records, so a resource of
        // many attributes costs its size, not its size again per scope or record.
        const resource = resourceLogs.resource?.attributes ?? []
        const resourceIds = resourceDevices(options.deviceAttributes, resource)
        const plain = originOf(resource, undefined)
        for (const scopeLogs of resourceLogs.scopeLogs) {
          const at = inScope(plain, scopeLogs.scope?.name)
          for (const log of scopeLogs.logRecords) {
            if (c.due()) await c.pauseNow()
            const r = logRecord(log, at, resourceIds, options, now, device)
            if (r.ok) c.out.records.push(r.record)
            else c.reject({ index }, r.reason, () => toJsonString(LogRecordSchema, log))
            index++
          }
        }
      }
      return c.out
    },
  }
}

function logRecord(
  log: LogRecord,
  at: Origin,
  resourceIds: (string | undefined)[],
  options: OtlpBodyOptions,
  now: number,
  device: string | undefined,
): RecordResult {
  const deviceId = deviceAmong(options.deviceAttributes, log.attributes, resourceIds) ?? device
  if (deviceId === undefined)
    return {
      ok: false,
      reason: `no device attribute: a log record or its resource needs one of ${options.deviceAttributes.join(', ')}`,
    }
  const record: Record<string, unknown> = {
    deviceId,
    ...recordTime(log.timeUnixNano || log.observedTimeUnixNano),
    level: levelOf(log.severityNumber, log.severityText),
  }
  if (log.severityText) record.severity = log.severityText
  const body = log.body === undefined ? null : plainOf(log.body)
  if (body !== null) record.msg = typeof body === 'string' ? body : JSON.stringify(body)
  if (log.eventName) record.event = log.eventName
  keepAttributes(record, log.attributes, at)
  if (log.traceId.length > 0) record.traceId = hex(log.traceId)
  if (log.spanId.length > 0) record.spanId = hex(log.spanId)
  return toRecord(record, now, undefined, device)
}

function hex(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}
