import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Kernel } from '../kernels/host/kernel.js'
import { loadNodeKernel } from '../kernels/node.js'
import { type App, createApp } from './app.js'
import { resolveAnalysisConfig } from './domain/analysis-config.js'
import { openSqliteStore } from './store/sqlite.js'
import { wrapStore } from './store/wrap.js'

const tokens = { ingest: ['ingest-token-123'], admin: ['admin-token-4567'] }
const admin = { Authorization: `Bearer ${tokens.admin[0]}` }
const ingestAuth = { Authorization: `Bearer ${tokens.ingest[0]}` }
const LIMIT = 64 * 1024

let kernel: Kernel
let app: App
let logs: string[]
beforeAll(async () => {
  kernel = await loadNodeKernel()
})
const freshApp = () =>
  createApp({
    store: openSqliteStore(':memory:'),
    kernel,
    analysis: resolveAnalysisConfig({}),
    tokens,
    bodyLimitBytes: LIMIT,
    log: (l) => logs.push(l),
  })
beforeEach(() => {
  logs = []
  app = freshApp()
})

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  app.request('/v1/ingest', {
    method: 'POST',
    body,
    headers: { ...ingestAuth, 'Content-Type': 'application/json', ...headers },
  })
const get = (path: string) => app.request(path, { headers: admin })
const ndjson = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n')
const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string; details: unknown } }).error

