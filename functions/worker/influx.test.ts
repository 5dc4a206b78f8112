// Influx writes through the front door over four shards (four apps on one store, in process) must
// be answered and stored exactly as one app answers and stores them.
import { describe, expect, it } from 'vitest'
import type { Store } from '../store/port.js'
import { openSqliteStore } from '../store/sqlite.js'
import { oneApp, shardedApps } from './sharded-apps.js'
import { shardOf } from './shards.js'

const INGEST = 'influx-door-ingest-token'
const ADMIN = 'influx-door-admin-token'
const T0 = 1_767_225_600 // 2026-01-01 in seconds

const TOKENS = { ingest: INGEST, admin: ADMIN }
const app = (store: Store) => oneApp(store, TOKENS)

/** Four shards, each device's shards read from the line protocol each one is sent. */
const sharded = () =>
  shardedApps(TOKENS, async (request) => {
    if (!new URL(request.url).pathname.endsWith('/write')) return []
    return (await request.text()).split('\n').flatMap((line) => {
      const device = /device=([\w-]+)\S* temp=[0-9]/.exec(line)?.[1]
      return device ? [device] : []
    })
  })

/** A Telegraf-like write: 30 devices, two fields each per second, some lines InfluxDB refuses too. */
function points(second: number): string {
  const lines: string[] = []
  for (let s = 0; s < 5; s++) {
    for (let d = 0; d < 30; d++) {
      const t = T0 + second * 5 + s
      const temp = 40 + Math.sin(t / 7 + d) * 2 + (s === 3 && d % 11 === 0 ? 40 : 0)
      lines.push(`sensor,device=edge-${d},site=a temp=${temp.toFixed(3)},ok=true ${t}`)
      if (d % 13 === 5) lines.push(`sensor,site=b temp=1 ${t}`) // no device tag: not stored
      if (d % 17 === 3) lines.push('sensor,device=edge-1 temp= 1') // not line protocol
    }
    lines.push('# a comment', '')
  }
  return lines.join('\n')
}

const write = (path: string, body: string, headers: Record<string, string> = {}) =>
  new Request(`http://edge${path}`, {
    method: 'POST',
    body,
    headers: { Authorization: `Token ${INGEST}`, ...headers },
  })
const get = (path: string) =>
  new Request(`http://edge${path}`, { headers: { Authorization: `Bearer ${ADMIN}` } })

async function outcome(res: Response) {
  return {
    status: res.status,
    body: await res.text(),
    error: res.headers.get('x-influxdb-error') ?? res.headers.get('x-platform-error-code'),
  }
}

describe('Influx writes over four shards', () => {
  it('are answered and stored as one writer answers and stores them, each device by its own shard', async () => {
    const one = await app(openSqliteStore(':memory:'))
    const four = await sharded()
    const paths = [
      '/v1/write?db=x&precision=s',
      '/api/v2/write?bucket=x&precision=s',
      '/v1/write?db=x&precision=s',
    ]
    for (const [i, path] of paths.entries()) {
      const body = points(i)
      const expected = await outcome(await one.fetch(write(path, body)))
      expect(await outcome(await four.door.fetch(write(path, body)))).toEqual(expected)
      expect(expected.status).toBe(400) // a partial write: the rejected lines are listed, the rest stored
    }
    const clean = points(3)
      .split('\n')
      .filter((l) => !l.includes('site=b') && !l.includes('temp= '))
      .join('\n')
    const path = '/v1/write?db=x&precision=s'
    expect((await four.door.fetch(write(path, clean))).status).toBe(204)
    expect((await one.fetch(write(path, clean))).status).toBe(204)
    const exported = async (f: (r: Request) => Response | Promise<Response>) =>
      (await (await f(get('/v1/export?since=0'))).text()).split('\n').sort()
    expect(await exported((r) => four.door.fetch(r))).toEqual(await exported((r) => one.fetch(r)))
    expect(four.writers.size).toBe(30)
    for (const [device, shards] of four.writers) expect([...shards]).toEqual([shardOf(device, 4)])
  })

  it('store a keyed write once, and refuse the key with another write in InfluxDB words', async () => {
    const four = await sharded()
    const path = '/api/v2/write?bucket=x&precision=s'
    const key = { 'Idempotency-Key': 'influx-key-1' }
    const first = await outcome(await four.door.fetch(write(path, points(0), key)))
    const again = await four.door.fetch(write(path, points(0), key))
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await outcome(again)).toEqual(first)
    const reused = await outcome(await four.door.fetch(write(path, points(1), key)))
    expect(reused.status).toBe(422)
    expect(JSON.parse(reused.body)).toMatchObject({ code: 'unprocessable entity' })
    const devices = JSON.parse(await (await four.door.fetch(get('/v1/devices?limit=100'))).text()) as {
      items: { recordCount: number }[]
    }
    expect(devices.items.reduce((n, d) => n + d.recordCount, 0)).toBe(150)
  })
})
