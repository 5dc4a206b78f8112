// Property tests of the line protocol routes (ARCHITECTURE.md, "Ack means durable"): bodies of
// valid points, written by the Influx client library's own serialiser, mixed with malformed,
// truncated and hostile lines. Whatever arrives, the answer is 204 or a clear 4xx in InfluxDB's
// shape, never a 5xx; every valid point is stored exactly as sent; every other line is counted,
// and named by its line number.

import { gzipSync } from 'node:zlib'
import { Point } from '@influxdata/influxdb-client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type DeadLetterItem,
  exported,
  INGEST_TOKEN,
  type Line,
  listAll,
  type Res,
  req,
  runs,
  send,
  withApp,
} from '../../app-properties/harness.js'

/** Names as clients escape them: no backslash (a trailing one would escape what follows), no line breaks, no leading #. */
const nameChar = fc.constantFrom(...'abcxyz_-.:/09 ,=éü日本🙂"\''.split(/(?:)/u))
const name = (max: number) =>
  fc
    .array(nameChar, { minLength: 1, maxLength: max })
    .map((cs) => cs.join(''))
    .filter((s) => !s.startsWith('#') && s.trim() !== '' && !/^[ \t]/.test(s))
const DEVICES = ['pump-1', 'pump 2', 'a,b', 'x=y', '日本', '🙂', 'gw/7']

type Field = { kind: 'float' | 'int' | 'uint' | 'bool' | 'string'; value: number | boolean | string }
const field: fc.Arbitrary<Field> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => ({ kind: 'float' as const, value })),
  fc.maxSafeInteger().map((value) => ({ kind: 'int' as const, value })),
  fc.maxSafeNat().map((value) => ({ kind: 'uint' as const, value })),
  fc.boolean().map((value) => ({ kind: 'bool' as const, value })),
  fc
    .string({ unit: 'grapheme', maxLength: 20 })
    .filter((s) => !/[\r\n]/.test(s))
    .map((value) => ({ kind: 'string' as const, value })),
)

interface ValidPoint {
  measurement: string
  device: string
  tags: Record<string, string>
  fields: Record<string, Field>
  /** ms since the epoch, and sub-ms nanoseconds. */
  ms: number
  subNs: number
}

const validPoint: fc.Arbitrary<ValidPoint> = fc.record({
  measurement: name(12),
  device: fc.constantFrom(...DEVICES),
  tags: fc.dictionary(
    name(8).filter((k) => k !== 'host' && k !== 'device'),
    name(8),
    { maxKeys: 3 },
  ),
  fields: fc.dictionary(
    name(12).filter((k) => k !== 'msg' && k !== 'level'),
    field,
    { minKeys: 1, maxKeys: 6 },
  ),
  ms: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  subNs: fc.integer({ min: 0, max: 999_999 }),
})

function lineOf(p: ValidPoint): string {
  const point = new Point(p.measurement).tag('host', p.device)
  for (const [k, v] of Object.entries(p.tags)) point.tag(k, v)
  for (const [k, f] of Object.entries(p.fields)) {
    if (f.kind === 'float') point.floatField(k, f.value)
    else if (f.kind === 'int') point.intField(k, f.value)
    else if (f.kind === 'uint') point.uintField(k, f.value)
    else if (f.kind === 'bool') point.booleanField(k, f.value)
    else point.stringField(k, f.value)
  }
  point.timestamp(`${BigInt(p.ms) * 1_000_000n + BigInt(p.subNs)}`)
  return point.toLineProtocol()!
}

/** What a valid point must be stored as. */
function expected(p: ValidPoint): Line {
  const metrics: Record<string, number> = {}
  const strings: Record<string, string> = {}
  for (const [k, f] of Object.entries(p.fields)) {
    if (f.kind === 'string') strings[k] = f.value as string
    // (+ 0 turns -0 into 0: the client writes -0 as 0.)
    else metrics[`${p.measurement}.${k}`] = f.kind === 'bool' ? (f.value ? 1 : 0) : (f.value as number) + 0
  }
  return {
    deviceId: p.device,
    ts: new Date(p.ms).toISOString(),
    measurement: p.measurement,
    tags: { host: p.device, ...p.tags },
    metrics,
    ...(Object.keys(strings).length ? { fields: strings } : {}),
  }
}

/** Lines that are not valid points, or may be by chance: truncated, mutated, junk, hostile. */
const hostile = (valid: string) =>
  fc
    .oneof(
      fc.integer({ min: 0, max: valid.length }).map((n) => valid.slice(0, n)),
      fc
        .tuple(fc.integer({ min: 0, max: valid.length }), fc.constantFrom(...' ,="\\\t\r#iu.-e'.split('')))
        .map(([at, ch]) => valid.slice(0, at) + ch + valid.slice(at)),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom(
        '"',
        '\\',
        'm',
        'm,',
        'm,host=',
        'm,host=a',
        'm,host=a ',
        'm,host=a v',
        'm,host=a v=',
        'm,host=a v="',
        'm,host=a v=1i1',
        'm,host=a v=1 99999999999999999999999',
        'm,host=a v=1e400',
        'm v=1',
        'm,host=a v=1 -1',
        `m,host=a ${'f=1,'.repeat(70)}g=1`,
        `m,host=${'x'.repeat(200)} v=1`,
        '\u0000\u0001\u0002',
        '\ud800',
      ),
    )
    .map((s) => s.replace(/\n/g, ''))

