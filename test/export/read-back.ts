// Reading exports back with DuckDB, and the NDJSON export they are compared with.
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { DuckDBInstance } from '@duckdb/node-api'
import { expect } from 'vitest'

export type Row = Record<string, unknown>

export async function duckdb(): Promise<(sql: string) => Promise<Row[]>> {
  const conn = await (await DuckDBInstance.create(':memory:')).connect()
  return async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Row[]
}

/** The NDJSON export's rows, its end line checked. */
export function ndjsonRows(text: string): Row[] {
  const rows = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Row)
  expect(rows.pop()).toEqual({ export: { complete: true, records: rows.length } })
  return rows
}

/** A response body saved to a file, a chunk at a time (never held whole). */
export async function save(res: Response, file: string): Promise<number> {
  const out = createWriteStream(file)
  let bytes = 0
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length
    if (!out.write(chunk)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return bytes
}

/** Parquet rows with the timestamp columns as ISO-8601 (as NDJSON has them) and INT64 as numbers. */
export async function parquetRows(sql: (s: string) => Promise<Row[]>, file: string, times: string[]) {
  const star = times.length
    ? `* REPLACE (${times.map((t) => `strftime("${t}", '%Y-%m-%dT%H:%M:%S.%gZ') AS "${t}"`).join(', ')})`
    : '*'
  const rows = await sql(`SELECT ${star} FROM read_parquet('${file}')`)
  return rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])),
  )
}

/** CSV rows as the NDJSON rows: the named columns parsed as numbers, empty cells as null. */
export async function csvRows(sql: (s: string) => Promise<Row[]>, file: string, numbers: string[]) {
  const rows = await sql(
    `SELECT * FROM read_csv('${file}', header = true, all_varchar = true, allow_quoted_nulls = false)`,
  )
  return rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, v === null ? null : numbers.includes(k) ? Number(v) : v]),
    ),
  )
}

/** A records row (Parquet or CSV) as its NDJSON line: the body as sent, with the stored verdict. */
export function recordAsLine(r: Row): Row {
  return {
    ...(JSON.parse(r.body as string) as Row),
    deviceId: r.deviceId,
    ts: r.ts,
    score: r.score,
    anomalies: r.anomalies,
  }
}

/** Each table's timestamp columns and (for CSV) number columns. */
export const TABLE_COLUMNS = {
  records: { times: ['ts'], numbers: ['score'] },
  anomalies: { times: ['ts'], numbers: ['id', 'value', 'score'] },
  windows: { times: ['start', 'end'], numbers: ['count', 'mean', 'std', 'min', 'max', 'range'] },
} as const
