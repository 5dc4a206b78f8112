// An export that fails part way on the real `edgewatch serve`: a record chunk made unreadable in the
// database. Parquet and CSV responses are cut (the client sees an error, never an end), NDJSON ends
// with its error line.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../server-process.js'

const INGEST = 'failure-ingest-token-1234'
const ADMIN = 'failure-admin-token-5678'
const T0 = Date.UTC(2026, 10, 1)
const dir = mkdtempSync(join(tmpdir(), 'export-failure-'))
const env = { EDGEWATCH_DATA_DIR: dir, EDGEWATCH_INGEST_TOKEN: INGEST, EDGEWATCH_ADMIN_TOKEN: ADMIN }
let server: ServerProcess

beforeAll(async () => {
  server = await startServer(env)
  // one device, a record every 10 s for 60 hours: a chunk an hour (360 records), read 16 or more
  // chunks a page; the 41st chunk made unreadable fails the export after 14,400 records
  const lines = Array.from({ length: 21_600 }, (_, i) =>
    JSON.stringify({ deviceId: 'pump-7', ts: T0 + i * 10_000, temp: 20 + (i % 13) }),
  )
  for (let i = 0; i < lines.length; i += 10_000) {
    const res = await fetch(`${server.url}/v1/ingest`, {
      method: 'POST',
      body: lines.slice(i, i + 10_000).join('\n'),
      headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/x-ndjson' },
    })
    expect(res.status).toBe(200)
  }
  await server.stop()
  const db = new Database(join(dir, 'edgewatch.db'))
  const changed = db
    .prepare(
      "UPDATE record_chunks SET data = 'not a chunk' WHERE id = (SELECT id FROM record_chunks ORDER BY ts_min LIMIT 1 OFFSET 40)",
    )
    .run().changes
  db.close()
  expect(changed).toBe(1)
  server = await startServer(env)
}, 180_000)

afterAll(async () => {
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

function curl(url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      'curl',
      [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{size_download}',
        '-H',
        `Authorization: Bearer ${ADMIN}`,
        url,
      ],
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    ),
  )
}

describe('an export whose read fails part way (edgewatch serve)', () => {
  it.each(['parquet', 'csv'])(
    // what was written just before the failure may not reach the client: the connection closes at once
    '%s: the response is cut, never ended',
    async (format) => {
      const res = await fetch(`${server.url}/v1/export?format=${format}`, {
        headers: { Authorization: `Bearer ${ADMIN}` },
      })
      expect(res.status).toBe(200)
      let bytes = 0
      const read = async () => {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length
      }
      await expect(read()).rejects.toThrow()
      // less than the 14,400 records before the unreadable chunk, let alone all 21,600
      expect(bytes).toBeLessThan(format === 'csv' ? 2_000_000 : 400_000)
    },
  )

  it.each(['parquet', 'csv'])('%s: curl reports a transfer cut short', async (format) => {
    const r = await curl(`${server.url}/v1/export?format=${format}`)
    // 18: transfer closed with outstanding read data; 52: empty reply; 56: failure receiving
    expect([18, 52, 56], r.stderr).toContain(r.code)
    expect(r.stderr).toMatch(/curl: \((18|52|56)\)/)
  })

  it('NDJSON still ends with the error line', async () => {
    const text = await (
      await fetch(`${server.url}/v1/export`, { headers: { Authorization: `Bearer ${ADMIN}` } })
    ).text()
    const last = JSON.parse(text.trimEnd().split('\n').pop()!)
    expect(last).toMatchObject({ error: { code: 'export_failed' } })
    expect(last.error.details.records).toBeGreaterThanOrEqual(10_000)
  })
})
