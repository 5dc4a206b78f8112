// POST /v1/write and /api/v2/write on the app in process, over a real SQLite store in memory.
import { gzipSync } from 'node:zlib'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Kernel } from '../../../kernels/host/kernel.js'
import { loadNodeKernel } from '../../../kernels/node.js'
import { testDevice } from '../../../test/device-client.js'
import { type AppDeps, createApp } from '../../app.js'
import { ConfigError, configFromEnv } from '../../config.js'
import { resolveAnalysisConfig } from '../../domain/analysis-config.js'
import type { Store } from '../../store/port.js'
import { openSqliteStore } from '../../store/sqlite.js'

const INGEST = 'influx-ingest-token-0123'
const ADMIN = 'influx-admin-token-01234'
const T = 1_700_000_000_000 // ms
const ns = (ms: number) => `${ms}000000`

let kernel: Kernel
beforeAll(async () => {
  kernel = await loadNodeKernel()
})
const stores: Store[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

/** The app's request, typed as always asynchronous. */
const fetchOf = (app: ReturnType<typeof createApp>) =>
  app as unknown as { request(path: string, init: RequestInit): Promise<Response> }

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
  const write = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
    fetchOf(app).request(path, {
      method: 'POST',
      body: body as BodyInit,
      headers: { Authorization: `Token ${INGEST}`, 'Content-Type': 'text/plain; charset=utf-8', ...headers },
    })
  const records = async () => {
    const text = await (
      await app.request('/v1/export', { headers: { Authorization: `Bearer ${ADMIN}` } })
    ).text()
    return text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => !('export' in l))
  }
  const deadLetters = async () => {
    const items: { position: string; reason: string; raw: string }[] = []
    let cursor: string | null = null
    do {
      const page = (await (
        await app.request(
          `/v1/dead-letters?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          {
            headers: { Authorization: `Bearer ${ADMIN}` },
          },
        )
      ).json()) as { items: typeof items; next: string | null }
      items.push(...page.items)
      cursor = page.next
    } while (cursor)
    return items
  }
  return { app, store, write, records, deadLetters }
}

describe('POST /v1/write', () => {
  it('stores each line as a record of the device its tag names, and answers 204', async () => {
    const { write, records } = open()
    const body = [
      '# a comment, then a blank line',
      '',
      `cpu,host=pump-7,core=0 usage=41.5,procs=12i,big=3u,ok=true,state="idle",msg="all fine" ${ns(T)}`,
      `cpu,device=pump-8,host=gw-1 usage=3 ${ns(T + 1000)}`,
      `door\\ state,host=pump-7 open=F,level="warn" ${T + 2000}123000`,
    ].join('\r\n')
    const res = await write('/v1/write?db=telegraf', body)
    expect(res.status, await res.clone().text()).toBe(204)
    expect(await res.text()).toBe('')
    const got = await records()
    expect(got).toHaveLength(3)
    const [a, b, c] = got as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>]
    expect(a).toMatchObject({
      deviceId: 'pump-7',
      ts: new Date(T).toISOString(),
      time: '2023-11-14T22:13:20Z',
      measurement: 'cpu',
      tags: { host: 'pump-7', core: '0' },
      metrics: { 'cpu.usage': 41.5, 'cpu.procs': 12, 'cpu.big': 3, 'cpu.ok': 1 },
      fields: { state: 'idle' },
      msg: 'all fine',
    })
    // The `device` tag wins over `host`.
    expect(b).toMatchObject({ deviceId: 'pump-8', metrics: { 'cpu.usage': 3 } })
    expect(c).toMatchObject({
      deviceId: 'pump-7',
      measurement: 'door state',
      time: '2023-11-14T22:13:22.000123Z',
      level: 'warn',
      metrics: { 'door state.open': 0 },
    })
  })

  it('answers a partly bad body as InfluxDB 1.x does, stores the good lines, keeps each bad one as a dead letter', async () => {
    const { write, records, deadLetters } = open()
    const body = [
      `cpu,host=a value=1 ${ns(T)}`,
      'cpu,host=a value=',
      `cpu,host=a value=3 ${ns(T + 2000)}`,
      'bad line here',
      `cpu,region=eu value=5 ${ns(T + 4000)}`,
    ].join('\n')
    const res = await write('/v1/write?db=x', body)
    expect(res.status).toBe(400)
    const answer = (await res.json()) as Record<string, unknown>
    expect(answer.error).toBe(
      "partial write: unable to parse 'cpu,host=a value=': missing field value\n" +
        "unable to parse 'bad line here': invalid field format\n" +
        "unable to store 'cpu,region=eu value=5 1700000004000000000': no device tag: a point needs one of the tags device, host dropped=3",
    )
    expect(res.headers.get('x-influxdb-error')).toMatch(
      /^partial write: unable to parse 'cpu,host=a value=': missing/,
    )
    expect(answer).toMatchObject({ line: 2, rejectedCount: 3, accepted: 2 })
    expect((answer.rejected as { line: number }[]).map((r) => r.line)).toEqual([2, 4, 5])
    expect((await records()).map((r) => r.metrics)).toEqual([{ 'cpu.value': 1 }, { 'cpu.value': 3 }])
    const letters = await deadLetters()
    expect(letters.map((l) => [l.position, l.raw]).sort()).toEqual([
      ['line 2', 'cpu,host=a value='],
      ['line 4', 'bad line here'],
      ['line 5', 'cpu,region=eu value=5 1700000004000000000'],
    ])
    expect(letters.find((l) => l.position === 'line 4')!.reason).toBe(
      "unable to parse 'bad line here': invalid field format",
    )
  })

  it('answers a wholly bad body without "partial write", and stores nothing', async () => {
    const { write, records, deadLetters } = open()
    const res = await write('/v1/write?db=x', 'cpu,host=a value=\nfoo')
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error).toBe(
      "unable to parse 'cpu,host=a value=': missing field value\nunable to parse 'foo': missing fields",
    )
    expect(await records()).toEqual([])
    expect(await deadLetters()).toHaveLength(2)
  })

  it('answers 204 to a body of only blanks and comments, as InfluxDB does', async () => {
    const { write } = open()
    expect((await write('/v1/write?db=x', '')).status).toBe(204)
    expect((await write('/v1/write?db=x', '# nothing\n\n  \n')).status).toBe(204)
  })

  it('converts timestamps with the precision', async () => {
    const { write, records } = open()
    const cases: [string, string, string][] = [
      ['n', '1700000000123456789', '2023-11-14T22:13:20.123456789Z'],
      ['u', '1700000000123456', '2023-11-14T22:13:20.123456Z'],
      ['ms', '1700000000123', '2023-11-14T22:13:20.123Z'],
      ['s', '1700000000', '2023-11-14T22:13:20Z'],
      ['m', '28333333', '2023-11-14T22:13:00Z'],
      ['h', '472222', '2023-11-14T22:00:00Z'],
    ]
    for (const [precision, ts, time] of cases) {
      const res = await write(`/v1/write?db=x&precision=${precision}`, `m,host=p-${precision} v=1 ${ts}`)
      expect(res.status, precision).toBe(204)
      const r = (await records()).find((x) => x.deviceId === `p-${precision}`)!
      expect(r.time, precision).toBe(time)
      expect(r.ts, precision).toBe(new Date(Date.parse(time)).toISOString())
    }
    const bad = await write('/v1/write?db=x&precision=fortnight', 'm,host=a v=1 1')
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toMatch(/^invalid precision/)
  })

  it('refuses a timestamp edgewatch cannot keep, by line', async () => {
    const { write } = open()
    const res = await write(
      '/v1/write?db=x',
      'm,host=a v=1 -5\nm,host=a v=1 9223372036854775807\nm,host=a v=1 1',
    )
    const answer = (await res.json()) as { error: string; rejected: { line: number; reason: string }[] }
    expect(res.status).toBe(400)
    expect(answer.rejected.map((r) => r.line)).toEqual([1, 2])
    expect(answer.rejected[0]!.reason).toMatch(/^unable to store 'm,host=a v=1 -5': timestamp out of range/)
    expect(answer.rejected[1]!.reason).toBe(
      "unable to parse 'm,host=a v=1 9223372036854775807': time outside range -9223372036854775806 - 9223372036854775806",
    )
  })

  it('takes the credentials Influx 1.x clients send, and refuses others as InfluxDB does', async () => {
    const { app } = open()
    const post = (path: string, headers: Record<string, string> = {}) =>
      app.request(path, { method: 'POST', body: 'm,host=a v=1', headers })
    const basic = (u: string, p: string) => `Basic ${btoa(`${u}:${p}`)}`
    expect((await post('/v1/write?db=x', { Authorization: basic('telegraf', INGEST) })).status).toBe(204)
    expect((await post(`/v1/write?db=x&u=telegraf&p=${INGEST}`)).status).toBe(204)
    expect((await post('/v1/write?db=x', { Authorization: `Token ${INGEST}` })).status).toBe(204)
    expect((await post('/v1/write?db=x', { Authorization: `Token user:${INGEST}` })).status).toBe(204)
    expect((await post('/v1/write?db=x', { Authorization: `Bearer ${INGEST}` })).status).toBe(204)
    expect((await post('/v1/write?db=x', { Authorization: `Bearer ${ADMIN}` })).status).toBe(204)
    for (const headers of [
      {},
      { Authorization: basic('u', 'wrong-token-0123456789') },
      { Authorization: 'Basic !!' },
    ] as Record<string, string>[]) {
      const res = await post('/v1/write?db=x', headers)
      expect(res.status).toBe(401)
      expect(await res.json()).toEqual({ error: 'authorization failed' })
    }
    expect((await post(`/v1/write?db=x&p=${INGEST.slice(0, -1)}`)).status).toBe(401)
    const noDb = await post('/v1/write', { Authorization: `Token ${INGEST}` })
    expect(noDb.status).toBe(400)
    expect(await noDb.json()).toEqual({ error: 'database is required' })
  })

  it('reads gzip bodies, and answers 413 past the body limit in InfluxDB 1.x shape', async () => {
    const { write, records } = open()
    const lines = Array.from({ length: 50 }, (_, i) => `m,host=g v=${i} ${ns(T + i * 1000)}`).join('\n')
    const res = await write('/v1/write?db=x', gzipSync(lines), { 'Content-Encoding': 'gzip' })
    expect(res.status).toBe(204)
    expect(await records()).toHaveLength(50)
    const big = `m,host=g v=1 ${ns(T)}\n`.repeat(3000)
    const tooBig = await write('/v1/write?db=x', gzipSync(big), { 'Content-Encoding': 'gzip' })
    expect(tooBig.status).toBe(413)
    expect(((await tooBig.json()) as { error: string }).error).toMatch(/larger than the limit/)
  })

  it('replays an Idempotency-Key: the same body stores nothing again, another body gets 422', async () => {
    const { write, records } = open()
    const headers = { 'Idempotency-Key': 'batch-1' }
    const first = await write('/v1/write?db=x', `m,host=a v=1 ${ns(T)}\nm,host=a v= 1`, headers)
    expect(first.status).toBe(400)
    const again = await write('/v1/write?db=x', `m,host=a v=1 ${ns(T)}\nm,host=a v= 1`, headers)
    expect(again.status).toBe(400)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await again.text()).toBe(await first.text())
    expect(await records()).toHaveLength(1)
    const other = await write('/v1/write?db=x', `m,host=a v=2 ${ns(T)}`, headers)
    expect(other.status).toBe(422)
    expect(((await other.json()) as { error: string }).error).toMatch(
      /Idempotency-Key was used with a different body/,
    )
  })

  it('takes the device tags configured', async () => {
    const { write, records } = open({ influxDeviceTags: ['sensor_id'] })
    const res = await write('/v1/write?db=x', `m,sensor_id=s-1,host=gw v=1 ${ns(T)}\nm,host=gw v=2 ${ns(T)}`)
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error).toMatch(
      /no device tag: a point needs one of the tags sensor_id dropped=1$/,
    )
    expect((await records()).map((r) => r.deviceId)).toEqual(['s-1'])
  })

  it('bounds the work on a hostile body: 2 million junk lines get their 400 fast, 100 kept by line, the whole body kept once; a good request sent meanwhile is answered first', async () => {
    const { write, deadLetters } = open({ bodyLimitBytes: 8 << 20 })
    const junk = 'x\n'.repeat(2_000_000)
    const order: string[] = []
    const t0 = performance.now()
    const big = write('/v1/write?db=x', junk).then(async (res) => {
      order.push('junk')
      return { res, ms: performance.now() - t0 }
    })
    await new Promise((r) => setTimeout(r, 5))
    const small = write('/v1/write?db=x', `m,host=a v=1 ${ns(T)}`).then((res) => {
      order.push('small')
      return res
    })
    const [{ res, ms }, good] = await Promise.all([big, small])
    expect(good.status).toBe(204)
    expect(order).toEqual(['small', 'junk'])
    expect(ms).toBeLessThan(10_000)
    expect(res.status).toBe(400)
    const answer = (await res.json()) as { error: string; rejected: unknown[]; rejectedCount: number }
    expect(answer.rejectedCount).toBe(2_000_000)
    expect(answer.rejected).toHaveLength(100)
    expect(
      answer.error.endsWith("unable to parse 'x': missing fields\n… and 1999900 more lines rejected"),
    ).toBe(true)
    const letters = await deadLetters()
    expect(letters.filter((l) => l.position.startsWith('line '))).toHaveLength(100)
    expect(letters.filter((l) => l.position === 'body')).toHaveLength(1)
  })

  it('refuses a line longer than a record may be without reading it, quoting its start', async () => {
    const { write, records } = open({ bodyLimitBytes: 1 << 20 })
    const long = `m,host=a v="${'x'.repeat(70_000)}" ${ns(T)}`
    const res = await write('/v1/write?db=x', `${long}\nm,host=a v=2 ${ns(T)}`)
    expect(res.status).toBe(400)
    const answer = (await res.json()) as { error: string; rejected: { line: number; reason: string }[] }
    expect(answer.rejected[0]!.line).toBe(1)
    expect(answer.rejected[0]!.reason).toBe(
      `unable to parse '${long.slice(0, 1024)}…': line is longer than 65536 characters`,
    )
    expect((await records()).map((r) => r.metrics)).toEqual([{ 'm.v': 2 }])
  })

  it("takes a device's own token: its points default to it, another device's are refused (403)", async () => {
    const { app, write, records } = open()
    const made = await app.request('/v1/fleet/enrolment-tokens', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ maxUses: 1 }),
    })
    const { token: enrolment } = (await made.json()) as { token: string }
    const d = await testDevice(async (path, init) => app.request(path, init))
    expect((await d.enrol(enrolment)).status).toBe(201)
    expect((await d.login()).status).toBe(200)
    const own = await write('/v1/write?db=x', `m v=1 ${ns(T)}\nm,host=${d.deviceId} v=2 ${ns(T + 1000)}`, {
      Authorization: `Basic ${btoa(`device:${d.token}`)}`,
    })
    expect(own.status, await own.clone().text()).toBe(204)
    expect((await records()).map((r) => [r.deviceId, r.metrics])).toEqual([
      [d.deviceId, { 'm.v': 1 }],
      [d.deviceId, { 'm.v': 2 }],
    ])
    const other = await write('/v1/write?db=x', `m,host=pump-1 v=3 ${ns(T)}`, {
      Authorization: `Token ${d.token}`,
    })
    expect(other.status).toBe(403)
    expect(((await other.json()) as { error: string }).error).toMatch(/writes only its own records/)
    expect(await records()).toHaveLength(2)
  })

  it('answers 503 with Retry-After past the bodies in flight, in the API shape', async () => {
    const { app } = open({ maxInFlightBytes: 1000 })
    let release!: () => void
    const held = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('m,host=a v=1\n'))
        release = () => controller.close()
      },
    })
    const first = app.request(
      new Request('http://x/api/v2/write?bucket=b', {
        method: 'POST',
        body: held,
        headers: { Authorization: `Token ${INGEST}`, 'Content-Length': '900' },
        duplex: 'half',
      } as RequestInit),
    )
    await new Promise((r) => setTimeout(r, 20))
    const second = await app.request('/api/v2/write?bucket=b', {
      method: 'POST',
      body: 'm,host=b v=1',
      headers: { Authorization: `Token ${INGEST}` },
    })
    expect(second.status).toBe(503)
    expect(second.headers.get('retry-after')).toBe('1')
    expect(((await second.json()) as { code: string }).code).toBe('unavailable')
    release()
    expect((await first).status).toBe(204)
  })
})

describe('POST /api/v2/write', () => {
  it('stores lines and answers errors as InfluxDB 2.x does', async () => {
    const { app, write, records } = open()
    expect((await write('/api/v2/write?org=o&bucket=b&precision=s', 'm,host=a v=1 1700000000')).status).toBe(
      204,
    )
    expect((await records())[0]).toMatchObject({ deviceId: 'a', time: '2023-11-14T22:13:20Z' })
    const partial = await write('/api/v2/write?org=o&bucket=b', 'm,host=a v=2\nm,host=a v=')
    expect(partial.status).toBe(400)
    expect(partial.headers.get('x-platform-error-code')).toBe('invalid')
    expect(await partial.json()).toMatchObject({
      code: 'invalid',
      message: "partial write: unable to parse 'm,host=a v=': missing field value dropped=1",
      line: 2,
    })
    const unauthorized = await app.request('/api/v2/write?bucket=b', { method: 'POST', body: 'm,host=a v=1' })
    expect(unauthorized.status).toBe(401)
    expect(await unauthorized.json()).toEqual({ code: 'unauthorized', message: 'unauthorized access' })
    const noBucket = await write('/api/v2/write?org=o', 'm,host=a v=1')
    expect(noBucket.status).toBe(404)
    expect(await noBucket.json()).toEqual({ code: 'not found', message: 'bucket not found' })
    const badPrecision = await write('/api/v2/write?bucket=b&precision=h', 'm,host=a v=1')
    expect(await badPrecision.json()).toEqual({
      code: 'invalid',
      message: 'invalid precision; valid precision units are ns, us, ms, and s',
    })
  })
})

describe('EDGEWATCH_INFLUX_DEVICE_TAGS', () => {
  it('is device, then host, unless set; a list without a tag stops the start', () => {
    expect(configFromEnv({}).influxDeviceTags).toEqual(['device', 'host'])
    expect(configFromEnv({ EDGEWATCH_INFLUX_DEVICE_TAGS: ' sensor_id , host ' }).influxDeviceTags).toEqual([
      'sensor_id',
      'host',
    ])
    expect(() => configFromEnv({ EDGEWATCH_INFLUX_DEVICE_TAGS: ' , ' })).toThrow(ConfigError)
  })
})