describe('CORS for the replay tool on another origin', () => {
  const withCors = (origins: string[]) =>
    createApp({
      store: openSqliteStore(':memory:'),
      kernel,
      analysis: resolveAnalysisConfig({}),
      tokens,
      bodyLimitBytes: LIMIT,
      corsOrigins: origins,
    })

  it('answers preflights from allowed origins only, before auth', async () => {
    const app = withCors(['http://127.0.0.1:5173'])
    const preflight = (origin: string) =>
      app.request('/v1/export', {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'GET',
          'Access-Control-Request-Headers': 'authorization',
        },
      })
    const ok = await preflight('http://127.0.0.1:5173')
    expect(ok.status).toBe(204)
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173')
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization')
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull()
    const res = await app.request('/v1/devices', { headers: { ...admin, Origin: 'http://127.0.0.1:5173' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173')
    const denied = await app.request('/v1/devices', { headers: { Origin: 'http://127.0.0.1:5173' } })
    expect(denied.status).toBe(401)
  })

  it('sends no CORS headers by default', async () => {
    const res = await get('/v1/devices')
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('refuses a malformed origin list at start-up', async () => {
    const { parseOrigins } = await import('./config.js')
    expect(parseOrigins(' http://a.example:8080 , * ')).toEqual(['http://a.example:8080', '*'])
    expect(() => parseOrigins('a.example')).toThrow(/not an origin/)
    expect(() => parseOrigins('https://a.example/path')).toThrow(/not an origin/)
  })
})

describe('auth', () => {
  it('needs a bearer token on every /v1 route, with the error shape', async () => {
    for (const path of [
      '/v1/anomalies',
      '/v1/devices',
      '/v1/export',
      '/v1/dead-letters',
      '/v1/devices/x/series/temp',
    ]) {
      const res = await app.request(path)
      expect(res.status).toBe(401)
      expect(await errorOf(res)).toMatchObject({ code: 'unauthorized' })
    }
    expect((await app.request('/v1/anomalies', { headers: { Authorization: 'Bearer wrong' } })).status).toBe(
      401,
    )
    expect(
      (await app.request('/v1/anomalies', { headers: { Authorization: tokens.admin[0]! } })).status,
    ).toBe(401)
    expect((await post('{"deviceId":"a"}', { Authorization: 'Bearer nope' })).status).toBe(401)
  })

  it('opens ingest to both tokens and everything else to the admin token only', async () => {
    expect((await post('{"deviceId":"a"}')).status).toBe(200)
    expect((await post('{"deviceId":"a"}', admin)).status).toBe(200)
    const res = await app.request('/v1/anomalies', { headers: ingestAuth })
    expect(res.status).toBe(401)
    expect((await errorOf(res)).message).toMatch(/admin token/)
  })

  it('leaves health, metrics and docs open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs'])
      expect((await app.request(path)).status).toBe(200)
  })
})

describe('ingest', () => {
  it('accepts JSON arrays, single objects, NDJSON and gzip', async () => {
    expect(await (await post('[{"deviceId":"a","temp":20},{"deviceId":"b"}]')).json()).toMatchObject({
      accepted: 2,
      rejectedCount: 0,
    })
    expect(await (await post('{"deviceId":"a","temp":21}')).json()).toMatchObject({ accepted: 1 })
    const nd = ndjson([{ deviceId: 'a', temp: 22 }, { deviceId: 'c' }])
    expect(await (await post(nd, { 'Content-Type': 'application/x-ndjson' })).json()).toMatchObject({
      accepted: 2,
    })
    const gz = gzipSync(Buffer.from(nd))
    const res = await post(gz, { 'Content-Type': 'application/x-ndjson', 'Content-Encoding': 'gzip' })
    expect(await res.json()).toMatchObject({ accepted: 2 })
    const devices = (await (await get('/v1/devices')).json()) as {
      items: { deviceId: string; recordCount: number }[]
    }
    expect(devices.items.map((d) => [d.deviceId, d.recordCount])).toEqual([
      ['a', 4],
      ['b', 1],
      ['c', 2],
    ])
  })

  it('stores valid records, rejects the rest with line numbers, and keeps them as dead letters', async () => {
    const body = [
      '{"deviceId":"a","temp":20}',
      '{broken',
      '{"temp":5}',
      '{"deviceId":"b","level":"error","msg":"disk full"}',
    ].join('\n')
    const res = await post(body, { 'Content-Type': 'application/x-ndjson' })
    expect(res.status).toBe(200)
    const out = (await res.json()) as {
      accepted: number
      rejected: { line: number; reason: string }[]
      anomalies: { kind: string }[]
    }
    expect(out.accepted).toBe(2)
    expect(out.rejected.map((r) => r.line)).toEqual([2, 3])
    expect(out.anomalies.map((a) => a.kind)).toEqual(['error'])
    const dead = (await (await get('/v1/dead-letters')).json()) as {
      items: { position: string; raw: string; reason: string }[]
    }
    expect(dead.items.map((d) => [d.position, d.raw])).toEqual(
      expect.arrayContaining([
        ['line 2', '{broken'],
        ['line 3', '{"temp":5}'],
      ]),
    )
  })

  it('answers 400 when nothing is usable, still keeping the input', async () => {
    let res = await post('[1, 2]')
    expect(res.status).toBe(400)
    expect(await errorOf(res)).toMatchObject({ code: 'no_valid_records', details: { rejectedCount: 2 } })
    res = await post('{"deviceId": ')
    expect((await errorOf(res)).code).toBe('invalid_body')
    res = await post('   ')
    expect((await errorOf(res)).code).toBe('empty_body')
    res = await post(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))
    expect((await errorOf(res)).code).toBe('invalid_encoding')
    res = await post(new Uint8Array([1, 2, 3]), { 'Content-Encoding': 'gzip' })
    expect((await errorOf(res)).code).toBe('invalid_gzip')
    const dead = (await (await get('/v1/dead-letters')).json()) as { items: { raw: string }[] }
    expect(dead.items.map((d) => d.raw)).toEqual(
      expect.arrayContaining(['1', '2', '{"deviceId": ', 'base64:e//+fQ==', 'base64:AQID']),
    )
  })

  it('answers 413 above the limit, also for a gzip bomb, and 415 for other types', async () => {
    const big =
      '[' +
      Array.from({ length: 2000 }, () => '{"deviceId":"aaaaaaaaaaaaaaaaaaaaaa","temp":1}').join(',') +
      ']'
    expect((await post(big)).status).toBe(413)
    const bomb = gzipSync(Buffer.from(`{"deviceId":"a","pad":"${'x'.repeat(LIMIT * 4)}"}`))
    expect(bomb.length).toBeLessThan(LIMIT)
    const res = await post(bomb, { 'Content-Encoding': 'gzip' })
    expect(res.status).toBe(413)
    expect(await errorOf(res)).toMatchObject({ code: 'payload_too_large' })
    const chunked = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big))
        c.close()
      },
    })
    expect(
      (
        await app.request('/v1/ingest', {
          method: 'POST',
          body: chunked,
          headers: { ...ingestAuth, 'Content-Type': 'application/json' },
          duplex: 'half',
        } as RequestInit)
      ).status,
    ).toBe(413)
    expect((await post('x', { 'Content-Type': 'text/plain' })).status).toBe(415)
    expect((await post('x', { 'Content-Type': '' })).status).toBe(415)
    expect((await post('{}', { 'Content-Encoding': 'br' })).status).toBe(415)
  })

  it('does not store a batch twice under the same Idempotency-Key', async () => {
    const body = ndjson([
      { deviceId: 'a', temp: 1 },
      { deviceId: 'a', temp: 2 },
    ])
    const h = { 'Content-Type': 'application/x-ndjson', 'Idempotency-Key': 'batch-0001' }
    const first = await post(body, h)
    const second = await post(body, h)
    expect(second.headers.get('idempotent-replayed')).toBe('true')
    expect(await second.text()).toBe(await first.text())
    const devices = (await (await get('/v1/devices')).json()) as { items: { recordCount: number }[] }
    expect(devices.items[0]!.recordCount).toBe(2)
    expect((await post(body, { ...h, 'Idempotency-Key': 'bad key with spaces' })).status).toBe(400)
  })

  it('never answers 500 to arbitrary bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        fc.constantFrom('application/json', 'application/x-ndjson'),
        async (body, type) => {
          const res = await post(body, { 'Content-Type': type })
          expect([200, 400]).toContain(res.status)
          if (res.status === 400) expect(await errorOf(res)).toHaveProperty('code')
        },
      ),
      { numRuns: 150 },
    )
  })
})