interface Case {
  lines: { text: string; valid?: ValidPoint }[]
  crlf: boolean
  gzip: boolean
  v2: boolean
}

const bodyCase: fc.Arbitrary<Case> = fc
  .array(
    validPoint.chain((p) => {
      const text = lineOf(p)
      return fc.oneof(
        { weight: 3, arbitrary: fc.constant({ text, valid: p }) },
        { weight: 2, arbitrary: hostile(text).map((t) => ({ text: t })) },
        { weight: 1, arbitrary: fc.constantFrom({ text: '' }, { text: '# comment' }, { text: '   ' }) },
      )
    }),
    { minLength: 1, maxLength: 25 },
  )
  .chain((lines) =>
    fc.record({ lines: fc.constant(lines), crlf: fc.boolean(), gzip: fc.boolean(), v2: fc.boolean() }),
  )

async function write(app: Parameters<typeof send>[0], c: Case): Promise<Res> {
  const text = c.lines.map((l) => l.text).join(c.crlf ? '\r\n' : '\n')
  const bytes = new TextEncoder().encode(text)
  return send(
    app,
    req(
      'POST',
      c.v2 ? '/api/v2/write?org=o&bucket=b' : '/v1/write?db=d',
      [
        ['Authorization', `Token ${INGEST_TOKEN}`],
        ['Content-Encoding', c.gzip ? 'gzip' : undefined],
      ],
      c.gzip ? gzipSync(bytes) : bytes,
    ),
  )
}

describe('line protocol writes (properties)', () => {
  it('store every valid point as sent, refuse the rest by line, and never answer 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(bodyCase, (c) =>
        withApp(async ({ app, errors }) => {
          const res = await write(app, c)
          expect([204, 400], res.text).toContain(res.status)
          expect(errors).toEqual([])
          const stored = await exported(app)
          const validLines = c.lines.flatMap((l, i) => (l.valid ? [i + 1] : []))
          // Every valid point is stored, exactly as sent.
          const unmatched = [...stored]
          for (const l of c.lines) {
            if (!l.valid) continue
            const want = expected(l.valid)
            const at = unmatched.findIndex((r) => {
              const { score: _s, anomalies: _a, time: _t, ...rest } = r
              try {
                expect(rest).toEqual(want)
                return true
              } catch {
                return false
              }
            })
            expect(
              at,
              `${l.text} stored as ${JSON.stringify(want)}; stored: ${JSON.stringify(stored)}`,
            ).toBeGreaterThanOrEqual(0)
            const ns = BigInt(l.valid.ms) * 1_000_000n + BigInt(l.valid.subNs)
            expect(unmatched[at]!.time).toBe(new Date(l.valid.ms).toISOString().slice(0, 19) + fraction(ns))
            unmatched.splice(at, 1)
          }
          if (res.status === 204) {
            expect(res.text).toBe('')
            return
          }
          const answer = JSON.parse(res.text) as Record<string, unknown>
          const message = (c.v2 ? answer.message : answer.error) as string
          expect(typeof message).toBe('string')
          if (c.v2) expect(answer.code).toBe('invalid')
          const rejected = (answer.rejected ?? []) as { line: number; reason: string }[]
          if (answer.rejectedCount === undefined) {
            // The body as a whole (not UTF-8 after a mutation, say): refused whole, kept as a dead letter.
            expect(stored).toEqual([])
            expect((await listAll<DeadLetterItem>(app, '/v1/dead-letters')).length).toBeGreaterThan(0)
            return
          }
          expect(answer.accepted).toBe(stored.length)
          expect(message.startsWith('partial write: ')).toBe(stored.length > 0)
          for (const r of rejected) {
            expect(validLines).not.toContain(r.line)
            expect(r.reason).toMatch(/^unable to (parse|store) '/)
            expect(message).toContain(r.reason)
          }
          expect(answer.line).toBe(rejected[0]?.line)
          // Each rejected line is a dead letter with its line number and text.
          const letters = await listAll<DeadLetterItem>(app, '/v1/dead-letters')
          for (const r of rejected) {
            const letter = letters.find((l) => l.position === `line ${r.line}`)
            expect(letter?.raw).toBe(asUtf8(c.lines[r.line - 1]!.text).replace(/\r$/, ''))
          }
        }),
      ),
      { numRuns: runs(60) },
    )
  })

  it('answer any bytes, gzip or not, with 204 or a 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.boolean(), fc.boolean(), (bytes, gzipped, v2) =>
        withApp(async ({ app, errors }) => {
          const res = await send(
            app,
            req(
              'POST',
              v2 ? '/api/v2/write?bucket=b' : '/v1/write?db=d',
              [
                ['Authorization', `Token ${INGEST_TOKEN}`],
                ['Content-Encoding', gzipped ? 'gzip' : undefined],
              ],
              bytes,
            ),
          )
          expect(res.status, res.text).toBeLessThan(500)
          expect([204, 400]).toContain(res.status)
          expect(errors).toEqual([])
          if (res.status === 400) expect(JSON.parse(res.text)).toHaveProperty(v2 ? 'message' : 'error')
        }),
      ),
      { numRuns: runs(60) },
    )
  })
})

/** The text as it arrives once sent as UTF-8 (a lone surrogate becomes U+FFFD). */
const asUtf8 = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s))

function fraction(ns: bigint): string {
  const f = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '')
  return f ? `.${f}Z` : 'Z'
}
