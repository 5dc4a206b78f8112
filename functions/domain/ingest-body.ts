// Ingest bodies: a JSON array, one JSON object, or NDJSON, split into records and rejections.
import { toRecord } from './record.js'
import type { DeviceRecord } from './types.js'

export type BodyFormat = 'json' | 'ndjson'

/** A body entry that could not be accepted: where it was, why, and its raw text for the dead letters. */
export interface Rejection {
  index?: number
  line?: number
  reason: string
  raw: string
}

export interface ParsedBody {
  records: DeviceRecord[]
  rejected: Rejection[]
}

const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
])

/** The body format for a Content-Type header, or undefined when unsupported. */
export function formatOf(contentType: string | undefined | null): BodyFormat | undefined {
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (mime === 'application/json' || mime.endsWith('+json')) return 'json'
  if (NDJSON_TYPES.has(mime)) return 'ndjson'
  return undefined
}

/** Splits a body into valid records and rejections. Throws BodyError when the body as a whole is unusable. */
export function parseBody(text: string, format: BodyFormat, now: number): ParsedBody {
  return format === 'ndjson' ? parseNdjson(text, now) : parseJson(text, now)
}

export class BodyError extends Error {
  override name = 'BodyError'
}

function parseJson(text: string, now: number): ParsedBody {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new BodyError(`body is not valid JSON: ${(e as Error).message}`)
  }
  const out: ParsedBody = { records: [], rejected: [] }
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      const r = toRecord(item, now)
      if (r.ok) out.records.push(r.record)
      else out.rejected.push({ index, reason: r.reason, raw: safeStringify(item) })
    })
    return out
  }
  if (typeof value !== 'object' || value === null) {
    throw new BodyError('a JSON body must be a record object or an array of records')
  }
  const r = toRecord(value, now)
  if (r.ok) out.records.push(r.record)
  else out.rejected.push({ index: 0, reason: r.reason, raw: text })
  return out
}

function parseNdjson(text: string, now: number): ParsedBody {
  const out: ParsedBody = { records: [], rejected: [] }
  let start = 0
  let line = 0
  while (start < text.length) {
    let end = text.indexOf('\n', start)
    if (end < 0) end = text.length
    line++
    let raw = text.slice(start, end)
    start = end + 1
    if (raw.endsWith('\r')) raw = raw.slice(0, -1)
    if (raw.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (e) {
      out.rejected.push({ line, reason: `invalid JSON: ${(e as Error).message}`, raw })
      continue
    }
    const r = toRecord(value, now, raw)
    if (r.ok) out.records.push(r.record)
    else out.rejected.push({ line, reason: r.reason, raw })
  }
  return out
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return '(too deeply nested to keep)'
  }
}
