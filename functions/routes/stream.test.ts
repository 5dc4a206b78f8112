import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Kernel } from '../../kernels/host/kernel.js'
import { loadNodeKernel } from '../../kernels/node.js'
import { createApp } from '../app.js'
import { resolveAnalysisConfig } from '../domain/analysis-config.js'
import type { StreamOptions } from '../domain/feed/options.js'
import type { Store } from '../store/port.js'
import { openSqliteStore } from '../store/sqlite.js'

const tokens = { ingest: ['ingest-token-123'], admin: ['admin-token-4567'] }
const admin = { Authorization: `Bearer ${tokens.admin[0]}` }
const T0 = Date.UTC(2026, 10, 30)

let kernel: Kernel
beforeAll(async () => {
  kernel = await loadNodeKernel()
})

function setup(stream: Partial<StreamOptions> = {}, store: Store = openSqliteStore(':memory:')) {
  const app = createApp({
    store,
    kernel,
    analysis: resolveAnalysisConfig({}),
    tokens,
    bodyLimitBytes: 1 << 20,
    stream: { pollMs: 20, keepaliveMs: 100, ...stream },
  })
  const get = (path: string, headers: Record<string, string> = {}) =>
    app.request(path, { headers: { ...admin, ...headers } })
  /** `n` error records of one device: one anomaly each. */
  const errors = async (deviceId: string, n: number, from = 0) => {
    const body = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ deviceId, ts: T0 + from + i, level: 'error', msg: `e${from + i}` }),
    ).join('\n')
    const res = await app.request('/v1/ingest', {
      method: 'POST',
      body,
      headers: { Authorization: `Bearer ${tokens.ingest[0]}`, 'Content-Type': 'application/x-ndjson' },
    })
    expect(res.status).toBe(200)
  }
  /** A device event (`updated`) for a device that exists. */
  const rename = async (deviceId: string, name: string) => {
    const res = await app.request(`/v1/devices/${deviceId}`, {
      method: 'PATCH',
      body: JSON.stringify({ name }),
      headers: { ...admin, 'Content-Type': 'application/json' },
    })
    expect(res.status).toBe(200)
  }
  const poll = async (query: string) => {
    const res = await get(`/v1/stream/poll?${query}`)
    expect(res.status).toBe(200)
    return (await res.json()) as { items: FeedItem[]; next: string }
  }
  return { app, get, errors, rename, poll, store }
}

interface FeedItem {
  id: string
  event: string
  data: Record<string, unknown>
}

/** Reads SSE frames until `until` says stop or the stream ends. */
async function readSse(res: Response, until: (frames: Frame[]) => boolean = () => false) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  const frames: Frame[] = []
  let text = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    text += value
    let cut = text.indexOf('\n\n')
    while (cut >= 0) {
      frames.push(parseFrame(text.slice(0, cut)))
      text = text.slice(cut + 2)
      cut = text.indexOf('\n\n')
    }
    if (until(frames)) {
      await reader.cancel()
      break
    }
  }
  return frames
}

interface Frame {
  event?: string
  id?: string
  data?: string
  retry?: string
  comment?: string
}

function parseFrame(block: string): Frame {
  const frame: Frame = {}
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) frame.comment = line.slice(1).trim()
    const m = /^(event|id|data|retry): ?(.*)$/.exec(line)
    if (m) frame[m[1] as 'event'] = m[2]
  }
  return frame
}

const events = (frames: Frame[]) =>
  frames
    .filter((f) => f.event)
    .map((f) => ({ id: f.id!, event: f.event!, data: JSON.parse(f.data!) as Record<string, unknown> }))

