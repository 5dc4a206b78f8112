// POST /v1/devices/:id/baseline on the real `edgewatch serve`: a device's normal state learnt from a
// time range of its stored records, then the records that follow scored against it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServerProcess, startServer } from '../../test/server-process.js'

const ADMIN = 'baseline-admin-token-0123456789'
const INGEST = 'baseline-ingest-token-0123456789'
const T0 = Date.UTC(2026, 0, 1)

/** Row i of a pump: flow, pressure and current follow one load; `sag` lowers pressure alone. */
function reading(i: number, sag = false) {
  const load = 1 + 0.1 * Math.sin(i / 40) + 0.01 * Math.sin(i * 2.7)
  return {
    deviceId: 'pump-1',
    ts: T0 + i * 1000,
    flow: 100 * load + ((i * 7) % 5) * 0.1,
    pressure: (sag ? 0.7 : 1) * (6 - 2 * load) + ((i * 3) % 4) * 0.01,
    current: 20 + 10 * load + ((i * 11) % 3) * 0.05,
  }
}

let server: ServerProcess
let dataDir: string
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-baseline-'))
  server = await startServer({
    EDGEWATCH_DATA_DIR: dataDir,
    EDGEWATCH_ADMIN_TOKEN: ADMIN,
    EDGEWATCH_INGEST_TOKEN: INGEST,
  })
})
afterAll(async () => {
  await server?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

const baseline = (body: unknown, token = ADMIN, type = 'application/json', device = 'pump-1') =>
  fetch(`${server.url}/v1/devices/${encodeURIComponent(device)}/baseline`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

async function ingest(rows: object[]): Promise<{ anomalies: { kind: string; ts: string }[] }> {
  const res = await fetch(`${server.url}/v1/ingest`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/x-ndjson' },
    body: rows.map((r) => JSON.stringify(r)).join('\n'),
  })
  expect(res.status).toBe(200)
  return (await res.json()) as { anomalies: { kind: string; ts: string }[] }
}

const range = (from: number, to: number, sagFrom = Number.POSITIVE_INFINITY) =>
  Array.from({ length: to - from }, (_, k) => reading(from + k, from + k >= sagFrom))

describe('POST /v1/devices/:id/baseline', () => {
  it('learns the device from a time range, then flags every record of a persistent fault', async () => {
    // 400 records: fewer than the default baseline (1000), so nothing is scored yet
    for (let i = 0; i < 400; i += 100) {
      const answer = await ingest(range(i, i + 100))
      expect(answer.anomalies.filter((a) => a.kind === 'state')).toEqual([])
    }
    const res = await baseline({ from: new Date(T0).toISOString(), to: T0 + 300_000 })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      deviceId: 'pump-1',
      from: new Date(T0).toISOString(),
      to: new Date(T0 + 300_000).toISOString(),
      rows: 300,
      metrics: ['current', 'flow', 'pressure'],
    })
    // pressure sags from record 500 while flow and current hold: only those records are `state`
    const after = await ingest(range(400, 700, 500))
    const state = after.anomalies.filter((a) => a.kind === 'state').map((a) => Date.parse(a.ts))
    expect(state).toEqual(range(500, 700).map((r) => r.ts))
    const listed = await fetch(`${server.url}/v1/anomalies?deviceId=pump-1&kind=state&limit=1000`, {
      headers: { Authorization: `Bearer ${ADMIN}` },
    })
    const page = (await listed.json()) as { items: { metric: string; detail: string }[] }
    expect(page.items).toHaveLength(200)
    expect(page.items[0]!.metric).toBe('pressure')
    expect(page.items[0]!.detail).toMatch(/most: pressure/)
  })

  it('answers a bad range, an empty one and a bad body with a clear error', async () => {
    const expectError = async (res: Response, status: number, code: string) => {
      expect(res.status).toBe(status)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code)
    }
    await expectError(await baseline({ from: T0 + 5000, to: T0 }), 400, 'invalid_range')
    await expectError(await baseline({ from: T0 - 10_000, to: T0 - 5000 }), 400, 'baseline_too_short')
    await expectError(await baseline({ from: T0, to: T0 + 1, x: 1 }), 400, 'invalid_request')
    await expectError(await baseline({ from: 'yesterday', to: T0 }), 400, 'invalid_request')
    await expectError(await baseline({ from: T0 }), 400, 'invalid_request')
    await expectError(await baseline('{"from":', ADMIN), 400, 'invalid_body')
    await expectError(
      await baseline({ from: T0, to: T0 + 1 }, ADMIN, 'text/plain'),
      415,
      'unsupported_media_type',
    )
    await expectError(await baseline({ from: T0, to: T0 + 1000 }, INGEST), 401, 'unauthorized')
    const other = await baseline({ from: T0, to: T0 + 400_000 }, ADMIN, 'application/json', 'no-such-device')
    await expectError(other, 400, 'baseline_too_short')
  })

  it('never fails on hostile bodies (fuzzed)', async () => {
    const body = fc.oneof(
      fc.json(),
      fc.string({ maxLength: 300 }),
      fc.record({ from: fc.anything(), to: fc.anything() }),
      fc.record({ from: fc.oneof(fc.double(), fc.string()), to: fc.oneof(fc.double(), fc.string()) }),
      fc.constant('x'.repeat(70_000)),
    )
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await baseline(typeof b === 'string' ? b : (JSON.stringify(b) ?? 'null'))
        expect([200, 400, 413]).toContain(res.status)
        const answer = (await res.json()) as { error?: { code: string; message: string } }
        if (res.status !== 200) expect(answer.error!.message.length).toBeGreaterThan(0)
      }),
      { numRuns: 150 },
    )
  })
})
