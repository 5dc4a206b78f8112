// The front door over real apps in process: four shards (four apps with their own ingest queues and
// caches over one shared SQLite store, as shards share one D1) must answer and store exactly what one
// app does for the same batches. The same proof under workerd is test/worker-shards/shards.test.ts.
import { beforeAll, describe, expect, it } from 'vitest'
import { loadNodeKernel } from '../../kernels/node.js'
import { testDevice } from '../../test/device-client.js'
import { MIXED, mixedRounds, T0 } from '../../test/worker-shards/mixed.js'
import { createApp } from '../app.js'
import { resolveAnalysisConfig } from '../domain/analysis-config.js'
import { toRecord } from '../domain/record.js'
import { InFlight } from '../http/in-flight.js'
import type { Store } from '../store/port.js'
import { openSqliteStore } from '../store/sqlite.js'
import { DeviceTokens } from './device-tokens.js'
import { FrontDoor } from './front-door.js'
import { shardOf } from './shards.js'

const INGEST = 'front-door-ingest-token'
const ADMIN = 'front-door-admin-token'
const SHARDS = 4

async function app(store: Store) {
  return createApp({
    store,
    kernel: await loadNodeKernel(),
    analysis: resolveAnalysisConfig({}),
    tokens: { ingest: [INGEST], admin: [ADMIN] },
    bodyLimitBytes: 8 << 20,
  })
}

type App = Awaited<ReturnType<typeof app>>

/** The device ids of the records in a part (what a shard will write; rejected entries write no state). */
function devicesIn(text: string): string[] {
  const items = text.trimStart().startsWith('[')
    ? (JSON.parse(text) as unknown[])
    : text.split('\n').flatMap((l) => {
        try {
          return [JSON.parse(l)]
        } catch {
          return []
        }
      })
  return items.flatMap((i) => {
    const r = toRecord(i, Date.now())
    return r.ok ? [r.record.deviceId] : []
  })
}

interface Sharded {
  door: FrontDoor
  /** The shards each device's records were sent to. */
  writers: Map<string, Set<number>>
  parts: number
}

async function sharded(): Promise<Sharded> {
  const store = openSqliteStore(':memory:')
  const apps: App[] = []
  for (let i = 0; i < SHARDS; i++) apps.push(await app(store))
  const out: Sharded = { door: undefined as unknown as FrontDoor, writers: new Map(), parts: 0 }
  out.door = new FrontDoor({
    shards: SHARDS,
    send: async (shard, request) => {
      if (new URL(request.url).pathname === '/v1/ingest') {
        out.parts++
        for (const d of devicesIn(await request.clone().text())) {
          const set = out.writers.get(d) ?? new Set()
          set.add(shard)
          out.writers.set(d, set)
        }
      }
      return apps[shard]!.fetch(request)
    },
    devices: new DeviceTokens(store.fleet),
    isServiceToken: (t) => t === INGEST || t === ADMIN,
    bodies: new InFlight(64 << 20),
    bodyLimitBytes: 8 << 20,
    idempotencyTtlMs: 86_400_000,
    influxDeviceTags: ['device', 'host'],
    findIdempotent: (key, notBefore) => store.findIdempotent(key, notBefore),
  })
  return out
}

const post = (body: string, headers: Record<string, string> = {}) =>
  new Request('http://edge/v1/ingest', {
    method: 'POST',
    body,
    headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/x-ndjson', ...headers },
  })
const get = (path: string) =>
  new Request(`http://edge${path}`, { headers: { Authorization: `Bearer ${ADMIN}` } })
const noIds = (text: string) => JSON.parse(text, (k, v) => (k === 'id' ? undefined : v))

/** What a set of rounds gives: each answer, then the anomalies and the export. */
async function run(fetch: (r: Request) => Promise<Response>, format: 'ndjson' | 'json') {
  const answers: { status: number; body: unknown }[] = []
  const type = format === 'json' ? 'application/json' : 'application/x-ndjson'
  for (const round of mixedRounds({ ...MIXED, format })) {
    const res = await Promise.all(round.bodies.map((b) => fetch(post(b, { 'Content-Type': type }))))
    for (const r of res) answers.push({ status: r.status, body: noIds(await r.text()) })
  }
  const anomalies = await (await fetch(get(`/v1/anomalies?limit=1000&since=${T0}`))).text()
  const exported = await (await fetch(get(`/v1/export?since=${T0}`))).text()
  return { answers, anomalies: noIds(anomalies), exported: exported.split('\n').sort() }
}

