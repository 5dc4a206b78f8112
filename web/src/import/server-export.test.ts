import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createApp } from '../../../functions/app.js'
import { resolveAnalysisConfig } from '../../../functions/domain/analysis-config.js'
import { exportEnd } from '../../../functions/domain/rows.js'
import { openSqliteStore } from '../../../functions/store/sqlite.js'
import { loadNodeKernel } from '../../../kernels/node.js'
import { exportUrl } from './server-export.js'

describe('the export URL of a server pull', () => {
  it('uses the filters the server applies (device, since, until)', async () => {
    const tokens = { ingest: 'i'.repeat(20), admin: 'a'.repeat(20) }
    const dir = mkdtempSync(join(tmpdir(), 'edgewatch-pull-'))
    const store = openSqliteStore(join(dir, 'server.db'))
    const app = createApp({
      store,
      kernel: await loadNodeKernel(),
      analysis: resolveAnalysisConfig({}),
      tokens: { ingest: [tokens.ingest], admin: [tokens.admin] },
      bodyLimitBytes: 1 << 20,
    })
    const records = Array.from({ length: 20 }, (_, i) => ({
      deviceId: i % 2 ? 'odd' : 'even',
      ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      temp: i,
    }))
    const ingest = await app.request('/v1/ingest', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.ingest}`, 'content-type': 'application/json' },
      body: JSON.stringify(records),
    })
    expect(ingest.status).toBe(200)
    const url = exportUrl(
      {
        server: '',
        token: tokens.admin,
        deviceId: 'even',
        since: '2026-01-01T00:00:04Z',
        until: '2026-01-01T00:00:10Z',
      },
      'http://127.0.0.1:3000',
    )
    expect(url.origin).toBe('http://127.0.0.1:3000')
    const res = await app.request(url.pathname + url.search, {
      headers: { authorization: `Bearer ${tokens.admin}` },
    })
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { temp: number })
      .filter((l) => !exportEnd(l))
    expect(lines.map((l) => l.temp)).toEqual([4, 6, 8])
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('takes another server when given one, and says when it is not a URL', () => {
    expect(exportUrl({ server: 'https://edge.example:8443', token: 't' }, 'http://x').href).toBe(
      'https://edge.example:8443/v1/export',
    )
    expect(() => exportUrl({ server: 'not a url', token: 't' }, 'also not')).toThrow(
      /not a server URL: not a url/,
    )
  })
})
