import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bodyFor } from '../../functions/node/mqtt.js'
import { recordOf } from '../agent/sampler.js'
import { anomalyOf, isTopicLevel, MAX_ANOMALY_BYTES, telemetryPayload } from './mqtt-messages.js'

const bytes = (text: string) => new TextEncoder().encode(text)

/** Records as the sampler writes them: any channel names and finite values, with or without a deviceId. */
const records = fc.array(
  fc.record({
    deviceId: fc.option(fc.string({ minLength: 1, maxLength: 30 }), { nil: null }),
    ts: fc.integer({ min: 0, max: 2 ** 45 }),
    values: fc.dictionary(fc.string({ maxLength: 20 }), fc.double({ noNaN: true, noDefaultInfinity: true })),
  }),
  { minLength: 1, maxLength: 50 },
)

describe('telemetryPayload', () => {
  it('is the JSON array of the batch records, whatever they hold', () => {
    fc.assert(
      fc.property(records, (rs) => {
        const lines = rs.map((r) => JSON.stringify(recordOf(r.deviceId, r.ts, r.values)))
        const payload = telemetryPayload(`${lines.join('\n')}\n`)
        expect(JSON.parse(payload)).toEqual(lines.map((l) => JSON.parse(l)))
      }),
    )
  })

  it("is read by the server's MQTT input as those records, each given the topic's device", () => {
    fc.assert(
      fc.property(records, (rs) => {
        const lines = rs.map((r) => JSON.stringify(recordOf(null, r.ts, r.values)))
        const body = bodyFor(bytes(telemetryPayload(lines.join('\n'))), 'dev-x')
        expect('bytes' in body).toBe(true)
        const stored = JSON.parse(new TextDecoder().decode((body as { bytes: Uint8Array }).bytes))
        expect(stored).toHaveLength(rs.length)
        expect(stored.every((r: { deviceId: string }) => r.deviceId === 'dev-x')).toBe(true)
      }),
    )
  })
})

describe('anomalyOf', () => {
  it('never throws on hostile payloads, and answers null or a well-typed verdict', () => {
    const payloads = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }),
      fc.string().map(bytes),
      fc.jsonValue().map((v) => bytes(JSON.stringify(v))),
      fc
        .record({
          ts: fc.oneof(fc.string(), fc.integer()),
          kind: fc.oneof(fc.string(), fc.constant(null)),
          metric: fc.anything(),
          value: fc.anything(),
          score: fc.anything(),
          detail: fc.anything(),
        })
        .map((v) => bytes(JSON.stringify(v) ?? 'null')),
    )
    fc.assert(
      fc.property(payloads, (payload) => {
        const a = anomalyOf(payload)
        if (a === null) return
        expect(typeof a.ts).toBe('string')
        expect(typeof a.kind).toBe('string')
        expect(a.metric === null || typeof a.metric === 'string').toBe(true)
        expect(a.value === null || typeof a.value === 'number').toBe(true)
        expect(typeof a.score).toBe('number')
        expect(a.detail === null || typeof a.detail === 'string').toBe(true)
      }),
    )
  })

  it('reads what the server publishes, and nothing oversized', () => {
    const verdict = {
      deviceId: 'dev-1',
      ts: '2026-11-01T00:00:00Z',
      kind: 'spike',
      metric: 'temp',
      value: 95,
      score: 4.2,
      detail: 'z',
    }
    expect(anomalyOf(bytes(JSON.stringify(verdict)))).toEqual({
      ts: verdict.ts,
      kind: 'spike',
      metric: 'temp',
      value: 95,
      score: 4.2,
      detail: 'z',
    })
    const padded = { ...verdict, detail: 'x'.repeat(MAX_ANOMALY_BYTES) }
    expect(anomalyOf(bytes(JSON.stringify(padded)))).toBeNull()
  })
})

describe('isTopicLevel', () => {
  it('refuses separators, wildcards and NUL anywhere, and accepts the server device ids', () => {
    expect(isTopicLevel('dev-AbCdEfGhIjKlMnOpQrStUv')).toBe(true)
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('/', '+', '#', '\0'), fc.string(), (a, bad, b) => {
        expect(isTopicLevel(a + bad + b)).toBe(false)
      }),
    )
    expect(isTopicLevel('')).toBe(false)
  })
})
