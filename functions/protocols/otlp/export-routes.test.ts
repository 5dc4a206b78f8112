// POST /v1/otlp/v1/logs and /v1/otlp/v1/metrics on the app in process, over a real SQLite store in
// memory: both encodings, gzip, partial success, the OTLP error statuses.
import { gzipSync } from 'node:zlib'
import { fromBinary } from '@bufbuild/protobuf'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Kernel } from '../../../kernels/host/kernel.js'
import { loadNodeKernel } from '../../../kernels/node.js'
import { testDevice } from '../../../test/device-client.js'
import {
  gaugesRequest,
  logsJson,
  logsProtobuf,
  logsRequest,
  metricsJson,
  metricsProtobuf,
} from '../../../test/otlp/requests.js'
import { type AppDeps, createApp } from '../../app.js'
import { configFromEnv } from '../../config.js'
import { resolveAnalysisConfig } from '../../domain/analysis-config.js'
import type { Store } from '../../store/port.js'
import { openSqliteStore } from '../../store/sqlite.js'
import { ExportLogsServiceResponseSchema } from './gen/logs_pb.js'
import { ExportMetricsServiceResponseSchema } from './gen/metrics_pb.js'
import { StatusSchema } from './gen/status_pb.js'

const INGEST = 'otlp-ingest-token-012345'
const ADMIN = 'otlp-admin-token-0123456'
const T = 1_700_000_000_000
const PROTOBUF = 'application/x-protobuf'

let kernel: Kernel
beforeAll(async () => {
  kernel = await loadNodeKernel()
})
const stores: Store[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

function open(deps: Partial<AppDeps> = {}) {
  const store = openSqliteStore(':memory:')
  stores.push(store)
  const app = createApp({
    store,
    kernel,
    analysis: resolveAnalysisConfig({}),
    tokens: { ingest: [INGEST], admin: [ADMIN] },
    bodyLimitBytes: 64 * 1024,
    ...deps,
  })
  const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: 'POST',
      body: body as BodyInit,
      headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': PROTOBUF, ...headers },
    }) as Promise<Response>
  const records = async () => {
    const res = (await app.request('/v1/export', {
      headers: { Authorization: `Bearer ${ADMIN}` },
    })) as Response
    return (await res.text())
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => !('export' in l))
  }
  const deadLetters = async () => {
    const res = (await app.request('/v1/dead-letters?limit=100', {
      headers: { Authorization: `Bearer ${ADMIN}` },
    })) as Response
    return ((await res.json()) as { items: { position: string; reason: string; raw: string }[] }).items
  }
  return { app, post, records, deadLetters }
}

const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer())

