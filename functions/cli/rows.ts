// Reading rows from CSV, NDJSON or JSON files (gzip too), streaming where the format allows.
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { parse } from 'csv-parse'

export type InputFormat = 'csv' | 'ndjson' | 'json'

export interface Row {
  /** 1-based line (CSV, NDJSON) or array index + 1 (JSON). */
  line: number
  /** The row as an object, or undefined when it could not be read. */
  fields?: Record<string, unknown>
  error?: string
}

export function formatFromName(name: string): InputFormat | undefined {
  const base = name.toLowerCase().replace(/\.gz$/, '')
  if (base.endsWith('.csv')) return 'csv'
  if (base.endsWith('.ndjson') || base.endsWith('.jsonl')) return 'ndjson'
  if (base.endsWith('.json')) return 'json'
  return undefined
}

/** The input as a byte stream, gunzipped when the name ends in .gz; `onBytes` sees raw bytes read. */
export function openInput(path: string, onBytes: (n: number) => void): Readable {
  const raw = path === '-' ? process.stdin : createReadStream(path)
  raw.on('data', (chunk: Buffer) => onBytes(chunk.length))
  return path.toLowerCase().endsWith('.gz') ? raw.pipe(createGunzip()) : raw
}

export async function* readRows(input: Readable, format: InputFormat): AsyncGenerator<Row> {
  if (format === 'csv') yield* csvRows(input)
  else if (format === 'ndjson') yield* ndjsonRows(input)
  else yield* jsonRows(input)
}

async function* csvRows(input: Readable): AsyncGenerator<Row> {
  const parser = input.pipe(
    parse({ bom: true, skip_empty_lines: true, trim: true, info: true, relax_column_count: true }),
  )
  let header: string[] | undefined
  for await (const { record, info } of parser as AsyncIterable<{
    record: string[]
    info: { lines: number }
  }>) {
    if (!header) {
      header = record
      continue
    }
    const fields: Record<string, unknown> = {}
    header.forEach((key, i) => {
      const text = record[i] ?? ''
      const n = text === '' ? Number.NaN : Number(text)
      fields[key] = Number.isFinite(n) ? n : text
    })
    if (record.length !== header.length) {
      yield { line: info.lines, fields, error: `expected ${header.length} fields, found ${record.length}` }
    } else {
      yield { line: info.lines, fields }
    }
  }
}

async function* ndjsonRows(input: Readable): AsyncGenerator<Row> {
  let line = 0
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++
    if (text.trim() === '') continue
    try {
      const value: unknown = JSON.parse(text)
      if (typeof value === 'object' && value !== null && !Array.isArray(value))
        yield { line, fields: value as Record<string, unknown> }
      else yield { line, error: 'a line must be a JSON object' }
    } catch (e) {
      yield { line, error: `invalid JSON: ${(e as Error).message}` }
    }
  }
}

/** A JSON array is read whole (use NDJSON or CSV for files that do not fit in memory). */
async function* jsonRows(input: Readable): AsyncGenerator<Row> {
  const chunks: Buffer[] = []
  for await (const chunk of input) chunks.push(chunk as Buffer)
  let value: unknown
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
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
