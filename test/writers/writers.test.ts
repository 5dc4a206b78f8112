// Two writers on one database: two `edgewatch serve` processes on one data directory, and two Spin
// host processes on one SQLite file (each request a fresh component instance, as on SpinKube).
// Interleaved and concurrent batches for the same series must give exactly the verdicts of one
// serial writer taking the batches in the order they were committed: no update lost, no state forked.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../functions/app.js'
import { resolveAnalysisConfig } from '../../functions/domain/analysis-config.js'
import { openSqliteStore } from '../../functions/store/sqlite.js'
import { loadNodeKernel } from '../../kernels/node.js'
import { nodeRuntime, type RunningRuntime, type Runtime, spinRuntime } from '../runtimes.js'

const INGEST = 'writers-ingest-token'
const ADMIN = 'writers-admin-token-0'
const T0 = Date.UTC(2026, 5, 1)

/** Batch b: 40 samples of one series, time moving forward, a spike in batch 5; tagged with b. */
function batch(b: number): string {
  return Array.from({ length: 40 }, (_, i) => {
    const k = b * 40 + i
    const v = Math.sin(k / 9) * 3 + ((k * 7919) % 13) / 10 + (k === 215 ? 40 : 0)
    return JSON.stringify({ deviceId: 'shared-1', ts: T0 + k * 1000, v, batch: b })
  }).join('\n')
}

interface Answer {
  accepted: number
  anomalies: { ts: string; kind: string; score: number }[]
}

/** Each record's verdict (score and kinds) in the order records were committed. */
async function verdicts(fetcher: (path: string) => Promise<Response>): Promise<string[]> {
  const text = await (await fetcher('/v1/export?deviceId=shared-1&order=arrival')).text()
  return text
    .trim()
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      const r = JSON.parse(line) as { ts: string; score: number; anomalies: string }
      return `${r.ts} ${r.score} ${r.anomalies}`
    })
}

/** The answers, and the stored verdicts, one serial writer gives to the batches in this order. */
async function serial(order: number[]): Promise<{ answers: Answer[]; verdicts: string[] }> {
  const app = createApp({
    store: openSqliteStore(':memory:'),
    kernel: await loadNodeKernel(),
    analysis: resolveAnalysisConfig({}),
    tokens: { ingest: [INGEST], admin: [ADMIN] },
    bodyLimitBytes: 1 << 20,
  })
  const answers: Answer[] = []
  for (const b of order) {
    const res = await app.request('/v1/ingest', {
      method: 'POST',
      body: batch(b),
      headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/x-ndjson' },
    })
    answers.push((await res.json()) as Answer)
  }
  const get = async (path: string) => app.request(path, { headers: { Authorization: `Bearer ${ADMIN}` } })
  return { answers, verdicts: await verdicts(get) }
}

const remote = (url: string) => (path: string) =>
  fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${ADMIN}` } })

async function send(url: string, b: number, key?: string): Promise<Answer> {
  const res = await fetch(`${url}/v1/ingest`, {
    method: 'POST',
    body: batch(b),
    headers: {
      Authorization: `Bearer ${INGEST}`,
      'Content-Type': 'application/x-ndjson',
      ...(key ? { 'Idempotency-Key': key } : {}),
    },
  })
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json()) as Answer
}

/** Batch numbers in the order their records were committed (the export in arrival order). */
async function commitOrder(url: string): Promise<number[]> {
  const text = await (
    await fetch(`${url}/v1/export?deviceId=shared-1&order=arrival`, {
      headers: { Authorization: `Bearer ${ADMIN}` },
    })
  ).text()
  const order: number[] = []
  for (const line of text.trim().split('\n')) {
    const { batch: b } = JSON.parse(line) as { batch?: number }
    if (b !== undefined && order[order.length - 1] !== b) order.push(b)
  }
  return order
}

describe.each<[string, Runtime]>([
  ['two edgewatch serve processes', nodeRuntime],
  ['two Spin host processes', spinRuntime],
])('%s on one database', (_name, runtime) => {
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-writers-'))
  let a: RunningRuntime
  let b: RunningRuntime
  beforeAll(async () => {
    const env = { EDGEWATCH_DATA_DIR: dir, EDGEWATCH_INGEST_TOKEN: INGEST, EDGEWATCH_ADMIN_TOKEN: ADMIN }
    // Both start at once: migrations must be safe when two instances race to apply them.
    ;[a, b] = await Promise.all([runtime.start(env), runtime.start(env)])
  }, 180_000)
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    rmSync(dir, { recursive: true, force: true })
  })

  it('gives batches sent to each in turn exactly the verdicts of one writer', async () => {
    const answers: Answer[] = []
    for (let n = 0; n < 8; n++) answers.push(await send(n % 2 ? b.url : a.url, n))
    const expected = await serial([0, 1, 2, 3, 4, 5, 6, 7])
    expect(answers).toEqual(expected.answers)
    expect(await verdicts(remote(b.url))).toEqual(expected.verdicts)
  })

  it('gives concurrent batches the verdicts of one writer in the order they were committed', async () => {
    const sent = new Map<number, Answer>()
    for (let n = 8; n < 20; n += 2) {
      const [x, y] = await Promise.all([send(a.url, n), send(b.url, n + 1)])
      sent.set(n, x)
      sent.set(n + 1, y)
    }
    const order = await commitOrder(a.url)
    expect([...order].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    const expected = await serial(order)
    expect(order.map((n) => sent.get(n) ?? null).slice(8)).toEqual(expected.answers.slice(8))
    expect(await verdicts(remote(a.url))).toEqual(expected.verdicts)
    const series = (await (
      await fetch(`${b.url}/v1/devices/shared-1/series/v?limit=1`, {
        headers: { Authorization: `Bearer ${ADMIN}` },
      })
    ).json()) as { samples: number }
    expect(series.samples).toBe(800)
  })

  it('stores a batch once when its retries reach both writers at once, and replays it on the other', async () => {
    // Another device, so that the shared series above is left alone.
    const body = JSON.stringify({ deviceId: 'idem-1', ts: T0, v: 1 })
    const post = (url: string) =>
      fetch(`${url}/v1/ingest`, {
        method: 'POST',
        body,
        headers: {
          Authorization: `Bearer ${INGEST}`,
          'Content-Type': 'application/json',
          'Idempotency-Key': 'both',
        },
      })
    const answers = await Promise.all([post(a.url), post(b.url), post(a.url), post(b.url)])
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200])
    expect(answers.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(3)
    expect(new Set(await Promise.all(answers.map((r) => r.text()))).size).toBe(1)
    const device = (await (await remote(b.url)('/v1/devices?limit=1000')).json()) as {
      items: { deviceId: string; recordCount: number }[]
    }
    expect(device.items.find((d) => d.deviceId === 'idem-1')?.recordCount).toBe(1)
  })
})