describe('POST /v1/otlp/v1/logs', () => {
  it('stores each log record as a record of its device, from protobuf, and answers an empty response', async () => {
    const { post, records } = open()
    const request = logsRequest([
      { device: 'pump-7', ts: T, severity: 13, text: 'WARN', msg: 'pressure high', attributes: { bar: 4.2 } },
      {
        device: 'pump-8',
        ts: T + 1000,
        text: 'error',
        msg: 'stalled',
        attributes: { 'device.id': 'pump-9' },
      },
    ])
    const res = await post('/v1/otlp/v1/logs', logsProtobuf(request))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(PROTOBUF)
    const answer = fromBinary(ExportLogsServiceResponseSchema, await bytesOf(res))
    expect(answer.partialSuccess).toBeUndefined()
    const got = await records()
    expect(got).toHaveLength(2)
    expect(got[0]).toMatchObject({
      deviceId: 'pump-7',
      ts: new Date(T).toISOString(),
      level: 'warn',
      severity: 'WARN',
      msg: 'pressure high',
      attributes: { bar: 4.2 },
      resource: { 'device.id': 'pump-7' },
      scope: 'test',
    })
    // The record's own device.id wins over its resource's; the severity text alone gives the level.
    expect(got[1]).toMatchObject({ deviceId: 'pump-9', level: 'error', msg: 'stalled' })
  })

  it('takes OTLP/JSON and gzip, and answers in JSON', async () => {
    const { post, records } = open()
    const json = logsJson(logsRequest([{ device: 'a', ts: T, severity: 9, msg: 'hello' }]))
    const res = await post('/v1/otlp/v1/logs', gzipSync(json), {
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await res.json()).toEqual({})
    expect(await records()).toMatchObject([{ deviceId: 'a', level: 'info', msg: 'hello' }])
  })

  it('stores the valid records of a partly bad export and answers partial success, the rest as dead letters', async () => {
    const { post, records, deadLetters } = open()
    const request = logsRequest([
      { device: 'a', ts: T, msg: 'one' },
      { ts: T + 1, msg: 'no device' },
      { device: 'a', ts: T + 2, msg: 'three' },
    ])
    const res = await post('/v1/otlp/v1/logs', logsProtobuf(request))
    expect(res.status).toBe(200)
    const answer = fromBinary(ExportLogsServiceResponseSchema, await bytesOf(res))
    expect(answer.partialSuccess?.rejectedLogRecords).toBe(1n)
    expect(answer.partialSuccess?.errorMessage).toMatch(
      /^1 log records rejected: index 2: no device attribute/,
    )
    expect((await records()).map((r) => r.msg)).toEqual(['one', 'three'])
    const letters = await deadLetters()
    expect(letters).toHaveLength(1)
    expect(letters[0]!.position).toBe('index 2')
    expect(JSON.parse(letters[0]!.raw)).toMatchObject({ body: { stringValue: 'no device' } })
  })

  it('answers 400 with a google.rpc.Status when the body is not an export, and keeps it as a dead letter', async () => {
    const { post, deadLetters } = open()
    const res = await post('/v1/otlp/v1/logs', new Uint8Array([0x0a, 0x05, 0x01]))
    expect(res.status).toBe(400)
    const status = fromBinary(StatusSchema, await bytesOf(res))
    expect(status.code).toBe(3)
    expect(status.message).toMatch(/not a valid OTLP ExportLogsServiceRequest \(protobuf\)/)
    expect((await deadLetters())[0]!.raw).toBe('base64:CgUB')
  })

  it('answers an empty export with success and stores nothing', async () => {
    const { post, records } = open()
    const res = await post('/v1/otlp/v1/logs', new Uint8Array(0))
    expect(res.status).toBe(200)
    expect(await records()).toEqual([])
  })

  it('refuses an unknown content type (415), a missing token (401) and a decompression bomb (413)', async () => {
    const { post, records } = open()
    const body = logsProtobuf(logsRequest([{ device: 'a', ts: T, msg: 'x' }]))
    expect((await post('/v1/otlp/v1/logs', body, { 'Content-Type': 'text/plain' })).status).toBe(415)
    const unauthorised = await post('/v1/otlp/v1/logs', body, { Authorization: 'Bearer nope-nope-nope-nope' })
    expect(unauthorised.status).toBe(401)
    expect(fromBinary(StatusSchema, await bytesOf(unauthorised)).code).toBe(16)
    // 10 MB of zeros gzip to about 10 KB, under the 64 KiB limit: refused once it grows past it.
    const bomb = gzipSync(new Uint8Array(10 << 20))
    expect(bomb.byteLength).toBeLessThan(64 * 1024)
    const res = await post('/v1/otlp/v1/logs', bomb, { 'Content-Encoding': 'gzip' })
    expect(res.status).toBe(413)
    expect(await records()).toEqual([])
  })

  it("takes a device's own token: its records default to it, another device's are refused (403)", async () => {
    const { app, post, records } = open()
    const made = (await app.request('/v1/fleet/enrolment-tokens', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ maxUses: 1 }),
    })) as Response
    const { token: enrolment } = (await made.json()) as { token: string }
    const d = await testDevice(async (path, init) => app.request(path, init) as Promise<Response>)
    expect((await d.enrol(enrolment)).status).toBe(201)
    expect((await d.login()).status).toBe(200)
    const asDevice = { Authorization: `Bearer ${d.token}` }
    const own = await post('/v1/otlp/v1/logs', logsProtobuf(logsRequest([{ ts: T, msg: 'mine' }])), asDevice)
    expect(own.status).toBe(200)
    expect((await records()).map((r) => [r.deviceId, r.msg])).toEqual([[d.deviceId, 'mine']])
    const other = await post(
      '/v1/otlp/v1/logs',
      logsProtobuf(logsRequest([{ device: 'pump-1', ts: T }])),
      asDevice,
    )
    expect(other.status).toBe(403)
    expect(fromBinary(StatusSchema, await bytesOf(other)).message).toMatch(/writes only its own records/)
    const forged = await post('/v1/otlp/v1/logs', logsProtobuf(logsRequest([{ ts: T }])), {
      Authorization: 'Bearer dev_not-a-real-device-token',
    })
    expect(forged.status).toBe(401)
    expect(await records()).toHaveLength(1)
  })
})

