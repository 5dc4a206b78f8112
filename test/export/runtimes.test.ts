// Parquet and CSV exports from every runtime (Node, workerd, Spin), read back with DuckDB and
// compared row for row with the same runtime's NDJSON export: records, anomalies and windows.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RUNTIMES, type RunningRuntime } from '../runtimes.js'
import {
  csvRows,
  duckdb,
  ndjsonRows,
  parquetRows,
  type Row,
  recordAsLine,
  save,
  TABLE_COLUMNS,
} from './read-back.js'

const INGEST = 'export-ingest-token-1234'
const ADMIN = 'export-admin-token-5678'
const T0 = Date.UTC(2026, 10, 30)
const dir = mkdtempSync(join(tmpdir(), 'export-runtimes-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function body(): string {
  const lines: string[] = []
  for (let i = 0; i < 400; i++)
    for (const deviceId of ['pump-7', 'fan "b", 2']) {
      const r: Row = { deviceId, ts: T0 + i * 1000, temp: 20 + Math.sin(i / 8) + (i % 150 === 149 ? 30 : 0) }
      if (i % 100 === 0) Object.assign(r, { level: 'error', msg: `fault, "x"\nline ${i}` })
      lines.push(JSON.stringify(r))
    }
  return lines.join('\n')
}

describe.each(RUNTIMES)('$name: GET /v1/export?format=parquet|csv', (runtime) => {
  let rt: RunningRuntime
  let sql: Awaited<ReturnType<typeof duckdb>>
  beforeAll(async () => {
    rt = await runtime.start({ EDGEWATCH_INGEST_TOKEN: INGEST, EDGEWATCH_ADMIN_TOKEN: ADMIN })
    sql = await duckdb()
    const res = await fetch(`${rt.url}/v1/ingest`, {
      method: 'POST',
      body: body(),
      headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/x-ndjson' },
    })
    expect(res.status).toBe(200)
  }, 180_000)
  afterAll(async () => {
    await rt?.stop()
  })

  const get = async (query: string) => {
    const res = await fetch(`${rt.url}/v1/export?${query}`, { headers: { Authorization: `Bearer ${ADMIN}` } })
    expect(res.status).toBe(200)
    return res
  }

  it.each(['records', 'anomalies', 'windows'] as const)(
    '%s: Parquet and CSV as NDJSON, row for row',
    async (table) => {
      const want = ndjsonRows(await (await get(`table=${table}`)).text())
      expect(want.length).toBeGreaterThan(table === 'records' ? 799 : 5)
      const { times, numbers } = TABLE_COLUMNS[table]
      const parquet = join(dir, `${runtime.name}-${table}.parquet`)
      const res = await get(`table=${table}&format=parquet`)
      expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet')
      await save(res, parquet)
      const csv = join(dir, `${runtime.name}-${table}.csv`)
      await save(await get(`table=${table}&format=csv`), csv)
      const fromParquet = await parquetRows(sql, parquet, [...times])
      const fromCsv = await csvRows(sql, csv, [...numbers])
      const asLine = table === 'records' ? recordAsLine : (r: Row) => r
      expect(fromParquet.map(asLine)).toEqual(want)
      expect(fromCsv.map(asLine)).toEqual(want)
    },
  )
})
