// The live client against a scripted server: events dispatched, a stream that ends resumed after its
// last event id (or from the server's time when it delivered none), 501 → polling with the cursor,
// and a server with neither route polled for its newest anomalies.
import { describe, expect, it } from 'vitest'
import type { Api } from './api.js'
import { Live, type LiveEvent, type LiveStatus } from './live.js'

interface Call {
  path: string
  headers: Record<string, string>
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

const sse = (text: string, date = 'Mon, 30 Nov 2026 21:00:10 GMT') =>
  new Response(new Blob([text]).stream(), {
    status: 200,
    headers: { 'content-type': 'text/event-stream', date },
  })

/** An Api whose answers come from `answer`, recording every call. */
function fakeApi(answer: (call: Call, n: number) => Response | Promise<Response>) {
  const calls: Call[] = []
  const api = {
    token: 't',
    async raw(path: string, init: RequestInit = {}) {
      const call = { path, headers: Object.fromEntries(new Headers(init.headers).entries()) }
      calls.push(call)
      return answer(call, calls.length)
    },
    async get(path: string, query: Record<string, unknown> = {}) {
      const q = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))
      const res = await api.raw(`${path}?${q}`)
      return res.json()
    },
  }
  return { api: api as unknown as Api, calls }
}

const until = async (ok: () => boolean, ms = 3000) => {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

const anomaly = (id: number) => ({
  id,
  deviceId: 'pump-7',
  ts: '2026-11-30T21:00:00.000Z',
  kind: 'spike',
  metric: 'temp',
  value: 90,
  score: 0.9,
  detail: null,
})

describe('Live', () => {
  it('dispatches events and resumes an ended stream after its last event id', async () => {
    const { api, calls } = fakeApi((call, n) => {
      if (!call.path.startsWith('/v1/stream')) return json(404, {})
      if (n === 1)
        return sse(
          `retry: 1000\nid: c0\n\nevent: anomaly\nid: c1\ndata: ${JSON.stringify(anomaly(1))}\n\n` +
            `event: device\nid: c2\ndata: {"id":5,"deviceId":"pump-7","ts":"2026-11-30T21:00:00Z","kind":"connected","detail":null,"status":"connected"}\n\n`,
        )
      return new Promise<Response>(() => {}) // the second stream stays open
    })
    const live = new Live(api)
    const seen: LiveEvent[] = []
    live.onEvent((e) => seen.push(e))
    live.start()
    await until(() => calls.length === 2)
    live.stop()
    expect(seen.map((e) => e.type)).toEqual(['anomaly', 'device'])
    expect(seen[0]!.data).toMatchObject({ id: 1, kind: 'spike' })
    expect(calls[0]).toMatchObject({ path: '/v1/stream' })
    expect(calls[0]!.headers['last-event-id']).toBeUndefined()
    expect(calls[1]!.headers['last-event-id']).toBe('c2')
    expect(calls[1]!.path).toBe('/v1/stream')
  })

  it('resumes a stream that delivered no event from the server time it began, not from now', async () => {
    const { api, calls } = fakeApi((_call, n) =>
      n === 1 ? sse('retry: 1000\nid: c0\n\n: keepalive\n\n') : new Promise<Response>(() => {}),
    )
    const live = new Live(api)
    live.start()
    await until(() => calls.length === 2)
    live.stop()
    const since = Date.parse('Mon, 30 Nov 2026 21:00:10 GMT') - 1000
    expect(calls[1]!.path).toBe(`/v1/stream?since=${since}`)
  })

  it('polls with the cursor when the stream is unsupported (501), and says so', async () => {
    let polls = 0
    const { api, calls } = fakeApi((call) => {
      if (call.path === '/v1/stream')
        return json(501, { error: { code: 'stream_unsupported', message: 'no', details: null } })
      polls++
      if (polls === 1) return json(200, { items: [], next: 'n1' })
      if (polls === 2)
        return json(200, { items: [{ id: 'n2', event: 'anomaly', data: anomaly(7) }], next: 'n2' })
      return json(200, { items: [], next: 'n2' })
    })
    const live = new Live(api, { pollMs: 20 })
    const seen: LiveEvent[] = []
    const statuses: LiveStatus[] = []
    live.onEvent((e) => seen.push(e))
    live.onStatus((s) => statuses.push(s))
    live.start()
    await live.ready
    await until(() => polls >= 3)
    live.stop()
    expect(seen).toEqual([{ type: 'anomaly', data: anomaly(7) }])
    expect(
      statuses.some((s) => s.mode === 'polling' && s.text.startsWith('live updates by polling every ')),
    ).toBe(true)
    expect(statuses.find((s) => s.mode === 'polling')!.text).toContain('this server cannot stream')
    const polled = calls.filter((c) => c.path.startsWith('/v1/stream/poll')).map((c) => c.path)
    expect(polled[0]).toBe('/v1/stream/poll?limit=500')
    expect(polled[1]).toBe('/v1/stream/poll?cursor=n1&limit=500')
    expect(polled[2]).toBe('/v1/stream/poll?cursor=n2&limit=500')
  })

  it('on a server with neither route, reports only anomalies newer than those shown', async () => {
    const { api } = fakeApi((call) =>
      call.path.startsWith('/v1/anomalies')
        ? json(200, { items: [anomaly(4), anomaly(3), anomaly(2)], next: null })
        : json(404, {}),
    )
    const live = new Live(api, { pollMs: 20 })
    live.seen(2)
    const seen: number[] = []
    live.onEvent((e) => e.type === 'anomaly' && seen.push(e.data.id!))
    live.start()
    await until(() => seen.length >= 2)
    await new Promise((r) => setTimeout(r, 60))
    live.stop()
    expect(seen).toEqual([3, 4])
  })
})