describe('queries', () => {
  const load = async () => {
    const rows = Array.from({ length: 300 }, (_, i) => ({
      deviceId: i % 2 ? 'pump-1' : 'pump-2',
      ts: 1_700_000_000_000 + i * 1000,
      temp: i === 251 ? 95 : 20 + Math.sin(i) * 0.3,
      latencyMs: i === 120 ? 4000 : 50,
    }))
    await post(ndjson(rows), { 'Content-Type': 'application/x-ndjson' })
  }

  it('pages through anomalies newest first with filters', async () => {
    await load()
    const all: { ts: string; kind: string; deviceId: string }[] = []
    let next: string | null = null
    do {
      const q: string = next ? `&cursor=${encodeURIComponent(next)}` : ''
      const page = (await (await get(`/v1/anomalies?limit=2${q}`)).json()) as {
        items: typeof all
        next: string | null
      }
      all.push(...page.items)
      next = page.next
    } while (next)
    expect(all.length).toBeGreaterThanOrEqual(2)
    expect([...all].sort((a, b) => b.ts.localeCompare(a.ts))).toEqual(all)
    expect(all.map((a) => a.kind)).toEqual(expect.arrayContaining(['high_temp', 'slow_response']))
    const temp = (await (await get('/v1/anomalies?kind=high_temp&deviceId=pump-1')).json()) as {
      items: unknown[]
    }
    expect(temp.items).toHaveLength(1)
    const since = (await (await get(`/v1/anomalies?since=${1_700_000_000_000 + 200_000}`)).json()) as {
      items: typeof all
    }
    expect(since.items.every((a) => a.kind !== 'slow_response')).toBe(true)
  })

  it('answers bad query parameters with 400 and the error shape', async () => {
    for (const q of [
      'limit=0',
      'limit=abc',
      'limit=100000',
      'since=yesterday',
      'cursor=%00garbage',
      `deviceId=${'x'.repeat(300)}`,
    ]) {
      const res = await get(`/v1/anomalies?${q}`)
      expect(res.status, q).toBe(400)
      expect((await errorOf(res)).code).toMatch(/invalid/)
    }
  })

  it('gives a series with values and window features, and 404 for an unknown device', async () => {
    await load()
    const s = (await (await get('/v1/devices/pump-1/series/temp?limit=50')).json()) as {
      values: { value: number }[]
      windows: unknown[]
    }
    expect(s.values).toHaveLength(50)
    expect(s.values.every((v) => typeof v.value === 'number')).toBe(true)
    expect(s.windows.length).toBeGreaterThan(0)
    const res = await get('/v1/devices/nobody/series/temp')
    expect(res.status).toBe(404)
    expect((await errorOf(res)).code).toBe('device_not_found')
  })

  it("bounds a series by since, defaulting to 24 hours before the device's newest record", async () => {
    await load()
    const t0 = 1_700_000_000_000
    type Series = { values: { ts: string }[]; windows: { end: string }[] }
    const series = async (q: string) =>
      (await (await get(`/v1/devices/pump-1/series/temp?${q}`)).json()) as Series
    const since = t0 + 250_000
    for (const q of [`since=${since}`, `since=${new Date(since).toISOString()}`]) {
      const s = await series(q)
      // pump-1 has the odd seconds: 251, 253, ..., 299.
      expect(s.values.map((v) => Date.parse(v.ts))).toEqual(
        Array.from({ length: 25 }, (_, k) => t0 + (251 + 2 * k) * 1000),
      )
      expect(s.windows.every((w) => Date.parse(w.end) >= since)).toBe(true)
    }
    expect((await get('/v1/devices/pump-1/series/temp?since=yesterday')).status).toBe(400)

    const day = 24 * 3600_000
    await post(
      ndjson([0, 1, 2 * day - 1, 2 * day].map((dt, i) => ({ deviceId: 'old', ts: t0 + dt, temp: i }))),
      {
        'Content-Type': 'application/x-ndjson',
      },
    )
    const ts = async (q = '') =>
      ((await (await get(`/v1/devices/old/series/temp?${q}`)).json()) as Series).values.map((v) =>
        Date.parse(v.ts),
      )
    expect(await ts()).toEqual([t0 + 2 * day - 1, t0 + 2 * day])
    expect(await ts(`since=${t0 + 1}`)).toEqual([t0 + 1, t0 + 2 * day - 1, t0 + 2 * day])
    expect(await ts('since=0')).toHaveLength(4)
  })

  it('exports NDJSON with scores and verdicts', async () => {
    await load()
    const res = await get('/v1/export?deviceId=pump-1')
    expect(res.headers.get('content-type')).toMatch(/ndjson/)
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ts: string; score: number; anomalies: string })
    expect(lines.pop()).toEqual({ export: { complete: true, records: 150 } })
    expect(lines).toHaveLength(150)
    expect(lines.some((l) => l.anomalies.includes('high_temp'))).toBe(true)
    expect(lines.every((l) => l.score >= 0 && l.score <= 1)).toBe(true)
  })

  it('ends an export that fails part way with an error line, so it never looks complete', async () => {
    const store = openSqliteStore(':memory:')
    const failing = createApp({
      store: wrapStore(store, (op, method) =>
        op === 'exportRecords'
          ? (async function* () {
              yield* store.exportRecords({})
              throw new Error('disk I/O error')
            } as unknown as typeof method)
          : method,
      ),
      kernel,
      analysis: resolveAnalysisConfig({}),
      tokens,
      bodyLimitBytes: LIMIT,
    })
    const body = ndjson(Array.from({ length: 3 }, (_, i) => ({ deviceId: 'x', ts: i, v: i })))
    await failing.request('/v1/ingest', {
      method: 'POST',
      body,
      headers: { ...ingestAuth, 'Content-Type': 'application/x-ndjson' },
    })
    const res = await failing.request('/v1/export', { headers: admin })
    expect(res.status).toBe(200)
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(4)
    expect(lines[3]).toEqual({
      error: {
        code: 'export_failed',
        message: 'the export failed after 3 records: disk I/O error',
        details: { records: 3 },
      },
    })
  })

  it('exports in arrival order on request', async () => {
    for (const ts of [3000, 1000, 2000])
      await post(JSON.stringify({ deviceId: 'o', ts, v: 1 }), { 'Content-Type': 'application/json' })
    const order = async (q: string) =>
      (await (await get(`/v1/export?deviceId=o${q}`)).text())
        .trim()
        .split('\n')
        .slice(0, -1)
        .map((l) => Date.parse((JSON.parse(l) as { ts: string }).ts))
    expect(await order('')).toEqual([1000, 2000, 3000])
    expect(await order('&order=arrival')).toEqual([3000, 1000, 2000])
    expect((await get('/v1/export?order=random')).status).toBe(400)
  })

  it('answers unknown routes with 404 in the error shape', async () => {
    const res = await app.request('/nope')
    expect(res.status).toBe(404)
    expect((await errorOf(res)).code).toBe('not_found')
  })
})

