import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kernel } from '../../kernels/host/kernel.js'
import { loadNodeKernel, projectRoot } from '../../kernels/node.js'
import { createApp } from '../app.js'
import { resolveAnalysisConfig } from '../domain/analysis-config.js'
import { createMemoryStore } from '../store/memory.js'
import { detect } from './detect.js'

let kernel: Kernel
let dir: string
beforeAll(async () => {
  kernel = await loadNodeKernel()
  dir = mkdtempSync(join(tmpdir(), 'edgewatch-detect-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const analysis = resolveAnalysisConfig({})
const cli = join(projectRoot(), 'bin', 'edgewatch.js')

function csvFixture(n: number): string {
  const lines = ['timestamp,machine,temp,rpm,note']
  for (let i = 0; i < n; i++) {
    const t = new Date(Date.UTC(2026, 0, 1) + i * 5000).toISOString().replace('T', ' ').slice(0, 19)
    const temp = i === 700 ? 140 : 40 + Math.sin(i / 9) * 2 + ((i * 37) % 11) / 20
    lines.push(`${t},m-${i % 2},${temp.toFixed(3)},${1500 + (i % 13)},${i % 100 === 0 ? 'check' : ''}`)
  }
  return lines.join('\n') + '\n'
}

describe('edgewatch detect', () => {
  it('scores a CSV exactly as the server scores the same records', async () => {
    const input = join(dir, 'plant.csv')
    writeFileSync(input, csvFixture(2000))
    const output = join(dir, 'plant.scored.csv')
    const summary = await detect(kernel, analysis, {
      input,
      output,
      deviceColumn: 'machine',
      chunkRows: 300,
      progress: false,
    })
    expect(summary).toMatchObject({ rows: 2000, scored: 2000, invalidCount: 0 })
    const rows = parse(readFileSync(output, 'utf8'), { columns: true }) as Record<string, string>[]
    expect(Object.keys(rows[0]!)).toEqual([
      'timestamp',
      'machine',
      'temp',
      'rpm',
      'note',
      'score',
      'anomalies',
    ])
    expect(rows[700]!.anomalies).toContain('high_temp')

    // The same rows through the HTTP app, in 1,000-record batches.
    const store = createMemoryStore()
    const app = createApp({
      store,
      kernel,
      analysis,
      tokens: { ingest: 'i', admin: 'a' },
      bodyLimitBytes: 8 << 20,
    })
    const records = rows.map((r) => ({
      deviceId: r.machine,
      ts: r.timestamp,
      temp: Number(r.temp),
      rpm: Number(r.rpm),
      note: r.note,
    }))
    for (let i = 0; i < records.length; i += 1000) {
      const body = records
        .slice(i, i + 1000)
        .map((r) => JSON.stringify(r))
        .join('\n')
      const res = await app.request('/v1/ingest', {
        method: 'POST',
        body,
        headers: { Authorization: 'Bearer i', 'Content-Type': 'application/x-ndjson' },
      })
      expect(res.status).toBe(200)
    }
    const exported = (
      await (await app.request('/v1/export', { headers: { Authorization: 'Bearer a' } })).text()
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { deviceId: string; ts: string; score: number; anomalies: string })
    const key = (device: string, ts: string) =>
      `${device}|${new Date(ts.includes('T') ? ts : ts.replace(' ', 'T') + 'Z').getTime()}`
    const fromServer = new Map(exported.map((e) => [key(e.deviceId, e.ts), e]))
    for (const r of rows) {
      const s = fromServer.get(key(r.machine!, r.timestamp!))!
      expect(Number(r.score)).toBe(s.score)
      expect(r.anomalies).toBe(s.anomalies)
    }
    expect(rows.filter((r) => r.anomalies).length).toBeGreaterThan(0)
  })

  it('reads NDJSON with nested metrics and epoch seconds, gzip too, and writes NDJSON', async () => {
    const lines = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({
        device: 'g1',
        time: 1_767_225_600 + i * 10,
        metrics: { v: i === 250 ? 999 : (i * 13) % 7 },
        level: i === 5 ? 'error' : 'info',
      }),
    )
    const input = join(dir, 'g.ndjson.gz')
    writeFileSync(input, gzipSync(lines.join('\n')))
    const output = join(dir, 'g.out.ndjson')
    await detect(kernel, analysis, { input, output, progress: false })
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { score: number; anomalies: string; time: number })
    expect(out).toHaveLength(300)
    expect(out[5]!.anomalies).toBe('error')
    expect(out[250]!.anomalies).toMatch(/outlier|spike/)
    expect(out[0]!.time).toBe(1_767_225_600)
  })

  it('reports bad rows with their line numbers and writes them back unscored', async () => {
    const input = join(dir, 'bad.csv')
    writeFileSync(
      input,
      'ts,temp\n2026-01-01T00:00:00Z,1\nnot-a-time,2\n2026-01-01T00:00:10Z,3,extra\n2026-01-01T00:00:20Z,4\n',
    )
    const output = join(dir, 'bad.out.csv')
    const summary = await detect(kernel, analysis, { input, output, progress: false })
    expect(summary.invalidCount).toBe(2)
    expect(summary.invalid.map((i) => i.line)).toEqual([3, 4])
    const rows = parse(readFileSync(output, 'utf8'), { columns: true, relax_column_count: true }) as Record<
      string,
      string
    >[]
    expect(rows.map((r) => r.score === '')).toEqual([false, true, true, false])
  })

  it('runs as a command, with clear errors for bad flags', () => {
    const input = join(dir, 'cmd.csv')
    writeFileSync(input, csvFixture(50))
    const ok = execFileSync(
      process.execPath,
      [cli, 'detect', '--input', input, '--device-column', 'machine'],
      { encoding: 'utf8' },
    )
    expect(ok.trim().split('\n')).toHaveLength(51)
    const bad = spawnSync(process.execPath, [cli, 'detect', '--input', input, '--format', 'xml'], {
      encoding: 'utf8',
    })
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/--format must be one of csv, ndjson, json/)
    const missing = spawnSync(process.execPath, [cli, 'detect', '--input', input, '--time-column', 'when'], {
      encoding: 'utf8',
    })
    expect(missing.status).not.toBe(0)
    expect(missing.stderr).toMatch(/no time column named when/)
    const unknown = spawnSync(process.execPath, [cli, 'detect', '--nope'], { encoding: 'utf8' })
    expect(unknown.status).toBe(2)
  })
})
