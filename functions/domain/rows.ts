// Tabular rows (CSV, NDJSON, JSON) to records: the rules shared by `edgewatch detect` and the
// browser replay tool's import, so both read a file the same way. No runtime imports: each side
// streams bytes its own way and hands rows here.
import { toRecord } from './record.js'
import { parseTimestamp } from './time.js'
import type { DeviceRecord } from './types.js'

export type InputFormat = 'csv' | 'ndjson' | 'json'

export interface Row {
  /** 1-based line (CSV, NDJSON) or array index + 1 (JSON). */
  line: number
  /** The row as an object, or undefined when it could not be read. */
  fields?: Record<string, unknown>
  error?: string
}

/** What the server said about a record, when the row is a line of its `/v1/export`. */
export interface ServerVerdict {
  score: number
  kinds: string[]
}

export interface RowColumns {
  time?: string | undefined
  device?: string | undefined
}

const TIME_COLUMNS = ['ts', 'timestamp', 'time', 'datetime', 'date']
const DEVICE_COLUMNS = ['deviceId', 'device_id', 'device']

export function formatFromName(name: string): InputFormat | undefined {
  const base = name.toLowerCase().replace(/\.gz$/, '')
  if (base.endsWith('.csv')) return 'csv'
  if (base.endsWith('.ndjson') || base.endsWith('.jsonl')) return 'ndjson'
  if (base.endsWith('.json')) return 'json'
  return undefined
}

/** A guess from the first characters, for files whose name says nothing. */
export function formatFromText(head: string): InputFormat {
  const first = head.trimStart()[0]
  if (first === '[') return 'json'
  if (first === '{') return 'ndjson'
  return 'csv'
}

/** A CSV record under its header: numbers where the text is a finite number, text otherwise. */
export function csvRow(line: number, header: string[], record: string[]): Row {
  const fields: Record<string, unknown> = {}
  header.forEach((key, i) => {
    const text = record[i] ?? ''
    const n = text === '' ? Number.NaN : Number(text)
    fields[key] = Number.isFinite(n) ? n : text
  })
  if (record.length !== header.length)
    return { line, fields, error: `expected ${header.length} fields, found ${record.length}` }
  return { line, fields }
}

/** One NDJSON line (not blank). */
export function ndjsonRow(line: number, text: string): Row {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return { line, fields: value as Record<string, unknown> }
    return { line, error: 'a line must be a JSON object' }
  } catch (e) {
    return { line, error: `invalid JSON: ${(e as Error).message}` }
  }
}

/** A whole JSON document: an array of objects, or one object. */
export function* jsonRows(text: string): Generator<Row> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    yield { line: 1, error: `invalid JSON: ${(e as Error).message}` }
    return
  }
  const items = Array.isArray(value) ? value : [value]
  for (let i = 0; i < items.length; i++) {
    const item: unknown = items[i]
    if (typeof item === 'object' && item !== null && !Array.isArray(item))
      yield { line: i + 1, fields: item as Record<string, unknown> }
    else yield { line: i + 1, error: 'an array item must be a JSON object' }
  }
}

/** Finds the time and device columns from the first row's names (or checks the ones given). */
export function pickColumns(
  first: Record<string, unknown>,
  given: { timeColumn?: string | undefined; deviceColumn?: string | undefined } = {},
): RowColumns {
  const names = Object.keys(first)
  const find = (name: string | undefined, candidates: string[], what: string) => {
    if (name !== undefined) {
      if (!names.includes(name))
        throw new Error(`no ${what} column named ${name}; columns are: ${names.join(', ')}`)
      return name
    }
    return (
      candidates.find((c) => names.includes(c)) ?? names.find((n) => candidates.includes(n.toLowerCase()))
    )
  }
  return {
    time: find(given.timeColumn, TIME_COLUMNS, 'time'),
    device: find(given.deviceColumn, DEVICE_COLUMNS, 'device'),
  }
}

/**
 * A row as the server would see it: deviceId and ts in place, every other numeric field a metric.
 * A line of the server's export carries `score` and `anomalies`: they are the server's verdict,
 * not metrics, and come back apart. Returns the reason when the row is not a valid record.
 */
export function rowToRecord(
  fields: Record<string, unknown>,
  columns: RowColumns,
  fallbackDevice: string,
): { record: DeviceRecord; server: ServerVerdict | undefined } | string {
  const obj: Record<string, unknown> = { ...fields }
  let server: ServerVerdict | undefined
  if (typeof fields.anomalies === 'string' && typeof fields.score === 'number') {
    server = { score: fields.score, kinds: fields.anomalies ? fields.anomalies.split(',') : [] }
    delete obj.score
    delete obj.anomalies
  }
  if (!columns.time) return 'no time column (name it ts, timestamp or time, or pass --time-column)'
  const ts = parseTimestamp(fields[columns.time], true)
  if (typeof ts === 'string') return ts
  delete obj[columns.time]
  obj.ts = ts
  if (columns.device) {
    obj.deviceId = fields[columns.device] === undefined ? undefined : String(fields[columns.device])
    if (columns.device !== 'deviceId') delete obj[columns.device]
  } else {
    obj.deviceId = fallbackDevice
  }
  const r = toRecord(obj, 0, '')
  return r.ok ? { record: r.record, server } : r.reason
}