describe('operations', () => {
  it('serves Prometheus metrics that count what happened', async () => {
    await post(ndjson([{ deviceId: 'a', level: 'fatal' }, { broken: true }]), {
      'Content-Type': 'application/x-ndjson',
    })
    const text = await (await app.request('/metrics')).text()
    expect(text).toMatch(/^edgewatch_records_ingested_total 1$/m)
    expect(text).toMatch(/^edgewatch_records_rejected_total 1$/m)
    expect(text).toMatch(/^edgewatch_anomalies_total\{kind="error"\} 1$/m)
    expect(text).toMatch(
      /edgewatch_http_request_duration_seconds_bucket\{route="\/v1\/ingest",le="\+Inf"\} 1/,
    )
    expect(text).toMatch(/edgewatch_store_operation_duration_seconds_count\{op="commitIngest"\} 1/)
  })

  it('describes every route in OpenAPI 3.1', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      openapi: string
      paths: Record<string, object>
    }
    expect(doc.openapi).toBe('3.1.0')
    for (const path of [
      '/v1/ingest',
      '/v1/anomalies',
      '/v1/devices',
      '/v1/devices/{id}/series/{metric}',
      '/v1/export',
      '/v1/dead-letters',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      expect(doc.paths, path).toHaveProperty([path])
    }
  })

  it('logs one JSON line per request', async () => {
    await app.request('/healthz')
    await post('{"deviceId":"a"}')
    expect(logs).toHaveLength(2)
    expect(JSON.parse(logs[1]!)).toMatchObject({
      method: 'POST',
      path: '/v1/ingest',
      status: 200,
      accepted: 1,
    })
  })
})

