// The ingest path's answers as OTLP/HTTP gives them, in the request's encoding. 200 with an
// Export{Logs,Metrics}ServiceResponse: empty when everything was stored, with `partial_success`
// (how many log records or data points were rejected and why, the first reasons) when some were
// rejected and the rest stored. Errors are a google.rpc.Status with the HTTP status the OTLP/HTTP
// specification gives: 400 for bad data (nothing stored: retrying will not help), 401/403, 413,
// 415; 429 and 503 (with Retry-After) are the ones an exporter retries, so a failure that left
// nothing stored (the store failed, the server is at its bound) is answered 503.
import { create, type DescMessage, type MessageInitShape, toBinary, toJsonString } from '@bufbuild/protobuf'
import type { IngestAnswer } from '../../domain/ingest.js'
import { ExportLogsServiceResponseSchema } from './gen/logs_pb.js'
import { ExportMetricsServiceResponseSchema } from './gen/metrics_pb.js'
import { StatusSchema } from './gen/status_pb.js'
import type { OtlpEncoding } from './request-body.js'

export type Signal = 'logs' | 'metrics'

export interface OtlpAnswer {
  status: 200 | 400 | 401 | 403 | 413 | 415 | 422 | 429 | 503
  body: Uint8Array | string
  headers: Record<string, string>
}

/** Reasons quoted in a partial success's or a rejection's message; the rest are counted. */
const REASONS_QUOTED = 10

/** The gRPC code a Status carries for each HTTP status (google.rpc.Code). */
const GRPC_CODES: Record<OtlpAnswer['status'], number> = {
  200: 0,
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  403: 7, // PERMISSION_DENIED
  413: 8, // RESOURCE_EXHAUSTED
  415: 3,
  422: 3,
  429: 8,
  503: 14, // UNAVAILABLE
}

interface Listed {
  index?: number
  reason: string
}

/** The answer to an export the ingest path took (stored whole or in part) or refused. */
export function exportAnswer(signal: Signal, encoding: OtlpEncoding, answer: IngestAnswer): OtlpAnswer {
  const parsed = JSON.parse(answer.body) as {
    rejectedCount?: number
    rejected?: Listed[]
    error?: { code: string; message: string; details: { rejectedCount?: number; rejected?: Listed[] } | null }
  }
  const headers: Record<string, string> = answer.replayed ? { 'Idempotent-Replayed': 'true' } : {}
  if (answer.status === 200) {
    const rejectedCount = parsed.rejectedCount ?? 0
    if (rejectedCount === 0) return success(signal, encoding, undefined, headers)
    const message = `${rejectedCount} ${noun(signal)} rejected: ${reasons(parsed.rejected ?? [], rejectedCount)}`
    return success(signal, encoding, { rejected: rejectedCount, message }, headers)
  }
  const error = parsed.error!
  const rejectedCount = error.details?.rejectedCount ?? 0
  // An empty export (no resources, or resources without records) is a success with nothing to store.
  if (error.code === 'no_valid_records' && rejectedCount === 0)
    return success(signal, encoding, undefined, headers)
  if (error.code === 'no_valid_records')
    return statusAnswer(
      encoding,
      400,
      `every one of the ${rejectedCount} ${noun(signal)} was rejected: ${reasons(error.details?.rejected ?? [], rejectedCount)}`,
      headers,
    )
  return statusAnswer(encoding, 400, error.message, headers)
}

/** An error answer: a google.rpc.Status in the request's encoding (JSON when it has none). */
export function statusAnswer(
  encoding: OtlpEncoding | undefined,
  status: Exclude<OtlpAnswer['status'], 200>,
  message: string,
  headers: Record<string, string> = {},
): OtlpAnswer {
  return encoded(StatusSchema, { code: GRPC_CODES[status], message }, encoding ?? 'json', status, headers)
}

/** The HTTP content type of an answer in an encoding. */
export function contentTypeOf(encoding: OtlpEncoding): string {
  return encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json'
}

/** A 200 answer: empty when everything was stored, else how many were rejected and why. */
export function success(
  signal: Signal,
  encoding: OtlpEncoding,
  partial: { rejected: number; message: string } | undefined,
  headers: Record<string, string>,
): OtlpAnswer {
  if (signal === 'logs') {
    const partialSuccess = partial && {
      rejectedLogRecords: BigInt(partial.rejected),
      errorMessage: partial.message,
    }
    return encoded(ExportLogsServiceResponseSchema, { partialSuccess }, encoding, 200, headers)
  }
  const partialSuccess = partial && {
    rejectedDataPoints: BigInt(partial.rejected),
    errorMessage: partial.message,
  }
  return encoded(ExportMetricsServiceResponseSchema, { partialSuccess }, encoding, 200, headers)
}

function encoded<Desc extends DescMessage>(
  schema: Desc,
  init: MessageInitShape<Desc>,
  encoding: OtlpEncoding,
  status: OtlpAnswer['status'],
  headers: Record<string, string>,
): OtlpAnswer {
  const message = create(schema, init)
  const body = encoding === 'protobuf' ? toBinary(schema, message) : toJsonString(schema, message)
  return { status, body, headers: { 'Content-Type': contentTypeOf(encoding), ...headers } }
}

function noun(signal: Signal): string {
  return signal === 'logs' ? 'log records' : 'data points'
}

/** `index 3: <why>; index 7: <why>` for the first rejections, then how many more there were. */
function reasons(rejected: Listed[], count: number): string {
  const quoted = rejected.slice(0, REASONS_QUOTED)
  const text = quoted
    .map((r) => (r.index === undefined ? r.reason : `index ${r.index}: ${r.reason}`))
    .join('; ')
  const more = count - quoted.length
  return more > 0 ? `${text}; and ${more} more` : text
}