describe('GET /v1/stream/poll', () => {
  it('starts from now without a cursor, then gives exactly what follows, in order, once', async () => {
    const t = setup()
    await t.errors('old', 3)
    const start = await t.poll('')
    expect(start.items).toEqual([])
    await t.errors('pump-1', 4)
    await t.rename('pump-1', 'first pump')
    await t.errors('pump-1', 2, 100)
    const page = await t.poll(`cursor=${start.next}`)
    expect(page.items.map((i) => i.event)).toEqual([
      'anomaly',
      'anomaly',
      'anomaly',
      'anomaly',
      'device',
      'anomaly',
      'anomaly',
    ])
    expect(page.items[0]!.data).toMatchObject({
      deviceId: 'pump-1',
      kind: 'error',
      ts: new Date(T0).toISOString(),
    })
    expect(page.items[4]!.data).toMatchObject({ deviceId: 'pump-1', kind: 'updated', status: 'unmanaged' })
    expect(page.next).toBe(page.items[6]!.id)
    // The anomaly data is GET /v1/anomalies' item, the device event data GET /v1/devices/:id/events' item.
    const listed = (await (await t.get('/v1/anomalies?deviceId=pump-1&limit=1')).json()) as {
      items: unknown[]
    }
    expect(page.items[6]!.data).toEqual(listed.items[0])
    const deviceEvents = (await (await t.get('/v1/devices/pump-1/events')).json()) as { items: object[] }
    expect(page.items[4]!.data).toEqual({ ...deviceEvents.items[0], status: 'unmanaged' })
    // Resuming from any event gives exactly the events after it.
    for (let k = 0; k < page.items.length; k++) {
      const rest = await t.poll(`cursor=${page.items[k]!.id}`)
      expect(rest.items).toEqual(page.items.slice(k + 1))
    }
    // Nothing new: no items, the same cursor.
    expect(await t.poll(`cursor=${page.next}`)).toEqual({ items: [], next: page.next })
  })

  it('pages by limit without skipping or repeating, and starts at since', async () => {
    const t = setup()
    const before = Date.now()
    for (let b = 0; b < 5; b++) {
      await t.errors(`d${b}`, 7, b * 10)
      await t.rename(`d${b}`, `n${b}`)
    }
    const all = await t.poll(`since=${before}&limit=1000`)
    expect(all.items).toHaveLength(40)
    const seen: FeedItem[] = []
    let cursor = (await t.poll(`since=${before}&limit=1`)).items[0]!.id
    seen.push(all.items[0]!)
    for (;;) {
      const page = await t.poll(`cursor=${cursor}&limit=3`)
      if (page.items.length === 0) break
      seen.push(...page.items)
      cursor = page.next
    }
    expect(seen).toEqual(all.items)
    expect((await t.poll(`since=${Date.now() + 60_000}`)).items).toEqual([])
  })

  it('refuses malformed, oversized and hostile input with a clear 400', async () => {
    const t = setup()
    await t.errors('d', 2)
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const cursors = [
      'bogus!',
      'x',
      enc(['f', -1, 0]),
      enc(['f', 1.5, 0]),
      enc(['f', 1, '2']),
      enc(['f', 1e300, 0]),
      enc(['f', 1]),
      enc(['f', 1, 2, 3]),
      enc(['a', 1, 2]),
      enc({ f: [1, 2] }),
      `${enc(['f', 1, 2])}=`,
      Buffer.from('["f",1,2]\u0000').toString('base64url'),
      Buffer.from([0xff, 0xfe, 0x22]).toString('base64url'),
    ]
    for (const cursor of cursors) {
      for (const path of [
        `/v1/stream/poll?cursor=${encodeURIComponent(cursor)}`,
        `/v1/stream?cursor=${encodeURIComponent(cursor)}`,
      ]) {
        const res = await t.get(path)
        expect([path, res.status]).toEqual([path, 400])
        expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(
          /^invalid_(cursor|request)$/,
        )
      }
      const res = await t.get('/v1/stream', { 'Last-Event-ID': cursor })
      expect(res.status).toBe(400)
    }
    for (const query of [
      'limit=0',
      'limit=1001',
      'limit=abc',
      'limit=2.5',
      'since=yesterday',
      `cursor=${'A'.repeat(2000)}`,
    ]) {
      const res = await t.get(`/v1/stream/poll?${query}`)
      expect([query, res.status]).toEqual([query, 400])
    }
    expect((await t.get('/v1/stream', { 'Last-Event-ID': 'A'.repeat(2000) })).status).toBe(400)
    expect((await t.app.request('/v1/stream/poll')).status).toBe(401)
    expect(
      (await t.app.request('/v1/stream', { headers: { Authorization: `Bearer ${tokens.ingest[0]}` } }))
        .status,
    ).toBe(401)
  })

  it('answers any cursor, header or query with 200 or a 4xx, never a 5xx', async () => {
    const t = setup({ maxMs: 50 })
    await t.errors('d', 3)
    const encoded = fc
      .array(fc.oneof(fc.constant('f'), fc.integer(), fc.double(), fc.string(), fc.constant(null)), {
        maxLength: 4,
      })
      .map((v) => Buffer.from(JSON.stringify(v)).toString('base64url'))
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 1200 }), encoded), async (cursor) => {
        const q = encodeURIComponent(cursor)
        for (const res of [
          await t.get(`/v1/stream/poll?cursor=${q}`),
          await t.get(`/v1/stream/poll?since=${q}`),
          await t.get(`/v1/stream/poll?limit=${q}`),
          await t.get(`/v1/stream?cursor=${q}`),
        ]) {
          expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true)
          await res.body?.cancel()
        }
        if (/^[\x20-\x7e]*$/.test(cursor)) {
          const res = await t.get('/v1/stream', { 'Last-Event-ID': cursor })
          expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true)
          await res.body?.cancel()
        }
      }),
      { numRuns: 150 },
    )
  })

  it('continues past a table that retention emptied (its ids start again at 1)', async () => {
    const store = openSqliteStore(':memory:')
    const t = setup({}, store)
    await t.errors('d', 5)
    const at = await t.poll(`since=0`)
    expect(at.items).toHaveLength(5)
    await store.purge({ before: Date.now() + 60_000, idempotencyBefore: 0, now: Date.now() })
    await t.errors('d', 2, 50)
    const after = await t.poll(`cursor=${at.next}`)
    expect(after.items.map((i) => i.data.ts)).toEqual([
      new Date(T0 + 50).toISOString(),
      new Date(T0 + 51).toISOString(),
    ])
    expect((await t.poll(`cursor=${after.next}`)).items).toEqual([])
  })
})