describe('group commit', () => {
  it('gives concurrent batches of one series the same answers as sequential ones', async () => {
    const batches = Array.from({ length: 8 }, (_, b) =>
      ndjson(
        Array.from({ length: 100 }, (_, i) => ({
          deviceId: 'g',
          ts: 1_700_000_000_000 + (b * 100 + i) * 1000,
          v: Math.sin(b * 100 + i) + (b * 100 + i === 555 ? 40 : 0),
        })),
      ),
    )
    const sequential = []
    for (const body of batches)
      sequential.push(await (await post(body, { 'Content-Type': 'application/x-ndjson' })).text())
    const expected = await (await get('/v1/export')).text()

    app = freshApp()
    const concurrent = await Promise.all(
      batches.map((body) =>
        (async () => (await post(body, { 'Content-Type': 'application/x-ndjson' })).text())(),
      ),
    )
    expect(concurrent).toEqual(sequential)
    expect(await (await get('/v1/export')).text()).toBe(expected)
  })

  it('stores a key once when its retries arrive together', async () => {
    const body = ndjson([{ deviceId: 'k', v: 1 }])
    const h = { 'Content-Type': 'application/x-ndjson', 'Idempotency-Key': 'same' }
    const answers = await Promise.all([post(body, h), post(body, h), post(body, h)])
    // One of them is stored and the other two replay it; which one goes first is not fixed (each body's
    // sha256 is computed asynchronously, and those may finish in any order).
    expect(answers.map((r) => r.headers.get('idempotent-replayed')).sort()).toEqual(
      [null, 'true', 'true'].sort(),
    )
    const devices = (await (await get('/v1/devices')).json()) as { items: { recordCount: number }[] }
    expect(devices.items[0]!.recordCount).toBe(1)
  })
})
