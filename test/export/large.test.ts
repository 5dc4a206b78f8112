// A large export (100,000 records) from the real `edgewatch serve`: Parquet in row groups of 10,000,
// row for row the NDJSON export, and the server's memory while each format streams (reported, not
// asserted: RSS depends on the machine and what else runs on it).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../server-process.js'
import { csvRows, duckdb, ndjsonRows, parquetRows, type Row, recordAsLine, save } from './read-back.js'

const INGEST = 'large-ingest-token-1234'
const ADMIN = 'large-admin-token-5678'
const T0 = Date.UTC(2026, 10, 1)
const RECORDS = 100_000
const BATCH = 10_000
const dir = mkdtempSync(join(tmpdir(), 'export-large-'))
let server: ServerProcess
let sql: Awaited<ReturnType<typeof duckdb>>

beforeAll(async () => {
  server = await startServer({
    EDGEWATCH_DATA_DIR: join(dir, 'data'),
    EDGEWATCH_INGEST_TOKEN: INGEST,
    EDGEWATCH_ADMIN_TOKEN: ADMIN,
  })
  sql = await duckdb()
  for (let from = 0; from < RECORDS; from += BATCH) {
    const lines: string[] = []
    for (let i = from; i < from + BATCH; i++) {
      const r: Row = {
        deviceId: `dev-${i % 8}`,
        ts: T0 + Math.floor(i / 8) * 1000,
        temp: 20 + Math.sin(i / 80) + (i % 5003 === 0 ? 25 : 0),
        metrics: { rpm: 900 + (i % 31) },
      }
      if (i % 997 === 0) Object.assign(r, { level: 'error', msg: `overheat, code "${i}"` })
      lines.push(JSON.stringify(r))
    }
    const res = await fetch(`${server.url}/v1/ingest`, {
      method: 'POST',
      body: lines.join('\n'),
      headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/x-ndjson' },
    })
    expect(res.status).toBe(200)
  }
}, 300_000)

afterAll(async () => {
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** The server's resident memory in MB (Linux). */
function rssMb(): number {
  const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024
}

/** Saves an export to a file while sampling the server's RSS; its peak and the bytes. */
async function exported(query: string, file: string) {
  const before = rssMb()
  let peak = before
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb())
  }, 10)
  const res = await fetch(`${server.url}/v1/export?${query}`, {
    headers: { Authorization: `Bearer ${ADMIN}` },
  })
  expect(res.status).toBe(200)
  const bytes = await save(res, file)
  clearInterval(timer)
  return { beforeMb: Math.round(before), peakMb: Math.round(Math.max(peak, rssMb())), bytes }
}

describe('a 100,000-record export from edgewatch serve', () => {
  it('Parquet (row groups of 10,000) and CSV equal the NDJSON export row for row; server memory reported', async () => {
    const ndjsonFile = join(dir, 'all.ndjson')
    const parquetFile = join(dir, 'all.parquet')
    const csvFile = join(dir, 'all.csv')
    const memory = {
      ndjson: await exported('', ndjsonFile),
      parquet: await exported('format=parquet', parquetFile),
      csv: await exported('format=csv', csvFile),
    }
    const want = ndjsonRows(readFileSync(ndjsonFile, 'utf8'))
    expect(want).toHaveLength(RECORDS)
    expect(want.filter((r) => r.anomalies !== '').length).toBeGreaterThan(100)

    const groups = await sql(
      `SELECT DISTINCT row_group_id, row_group_num_rows::INTEGER AS n FROM parquet_metadata('${parquetFile}') ORDER BY row_group_id`,
    )
    expect(groups.map((g) => g.n)).toEqual(Array(10).fill(10_000))
    const fromParquet = await parquetRows(sql, parquetFile, ['ts'])
    for (let i = 0; i < RECORDS; i += 10_000)
      expect(fromParquet.slice(i, i + 10_000).map(recordAsLine)).toEqual(want.slice(i, i + 10_000))
    const fromCsv = await csvRows(sql, csvFile, ['score'])
    for (let i = 0; i < RECORDS; i += 10_000)
      expect(fromCsv.slice(i, i + 10_000).map(recordAsLine)).toEqual(want.slice(i, i + 10_000))
    console.log(JSON.stringify({ export: { records: RECORDS, serverRssMb: memory } }))
  }, 300_000)
})
