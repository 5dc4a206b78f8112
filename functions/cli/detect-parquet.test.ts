// `edgewatch detect --output x.parquet`: the same rows, scores and kinds as the NDJSON output, read
// back with DuckDB, a row group per chunk.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kernel } from '../../kernels/host/kernel.js'
import { loadNodeKernel } from '../../kernels/node.js'
import { resolveAnalysisConfig } from '../domain/analysis-config.js'
import { detect } from './detect.js'

let kernel: Kernel
let dir: string
let duck: Awaited<ReturnType<DuckDBInstance['connect']>>
beforeAll(async () => {
  kernel = await loadNodeKernel()
  dir = mkdtempSync(join(tmpdir(), 'edgewatch-detect-parquet-'))
  duck = await (await DuckDBInstance.create(':memory:')).connect()
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const analysis = resolveAnalysisConfig({})
type Row = Record<string, unknown>

async function sql(text: string): Promise<Row[]> {
  return (await duck.runAndReadAll(text)).getRowObjectsJS() as Row[]
}

function input(n: number): string {
  const lines: string[] = []
  for (let i = 0; i < n; i++) {
    const r: Row = {
      deviceId: `m-${i % 3}`,
      ts: new Date(Date.UTC(2026, 0, 1) + i * 5000).toISOString(),
      temp: 40 + Math.sin(i / 9) * 2 + (i % 500 === 499 ? 90 : 0),
    }
    if (i % 100 === 0) r.note = `check, "valve" ${i}`
    if (i % 250 === 0) r.level = 'error'
    lines.push(JSON.stringify(r))
    if (i === 1234) lines.push('{"deviceId": "m-0", "ts": "not a time"}')
  }
  return lines.join('\n') + '\n'
}

describe('edgewatch detect --output x.parquet', () => {
  it('writes the NDJSON output row for row, one row group per chunk', async () => {
    const source = join(dir, 'in.ndjson')
    writeFileSync(source, input(3000))
    const ndjson = join(dir, 'out.ndjson')
    const parquet = join(dir, 'out.parquet')
    const opts = { input: source, chunkRows: 500, progress: false }
    const a = await detect(kernel, analysis, { ...opts, output: ndjson })
    const b = await detect(kernel, analysis, { ...opts, output: parquet })
    expect(b).toEqual(a)
    expect(a).toMatchObject({ rows: 3001, invalidCount: 1 })

    const lines = readFileSync(ndjson, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Row)
    const got = await sql(`SELECT * FROM read_parquet('${parquet}')`)
    expect(got).toHaveLength(lines.length)
    const columns = await sql(
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${parquet}'))`,
    )
    expect(columns.map((c) => [c.column_name, c.column_type])).toEqual([
      ['deviceId', 'VARCHAR'],
      ['ts', 'VARCHAR'],
      ['temp', 'DOUBLE'],
      ['note', 'VARCHAR'],
      ['level', 'VARCHAR'],
      ['score', 'DOUBLE'],
      ['anomalies', 'VARCHAR'],
      ['error', 'VARCHAR'],
    ])
    let anomalous = 0
    lines.forEach((line, i) => {
      const row = got[i]!
      const { score, anomalies, ...fields } = line
      if (anomalies !== '') anomalous++
      expect(row.score).toBe(score)
      expect(row.anomalies).toBe(anomalies)
      // NDJSON has no reason column: the row that was not scored has its reason here
      if (score === null) expect(row.error).toMatch(/timestamp/)
      else expect(row.error).toBeNull()
      for (const k of ['deviceId', 'ts', 'temp', 'note', 'level']) expect(row[k]).toEqual(fields[k] ?? null)
    })
    expect(anomalous).toBeGreaterThan(5)
    const groups = await sql(
      `SELECT DISTINCT row_group_id, row_group_num_rows::INTEGER AS n FROM parquet_metadata('${parquet}') ORDER BY row_group_id`,
    )
    expect(groups.map((g) => g.n)).toEqual([500, 500, 500, 500, 500, 500, 1])
  })

  it('writes a readable file of no rows for an empty input', async () => {
    const source = join(dir, 'empty.ndjson')
    writeFileSync(source, '')
    const parquet = join(dir, 'empty.parquet')
    await detect(kernel, analysis, { input: source, output: parquet, progress: false })
    expect(await sql(`SELECT count(*)::INTEGER AS n FROM read_parquet('${parquet}')`)).toEqual([{ n: 0 }])
  })
})
