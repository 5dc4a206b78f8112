// The ingest path's answers as InfluxDB gives them. 204 and no body when every line was stored (or
// there was nothing to store). 400 when some lines were rejected, with InfluxDB 1.x's message:
// `partial write: unable to parse '<line>': <why>\n… dropped=<lines not stored>` when others were
// stored, and the same without `partial write: ` and ` dropped=` when none were. Errors are
// `{"error": "..."}` on the v1 API and `{"code": "...", "message": "..."}` on the v2 API. Besides
// what InfluxDB sends, a rejection answer carries `line` (the first rejected line, as the v2
// OpenAPI document's LineProtocolError has it), `rejected` ([{line, reason}], the first 100),
// `rejectedCount` and `accepted`: clients that do not know them ignore them.
import type { IngestAnswer } from '../../domain/ingest.js'

export type InfluxApi = 'v1' | 'v2'

export interface InfluxAnswer {
  status: 204 | 400 | 401 | 403 | 404 | 413 | 415 | 422 | 500 | 503
  /** JSON text, or null for 204. */
  body: string | null
  headers: Record<string, string>
}

interface Listed {
  line?: number
  index?: number
  reason: string
}

/** InfluxDB 2.x error codes by status (kit/platform/errors). */
const V2_CODES: Record<number, string> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  413: 'request too large',
  415: 'invalid',
  422: 'unprocessable entity',
  429: 'too many requests',
  500: 'internal error',
  503: 'unavailable',
}

/** An error in the API's shape, with extra fields after the ones InfluxDB sends. */
export function influxError(
  api: InfluxApi,
  status: InfluxAnswer['status'],
  message: string,
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): InfluxAnswer {
  if (api === 'v1') {
    return {
      status,
      body: JSON.stringify({ error: message, ...extra }),
      headers: { 'X-Influxdb-Error': headerText(message), ...headers },
    }
  }
  const code = V2_CODES[status] ?? 'internal error'
  return {
    status,
    body: JSON.stringify({ code, message, ...extra }),
    headers: { 'X-Platform-Error-Code': code, ...headers },
  }
}

/** The ingest path's answer (its JSON) as InfluxDB's. */
export function influxAnswer(api: InfluxApi, answer: IngestAnswer): InfluxAnswer {
  const parsed = JSON.parse(answer.body) as {
    accepted?: number
    rejectedCount?: number
    rejected?: Listed[]
    error?: { code: string; message: string; details: { rejectedCount?: number; rejected?: Listed[] } | null }
  }
  if (answer.status === 200) {
    const rejectedCount = parsed.rejectedCount ?? 0
    if (rejectedCount === 0) return { status: 204, body: null, headers: {} }
    const rejected = parsed.rejected ?? []
    const message = `partial write: ${reasons(rejected, rejectedCount)} dropped=${rejectedCount}`
    return influxError(api, 400, message, {}, details(parsed.accepted ?? 0, rejected, rejectedCount))
  }
  const error = parsed.error!
  if (error.code === 'empty_body') return { status: 204, body: null, headers: {} }
  if (error.code === 'no_valid_records') {
    const rejectedCount = error.details?.rejectedCount ?? 0
    // Only blank and comment lines: InfluxDB answers 204 too.
    if (rejectedCount === 0) return { status: 204, body: null, headers: {} }
    const rejected = error.details?.rejected ?? []
    return influxError(api, 400, reasons(rejected, rejectedCount), {}, details(0, rejected, rejectedCount))
  }
  return influxError(api, 400, error.message)
}

function details(accepted: number, rejected: Listed[], rejectedCount: number): Record<string, unknown> {
  return {
    line: rejected[0]?.line ?? null,
    rejected: rejected.map((r) => ({ line: r.line ?? null, reason: r.reason })),
    rejectedCount,
    accepted,
  }
}

/** The listed rejections' reasons, one a line, and how many more there were. */
function reasons(rejected: Listed[], count: number): string {
  const text = rejected.map((r) => r.reason).join('\n')
  const more = count - rejected.length
  return more > 0 ? `${text}\n… and ${more} more lines rejected` : text
}

/** A header value: one line of visible ASCII (other characters as `?`), at most 1,024 characters. */
function headerText(message: string): string {
  return message
    .replace(/\s/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 1024)
}
