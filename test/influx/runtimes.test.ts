// The line protocol routes on every runtime edgewatch ships (Node, workerd, the Spin component):
// the same writes give the same answers and the same stored records.
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RUNTIMES, type RunningRuntime } from '../runtimes.js'

const INGEST = 'influx-runtimes-ingest-token'
const ADMIN = 'influx-runtimes-admin-token'

const BODY = [
  'cpu,host=rt-1,core=0 usage=41.5,procs=12i,ok=true,state="idle" 1763942400000000001',
  'cpu,host=rt-1,core=0 usage=',
  'door\\ state,sensor=rt-2,device=d-9,host=gw open=F 1763942401000000000',
].join('\n')

describe.each(RUNTIMES.map((r) => [r.name, r] as const))('line protocol on %s', (_name, runtime) => {
  let running: RunningRuntime
  beforeAll(async () => {
    running = await runtime.start({
      EDGEWATCH_INGEST_TOKEN: INGEST,
      EDGEWATCH_ADMIN_TOKEN: ADMIN,
      // Configured on every runtime: a `sensor` tag names the device first.
      EDGEWATCH_INFLUX_DEVICE_TAGS: 'sensor,device,host',
    })
  }, 180_000)
  afterAll(async () => {
    await running?.stop()
  })

  it('writes through /v1/write and /api/v2/write, answering as InfluxDB does', async () => {
    const v1 = await fetch(`${running.url}/v1/write?db=x`, {
      method: 'POST',
      body: gzipSync(BODY),
      headers: { Authorization: `Basic ${btoa(`telegraf:${INGEST}`)}`, 'Content-Encoding': 'gzip' },
    })
    expect(v1.status).toBe(400)
    expect(await v1.json()).toMatchObject({
      error: "partial write: unable to parse 'cpu,host=rt-1,core=0 usage=': missing field value dropped=1",
      line: 2,
    })
    const v2 = await fetch(`${running.url}/api/v2/write?org=o&bucket=b&precision=s`, {
      method: 'POST',
      body: 'cpu,host=rt-1,core=1 usage=7 1763942402',
      headers: { Authorization: `Token ${INGEST}` },
    })
    expect(v2.status).toBe(204)
    const unauthorized = await fetch(`${running.url}/api/v2/write?bucket=b`, {
      method: 'POST',
      body: 'm v=1',
    })
    expect(unauthorized.status).toBe(401)
    expect(await unauthorized.json()).toEqual({ code: 'unauthorized', message: 'unauthorized access' })

    const res = await fetch(`${running.url}/v1/export?since=1763942400000&until=1763942500000`, {
      headers: { Authorization: `Bearer ${ADMIN}` },
    })
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.at(-1)).toEqual({ export: { complete: true, records: 3 } })
    expect(lines.slice(0, 3).map(({ score: _s, anomalies: _a, ...r }) => r)).toEqual([
      {
        deviceId: 'rt-1',
        ts: '2025-11-24T00:00:00.000Z',
        time: '2025-11-24T00:00:00.000000001Z',
        measurement: 'cpu',
        tags: { host: 'rt-1', core: '0' },
        metrics: { 'cpu.usage': 41.5, 'cpu.procs': 12, 'cpu.ok': 1 },
        fields: { state: 'idle' },
      },
      {
        deviceId: 'rt-2',
        ts: '2025-11-24T00:00:01.000Z',
        time: '2025-11-24T00:00:01Z',
        measurement: 'door state',
        tags: { sensor: 'rt-2', device: 'd-9', host: 'gw' },
        metrics: { 'door state.open': 0 },
      },
      {
        deviceId: 'rt-1',
        ts: '2025-11-24T00:00:02.000Z',
        time: '2025-11-24T00:00:02Z',
        measurement: 'cpu',
        tags: { host: 'rt-1', core: '1' },
        metrics: { 'cpu.usage': 7 },
      },
    ])
  })
})
