// Property tests of the OTLP routes (ARCHITECTURE.md, "Ack means durable"): exports of log records
// and data points, some naming no device or one that cannot be, in either encoding, gzip or not,
// sometimes truncated or corrupted. Whatever arrives, the answer is 200 or a clear 4xx in OTLP's
// shape, never a 5xx; when it is 200, every valid record is stored and the others are counted in
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
            if (sent.signal === 'logs') {
              const request = logsRequest(sent.entries)
              body = encoding === 'protobuf' ? logsProtobuf(request) : bytesOf(logsJson(request))
              total = sent.entries.length
              valid = sent.entries.filter((e) => e.device !== undefined && e.device !== BAD_DEVICE).length
            } else {
              const request = gaugesRequest(sent.entries)
              body = encoding === 'protobuf' ? metricsProtobuf(request) : bytesOf(metricsJson(request))
              const points = sent.entries.flatMap((e) =>
                Object.keys(e.metrics).map((name) => ({ ...e, name })),
              )
              total = points.length
              valid = points.filter((p) => p.device !== BAD_DEVICE && p.name.length <= 64).length
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
            expect(stored).toHaveLength(valid)
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
