// One HTTP contract, every runtime: the same requests against Node, workerd (and the Spin
// component host), which must give the same answers. The expected answers for the fixed dataset
// come from the app itself run in-process over the in-memory store.
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as wasm from '../../firmware/apps/wasm/testing/assemble.js'
import { createApp } from '../../functions/app.js'
import { resolveAnalysisConfig } from '../../functions/domain/analysis-config.js'
import { openSqliteStore } from '../../functions/store/sqlite.js'
import { loadNodeKernel } from '../../kernels/node.js'
import { testDevice } from '../device-client.js'
import { RUNTIMES, type RunningRuntime } from '../runtimes.js'
import { batches, fixedDataset, ndjson, T0 } from './dataset.js'

const INGEST = 'contract-ingest-token'
const ADMIN = 'contract-admin-token'
const BODY_LIMIT = 256 * 1024
const UNTIL = T0 + 1500 * 5000
const ENV = {
  EDGEWATCH_INGEST_TOKEN: INGEST,
  EDGEWATCH_ADMIN_TOKEN: ADMIN,
  EDGEWATCH_BODY_LIMIT: String(BODY_LIMIT),
  // Short, so that a device goes unreachable within the test.
  EDGEWATCH_HEARTBEAT_INTERVAL: '1s',
  EDGEWATCH_HEARTBEAT_TIMEOUT: '3s',
  // Short, so that a live stream ends by itself within the test.
  EDGEWATCH_STREAM_MAX: '3s',
}
/** The runtimes that hold GET /v1/stream open (the others answer 501 and are polled). */
const STREAMING = new Set(['node', 'workerd'])

interface FeedItem {
  id: string
  event: string
  data: Record<string, unknown>
}

/** The SSE events of a response until it ends or `stopAfter` ms pass; `id` frames without data are skipped. */
async function sseEvents(
  res: Response,
  stopAfter: number,
): Promise<{ events: FeedItem[]; text: string; ended: boolean }> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  let ended = false
  const timer = setTimeout(() => void reader.cancel(), stopAfter)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += value
    }
    ended = true
  } catch {}
  clearTimeout(timer)
  const events = text
    .split('\n\n')
    .map((block) =>
      Object.fromEntries(
        block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
      ),
    )
    .filter((f) => f.event)
    .map((f) => ({ id: f.id as string, event: f.event as string, data: JSON.parse(f.data as string) }))
  return { events, text, ended }
}

interface Expected {
  ingestAnswers: unknown[]
  anomalies: unknown[]
  exported: string
}

/** What the dataset must give: the in-process app over the memory store. */
async function oracle(): Promise<Expected> {
  const app = createApp({
    store: openSqliteStore(':memory:'),
    kernel: await loadNodeKernel(),
    analysis: resolveAnalysisConfig({}),
    tokens: { ingest: [INGEST], admin: [ADMIN] },
    bodyLimitBytes: BODY_LIMIT,
  })
  const ingestAnswers = []
  for (const body of batches(fixedDataset())) {
    const res = await app.request('/v1/ingest', {
      method: 'POST',
      body,
      headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/x-ndjson' },
    })
    ingestAnswers.push(stripTimes(await res.json()))
  }
  const get = async (path: string) => app.request(path, { headers: { Authorization: `Bearer ${ADMIN}` } })
  const anomalies = await walk((cursor) =>
    get(`/v1/anomalies?limit=1000&since=${T0}&until=${UNTIL}${cursor}`),
  )
  return {
    ingestAnswers,
    anomalies,
    exported: await (await get(`/v1/export?since=${T0}&until=${UNTIL}`)).text(),
  }
}

/** Follows `next` to the end. */
async function walk(fetchPage: (cursorParam: string) => Promise<Response>): Promise<unknown[]> {
  const items: unknown[] = []
  let next: string | null = null
  do {
    const res = await fetchPage(next ? `&cursor=${encodeURIComponent(next)}` : '')
    expect(res.status).toBe(200)
    const page = (await res.json()) as { items: unknown[]; next: string | null }
    items.push(...page.items)
    next = page.next
  } while (next)
  return items
}

