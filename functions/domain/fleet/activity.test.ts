import { describe, expect, it } from 'vitest'
import { loadNodeKernel } from '../../../kernels/node.js'
import { createApp } from '../../app.js'
import { openSqliteStore } from '../../store/sqlite.js'
import { anomaly, batch, entry } from '../../store/store-fixtures.js'
import { resolveAnalysisConfig } from '../analysis-config.js'
import { lastHour, lastHourSince } from './activity.js'

const M = 60_000
const T = Date.UTC(2026, 10, 30, 12, 0, 0)
const records = (deviceId: string, n: number) => Array.from({ length: n }, (_, i) => entry(deviceId, T + i))

describe('last hour per device', () => {
  it('counts records and anomalies per minute of arrival, the current minute and the 59 before it', async () => {
    const store = openSqliteStore(':memory:')
    await store.commitIngest(batch(T - 61 * M, { records: records('a', 7) })) // too old by the time asked
    await store.commitIngest(batch(T - 59 * M, { records: records('a', 2), anomalies: [anomaly('a', T)] }))
    await store.commitIngest(batch(T - 59 * M + 30_000, { records: records('a', 1) }))
    await store.commitIngest(batch(T - 10 * M, { records: [...records('a', 3), ...records('b', 4)] }))
    await store.commitIngest(batch(T + 5_000, { records: records('b', 1), anomalies: [anomaly('b', T)] }))
    // A commit timed a little before the last one counts in the current minute.
    await store.commitIngest(batch(T - 1_000, { records: records('b', 1) }))
    const at = await lastHour(store.fleet, ['a', 'b', 'nobody'], T + 30_000)
    expect([at('a'), at('b'), at('nobody')]).toEqual([
      { records: 6, anomalies: 1 },
      { records: 6, anomalies: 1 },
      { records: 0, anomalies: 0 },
    ])
    expect(lastHourSince(T + 30_000)).toBe(T - 59 * M)
    // An hour later only what came since counts; the devices row's minute is no exception.
    const later = await lastHour(store.fleet, ['a', 'b'], T + 10 * M)
    expect([later('a'), later('b')]).toEqual([
      { records: 3, anomalies: 0 },
      { records: 6, anomalies: 1 },
    ])
    expect((await lastHour(store.fleet, ['a', 'b'], T + 2 * 60 * M))('b')).toEqual({
      records: 0,
      anomalies: 0,
    })
  })

  it('keeps two hours of minutes through purge, whatever the retention', async () => {
    const store = openSqliteStore(':memory:')
    for (let m = 0; m < 200; m++) await store.commitIngest(batch(T + m * M, { records: records('a', 1) }))
    await store.purge({ before: 0, idempotencyBefore: 0, now: T + 200 * M })
    expect((await lastHour(store.fleet, ['a'], T + 199 * M))('a')).toEqual({ records: 60, anomalies: 0 })
    // Older minutes are gone (the 2 h kept, not the 7 d retention).
    expect((await store.fleet.activity(['a'], 0)).get('a')).toEqual({ records: 120, anomalies: 0 })
  })

  it('answers a page of many devices in one query, bounded by the page', async () => {
    const store = openSqliteStore(':memory:')
    const ids = Array.from({ length: 1500 }, (_, i) => `dev-${i}`)
    await store.commitIngest(batch(T, { records: ids.map((id) => entry(id, T)) }))
    const found = await store.fleet.activity(ids, T - M)
    expect(found.size).toBe(1500)
    expect(found.get('dev-1499')).toEqual({ records: 1, anomalies: 0 })
    expect((await store.fleet.activity([], 0)).size).toBe(0)
  })

  it('is in every device answer as lastHour', async () => {
    let now = T
    const app = createApp({
      store: openSqliteStore(':memory:'),
      kernel: await loadNodeKernel(),
      analysis: resolveAnalysisConfig({}),
      tokens: { ingest: ['ingest-token-123'], admin: ['admin-token-4567'] },
      bodyLimitBytes: 1 << 20,
      now: () => now,
    })
    const auth = (t: string) => ({ Authorization: `Bearer ${t}` })
    const body = [1, 2, 3].map((i) => JSON.stringify({ deviceId: 'pump', ts: T + i, temp: 20 })).join('\n')
    await app.request('/v1/ingest', {
      method: 'POST',
      body: `${body}\n{"deviceId":"pump","ts":${T + 4},"level":"error"}`,
      headers: { ...auth('ingest-token-123'), 'Content-Type': 'application/x-ndjson' },
    })
    const get = async (path: string) =>
      (await (await app.request(path, { headers: auth('admin-token-4567') })).json()) as Record<
        string,
        unknown
      >
    const list = (await get('/v1/devices')) as { items: Record<string, unknown>[] }
    expect(list.items[0]).toMatchObject({ deviceId: 'pump', lastHour: { records: 4, anomalies: 1 } })
    expect(await get('/v1/devices/pump')).toMatchObject({ lastHour: { records: 4, anomalies: 1 } })
    now = T + 61 * M
    expect(await get('/v1/devices/pump')).toMatchObject({
      recordCount: 4,
      lastHour: { records: 0, anomalies: 0 },
    })
  })
})
