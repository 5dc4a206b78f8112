// Property tests of the OTLP routes (ARCHITECTURE.md, "Ack means durable"): exports of log records
// and data points, some naming no device or one that cannot be, in either encoding, gzip or not,
// sometimes truncated or corrupted. Whatever arrives, the answer is 200 or a clear 4xx in OTLP's
// shape, never a 5xx; when it is 200, every valid log record is stored, every valid data point's
// value is stored once under its name on its device and time (points of one device and time are
// one record, a name repeated there another record), and the others are counted in
// `partialSuccess`.
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  gaugesRequest,
  logsJson,
  logsProtobuf,
  logsRequest,
  metricsJson,
  metricsProtobuf,
} from '../../../test/otlp/requests.js'
import { bytesOf, exported, INGEST, req, runs, send, withApp } from '../../app-properties/harness.js'

const T = 1_700_000_000_000
const DEVICES = ['pump-1', 'pump 2', '日本', 'gw/7']
const BAD_DEVICE = 'bad\u0001id'
const device = fc.option(fc.constantFrom(...DEVICES, BAD_DEVICE), { nil: undefined })

const logs = fc.array(
  fc.record({ device, ts: fc.integer({ min: T, max: T + 1e9 }), msg: fc.string({ maxLength: 20 }) }),
  { minLength: 1, maxLength: 30 },
)
const gauges = fc.array(
  fc.record({
    device: fc.constantFrom(...DEVICES, BAD_DEVICE),
    ts: fc.integer({ min: T, max: T + 1e9 }),
    metrics: fc.dictionary(
      fc.constantFrom('a', 'b.c', 'x'.repeat(70)),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      {
        minKeys: 1,
        maxKeys: 3,
      },
    ),
  }),
  { minLength: 1, maxLength: 20 },
)

function pointText(device: string, ts: number, name: string, value: number): string {
  return JSON.stringify([device, ts, name, Object.is(value, -0) ? 0 : value])
}

/** Records of one device and time: as many as the most repeated name among their points. */
function recordsExpected(points: { device: string; ts: number; name: string }[]): number {
  const byName = new Map<string, number>()
  const rows = new Map<string, number>()
  for (const p of points) {
    const at = JSON.stringify([p.device, p.ts])
    const n = (byName.get(JSON.stringify([at, p.name])) ?? 0) + 1
    byName.set(JSON.stringify([at, p.name]), n)
    rows.set(at, Math.max(rows.get(at) ?? 0, n))
  }
  let total = 0
  for (const n of rows.values()) total += n
  return total
}

/** How a body is damaged on the way: not at all, cut short, or bytes overwritten. */
const damage = fc.oneof(
  fc.constant({ cut: undefined, flips: [] as [number, number][] }),
  fc.record({ cut: fc.nat(), flips: fc.constant([] as [number, number][]) }),
  fc.record({
    cut: fc.constant(undefined),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
  }),
)

function damaged(body: Uint8Array, how: { cut: number | undefined; flips: [number, number][] }): Uint8Array {
  const out = how.cut === undefined ? body.slice() : body.slice(0, how.cut % (body.length + 1))
  for (const [at, value] of how.flips) if (out.length > 0) out[at % out.length] = value
  return out
}

describe('POST /v1/otlp/v1/{logs,metrics} under arbitrary exports', () => {
  it('answers 200 or a 4xx, stores every valid record of a 200 and counts the others', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          logs.map((entries) => ({ signal: 'logs' as const, entries })),
          gauges.map((entries) => ({ signal: 'metrics' as const, entries })),
        ),
        fc.constantFrom('protobuf', 'json'),
        fc.boolean(),
        damage,
        async (sent, encoding, gzip, how) =>
          withApp(async ({ app, errors }) => {
            let body: Uint8Array
            let valid: number
            let total: number
            // For metrics: each valid point as device, time, name and value; the records expected.
            let points: string[] = []
            let rows = 0
            if (sent.signal === 'logs') {
              const request = logsRequest(sent.entries)
              body = encoding === 'protobuf' ? logsProtobuf(request) : bytesOf(logsJson(request))
              total = sent.entries.length
              valid = sent.entries.filter((e) => e.device !== undefined && e.device !== BAD_DEVICE).length
            } else {
              const request = gaugesRequest(sent.entries)
              body = encoding === 'protobuf' ? metricsProtobuf(request) : bytesOf(metricsJson(request))
              const all = sent.entries.flatMap((e) =>
                Object.entries(e.metrics).map(([name, value]) => ({ ...e, name, value })),
              )
              total = all.length
              const good = all.filter((p) => p.device !== BAD_DEVICE && p.name.length <= 64)
              valid = good.length
              points = good.map((p) => pointText(p.device, p.ts, p.name, p.value)).sort()
              rows = recordsExpected(good)
            }
            const intact = how.cut === undefined && how.flips.length === 0
            body = damaged(body, how)
            const contentType = encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json'
            const res = await send(
              app,
              req(
                'POST',
                `/v1/otlp/v1/${sent.signal}`,
                [
                  ['Authorization', INGEST],
                  ['Content-Type', contentType],
                  ['Content-Encoding', gzip ? 'gzip' : undefined],
                ],
                gzip ? gzipSync(body) : body,
              ),
            )
            expect(errors).toEqual([])
            expect([200, 400]).toContain(res.status)
            const stored = await exported(app)
            if (!intact) {
              if (res.status === 400) expect(stored).toEqual([])
              return
            }
            if (valid === 0) {
              expect(res.status).toBe(400)
              expect(stored).toEqual([])
              return
            }
            expect(res.status).toBe(200)
            if (sent.signal === 'logs') expect(stored).toHaveLength(valid)
            else {
              expect(stored).toHaveLength(rows)
              const got = stored.flatMap((r) =>
                Object.entries(r.metrics as Record<string, number>).map(([name, value]) =>
                  pointText(r.deviceId as string, Date.parse(r.ts as string), name, value),
                ),
              )
              expect(got.sort()).toEqual(points)
            }
            if (encoding === 'json') {
              const answer = JSON.parse(res.text) as {
                partialSuccess?: { rejectedLogRecords?: string; rejectedDataPoints?: string }
              }
              const rejected =
                answer.partialSuccess?.rejectedLogRecords ?? answer.partialSuccess?.rejectedDataPoints
              expect(Number(rejected ?? 0)).toBe(total - valid)
            }
          }),
      ),
      { numRuns: runs(80) },
    )
  })
})