describe('GET /v1/stream', () => {
  it('streams what follows as SSE with a retry hint, keepalives, and the same ids as poll; ends by itself', async () => {
    const t = setup({ maxMs: 1500 })
    await t.errors('old', 2)
    const res = await t.get('/v1/stream')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reading = readSse(res)
    await new Promise((r) => setTimeout(r, 150))
    await t.errors('live', 3)
    await t.rename('live', 'x')
    const t0 = Date.now()
    const frames = await reading
    expect(Date.now() - t0).toBeLessThan(2500)
    expect(frames[0]).toMatchObject({ retry: '2000' })
    expect(frames[0]!.id).toBeTruthy()
    expect(frames.some((f) => f.comment === 'keepalive')).toBe(true)
    const got = events(frames)
    expect(got.map((e) => [e.event, e.data.deviceId])).toEqual([
      ['anomaly', 'live'],
      ['anomaly', 'live'],
      ['anomaly', 'live'],
      ['device', 'live'],
    ])
    expect(got).toEqual((await t.poll(`cursor=${frames[0]!.id}`)).items)
  })

  it('resumes after Last-Event-ID with exactly the events that followed it', async () => {
    const t = setup({ maxMs: 400 })
    await t.errors('a', 4)
    await t.rename('a', 'n')
    await t.errors('b', 3)
    const all = (await t.poll('since=0')).items
    expect(all).toHaveLength(8)
    for (const k of [0, 3, 4, 7]) {
      const frames = await readSse(await t.get('/v1/stream?since=0', { 'Last-Event-ID': all[k]!.id }))
      expect(events(frames)).toEqual(all.slice(k + 1))
    }
    // ?cursor= does the same; Last-Event-ID wins over it and over since.
    expect(events(await readSse(await t.get(`/v1/stream?cursor=${all[5]!.id}`)))).toEqual(all.slice(6))
    expect(
      events(await readSse(await t.get(`/v1/stream?cursor=${all[1]!.id}`, { 'Last-Event-ID': all[6]!.id }))),
    ).toEqual(all.slice(7))
  })

  it('answers 501 stream_unsupported where the runtime cannot hold a stream open', async () => {
    const t = setup({ supported: false })
    const res = await t.get('/v1/stream')
    expect(res.status).toBe(501)
    const { error } = (await res.json()) as { error: { code: string; message: string } }
    expect(error.code).toBe('stream_unsupported')
    expect(error.message).toContain('/v1/stream/poll')
    expect((await t.get('/v1/stream/poll')).status).toBe(200)
  })

  it('counts open streams in /metrics, and ends them when the server stops', async () => {
    const shutdown = new AbortController()
    const t = setup({ shutdown: shutdown.signal })
    const res = await t.get('/v1/stream')
    const reading = readSse(res)
    await new Promise((r) => setTimeout(r, 50))
    expect(await (await t.app.request('/metrics')).text()).toMatch(/^edgewatch_streams_open 1$/m)
    shutdown.abort()
    await reading
    await new Promise((r) => setTimeout(r, 20))
    expect(await (await t.app.request('/metrics')).text()).toMatch(/^edgewatch_streams_open 0$/m)
  })

  it('a client that reads nothing stalls its own stream: no store reads, nothing queued, cut at the deadline', async () => {
    const store = openSqliteStore(':memory:')
    let reads = 0
    const read = store.feed.read.bind(store.feed)
    store.feed.read = (...args) => {
      reads++
      return read(...args)
    }
    const t = setup({ batch: 50, maxMs: 300 }, store)
    await t.errors('flood', 2000)
    const res = await t.get('/v1/stream?since=0')
    await new Promise((r) => setTimeout(r, 200))
    // 2,000 events are waiting; the first read took 50 and the loop waits on its first unread write.
    expect(reads).toBe(1)
    // After the deadline and its grace the stalled stream is cut: it ends, and reads no more.
    await new Promise((r) => setTimeout(r, 1300))
    expect(await (await t.app.request('/metrics')).text()).toMatch(/^edgewatch_streams_open 0$/m)
    expect(reads).toBe(1)
    const frames = await readSse(res)
    expect(events(frames).length).toBeLessThanOrEqual(2)
  })
})
