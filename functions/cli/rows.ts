// Reading rows from CSV, NDJSON or JSON files (gzip too), streaming where the format allows.
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { parse } from 'csv-parse'
import { csvRow, type InputFormat, jsonRows as jsonItems, ndjsonRow, type Row } from '../domain/rows.js'

export { formatFromName, type InputFormat, type Row } from '../domain/rows.js'

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
    yield csvRow(info.lines, header, record)
  }
}

async function* ndjsonRows(input: Readable): AsyncGenerator<Row> {
  let line = 0
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++
    if (text.trim() !== '') yield ndjsonRow(line, text)
  }
}

/** A JSON array is read whole (use NDJSON or CSV for files that do not fit in memory). */
async function* jsonRows(input: Readable): AsyncGenerator<Row> {
  const chunks: Buffer[] = []
  for await (const chunk of input) chunks.push(chunk as Buffer)
  yield* jsonItems(Buffer.concat(chunks).toString('utf8'))
}
