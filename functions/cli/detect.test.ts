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
import { openSqliteStore } from '../store/sqlite.js'
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
      'error',
    ])
    expect(rows.every((r) => r.error === '')).toBe(true)
    expect(rows[700]!.anomalies).toContain('high_temp')

    // The same rows through the HTTP app, in 1,000-record batches.
    const store = openSqliteStore(join(dir, 'server.db'))
    const tokens = { ingest: 'i'.repeat(16), admin: 'a'.repeat(16) }
    const app = createApp({
      store,
      kernel,
      analysis,
      tokens: { ingest: [tokens.ingest], admin: [tokens.admin] },
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
        headers: { Authorization: `Bearer ${tokens.ingest}`, 'Content-Type': 'application/x-ndjson' },
      })
      expect(res.status).toBe(200)
    }
    const exported = (
      await (await app.request('/v1/export', { headers: { Authorization: `Bearer ${tokens.admin}` } })).text()
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { deviceId: string; ts: string; score: number; anomalies: string })
      .filter((e) => e.deviceId !== undefined) // the export's end line
    const key = (device: string, ts: string) =>
      `${device}|${new Date(ts.includes('T') ? ts : ts.replace(' ', 'T') + 'Z').getTime()}`
    const fromServer = new Map(exported.map((e) => [key(e.deviceId, e.ts), e]))
    for (const r of rows) {
      const s = fromServer.get(key(r.machine!, r.timestamp!))!
      expect(Number(r.score)).toBe(s.score)
      expect(r.anomalies).toBe(s.anomalies)
    }
    expect(rows.filter((r) => r.anomalies).length).toBeGreaterThan(0)
    await store.close()
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

  it('takes the CSV header from the first chunk even when the first line is unreadable', async () => {
    const input = join(dir, 'first-bad.ndjson')
    writeFileSync(
      input,
      [
        'not json',
        '{"deviceId":"a","ts":"2026-01-01T00:00:00Z","temp":1}',
        '{"deviceId":"a","ts":"2026-01-01T00:00:05Z","temp":2,"note":"x"}',
        '{"deviceId":"a","ts":"yesterday","temp":3}',
      ].join('\n'),
    )
    const output = join(dir, 'first-bad.csv')
    const summary = await detect(kernel, analysis, { input, output, progress: false })
    expect(summary).toMatchObject({ rows: 4, scored: 2, invalidCount: 2 })
    const rows = parse(readFileSync(output, 'utf8'), { columns: true }) as Record<string, string>[]
    expect(Object.keys(rows[0]!)).toEqual(['deviceId', 'ts', 'temp', 'note', 'score', 'anomalies', 'error'])
    expect(rows.map((r) => [r.deviceId, r.temp, r.note, r.score === '', r.error])).toEqual([
      ['', '', '', true, expect.stringMatching(/^invalid JSON/)],
      ['a', '1', '', false, ''],
      ['a', '2', 'x', false, ''],
      ['a', '3', '', true, expect.stringMatching(/invalid timestamp/)],
    ])
  })

  it('names the reason column _error when the rows have an error field of their own', async () => {
    const input = join(dir, 'own-error.ndjson')
    writeFileSync(input, '{"deviceId":"a","ts":1767225600000,"error":"E42","temp":1}\n')
    const output = join(dir, 'own-error.csv')
    await detect(kernel, analysis, { input, output, progress: false })
    expect(readFileSync(output, 'utf8').split('\n')[0]).toBe('deviceId,ts,error,temp,score,anomalies,_error')
  })

  it('keeps CSV device ids as written (007, 1e3, 42), in NDJSON and CSV output', async () => {
    const input = join(dir, 'ids.csv')
    writeFileSync(
      input,
      'ts,device,temp\n2026-01-01T00:00:00Z,007,1\n2026-01-01T00:00:01Z,1e3,2\n2026-01-01T00:00:02Z, 42 ,3\n',
    )
    const ndjson = join(dir, 'ids.ndjson')
    await detect(kernel, analysis, { input, output: ndjson, progress: false })
    const lines = readFileSync(ndjson, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { device: unknown; temp: unknown })
    expect(lines.map((l) => [l.device, l.temp])).toEqual([
      ['007', 1],
      ['1e3', 2],
      ['42', 3],
    ])
    const csv = join(dir, 'ids.out.csv')
    await detect(kernel, analysis, { input, output: csv, progress: false })
    const rows = parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[]
    expect(rows.map((r) => r.device)).toEqual(['007', '1e3', '42'])
  })

  describe('a server export as input', () => {
    const record = (i: number) =>
      JSON.stringify({
        deviceId: 'p',
        ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        temp: 20 + (i % 3),
        score: 0.1,
        anomalies: '',
      })
    const exportFile = (name: string, records: number, last?: string) => {
      const lines = Array.from({ length: records }, (_, i) => record(i))
      if (last) lines.push(last)
      const input = join(dir, name)
      writeFileSync(input, lines.join('\n') + '\n')
      return input
    }
    const footer = (n: number) => JSON.stringify({ export: { complete: true, records: n } })

    it('skips the footer: not a row, not written, not invalid', async () => {
      const input = exportFile('full.ndjson', 5, footer(5))
      const output = join(dir, 'full.out.ndjson')
      const summary = await detect(kernel, analysis, { input, output, progress: false })
      expect(summary).toMatchObject({ rows: 5, scored: 5, invalidCount: 0, export: 'complete' })
      const out = readFileSync(output, 'utf8').trim().split('\n')
      expect(out).toHaveLength(5)
      expect(out.every((l) => (JSON.parse(l) as { deviceId?: string }).deviceId === 'p')).toBe(true)
    })

    it('fails when the export ends with the server error line', async () => {
      const error = JSON.stringify({
        error: { code: 'export_failed', message: 'disk I/O error', details: { records: 3 } },
      })
      const input = exportFile('failed.ndjson', 3, error)
      await expect(
        detect(kernel, analysis, { input, output: join(dir, 'failed.out.ndjson'), progress: false }),
      ).rejects.toThrow(/export is incomplete: the server reported an error after 3 records: disk I\/O error/)
    })

    it('fails when the footer counts other records than were read', async () => {
      const input = exportFile('short.ndjson', 4, footer(6))
      await expect(
        detect(kernel, analysis, { input, output: join(dir, 'short.out.csv'), progress: false }),
      ).rejects.toThrow(/export is incomplete: .*footer.* 6 records, 4 were read/)
    })

    it('reads an export with no footer (saved before there was one), and a plain file, as before', async () => {
      const old = await detect(kernel, analysis, {
        input: exportFile('old.ndjson', 3),
        output: join(dir, 'old.out.ndjson'),
        progress: false,
      })
      expect(old).toMatchObject({ rows: 3, scored: 3, export: 'unterminated' })
      const input = join(dir, 'plain.ndjson')
      writeFileSync(input, '{"deviceId":"a","ts":1767225600000,"temp":1}\n')
      const plain = await detect(kernel, analysis, { input, output: join(dir, 'p.ndjson'), progress: false })
      expect(plain).toMatchObject({ rows: 1, scored: 1, export: 'plain' })
    })

    it('exits non-zero with the reason on stderr', () => {
      const input = exportFile('cmd-short.ndjson', 2, footer(3))
      const run = spawnSync(
        process.execPath,
        [cli, 'detect', '--input', input, '--output', join(dir, 'cmd-short.out.ndjson')],
        { encoding: 'utf8' },
      )
      expect(run.status).toBe(1)
      expect(run.stderr).toMatch(/edgewatch detect: .*export is incomplete/)
    })
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
