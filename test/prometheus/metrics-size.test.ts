// GET /metrics stays cheap however many devices there are: it has no per-device series (devices are
// counted by status; routes are their patterns, not their paths), so its size does not grow with the
// fleet, and it answers quickly with 10,000 devices known.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../server-process.js'
import { seriesLines } from './promql.js'

const ADMIN = 'size-admin-token-0123456789'
const INGEST = 'size-ingest-token-0123456789'
const DEVICES = 10_000
const BATCH = 2_500

describe('/metrics with 10,000 devices', () => {
  let server: ServerProcess
  let dataDir: string

  const metrics = async () => {
    const t0 = performance.now()
    const res = await fetch(`${server.url}/metrics`)
    const text = await res.text()
    expect(res.status).toBe(200)
    return { text, ms: performance.now() - t0 }
  }
  /** One record for each device in [from, to), in one request. */
  const ingest = async (from: number, to: number) => {
    const lines: string[] = []
    for (let i = from; i < to; i++)
      lines.push(
        JSON.stringify({ deviceId: `dev-${String(i).padStart(5, '0')}`, ts: 1_764_460_800_000, temp: 21.5 }),
      )
    const res = await fetch(`${server.url}/v1/ingest`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/x-ndjson' },
      body: lines.join('\n'),
    })
    const body = (await res.json()) as { accepted: number; anomalies: unknown[] }
    expect(res.status).toBe(200)
    expect(body.accepted).toBe(to - from)
    expect(body.anomalies).toEqual([]) // a first sample fires nothing, so no kind is added below
  }
  const deviceLines = (text: string) => seriesLines(text).filter((l) => l.startsWith('edgewatch_devices{'))

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-metrics-size-'))
    server = await startServer({
      EDGEWATCH_DATA_DIR: dataDir,
      EDGEWATCH_ADMIN_TOKEN: ADMIN,
      EDGEWATCH_INGEST_TOKEN: INGEST,
    })
  })
  afterAll(async () => {
    await server?.stop('SIGTERM')
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('has as many series with 10,000 devices as with 10, and answers quickly', async () => {
    await ingest(0, 10)
    await metrics() // so that GET /metrics itself is in the request series from here on
    const few = await metrics()
    expect(deviceLines(few.text)).toContain('edgewatch_devices{status="unmanaged"} 10')

    for (let from = 10; from < DEVICES; from += BATCH) await ingest(from, Math.min(DEVICES, from + BATCH))
    await metrics()
    const times: number[] = []
    let many = few
    for (let i = 0; i < 21; i++) {
      many = await metrics()
      times.push(many.ms)
    }
    expect(deviceLines(many.text)).toContain(`edgewatch_devices{status="unmanaged"} ${DEVICES}`)

    const fewSeries = seriesLines(few.text)
    const manySeries = seriesLines(many.text)
    // The same series (their values changed), none of them naming a device.
    expect(manySeries.map((l) => l.replace(/ \S+$/, ''))).toEqual(
      fewSeries.map((l) => l.replace(/ \S+$/, '')),
    )
    expect(many.text).not.toMatch(/dev-\d{5}/)
    expect(manySeries.length).toBeLessThan(200)
    expect(Buffer.byteLength(many.text)).toBeLessThan(64 * 1024)

    times.sort((a, b) => a - b)
    const median = times[Math.floor(times.length / 2)]!
    // Generous: the figure itself goes to the README; this only catches a per-device walk.
    expect(median).toBeLessThan(500)
    console.log(
      JSON.stringify({
        devices: DEVICES,
        metricsSeries: manySeries.length,
        metricsBytes: Buffer.byteLength(many.text),
        medianMs: Math.round(median * 100) / 100,
        maxMs: Math.round(times.at(-1)! * 100) / 100,
      }),
    )
  }, 120_000)
})
