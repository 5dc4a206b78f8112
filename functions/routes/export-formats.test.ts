// GET /v1/export?format=parquet|csv&table=records|anomalies|windows, read back with DuckDB and
// compared row for row with the NDJSON export of the same table.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadNodeKernel } from '../../kernels/node.js'
import { csvRows, duckdb, parquetRows, type Row, recordAsLine } from '../../test/export/read-back.js'
import { createApp } from '../app.js'
import { resolveAnalysisConfig } from '../domain/analysis-config.js'
import type { Store } from '../store/port.js'
import { openSqliteStore } from '../store/sqlite.js'

const tokens = { ingest: ['ingest-token-123'], admin: ['admin-token-4567'] }
const admin = { Authorization: `Bearer ${tokens.admin[0]}` }
const T0 = Date.UTC(2026, 10, 30)
const dir = mkdtempSync(join(tmpdir(), 'export-formats-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

type App = ReturnType<typeof createApp>
let app: App
let store: Store
let sql: (text: string) => Promise<Row[]>

/** Two devices' temperatures with spikes, error lines, nested metrics and awkward text. */
function records(): string {
  const lines: string[] = []
  for (let i = 0; i < 2500; i++) {
    for (const deviceId of ['pump-7', 'valve,"2"']) {
      const temp = 20 + Math.sin(i / 10) + (i % 400 === 399 ? 40 : 0)
      const r: Row = { deviceId, ts: T0 + i * 1000, temp }
      if (i % 3 === 0) r.metrics = { rpm: 1000 + (i % 17) }
      if (i % 250 === 0) Object.assign(r, { level: 'ERROR', msg: `fault "x", line\n${i} ü` })
      if (i % 7 === 0) r.note = '  padded  '
      lines.push(JSON.stringify(r))
    }
  }
  return lines.join('\n')
}

beforeAll(async () => {
  store = openSqliteStore(':memory:')
  app = createApp({
    store,
    kernel: await loadNodeKernel(),
    analysis: resolveAnalysisConfig({}),
    tokens,
    bodyLimitBytes: 8 << 20,
  })
  const res = await app.request('/v1/ingest', {
    method: 'POST',
    body: records(),
    headers: { Authorization: `Bearer ${tokens.ingest[0]}`, 'Content-Type': 'application/x-ndjson' },
  })
  expect(res.status).toBe(200)
  sql = await duckdb()
})

async function get(path: string, via = app): Promise<Response> {
  const res = await via.request(path, { headers: admin })
  expect(res.status).toBe(200)
  return res
}

/** The NDJSON export's rows, its end line checked. */
async function ndjson(query: string): Promise<Row[]> {
  const lines = (await (await get(`/v1/export?${query}`)).text()).trimEnd().split('\n')
  const rows = lines.map((l) => JSON.parse(l) as Row)
  expect(rows.pop()).toEqual({ export: { complete: true, records: rows.length } })
  return rows
}

let files = 0
async function saved(query: string, ext: string): Promise<string> {
  const file = join(dir, `${files++}.${ext}`)
  writeFileSync(file, new Uint8Array(await (await get(`/v1/export?${query}`)).arrayBuffer()))
  return file
}

describe('GET /v1/export?table=records', () => {
  it('Parquet: the NDJSON export row for row (values, scores, kinds, timestamps)', async () => {
    const want = await ndjson('')
    expect(want).toHaveLength(5000)
    expect(want.filter((r) => r.anomalies !== '').length).toBeGreaterThan(20)
    const file = await saved('format=parquet', 'parquet')
    const got = await parquetRows(sql, file, ['ts'])
    expect(got.map(recordAsLine)).toEqual(want)
    // level is the stored level (lower case), null where the record had none
    expect(got.filter((r) => r.level === 'error')).toHaveLength(20)
    expect(got.filter((r) => r.level === null)).toHaveLength(4980)
    const types = await sql(
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`,
    )
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toEqual({
      deviceId: 'VARCHAR',
      ts: 'TIMESTAMP WITH TIME ZONE',
      level: 'VARCHAR',
      score: 'DOUBLE',
      anomalies: 'VARCHAR',
      body: 'VARCHAR',
    })
  })

  it('Parquet: filters and order=arrival as NDJSON has them; fields readable from body', async () => {
    const q = `deviceId=${encodeURIComponent('valve,"2"')}&since=${T0 + 100_000}&until=${T0 + 900_000}&order=arrival`
    const want = await ndjson(q)
    expect(want).toHaveLength(800)
    const file = await saved(`${q}&format=parquet`, 'parquet')
    expect((await parquetRows(sql, file, ['ts'])).map(recordAsLine)).toEqual(want)
    const temps = await sql(`SELECT (body->>'temp')::DOUBLE AS temp FROM read_parquet('${file}')`)
    expect(temps.map((t) => t.temp)).toEqual(want.map((r) => r.temp))
  })

  it('CSV: the NDJSON export row for row, quoting commas, quotes, line breaks and edge spaces', async () => {
    const want = await ndjson('')
    const file = await saved('format=csv', 'csv')
    const got = await csvRows(sql, file, ['score'])
    expect(got.map(recordAsLine)).toEqual(want)
  })

  it('an empty export is a valid Parquet file of no rows, and a CSV header', async () => {
    const file = await saved(`since=${T0 + 10_000_000}&format=parquet`, 'parquet')
    expect(await sql(`SELECT count(*)::INTEGER AS n FROM read_parquet('${file}')`)).toEqual([{ n: 0 }])
    const res = await get(`/v1/export?since=${T0 + 10_000_000}&format=csv`)
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(await res.text()).toBe('deviceId,ts,level,score,anomalies,body\r\n')
  })
})

describe('GET /v1/export?table=anomalies', () => {
  it('Parquet and CSV: the NDJSON export row for row', async () => {
    const want = await ndjson('table=anomalies')
    expect(want.length).toBeGreaterThan(20)
    expect([...new Set(want.map((a) => a.kind))]).toEqual(expect.arrayContaining(['error', 'spike']))
    expect(want.some((a) => a.metric === null) && want.some((a) => a.metric === 'temp')).toBe(true)
    const file = await saved('table=anomalies&format=parquet', 'parquet')
    expect(await parquetRows(sql, file, ['ts'])).toEqual(want)
    const csv = await saved('table=anomalies&format=csv', 'csv')
    expect(await csvRows(sql, csv, ['id', 'value', 'score'])).toEqual(want)
  })

  it('pages through more anomalies than one store page (1000)', async () => {
    const many = createApp({
      store: openSqliteStore(':memory:'),
      kernel: await loadNodeKernel(),
      analysis: resolveAnalysisConfig({}),
      tokens,
      bodyLimitBytes: 8 << 20,
    })
    const body = Array.from({ length: 2500 }, (_, i) =>
      JSON.stringify({ deviceId: `d${i % 3}`, ts: T0 + i, level: 'error', msg: `e${i}` }),
    ).join('\n')
    const ingest = await many.request('/v1/ingest', {
      method: 'POST',
      body,
      headers: { Authorization: `Bearer ${tokens.ingest[0]}`, 'Content-Type': 'application/x-ndjson' },
    })
    expect(ingest.status).toBe(200)
    const res = await get('/v1/export?table=anomalies&format=parquet', many)
    const file = join(dir, 'many.parquet')
    writeFileSync(file, new Uint8Array(await res.arrayBuffer()))
    const got = await sql(`SELECT id, epoch_ms(ts) AS ts FROM read_parquet('${file}')`)
    expect(got).toHaveLength(2500)
    expect(new Set(got.map((r) => r.id)).size).toBe(2500)
    // newest first
    expect(got.map((r) => r.ts)).toEqual(got.map((r) => r.ts).sort((a, b) => Number(b) - Number(a)))
  })
})

describe('GET /v1/export?table=windows', () => {
  it('Parquet and CSV: the NDJSON export row for row, every series', async () => {
    const want = await ndjson('table=windows')
    const series = new Set(want.map((w) => `${w.deviceId}/${w.metric}`))
    expect(series).toEqual(new Set(['pump-7/temp', 'pump-7/rpm', 'valve,"2"/temp', 'valve,"2"/rpm']))
    const file = await saved('table=windows&format=parquet', 'parquet')
    expect(await parquetRows(sql, file, ['start', 'end'])).toEqual(want)
    const csv = await saved('table=windows&format=csv', 'csv')
    const numbers = ['count', 'mean', 'std', 'min', 'max', 'range']
    expect(await csvRows(sql, csv, numbers)).toEqual(want)
  })

  it('since/until bound the end of a window; deviceId the series', async () => {
    const all = await ndjson('table=windows&deviceId=pump-7')
    const since = T0 + 600_000
    const until = T0 + 1_800_000
    const some = await ndjson(`table=windows&deviceId=pump-7&since=${since}&until=${until}`)
    const end = (w: Row) => Date.parse(w.end as string)
    expect(some).toEqual(all.filter((w) => end(w) >= since && end(w) < until))
    expect(some.length).toBeGreaterThan(0)
    expect(some.length).toBeLessThan(all.length)
  })
})

describe('a read that fails part way', () => {
  /** The app over a store whose record exports give its records three times over, failing after `n`. */
  async function failingApp(n: number): Promise<App> {
    const failing = new Proxy(store, {
      get(target, key, receiver) {
        if (key !== 'exportRecords') return Reflect.get(target, key, receiver)
        return (q: Parameters<Store['exportRecords']>[0]) =>
          (async function* () {
            let i = 0
            for (let pass = 0; pass < 3; pass++)
              for await (const r of target.exportRecords(q)) {
                if (i++ === n) throw new Error('disk I/O error')
                yield r
              }
          })()
      },
    })
    return createApp({
      store: failing,
      kernel: await loadNodeKernel(),
      analysis: resolveAnalysisConfig({}),
      tokens,
      bodyLimitBytes: 1 << 20,
    })
  }

  it('aborts a Parquet or CSV response (after row groups were sent): the body never completes', async () => {
    const failing = await failingApp(12_000)
    for (const format of ['parquet', 'csv']) {
      const res = await get(`/v1/export?format=${format}`, failing)
      const reader = res.body!.getReader()
      let bytes = 0
      const read = async () => {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return
          bytes += value.length
        }
      }
      await expect(read()).rejects.toThrow('disk I/O error')
      expect(bytes).toBeGreaterThan(0)
    }
  })

  it('still ends NDJSON with the error line', async () => {
    const failing = await failingApp(10)
    const lines = (await (await get('/v1/export', failing)).text()).trimEnd().split('\n')
    expect(lines).toHaveLength(11)
    expect(JSON.parse(lines[10]!)).toMatchObject({
      error: { code: 'export_failed', details: { records: 10 } },
    })
  })
})

describe('query', () => {
  it('refuses an unknown format or table with 400', async () => {
    for (const q of ['format=xlsx', 'table=devices']) {
      const res = await app.request(`/v1/export?${q}`, { headers: admin })
      expect(res.status).toBe(400)
    }
  })
})