/** Anomaly ids differ between stores only by what else each stored: compare without them. */
function stripTimes(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value), (k, v) => (k === 'id' ? undefined : v))
}

let expected: Expected
beforeAll(async () => {
  expected = await oracle()
}, 120_000)

describe.each(RUNTIMES)('contract: $name', (runtime) => {
  let rt: RunningRuntime
  beforeAll(async () => {
    rt = await runtime.start(ENV)
  }, 120_000)
  afterAll(async () => {
    await rt?.stop()
  })

  const req = (path: string, init: RequestInit = {}, token: string | null = ADMIN) =>
    fetch(`${rt.url}${path}`, {
      ...init,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(init.headers as Record<string, string>),
      },
    })
  const ingest = (body: BodyInit, headers: Record<string, string> = {}, token = INGEST) =>
    req(
      '/v1/ingest',
      { method: 'POST', body, headers: { 'Content-Type': 'application/x-ndjson', ...headers } },
      token,
    )
  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

  it('answers health, readiness, metrics, OpenAPI and docs', async () => {
    expect(await (await req('/healthz', {}, null)).json()).toMatchObject({ status: 'ok' })
    expect((await req('/readyz', {}, null)).status).toBe(200)
    expect(await (await req('/metrics', {}, null)).text()).toMatch(
      /^# TYPE edgewatch_records_ingested_total counter$/m,
    )
    const doc = (await (await req('/openapi.json', {}, null)).json()) as { openapi: string; paths: object }
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/ingest', '/v1/anomalies', '/v1/export']),
    )
    expect(await (await req('/docs', {}, null)).text()).toContain('openapi.json')
  })

  it('enforces the tokens', async () => {
    expect((await req('/v1/anomalies', {}, null)).status).toBe(401)
    expect((await req('/v1/anomalies', {}, 'wrong')).status).toBe(401)
    expect((await req('/v1/anomalies', {}, INGEST)).status).toBe(401)
    expect(await errorCode(await ingest('{"deviceId":"auth-1"}', {}, 'wrong'))).toBe('unauthorized')
    expect((await ingest('{"deviceId":"auth-1"}', {}, ADMIN)).status).toBe(200)
  })

  it('finds exactly the expected anomalies on the fixed dataset, and exports the same records', async () => {
    const answers = []
    for (const body of batches(fixedDataset())) {
      const res = await ingest(body)
      expect(res.status).toBe(200)
      answers.push(stripTimes(await res.json()))
    }
    expect(answers).toEqual(expected.ingestAnswers)
    const anomalies = await walk((cursor) =>
      req(`/v1/anomalies?limit=1000&since=${T0}&until=${UNTIL}${cursor}`),
    )
    expect(anomalies.map(stripTimes)).toEqual(expected.anomalies.map(stripTimes))
    expect(anomalies.length).toBeGreaterThan(10)
    expect(await (await req(`/v1/export?since=${T0}&until=${UNTIL}`)).text()).toBe(expected.exported)
  })

  it('pages anomalies with filters and cursors', async () => {
    const all = (await walk((c) => req(`/v1/anomalies?deviceId=press-1&limit=3${c}`))) as {
      deviceId: string
      ts: string
    }[]
    expect(all.length).toBeGreaterThan(3)
    expect(all.every((a) => a.deviceId === 'press-1')).toBe(true)
    expect([...all].sort((a, b) => b.ts.localeCompare(a.ts))).toEqual(all)
    const errors = (await (await req('/v1/anomalies?kind=error&limit=1000')).json()) as { items: unknown[] }
    expect(errors.items.length).toBe(12)
    expect(await errorCode(await req('/v1/anomalies?cursor=bogus'))).toBe('invalid_cursor')
    expect(await errorCode(await req('/v1/anomalies?limit=0'))).toBe('invalid_request')
  })

  it('answers devices and series', async () => {
    const devices = (await (await req('/v1/devices?limit=1000')).json()) as {
      items: { deviceId: string; recordCount: number }[]
    }
    expect(devices.items.find((d) => d.deviceId === 'press-2')?.recordCount).toBe(1500)
    const series = (await (await req('/v1/devices/press-2/series/vibration?limit=50')).json()) as {
      values: unknown[]
      windows: unknown[]
    }
    expect(series.values).toHaveLength(50)
    expect(series.windows.length).toBeGreaterThan(0)
    expect((await req('/v1/devices/nobody/series/temp')).status).toBe(404)
  })

  it('accepts every body format and gzip', async () => {
    const rows = [
      { deviceId: 'fmt-1', ts: T0, temp: 1 },
      { deviceId: 'fmt-1', ts: T0 + 1, temp: 2 },
    ]
    const json = { 'Content-Type': 'application/json' }
    expect(await (await ingest(JSON.stringify(rows), json)).json()).toMatchObject({ accepted: 2 })
    expect(await (await ingest(JSON.stringify(rows[0]), json)).json()).toMatchObject({ accepted: 1 })
    expect(await (await ingest(ndjson(rows))).json()).toMatchObject({ accepted: 2 })
    expect(await (await ingest(gzipSync(ndjson(rows)), { 'Content-Encoding': 'gzip' })).json()).toMatchObject(
      { accepted: 2 },
    )
  })

  it('rejects what it cannot use, with reasons, and keeps it as dead letters', async () => {
    const res = await ingest('{"deviceId":"dl-1","temp":1}\nnot json\n{"temp":2}')
    expect(await res.json()).toMatchObject({
      accepted: 1,
      rejectedCount: 2,
      rejected: [{ line: 2 }, { line: 3 }],
    })
    const dead = (await (await req('/v1/dead-letters?limit=10')).json()) as {
      items: { raw: string; position: string }[]
    }
    expect(dead.items.slice(0, 2).map((d) => [d.position, d.raw])).toEqual([
      ['line 3', '{"temp":2}'],
      ['line 2', 'not json'],
    ])
    expect(await errorCode(await ingest('[1,2]', { 'Content-Type': 'application/json' }))).toBe(
      'no_valid_records',
    )
    expect(await errorCode(await ingest('{', { 'Content-Type': 'application/json' }))).toBe('invalid_body')
    expect((await ingest('x', { 'Content-Type': 'text/plain' })).status).toBe(415)
    const big = ndjson(
      Array.from({ length: 4000 }, (_, i) => ({ deviceId: 'big-1', ts: T0 + i, pad: 'x'.repeat(60) })),
    )
    expect((await ingest(big)).status).toBe(413)
    expect((await ingest(gzipSync(big), { 'Content-Encoding': 'gzip' })).status).toBe(413)
  })

  it('stores a batch once per Idempotency-Key', async () => {
    const body = ndjson([{ deviceId: 'idem-1', ts: T0, temp: 5 }])
    const first = await ingest(body, { 'Idempotency-Key': 'contract-key-1' })
    const again = await ingest(body, { 'Idempotency-Key': 'contract-key-1' })
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await again.text()).toBe(await first.text())
    const devices = (await (await req('/v1/devices?limit=1000')).json()) as {
      items: { deviceId: string; recordCount: number }[]
    }
    expect(devices.items.find((d) => d.deviceId === 'idem-1')?.recordCount).toBe(1)
  })

  it('keeps detector state whole under concurrent batches for one series', async () => {
    const body = (b: number) =>
      ndjson(
        Array.from({ length: 200 }, (_, i) => ({
          deviceId: 'conc-1',
          ts: T0 + (b * 200 + i) * 1000,
          v: Math.sin(b * 200 + i),
        })),
      )
    const answers = await Promise.all(Array.from({ length: 6 }, (_, b) => ingest(body(b))))
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200])
    const series = (await (await req('/v1/devices/conc-1/series/v?limit=1')).json()) as { samples: number }
    expect(series.samples).toBe(1200)
  })

  it('applies the rules', async () => {
    const res = await ingest(
      ndjson([
        { deviceId: 'rules-1', ts: T0, level: 'fatal' },
        { deviceId: 'rules-1', ts: T0 + 1, temp: 81 },
        { deviceId: 'rules-1', ts: T0 + 2, latencyMs: 1001 },
      ]),
    )
    const kinds = ((await res.json()) as { anomalies: { kind: string }[] }).anomalies.map((a) => a.kind)
    expect(kinds).toEqual(['error', 'high_temp', 'slow_response'])
  })

  it('enrols a device, authenticates it, and derives its status from its heartbeats', async () => {
    const made = await req('/v1/fleet/enrolment-tokens', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ labels: { site: 'contract' }, maxUses: 1 }),
    })
    expect(made.status).toBe(201)
    const { token } = (await made.json()) as { token: string }
    const d = await testDevice((path, init) => fetch(`${rt.url}${path}`, init))
    expect((await d.enrol(token)).status).toBe(201)
    expect(
      await errorCode(await (await testDevice((path, init) => fetch(`${rt.url}${path}`, init))).enrol(token)),
    ).toBe('enrolment_token_used_up')
    const device = async () =>
      (await (await req(`/v1/devices/${d.deviceId}`)).json()) as Record<string, unknown>
    expect(await device()).toMatchObject({ status: 'pending', labels: { site: 'contract' }, name: 'pump-7' })
    expect((await d.login()).status).toBe(200)
    const beat = await d.heartbeat()
    expect(await beat.json()).toMatchObject({ intervalMs: 1000, timeoutMs: 3000, status: 'connected' })
    expect(await device()).toMatchObject({ status: 'connected', agentVersion: '0.1.0' })
    expect(((await (await d.ingest([{ ts: T0, temp: 20 }])).json()) as { accepted: number }).accepted).toBe(1)
    expect(await errorCode(await d.ingest([{ deviceId: 'press-1', ts: T0, temp: 20 }]))).toBe(
      'forbidden_device',
    )
    const list = (await (await req('/v1/devices?status=connected&label=site%3Dcontract')).json()) as {
      items: { deviceId: string }[]
    }
    expect(list.items.map((i) => i.deviceId)).toEqual([d.deviceId])
    await new Promise((r) => setTimeout(r, 3200))
    expect(await device()).toMatchObject({ status: 'unreachable' })
    expect((await d.heartbeat()).status).toBe(200)
    expect((await d.goodbye()).status).toBe(200)
    expect(await device()).toMatchObject({ status: 'disconnected' })
    expect((await req(`/v1/devices/${d.deviceId}/revoke`, { method: 'POST' })).status).toBe(200)
    const refused = await d.heartbeat()
    expect([refused.status, await errorCode(refused)]).toEqual([403, 'device_revoked'])
    const events = (await (await req(`/v1/devices/${d.deviceId}/events`)).json()) as {
      items: { kind: string }[]
    }
    expect(events.items.map((e) => e.kind).filter((k) => k !== 'unreachable')).toEqual([
      'revoked',
      'disconnected',
      'connected',
      'connected',
      'enrolled',
    ])
  }, 30_000)

  it('relays many devices over one request, each part answered as if alone', async () => {
    const made = await req('/v1/fleet/enrolment-tokens', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ maxUses: 3 }),
    })
    const { token } = (await made.json()) as { token: string }
    const devices = []
    for (let i = 0; i < 3; i++) {
      const d = await testDevice((path, init) => fetch(`${rt.url}${path}`, init))
      await d.enrol(token)
      await d.login()
      devices.push(d)
    }
    const parts = devices.flatMap((d, i) => [
      {
        method: 'POST',
        path: '/v1/ingest',
        headers: {
          authorization: `Bearer ${d.token}`,
          'content-type': 'application/json',
          'idempotency-key': `relay-${i}`,
        },
        body: JSON.stringify({ ts: T0 + i, temp: 20 + i }),
      },
      {
        method: 'POST',
        path: '/v1/device/heartbeat',
        headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
        body: '{}',
      },
    ])
    const res = await fetch(`${rt.url}/v1/gateway/relay`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ parts }),
    })
    expect(res.status).toBe(200)
    const answers = ((await res.json()) as { parts: { status: number; body: string }[] }).parts
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200])
    for (const d of devices) {
      expect(await (await req(`/v1/devices/${d.deviceId}`)).json()).toMatchObject({
        status: 'connected',
        recordCount: 1,
      })
    }
  })

  it('checks, stores and deploys apps, and serves each device the releases it is to run', async () => {
    const upload = (query: string, bytes: Uint8Array) =>
      req(`/v1/apps?${query}`, {
        method: 'POST',
        body: bytes as Uint8Array<ArrayBuffer>,
        headers: { 'Content-Type': 'application/wasm' },
      })
    const refusal = async (bytes: Uint8Array, query = 'name=bad&version=1') => {
      const res = await upload(query, bytes)
      return [res.status, ((await res.json()) as { error: { code: string; message: string } }).error.message]
    }
    const memory = (max?: number) =>
      wasm.imports(['env', 'memory', { memory: max === undefined ? [1] : [1, max] }])
    expect(await refusal(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 9]))).toEqual([
      400,
      expect.stringMatching(/^malformed module: /),
    ])
    expect(
      await refusal(
        wasm.minimalApp({
          imports: wasm.imports(['env', 'memory', { memory: [1] }], ['wasi', 'fd_write', { func: 0 }]),
        }),
      ),
    ).toEqual([400, expect.stringContaining('forbidden import wasi.fd_write')])
    const ownMemory = wasm.module(
      wasm.types([[], [wasm.T.i32]]),
      wasm.functions(0),
      wasm.memory(1),
      wasm.exports(['tick', 'func', 0]),
      wasm.code({ code: [wasm.op.i32_const, 7, wasm.op.end] }),
    )
    expect(await refusal(ownMemory)).toEqual([
      400,
      'the module defines its own memory; an app must import env.memory',
    ])
    expect(
      await refusal(wasm.minimalApp({ imports: memory(8) }), 'name=bad&version=1&memoryPages=4'),
    ).toEqual([400, expect.stringContaining('memory')])
    expect(await refusal(wasm.minimalApp({ exports: wasm.exports(['run', 'func', 0]) }))).toEqual([
      400,
      'the module does not export tick',
    ])
    expect(await refusal(new Uint8Array(300 * 1024))).toEqual([
      400,
      'the module is larger than the limit of 262144 bytes',
    ])
    const bytes = wasm.minimalApp({ extra: [wasm.custom('contract', [1])] })
    const made = await upload(
      'name=contract-app&version=1.0.0&memoryPages=2&fuel=10000&tickMs=500&wallMs=50&maxRestarts=2',
      bytes,
    )
    expect(made.status).toBe(201)
    const release = (await made.json()) as { id: string; sha256: string; size: number }
    expect(release).toMatchObject({
      size: bytes.byteLength,
      limits: { memoryPages: 2, fuel: 10000, tickMs: 500, wallMs: 50, maxRestarts: 2 },
    })
    expect((await upload('name=contract-app&version=1.0.0', bytes)).status).toBe(409)
    expect(await (await req(`/v1/apps/${release.id}`)).json()).toMatchObject({ sha256: release.sha256 })

    const tokenRes = await req('/v1/fleet/enrolment-tokens', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ labels: { site: 'apps-contract' } }),
    })
    const d = await testDevice((path, init) => fetch(`${rt.url}${path}`, init))
    await d.enrol(((await tokenRes.json()) as { token: string }).token)
    await d.login()
    const deployed = await req('/v1/deployments', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ app: release.id, target: { labels: { site: 'apps-contract' } } }),
    })
    expect(deployed.status).toBe(201)
    const deployment = (await deployed.json()) as { id: string }
    const told = ((await (await d.heartbeat()).json()) as { apps: Record<string, unknown>[] }).apps
    expect(told).toEqual([
      expect.objectContaining({ appId: release.id, deploymentId: deployment.id, sha256: release.sha256 }),
    ])
    const download = await fetch(`${rt.url}/v1/device/apps/${release.id}`, {
      headers: { Authorization: `Bearer ${d.token}` },
    })
    expect(download.headers.get('content-type')).toBe('application/wasm')
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes)
    const running = {
      appId: release.id,
      deploymentId: deployment.id,
      state: 'running',
      ticks: 4,
      fuelPerTick: 3,
    }
    expect((await d.heartbeat({ uptimeMs: 1, apps: [running] })).status).toBe(200)
    const view = (await (await req(`/v1/deployments/${deployment.id}`)).json()) as Record<string, unknown>
    expect(view).toMatchObject({
      state: 'succeeded',
      devicesTotal: 1,
      counts: { running: 1 },
      devices: { items: [{ deviceId: d.deviceId, state: 'running', report: { ticks: 4, fuelPerTick: 3 } }] },
    })
    const refused = await req(`/v1/apps/${release.id}`, { method: 'DELETE' })
    expect([refused.status, await errorCode(refused)]).toEqual([409, 'app_deployed'])
    expect((await req(`/v1/deployments/${deployment.id}/rollback`, { method: 'POST' })).status).toBe(200)
    expect(((await (await d.heartbeat()).json()) as { apps: unknown[] }).apps).toEqual([])
  })

  it('serves the live feed by polling: exactly what follows a cursor, from any event on', async () => {
    const poll = async (query: string) => {
      const res = await req(`/v1/stream/poll?${query}`)
      expect(res.status).toBe(200)
      return (await res.json()) as { items: FeedItem[]; next: string }
    }
    const start = await poll('')
    expect(start.items).toEqual([])
    await ingest(
      ndjson([0, 1, 2].map((i) => ({ deviceId: 'feed-1', ts: T0 + i, level: 'error', msg: `m${i}` }))),
    )
    const renamed = await req('/v1/devices/feed-1', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'fed' }),
    })
    expect(renamed.status).toBe(200)
    const all = (await poll(`cursor=${start.next}`)).items
    // Devices of earlier tests may go unreachable meanwhile (their events join the feed): look at ours.
    const ours = all.filter((i) => i.data.deviceId === 'feed-1')
    expect(ours.map((i) => [i.event, i.data.kind])).toEqual([
      ['anomaly', 'error'],
      ['anomaly', 'error'],
      ['anomaly', 'error'],
      ['device', 'updated'],
    ])
    expect(ours[3]!.data).toMatchObject({ detail: '{"name":"fed"}', status: 'unmanaged' })
    // The same records and anomalies count in the device's last hour.
    expect(await (await req('/v1/devices/feed-1')).json()).toMatchObject({
      name: 'fed',
      lastHour: { records: 3, anomalies: 3 },
    })
    for (let k = 0; k < all.length; k++) {
      const rest = (await poll(`cursor=${all[k]!.id}`)).items
      expect(rest.slice(0, all.length - k - 1)).toEqual(all.slice(k + 1))
    }
    const two = await poll(`cursor=${start.next}&limit=2`)
    expect(two.items).toEqual(all.slice(0, 2))
    expect(two.next).toBe(all[1]!.id)
    expect(await errorCode(await req('/v1/stream/poll?cursor=bogus'))).toBe('invalid_cursor')
    expect(await errorCode(await req('/v1/stream/poll?limit=1001'))).toBe('invalid_request')
    expect((await req('/v1/stream/poll', {}, INGEST)).status).toBe(401)
  })

  it('streams the live feed as Server-Sent Events where the runtime can hold a stream open, else says 501', async () => {
    if (!STREAMING.has(runtime.name)) {
      const res = await req('/v1/stream')
      expect(res.status).toBe(501)
      expect(await errorCode(res)).toBe('stream_unsupported')
      return
    }
    expect(await errorCode(await req('/v1/stream', { headers: { 'Last-Event-ID': 'bogus' } }))).toBe(
      'invalid_cursor',
    )
    const live = await req('/v1/stream')
    expect(live.status).toBe(200)
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reading = sseEvents(live, 10_000)
    await new Promise((r) => setTimeout(r, 300))
    await ingest(
      ndjson([0, 1].map((i) => ({ deviceId: 'feed-2', ts: T0 + i, level: 'fatal', msg: `s${i}` }))),
    )
    const streamed = await reading
    // EDGEWATCH_STREAM_MAX is 3 s here: the stream ended by itself, after a retry hint.
    expect(streamed.ended).toBe(true)
    const start = /^retry: \d+\nid: (\S+)\n\n/.exec(streamed.text)?.[1]
    expect(start).toBeDefined()
    const all = ((await (await req(`/v1/stream/poll?cursor=${start}`)).json()) as { items: FeedItem[] }).items
    expect(streamed.events.filter((e) => e.data.deviceId === 'feed-2').map((e) => e.data.kind)).toEqual([
      'error',
      'error',
    ])
    expect(all.slice(0, streamed.events.length)).toEqual(streamed.events)
    // Resuming with Last-Event-ID gives exactly the events after it.
    const resumed = await sseEvents(
      await req('/v1/stream', { headers: { 'Last-Event-ID': all[0]!.id } }),
      10_000,
    )
    expect(resumed.events.slice(0, all.length - 1)).toEqual(all.slice(1))
  }, 30_000)

  it('answers unknown routes with 404 in the error shape', async () => {
    const res = await req('/no/such/route', {}, null)
    expect(res.status).toBe(404)
    expect(await errorCode(res)).toBe('not_found')
  })

  it('learns a device baseline from a time range and flags every record of a persistent fault after it', async () => {
    const t0 = T0 + 30 * 86_400_000
    const pump = (i: number) => {
      const load = 1 + 0.1 * Math.sin(i / 40) + 0.01 * Math.sin(i * 2.7)
      const sag = i >= 400 ? 0.7 : 1
      return JSON.stringify({
        deviceId: 'contract-pump',
        ts: t0 + i * 1000,
        flow: 100 * load + ((i * 7) % 5) * 0.1,
        pressure: sag * (6 - 2 * load) + ((i * 3) % 4) * 0.01,
        current: 20 + 10 * load,
      })
    }
    const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => pump(from + k))
    expect((await ingest(rows(0, 300).join('\n'))).status).toBe(200)
    const learnt = await req('/v1/devices/contract-pump/baseline', {
      method: 'POST',
      body: JSON.stringify({ from: t0, to: t0 + 300_000 }),
      headers: { 'Content-Type': 'application/json' },
    })
    expect(learnt.status).toBe(200)
    expect(await learnt.json()).toMatchObject({ rows: 300, metrics: ['current', 'flow', 'pressure'] })
    const after = (await (await ingest(rows(300, 500).join('\n'))).json()) as {
      anomalies: { kind: string; ts: string; metric: string }[]
    }
    const state = after.anomalies.filter((a) => a.kind === 'state')
    expect(state.map((a) => Date.parse(a.ts))).toEqual(
      Array.from({ length: 100 }, (_, k) => t0 + (400 + k) * 1000),
    )
    expect(state[0]!.metric).toBe('pressure')
  })
})