describe('front door over four shards', () => {
  let single: App
  beforeAll(async () => {
    single = await app(openSqliteStore(':memory:'))
  })

  for (const format of ['ndjson', 'json'] as const) {
    it(`answers and stores mixed ${format} batches exactly as one writer does`, async () => {
      const one = await run(async (r) => single.fetch(r), format)
      single = await app(openSqliteStore(':memory:'))
      const s = await sharded()
      const four = await run((r) => s.door.fetch(r), format)
      expect(four.answers).toEqual(one.answers)
      expect(four.anomalies).toEqual(one.anomalies)
      expect(four.exported).toEqual(one.exported)
      // The proof is not empty: batches were split, with rejections and anomalies in their answers.
      const bodies = one.answers.map((a) => a.body as { rejectedCount: number; anomalyCount: number })
      expect(bodies.every((b) => b.rejectedCount > 0 && b.anomalyCount > 0)).toBe(true)
      expect(s.parts).toBeGreaterThan(one.answers.length * 2)
      // Every device was written by exactly its own shard.
      expect(s.writers.size).toBe(MIXED.devices)
      for (const [device, shards] of s.writers) expect([...shards]).toEqual([shardOf(device, SHARDS)])
    })
  }

  it('lists the first 100 rejections of a batch and counts the rest, as one writer does', async () => {
    const lines: string[] = []
    for (let i = 0; i < 300; i++)
      lines.push(i % 2 ? `{"deviceId":"many-${i % 9}","ts":${T0 + i},"v":${i}}` : 'junk')
    const one = await single.fetch(post(lines.join('\n')))
    const s = await sharded()
    const four = await s.door.fetch(post(lines.join('\n')))
    expect(noIds(await four.text())).toEqual(noIds(await one.text()))
    const array = JSON.stringify(lines.map((l) => (l === 'junk' ? 5 : JSON.parse(l))))
    const json = { 'Content-Type': 'application/json' }
    expect(noIds(await (await s.door.fetch(post(array, json))).text())).toEqual(
      noIds(await (await single.fetch(post(array, json))).text()),
    )
  })

  it('stores a split batch once per Idempotency-Key, and refuses the key with another body', async () => {
    const s = await sharded()
    const [body, other] = mixedRounds()[0]!.bodies as [string, string]
    const key = { 'Idempotency-Key': 'split-key-1' }
    const first = await s.door.fetch(post(body, key))
    expect(first.status).toBe(200)
    const firstText = await first.text()
    const again = await s.door.fetch(post(body, key))
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await again.text()).toBe(firstText)
    const exported = await (await s.door.fetch(get(`/v1/export?since=${T0}`))).text()
    expect(exported.trim().split('\n')).toHaveLength(
      (JSON.parse(firstText) as { accepted: number }).accepted + 1,
    )
    // Another body, a part of it (fewer shards), or one more line: 422, and nothing stored.
    const lines = body.split('\n')
    const firstLine = lines.find((l) => l.startsWith('{"deviceId"'))!
    for (const changed of [other, firstLine, `${body}\n{"deviceId":"edge-99","ts":${T0},"temp":1}`]) {
      const res = await s.door.fetch(post(changed, key))
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([
        422,
        'idempotency_key_reused',
      ])
    }
    expect(await (await s.door.fetch(get(`/v1/export?since=${T0}`))).text()).toBe(exported)
  })

  it('answers a part that failed for the whole batch, and a retry with the key completes it once', async () => {
    const store = openSqliteStore(':memory:')
    const apps: App[] = []
    for (let i = 0; i < SHARDS; i++) apps.push(await app(store))
    let failing: number | undefined
    const door = new FrontDoor({
      shards: SHARDS,
      send: async (shard, request) =>
        shard === failing
          ? Response.json({ error: { code: 'overloaded', message: 'busy', details: null } }, { status: 503 })
          : apps[shard]!.fetch(request),
      devices: new DeviceTokens(store.fleet),
      isServiceToken: (t) => t === INGEST,
      bodies: new InFlight(64 << 20),
      bodyLimitBytes: 8 << 20,
      idempotencyTtlMs: 86_400_000,
      influxDeviceTags: ['device', 'host'],
      findIdempotent: (key, notBefore) => store.findIdempotent(key, notBefore),
    })
    const body = mixedRounds()[0]!.bodies[0]!
    const key = { 'Idempotency-Key': 'retry-key-1' }
    single = await app(openSqliteStore(':memory:'))
    failing = 2
    expect((await door.fetch(post(body, key))).status).toBe(503)
    failing = undefined
    const retried = await door.fetch(post(body, key))
    expect(retried.status).toBe(200)
    expect(retried.headers.get('idempotent-replayed')).toBeNull()
    expect(noIds(await retried.text())).toEqual(noIds(await (await single.fetch(post(body))).text()))
    const exported = await (await apps[0]!.fetch(get(`/v1/export?since=${T0}`))).text()
    const once = await (await single.fetch(get(`/v1/export?since=${T0}`))).text()
    expect(exported.split('\n').sort()).toEqual(once.split('\n').sort())
  })

  it('bounds the bodies it holds while their parts are answered: past the bound, 503 overloaded', async () => {
    const store = openSqliteStore(':memory:')
    const shard = await app(store)
    let release = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    const door = new FrontDoor({
      shards: SHARDS,
      send: async (_, request) => {
        await held
        return shard.fetch(request)
      },
      devices: new DeviceTokens(store.fleet),
      isServiceToken: (t) => t === INGEST,
      bodies: new InFlight(20_000),
      bodyLimitBytes: 8 << 20,
      idempotencyTtlMs: 86_400_000,
      influxDeviceTags: ['device', 'host'],
      findIdempotent: (key, notBefore) => store.findIdempotent(key, notBefore),
    })
    const body = mixedRounds()[0]!.bodies[0]!
    const sized = (b: string) => post(b, { 'Content-Length': String(new TextEncoder().encode(b).byteLength) })
    const first = door.fetch(sized(body))
    await new Promise((r) => setTimeout(r, 20))
    const second = await door.fetch(sized(body))
    expect(second.status).toBe(503)
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('overloaded')
    expect(second.headers.get('retry-after')).toBe('1')
    release()
    expect((await first).status).toBe(200)
    expect((await door.fetch(sized(body))).status).toBe(200)
  })

  it("sends a device's own requests, and each relayed part, to the device's shard; the fleet's to shard 0", async () => {
    const store = openSqliteStore(':memory:')
    const apps: App[] = []
    for (let i = 0; i < SHARDS; i++) apps.push(await app(store))
    const seen: { shard: number; path: string }[] = []
    const door = new FrontDoor({
      shards: SHARDS,
      send: async (shard, request) => {
        seen.push({ shard, path: new URL(request.url).pathname })
        return apps[shard]!.fetch(request)
      },
      devices: new DeviceTokens(store.fleet),
      isServiceToken: (t) => t === INGEST || t === ADMIN,
      bodies: new InFlight(64 << 20),
      bodyLimitBytes: 8 << 20,
      idempotencyTtlMs: 86_400_000,
      influxDeviceTags: ['device', 'host'],
      findIdempotent: (key, notBefore) => store.findIdempotent(key, notBefore),
    })
    const requester = (path: string, init: RequestInit) => door.fetch(new Request(`http://edge${path}`, init))
    const made = await door.fetch(
      new Request('http://edge/v1/fleet/enrolment-tokens', {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ maxUses: 8 }),
      }),
    )
    const { token } = (await made.json()) as { token: string }
    const devices = []
    for (let i = 0; i < 8; i++) {
      const d = await testDevice(requester)
      expect((await d.enrol(token)).status).toBe(201)
      expect((await d.login()).status).toBe(200)
      devices.push(d)
    }
    expect(new Set(devices.map((d) => shardOf(d.deviceId, SHARDS))).size).toBeGreaterThan(1)
    seen.length = 0
    for (const d of devices) {
      expect((await d.heartbeat()).status).toBe(200)
      expect((await d.ingest([{ ts: Date.UTC(2026, 0, 1), temp: 20 }])).status).toBe(200)
      expect((await d.goodbye()).status).toBe(200)
      const own = shardOf(d.deviceId, SHARDS)
      expect(seen.splice(0).map((s) => s.shard)).toEqual([own, own, own])
      expect((await door.fetch(get(`/v1/devices/${encodeURIComponent(d.deviceId)}`))).status).toBe(200)
      expect(seen.splice(0)).toEqual([{ shard: own, path: `/v1/devices/${encodeURIComponent(d.deviceId)}` }])
    }
    const relayed = await door.fetch(
      new Request('http://edge/v1/gateway/relay', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          parts: devices.map((d) => ({
            method: 'POST',
            path: '/v1/device/heartbeat',
            headers: { Authorization: `Bearer ${d.token}`, 'Content-Type': 'application/json' },
            body: '{"uptimeMs":2000}',
          })),
        }),
      }),
    )
    const { parts } = (await relayed.json()) as { parts: { status: number }[] }
    expect(parts.map((p) => p.status)).toEqual(devices.map(() => 200))
    expect(seen.map((s) => s.shard).sort()).toEqual(devices.map((d) => shardOf(d.deviceId, SHARDS)).sort())
    seen.length = 0
    await door.fetch(get('/v1/anomalies'))
    await door.fetch(get('/v1/devices'))
    expect(seen.map((s) => s.shard)).toEqual([0, 0])
  })
})