describe('POST /v1/otlp/v1/metrics', () => {
  it('stores the gauge points of one device and time as one record of their metrics, from protobuf and JSON', async () => {
    const { post, records } = open()
    const request = gaugesRequest([
      { device: 'pump-7', ts: T, metrics: { 'pump.pressure': 4.2, 'pump.temp': 61 } },
      { device: 'pump-8', ts: T + 1000, metrics: { 'pump.pressure': 3.9 } },
    ])
    const res = await post('/v1/otlp/v1/metrics', metricsProtobuf(request))
    expect(res.status).toBe(200)
    expect(fromBinary(ExportMetricsServiceResponseSchema, await bytesOf(res)).partialSuccess).toBeUndefined()
    const json = await post('/v1/otlp/v1/metrics', metricsJson(request), {
      'Content-Type': 'application/json',
    })
    expect(json.status).toBe(200)
    const got = await records()
    // Stored twice, once per encoding: the same records.
    expect(got.map((r) => JSON.stringify([r.deviceId, r.ts, r.metrics])).sort()).toEqual([
      JSON.stringify(['pump-7', new Date(T).toISOString(), { 'pump.pressure': 4.2, 'pump.temp': 61 }]),
      JSON.stringify(['pump-7', new Date(T).toISOString(), { 'pump.pressure': 4.2, 'pump.temp': 61 }]),
      JSON.stringify(['pump-8', new Date(T + 1000).toISOString(), { 'pump.pressure': 3.9 }]),
      JSON.stringify(['pump-8', new Date(T + 1000).toISOString(), { 'pump.pressure': 3.9 }]),
    ])
  })

  it('answers partial success in JSON with the rejected data points counted', async () => {
    const { post, records } = open()
    const request = gaugesRequest([
      { device: 'a', ts: T, metrics: { ok: 1, ['x'.repeat(80)]: 2 } },
      { device: 'a', ts: T + 1, metrics: { ok: 3 } },
    ])
    const res = await post('/v1/otlp/v1/metrics', metricsJson(request), {
      'Content-Type': 'application/json',
    })
    expect(res.status).toBe(200)
    const answer = (await res.json()) as {
      partialSuccess: { rejectedDataPoints: string; errorMessage: string }
    }
    expect(answer.partialSuccess.rejectedDataPoints).toBe('1')
    expect(answer.partialSuccess.errorMessage).toMatch(/index 1: metric names must be 1-64 characters/)
    expect((await records()).map((r) => r.metrics)).toEqual([{ ok: 1 }, { ok: 3 }])
  })

  it('answers 400 when every data point was rejected', async () => {
    const { post } = open()
    const request = gaugesRequest([{ device: '', ts: T, metrics: { ok: 1 } }])
    const res = await post('/v1/otlp/v1/metrics', metricsJson(request), {
      'Content-Type': 'application/json',
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { message: string }).message).toMatch(/every one of the 1 data points/)
  })
})

describe('EDGEWATCH_OTLP_DEVICE_ATTRIBUTES', () => {
  it('is device.id, then service.instance.id, unless set; an empty list stops the start, naming the variable', () => {
    expect(configFromEnv({}).otlpDeviceAttributes).toEqual(['device.id', 'service.instance.id'])
    expect(
      configFromEnv({ EDGEWATCH_OTLP_DEVICE_ATTRIBUTES: ' host.name , device.id ' }).otlpDeviceAttributes,
    ).toEqual(['host.name', 'device.id'])
    expect(() => configFromEnv({ EDGEWATCH_OTLP_DEVICE_ATTRIBUTES: ' , ' })).toThrow(
      /EDGEWATCH_OTLP_DEVICE_ATTRIBUTES must name at least one/,
    )
  })

  it('names the device a record is stored under', async () => {
    const { post, records } = open({ otlpDeviceAttributes: ['host.name'] })
    const request = logsRequest([
      { device: 'by-device-id', ts: T, msg: 'x', attributes: { 'host.name': 'gw-1' } },
    ])
    expect((await post('/v1/otlp/v1/logs', logsProtobuf(request))).status).toBe(200)
    expect((await records()).map((r) => r.deviceId)).toEqual(['gw-1'])
  })
})
