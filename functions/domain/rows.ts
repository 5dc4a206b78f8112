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
  /** A CSV row's cells as read, before numbers are parsed: a device id `007` must stay `007`. */
  text?: Record<string, string>
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

/**
 * A CSV record under its header: numbers where the text is a finite number, text otherwise, and
 * every cell's text as read besides.
 */
export function csvRow(line: number, header: string[], record: string[]): Row {
  const fields: Record<string, unknown> = {}
  const text: Record<string, string> = {}
  header.forEach((key, i) => {
    const cell = record[i] ?? ''
    const n = cell === '' ? Number.NaN : Number(cell)
    fields[key] = Number.isFinite(n) ? n : cell
    text[key] = cell
  })
  if (record.length !== header.length)
    return { line, fields, text, error: `expected ${header.length} fields, found ${record.length}` }
  return { line, fields, text }
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

/** The server's verdict, when the fields are a line of its export (`score` and `anomalies`). */
export function serverVerdict(fields: Record<string, unknown>): ServerVerdict | undefined {
  if (typeof fields.anomalies !== 'string' || typeof fields.score !== 'number') return undefined
  return { score: fields.score, kinds: fields.anomalies ? fields.anomalies.split(',') : [] }
}

/**
 * A row as the server would see it: deviceId and ts in place, every other numeric field a metric.
 * A line of the server's export carries `score` and `anomalies`: they are the server's verdict,
 * not metrics, and come back apart. The device id is a CSV cell's text as read (`text`), or the
 * value's String() in JSON. Returns the reason when the row is not a valid record.
 */
export function rowToRecord(
  fields: Record<string, unknown>,
  columns: RowColumns,
  fallbackDevice: string,
  text?: Record<string, string>,
): { record: DeviceRecord; server: ServerVerdict | undefined } | string {
  const obj: Record<string, unknown> = { ...fields }
  const server = serverVerdict(fields)
  if (server) {
    delete obj.score
    delete obj.anomalies
  }
  if (!columns.time) return 'no time column (name it ts, timestamp or time, or pass --time-column)'
  const ts = parseTimestamp(fields[columns.time], true)
  if (typeof ts === 'string') return ts
  delete obj[columns.time]
  obj.ts = ts
  if (columns.device) {
    const device = text?.[columns.device] ?? fields[columns.device]
    obj.deviceId = device === undefined ? undefined : String(device)
    if (columns.device !== 'deviceId') delete obj[columns.device]
  } else {
    obj.deviceId = fallbackDevice
  }
  const r = toRecord(obj, 0)
  return r.ok ? { record: r.record, server } : r.reason
}

/** How a server export ends: its footer, or the error that stopped it mid-stream. */
export type ExportEnd = { complete: true; records: number } | { error: string }

/**
 * The end line of a server export (`/v1/export`), or undefined for any other row. A record line
 * always has a deviceId; an end line is an object with exactly one key: the footer
 * `{"export":{"complete":true,"records":N}}` after the last record, or, when the export failed
 * mid-stream, `{"error":{"code":"export_failed","message":"...","details":{"records":N}}}`.
 */
export function exportEnd(fields: Record<string, unknown>): ExportEnd | undefined {
  const keys = Object.keys(fields)
  if (keys.length !== 1) return undefined
  const value = fields[keys[0]!]
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  if (keys[0] === 'export' && v.complete === true && isCount(v.records))
    return { complete: true, records: v.records }
  if (keys[0] === 'error' && typeof v.message === 'string') return { error: v.message }
  return undefined
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0

/**
 * What the end of the rows says about a server export: `complete` (every footer counted its
 * records), `plain` (not an export), `unterminated` (export lines, no footer: cut short, or saved
 * before exports had footers, or a re-scored file; they cannot be told apart), or why it is
 * incomplete.
 */
export type ExportState = 'complete' | 'plain' | 'unterminated' | { incomplete: string }

/**
 * Follows rows as they are read and checks them against the export's end lines. A footer counts
 * the record lines since the previous end line, so concatenated exports are checked part by part.
 */
export class ExportCheck {
  /** Record lines (readable or not) since the last end line. */
  private lines = 0
  /** The line of the last end line seen. */
  private endLine: number | undefined
  private verdicts = false
  private failure: string | undefined

  /** True when the row is an end line: it is taken here and is not a record. */
  isEnd(row: Row): boolean {
    const end = row.fields && exportEnd(row.fields)
    if (!end) {
      this.lines++
      // The export is NDJSON: a CSV with score and anomalies columns (detect's output) is not one.
      if (row.fields && !row.text && serverVerdict(row.fields)) this.verdicts = true
      return false
    }
    if ('error' in end)
      this.failure ??= `the server reported an error after ${this.lines} records: ${end.error}`
    else if (end.records !== this.lines)
      this.failure ??= `its footer (line ${row.line}) counts ${end.records} records, ${this.lines} were read`
    this.endLine = row.line
    this.lines = 0
    return true
  }

  /** Once every row is read; `footerRequired` for a download that must end with its footer. */
  finish(footerRequired = false): ExportState {
    if (this.failure) return { incomplete: this.failure }
    if (this.endLine !== undefined && this.lines > 0)
      return { incomplete: `${this.lines} records after its footer (line ${this.endLine}) have no footer` }
    if (this.endLine !== undefined) return 'complete'
    if (footerRequired)
      return { incomplete: `it ended after ${this.lines} records with no footer (cut short)` }
    return this.verdicts ? 'unterminated' : 'plain'
  }
}
