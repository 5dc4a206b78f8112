// The OTLP routes on every runtime edgewatch ships (Node, workerd through the sharded front door,
// the Spin component): the same exports give the same answers and the same stored records. The
// data points of a device and time are one record there too, also when the front door cuts the
// export by shard and when they come in two ResourceMetrics of the same resource.
import { gzipSync } from 'node:zlib'
import { fromBinary } from '@bufbuild/protobuf'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ExportLogsServiceResponseSchema } from '../../functions/protocols/otlp/gen/logs_pb.js'
import { RUNTIMES, type RunningRuntime } from '../runtimes.js'
import { gaugesRequest, logsJson, logsProtobuf, logsRequest, metricsProtobuf } from './requests.js'

const INGEST = 'otlp-runtimes-ingest-token'
const ADMIN = 'otlp-runtimes-admin-token-'
const T = 1_763_942_400_000

// Devices that land on several of the Worker's four shards, and one record that names none.
const LOGS = logsRequest([
  { device: 'rt-1', ts: T, severity: 13, text: 'WARN', msg: 'pressure high', attributes: { bar: 4.2 } },
  { device: 'rt-2', ts: T + 1000, severity: 17, msg: 'stalled' },
  { device: 'rt-3', ts: T + 2000, severity: 9, msg: 'ok' },
  { ts: T + 3000, msg: 'no device' },
])
const METRICS = gaugesRequest([
  { device: 'rt-1', ts: T + 4000, metrics: { temp: 41.5, pressure: 3.2 } },
  { device: 'rt-4', ts: T + 5000, metrics: { temp: 39 } },
  { device: 'rt-4', ts: T + 5000, metrics: { pressure: 2.5 } },
])

describe.each(RUNTIMES.map((r) => [r.name, r] as const))('OTLP on %s', (_name, runtime) => {
  let running: RunningRuntime
  beforeAll(async () => {
    running = await runtime.start({
      EDGEWATCH_INGEST_TOKEN: INGEST,
      EDGEWATCH_ADMIN_TOKEN: ADMIN,
      // Configured on every runtime: a `sensor.id` attribute names the device first.
      EDGEWATCH_OTLP_DEVICE_ATTRIBUTES: 'sensor.id,device.id',
    })
  }, 180_000)
  afterAll(async () => {
    await running?.stop()
  })

  const post = (signal: string, body: Uint8Array | string, headers: Record<string, string>) =>
    fetch(`${running.url}/v1/otlp/v1/${signal}`, {
      method: 'POST',
      body: body as BodyInit,
      headers: { Authorization: `Bearer ${INGEST}`, ...headers },
    })

  it('stores logs and metrics from protobuf (gzip) and JSON, answering partial success the OTLP way', async () => {
    const logs = await post('logs', gzipSync(logsProtobuf(LOGS)), {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'gzip',
    })
    expect(logs.status).toBe(200)
    const answer = fromBinary(ExportLogsServiceResponseSchema, new Uint8Array(await logs.arrayBuffer()))
    expect(answer.partialSuccess?.rejectedLogRecords).toBe(1n)
    expect(answer.partialSuccess?.errorMessage).toMatch(/no device attribute.*sensor\.id, device\.id/)
    const sensor = logsRequest([
      { device: 'ignored', ts: T + 6000, msg: 'by sensor', attributes: { 'sensor.id': 'rt-5' } },
    ])
    const json = await post('logs', logsJson(sensor), { 'Content-Type': 'application/json' })
    expect(json.status).toBe(200)
    expect(await json.json()).toEqual({})
    const metrics = await post('metrics', metricsProtobuf(METRICS), {
      'Content-Type': 'application/x-protobuf',
    })
    expect(metrics.status).toBe(200)
    const bad = await post('metrics', '{"resourceMetrics": 7}', { 'Content-Type': 'application/json' })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ code: 3, message: expect.stringMatching(/not a valid OTLP/) })
    const unsupported = await post('logs', 'x', { 'Content-Type': 'text/plain' })
    expect(unsupported.status).toBe(415)
    const unauthorised = await fetch(`${running.url}/v1/otlp/v1/logs`, {
      method: 'POST',
      body: logsProtobuf(LOGS),
      headers: { 'Content-Type': 'application/x-protobuf' },
    })
    expect(unauthorised.status).toBe(401)

    const res = await fetch(`${running.url}/v1/export?since=${T}&until=${T + 10_000}`, {
      headers: { Authorization: `Bearer ${ADMIN}` },
    })
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.at(-1)).toEqual({ export: { complete: true, records: 6 } })
    expect(
      lines.slice(0, 6).map((r) => [r.deviceId, r.ts, r.level ?? null, r.msg ?? null, r.metrics ?? null]),
    ).toEqual([
      ['rt-1', new Date(T).toISOString(), 'warn', 'pressure high', null],
      ['rt-2', new Date(T + 1000).toISOString(), 'error', 'stalled', null],
      ['rt-3', new Date(T + 2000).toISOString(), 'info', 'ok', null],
      ['rt-1', new Date(T + 4000).toISOString(), null, null, { temp: 41.5, pressure: 3.2 }],
      ['rt-4', new Date(T + 5000).toISOString(), null, null, { temp: 39, pressure: 2.5 }],
      ['rt-5', new Date(T + 6000).toISOString(), null, 'by sensor', null],
    ])
    expect(lines[0]).toMatchObject({
      severity: 'WARN',
      attributes: { bar: 4.2 },
      resource: { 'device.id': 'rt-1' },
    })
  })
})
