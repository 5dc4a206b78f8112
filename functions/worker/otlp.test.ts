// OTLP exports through the front door over four shards (four apps on one store, in process) must be
// stored as one app stores them, each device's records by its own shard, and answered in the
// export's encoding with the parts' rejections added up.
import { gzipSync } from 'node:zlib'
import { fromBinary } from '@bufbuild/protobuf'
import { describe, expect, it } from 'vitest'
import {
  gaugesRequest,
  logsJson,
  logsProtobuf,
  logsRequest,
  metricsJson,
  metricsProtobuf,
} from '../../test/otlp/requests.js'
import {
  ExportLogsServiceRequestSchema,
  ExportLogsServiceResponseSchema,
} from '../protocols/otlp/gen/logs_pb.js'
import { StatusSchema } from '../protocols/otlp/gen/status_pb.js'
import type { Store } from '../store/port.js'
import { openSqliteStore } from '../store/sqlite.js'
import { oneApp, shardedApps } from './sharded-apps.js'
import { shardOf } from './shards.js'

const INGEST = 'otlp-door-ingest-token-0'
const ADMIN = 'otlp-door-admin-token-01'
const T = 1_767_225_600_000

const TOKENS = { ingest: INGEST, admin: ADMIN }
const app = (store: Store) => oneApp(store, TOKENS)

/** Four shards, each device's shards read from the protobuf log parts each one is sent. */
const sharded = () =>
  shardedApps(TOKENS, async (request) => {
    const protobuf = request.headers.get('content-type') === 'application/x-protobuf'
    if (new URL(request.url).pathname !== '/v1/otlp/v1/logs' || !protobuf) return []
    const sent = fromBinary(ExportLogsServiceRequestSchema, new Uint8Array(await request.arrayBuffer()))
    return sent.resourceLogs.flatMap((rl) => {
      const device = rl.resource?.attributes.find((a) => a.key === 'device.id')?.value?.value.value
      return typeof device === 'string' ? [device] : []
    })
  })

/** A gateway's export: 30 devices, three log records each, some naming no device. */
function gatewayLogs(second: number) {
  const entries = []
  for (let s = 0; s < 3; s++)
    for (let d = 0; d < 30; d++) {
      entries.push({
        device: `edge-${d}`,
        ts: T + second * 10_000 + s * 1000,
        severity: 9,
        msg: `reading ${s}`,
      })
      if (d % 13 === 5) entries.push({ ts: T + s, msg: 'no device' })
    }
  return logsRequest(entries)
}

const post = (
  path: string,
  body: string | Uint8Array,
  contentType: string,
  headers: Record<string, string> = {},
) =>
  new Request(`http://edge${path}`, {
    method: 'POST',
    body: body as BodyInit,
    headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': contentType, ...headers },
  })
const get = (path: string) =>
  new Request(`http://edge${path}`, { headers: { Authorization: `Bearer ${ADMIN}` } })
const exported = async (f: (r: Request) => Response | Promise<Response>) =>
  (await (await f(get('/v1/export?since=0'))).text()).split('\n').sort()

describe('OTLP exports over four shards', () => {
  it('are stored as one writer stores them, each device by its own shard, the rejections added up', async () => {
    const one = await app(openSqliteStore(':memory:'))
    const four = await sharded()
    const logs = logsProtobuf(gatewayLogs(0))
    const expected = await one.fetch(post('/v1/otlp/v1/logs', logs, 'application/x-protobuf'))
    const got = await four.door.fetch(post('/v1/otlp/v1/logs', logs, 'application/x-protobuf'))
    expect(got.status).toBe(200)
    expect(expected.status).toBe(200)
    const partial = fromBinary(
      ExportLogsServiceResponseSchema,
      new Uint8Array(await got.arrayBuffer()),
    ).partialSuccess
    expect(partial?.rejectedLogRecords).toBe(
      fromBinary(ExportLogsServiceResponseSchema, new Uint8Array(await expected.arrayBuffer())).partialSuccess
        ?.rejectedLogRecords,
    )
    expect(partial?.rejectedLogRecords).toBe(6n)
    // JSON exports: answered in JSON, through protobuf parts.
    const json = logsJson(gatewayLogs(1))
    const jsonAnswer = await four.door.fetch(post('/v1/otlp/v1/logs', json, 'application/json'))
    expect(jsonAnswer.headers.get('content-type')).toBe('application/json')
    expect(await jsonAnswer.json()).toMatchObject({ partialSuccess: { rejectedLogRecords: '6' } })
    await one.fetch(post('/v1/otlp/v1/logs', json, 'application/json'))
    const metrics = gaugesRequest(
      Array.from({ length: 20 }, (_, d) => ({ device: `edge-${d}`, ts: T + d, metrics: { temp: 40 + d } })),
    )
    for (const [body, type] of [
      [metricsProtobuf(metrics), 'application/x-protobuf'],
      [metricsJson(metrics), 'application/json'],
    ] as const) {
      expect((await four.door.fetch(post('/v1/otlp/v1/metrics', body, type))).status).toBe(200)
      expect((await one.fetch(post('/v1/otlp/v1/metrics', body, type))).status).toBe(200)
    }
    expect(await exported((r) => four.door.fetch(r))).toEqual(await exported((r) => one.fetch(r)))
    expect(four.writers.size).toBe(30)
    for (const [device, shards] of four.writers) expect([...shards]).toEqual([shardOf(device, 4)])
  })

  it('store a keyed export once, and refuse the key with another export', async () => {
    const four = await sharded()
    const key = { 'Idempotency-Key': 'otlp-key-1' }
    const first = await four.door.fetch(
      post('/v1/otlp/v1/logs', logsProtobuf(gatewayLogs(0)), 'application/x-protobuf', key),
    )
    expect(first.status).toBe(200)
    const again = await four.door.fetch(
      post('/v1/otlp/v1/logs', logsProtobuf(gatewayLogs(0)), 'application/x-protobuf', key),
    )
    expect(again.status).toBe(200)
    const reused = await four.door.fetch(
      post('/v1/otlp/v1/logs', logsJson(gatewayLogs(1)), 'application/json', key),
    )
    expect(reused.status).toBe(422)
    expect(await reused.json()).toMatchObject({ code: 3, message: expect.stringMatching(/Idempotency-Key/) })
    const devices = (await (await four.door.fetch(get('/v1/devices?limit=100'))).json()) as {
      items: { recordCount: number }[]
    }
    expect(devices.items.reduce((n, d) => n + d.recordCount, 0)).toBe(90)
  })

  it('refuse a decompression bomb (413) and another content type (415), in OTLP shape', async () => {
    const four = await sharded()
    const bomb = gzipSync(new Uint8Array(20 << 20))
    const res = await four.door.fetch(
      post('/v1/otlp/v1/logs', bomb, 'application/x-protobuf', { 'Content-Encoding': 'gzip' }),
    )
    expect(res.status).toBe(413)
    expect(fromBinary(StatusSchema, new Uint8Array(await res.arrayBuffer())).message).toMatch(
      /larger than the limit/,
    )
    expect((await four.door.fetch(post('/v1/otlp/v1/logs', 'x', 'text/plain'))).status).toBe(415)
  })

  it('answer an export that is not OTLP from one shard, in its encoding', async () => {
    const four = await sharded()
    const res = await four.door.fetch(
      post('/v1/otlp/v1/metrics', '{"resourceMetrics": 1}', 'application/json'),
    )
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 3, message: expect.stringMatching(/not a valid OTLP/) })
  })
})
