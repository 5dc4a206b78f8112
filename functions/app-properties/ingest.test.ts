// Property tests of POST /v1/ingest (ARCHITECTURE.md, "Ack means durable"): what a 200 accepted is
// stored, what was refused is not, rejected entries are kept as dead letters; Idempotency-Key.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  acceptedBodySpec,
  BAD_ENCODINGS,
  BAD_TYPES,
  type BodySpec,
  badAuth,
  badKey,
  bodySpec,
  countable,
  type Entry,
  type Format,
  GOOD_AUTH,
  GZIP_ENCODINGS,
  goodAuth,
  goodKey,
  gzip,
  isDeviceId,
  JSON_TYPES,
  LONE_SURROGATE,
  NDJSON_TYPES,
  type Obj,
  PLAIN_ENCODINGS,
  positionOf,
  renderPadded,
  seqOf,
  unicode,
  validRecord,
} from './arbitraries.js'
import {
  bytesOf,
  type DeadLetterItem,
  type DeviceItem,
  expectErrorShape,
  exported,
  INGEST,
  type IngestResult,
  ingestNdjson,
  LIMIT,
  type Line,
  listAll,
  type Res,
  req,
  runs,
  send,
  withApp,
} from './harness.js'

/** Non-ASCII as \\u escapes, so that odd spaces and surrogates show in messages. */
const visible = (s: string) =>
  s.replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))

// ---------------------------------------------------------------------------------------------
// Ingest: nothing acknowledged is lost, nothing refused is stored
// ---------------------------------------------------------------------------------------------

interface IngestCase {
  spec: BodySpec
  padTo: number | undefined
  gzip: boolean
  auth: string | undefined
  /** 'match': a type of the body's format; otherwise an unsupported type. */
  contentType: string
  encoding: string | undefined
  contentLength: boolean
}

const ingestCase = (spec: fc.Arbitrary<BodySpec>): fc.Arbitrary<IngestCase> =>
  fc
    .record({
      spec,
      padTo: fc.oneof(
        { weight: 6, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom(LIMIT - 1, LIMIT, LIMIT + 1) },
        { weight: 1, arbitrary: fc.integer({ min: LIMIT - 2000, max: 4 * LIMIT }) },
      ),
      gzip: fc.boolean(),
      auth: fc.oneof({ weight: 8, arbitrary: goodAuth }, { weight: 1, arbitrary: badAuth }),
      contentType: fc.oneof({ weight: 8, arbitrary: fc.constant('match') }, fc.constantFrom(...BAD_TYPES)),
      typeIndex: fc.nat(),
      encodingIndex: fc.nat(),
      badEncoding: fc.oneof(
        { weight: 8, arbitrary: fc.constant(undefined) },
        fc.constantFrom(...BAD_ENCODINGS),
      ),
      contentLength: fc.boolean(),
    })
    .map((c) => {
      const types = c.spec.format === 'ndjson' ? NDJSON_TYPES : JSON_TYPES
      const encodings = c.gzip ? GZIP_ENCODINGS : PLAIN_ENCODINGS
      return {
        spec: c.spec,
        padTo: c.padTo,
        gzip: c.gzip,
        auth: c.auth,
        contentType: c.contentType === 'match' ? types[c.typeIndex % types.length]! : c.contentType,
        encoding: c.badEncoding ?? encodings[c.encodingIndex % encodings.length],
        contentLength: c.contentLength,
      }
    })

/** The request for a case, what it holds, and the status it must get when that is decided up front. */
function ingestRequestOf(c: IngestCase, tag: string, key?: string) {
  const { entries, text } = renderPadded(c.spec, tag, c.padTo)
  const plain = bytesOf(text)
  const body = c.gzip ? gzip(plain) : plain
  const r = req(
    'POST',
    '/v1/ingest',
    [
      ['Authorization', c.auth],
      ['Content-Type', c.contentType],
      ['Content-Encoding', c.encoding],
      ['Idempotency-Key', key],
      ['Content-Length', c.contentLength ? String(body.byteLength) : undefined],
    ],
    body,
  )
  const counted = countable(c.spec.format, entries)
  // Auth comes first; of several reasons to refuse a request, any may be the one given.
  const refusals = [
    ...(!JSON_TYPES.includes(c.contentType) && !NDJSON_TYPES.includes(c.contentType) ? [415] : []),
    ...(c.encoding !== undefined && BAD_ENCODINGS.includes(c.encoding) ? [415] : []),
    ...(plain.byteLength > LIMIT ? [413] : []),
  ]
  let expected: number[]
  if (c.auth === undefined || !GOOD_AUTH.includes(c.auth)) expected = [401]
  else if (refusals.length > 0) expected = refusals
  else if (counted.length === 0) expected = [400]
  else if (counted.some((i) => entries[i]!.kind === 'valid')) expected = [200]
  else expected = [200, 400]
  return { r, entries, counted, expected }
}

const withoutAdded = (line: Line) => {
  const { deviceId: _d, ts: _t, score: _s, anomalies: _a, ...rest } = line
  return rest
}
const asStored = (value: unknown) => withoutAdded(JSON.parse(JSON.stringify(value)) as Line)

/**
 * After a 200: the answer accounts for every countable entry, and the store holds exactly the
 * entries it accepted (matched by their `_seq` tag), with their device ids and fields as sent.
 */
function checkAccepted(
  format: Format,
  entries: Entry[],
  counted: number[],
  answer: IngestResult,
  stored: Line[],
  tag: string,
) {
  expect(answer.accepted + answer.rejectedCount, 'accepted + rejectedCount = entries sent').toBe(
    counted.length,
  )
  expect(answer.rejected.length, 'every rejection listed (fewer than 100 here)').toBe(answer.rejectedCount)
  const rejectedAt = new Set(answer.rejected.map((x) => (format === 'ndjson' ? x.line : x.index)))
  expect(rejectedAt.size, 'one rejection per entry').toBe(answer.rejected.length)
  const countedAt = new Set(counted.map((i) => positionOf(format, i)))
  for (const at of rejectedAt)
    expect(countedAt.has(at as number), `rejected position ${at} was sent`).toBe(true)
  const accepted = counted.filter((i) => !rejectedAt.has(positionOf(format, i)))
  for (const i of counted) {
    const kind = entries[i]!.kind
    if (kind === 'valid') expect(accepted, `valid entry ${i} accepted`).toContain(i)
    if (kind === 'nonobject' || kind === 'badjson') expect(accepted, `entry ${i} rejected`).not.toContain(i)
  }
  expect(answer.accepted).toBe(accepted.length)
  const mine = stored.filter((l) => typeof l._seq === 'string' && (l._seq as string).startsWith(tag))
  expect(mine.map((l) => l._seq).sort(), 'the store holds exactly the accepted entries').toEqual(
    accepted.map((i) => seqOf(tag, i)).sort(),
  )
  for (const line of mine) {
    const i = accepted.find((k) => seqOf(tag, k) === line._seq)!
    const sent = (entries[i] as { value: Obj }).value
    expect(line.deviceId, `device id of entry ${i}`).toBe(sent.deviceId)
    expect(withoutAdded(line), `fields of entry ${i}`).toEqual(asStored(sent))
    if (entries[i]!.kind === 'valid' && sent.ts !== undefined)
      expect(line.ts, `ts of entry ${i}`).toBe(new Date(sent.ts as string | number).toISOString())
  }
  return accepted
}

describe('ingest: nothing acknowledged is lost, nothing refused is stored', () => {
  it('stores exactly what a 200 accepted, and nothing for a 400, 401, 413 or 415', async () => {
    await fc.assert(
      fc.asyncProperty(ingestCase(bodySpec()), (c) =>
        withApp(async (h) => {
          const { r, entries, counted, expected } = ingestRequestOf(c, 's')
          const res = await send(h.app, r)
          expect(expected, `status ${res.status}: ${res.text}\n${h.errors.join('\n')}`).toContain(res.status)
          const stored = await exported(h.app)
          const devices = await listAll<DeviceItem>(h.app, '/v1/devices')
          if (res.status !== 200) {
            expectErrorShape(res, `ingest ${res.status}`)
            expect(stored, 'a refused request stores no record').toEqual([])
            expect(devices, 'a refused request creates no device').toEqual([])
            return
          }
          const answer = JSON.parse(res.text) as IngestResult
          const accepted = checkAccepted(c.spec.format, entries, counted, answer, stored, 's')
          expect(stored).toHaveLength(answer.accepted)
          const perDevice = new Map<string, number>()
          for (const i of accepted) {
            const id = (entries[i] as { value: Obj }).value.deviceId as string
            perDevice.set(id, (perDevice.get(id) ?? 0) + 1)
          }
          expect(
            new Map(devices.map((d) => [d.deviceId, d.recordCount])),
            'device record counts match what was accepted',
          ).toEqual(perDevice)
        }),
      ),
      { numRuns: runs(200) },
    )
  })

  it('keeps every rejected entry as a dead letter with its position, reason and raw text', async () => {
    await fc.assert(
      fc.asyncProperty(ingestCase(bodySpec()), (c) =>
        withApp(async (h) => {
          const { r, entries, counted } = ingestRequestOf({ ...c, padTo: undefined }, 's')
          const res = await send(h.app, r)
          const letters = await listAll<DeadLetterItem>(h.app, '/v1/dead-letters')
          const raw = (i: number) => {
            const e = entries[i]!
            if (e.kind === 'badjson' || e.kind === 'blank') return e.text
            return c.spec.format === 'object'
              ? renderPadded(c.spec, 's', undefined).text
              : JSON.stringify(e.value)
          }
          const where = (x: { index?: number; line?: number }) =>
            x.line !== undefined ? `line ${x.line}` : `index ${x.index}`
          if (res.status === 200) {
            const answer = JSON.parse(res.text) as IngestResult
            expect(letters).toHaveLength(answer.rejectedCount)
            const byPosition = new Map(letters.map((l) => [l.position, l]))
            for (const x of answer.rejected) {
              const letter = byPosition.get(where(x))
              expect(letter, `dead letter for ${where(x)}`).toBeDefined()
              expect(letter!.reason).toBeTypeOf('string')
              // A reason quoting half a surrogate pair is text no store keeps as is; that is not the point here.
              if (!LONE_SURROGATE.test(x.reason)) expect(letter!.reason).toBe(x.reason)
              const i = c.spec.format === 'ndjson' ? x.line! - 1 : x.index!
              expect(letter!.raw, `raw text of ${where(x)}`).toBe(raw(i))
            }
          } else if (res.status === 400 && expectErrorShape(res, 'ingest 400').code === 'no_valid_records') {
            expect(letters, 'each refused entry is kept').toHaveLength(counted.length)
          }
        }),
      ),
      { numRuns: runs(100) },
    )
  })

  it('rejects (and keeps) an NDJSON line of non-JSON whitespace instead of skipping it as blank', async () => {
    const oddSpace = fc.constantFrom(
      '\u00a0',
      '\ufeff',
      '\u2028',
      '\u2029',
      '\u000b',
      '\u000c',
      '\u3000',
      '\u1680',
    )
    const oddLine = fc
      .array(fc.oneof(oddSpace, fc.constantFrom(' ', '\t')), { minLength: 1, maxLength: 4 })
      .map((cs) => cs.join(''))
      .filter((s) => s.trim() === '' && /[^ \t]/.test(s))
    await fc.assert(
      fc.asyncProperty(
        fc.array(validRecord, { minLength: 1, maxLength: 4 }),
        fc.array(oddLine, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        (records, odd, at) =>
          withApp(async (h) => {
            const body: { text: string; odd: boolean }[] = records.map((r) => ({
              text: JSON.stringify(r),
              odd: false,
            }))
            for (const [k, text] of odd.entries())
              body.splice((at + k) % (body.length + 1), 0, { text, odd: true })
            // U+FEFF first in a body is a byte order mark, which a server may drop; a space before keeps it a line.
            const lines = body.map((l, i) => (i === 0 && l.text.startsWith('\ufeff') ? ' ' + l.text : l.text))
            const oddLines = body.flatMap((l, i) => (l.odd ? [i + 1] : []))
            const res = await ingestNdjson(h.app, bytesOf(lines.join('\n')))
            expect(res.status).toBe(200)
            const answer = JSON.parse(res.text) as IngestResult
            expect(
              answer.accepted + answer.rejectedCount,
              `${visible(JSON.stringify(lines))} -> ${res.text}`,
            ).toBe(lines.length)
            expect(answer.rejected.map((x) => x.line)).toEqual(oddLines)
            const letters = await listAll<DeadLetterItem>(h.app, '/v1/dead-letters')
            expect(letters.map((l) => l.position).sort()).toEqual(oddLines.map((n) => `line ${n}`).sort())
          }),
      ),
      { numRuns: runs(50) },
    )
  })

  it('stores an accepted device id exactly as sent (JSON escapes, lone surrogates included)', async () => {
    const surrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))
    const id = fc
      .array(fc.oneof(surrogate, unicode(1, 1), fc.constantFrom('a', '-', '/')), {
        minLength: 1,
        maxLength: 6,
      })
      .map((cs) => cs.join(''))
      .filter(isDeviceId)
    await fc.assert(
      fc.asyncProperty(id, fc.constantFrom('application/json', 'application/x-ndjson'), (deviceId, type) =>
        withApp(async (h) => {
          const res = await send(
            h.app,
            req(
              'POST',
              '/v1/ingest',
              [
                ['Authorization', INGEST],
                ['Content-Type', type],
              ],
              bytesOf(JSON.stringify({ deviceId, v: 1 })),
            ),
          )
          if (res.status !== 200) return
          const answer = JSON.parse(res.text) as IngestResult
          if (answer.accepted !== 1) return
          const devices = await listAll<DeviceItem>(h.app, '/v1/devices')
          expect(devices.map((d) => visible(d.deviceId))).toEqual([visible(deviceId)])
          expect((await exported(h.app)).map((l) => visible(String(l.deviceId)))).toEqual([visible(deviceId)])
        }),
      ),
      { numRuns: runs(100) },
    )
  })

  it('stores exactly what each 200 accepted when batches arrive together (group commit)', async () => {
    const batch = ingestCase(bodySpec(8)).map((c) => ({ ...c, padTo: undefined, auth: INGEST }))
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 2, maxLength: 5 }), (cases) =>
        withApp(async (h) => {
          const sent = cases.map((c, k) => ({ c, ...ingestRequestOf(c, `b${k}-`) }))
          const answers = await Promise.all(sent.map((s) => send(h.app, s.r)))
          const stored = await exported(h.app)
          let total = 0
          answers.forEach((res, k) => {
            const s = sent[k]!
            expect(s.expected, `batch ${k}: ${res.status} ${res.text}`).toContain(res.status)
            const tag = `b${k}-`
            if (res.status === 200) {
              const answer = JSON.parse(res.text) as IngestResult
              checkAccepted(s.c.spec.format, s.entries, s.counted, answer, stored, tag)
              total += answer.accepted
            } else {
              expect(stored.filter((l) => String(l._seq).startsWith(tag))).toEqual([])
            }
          })
          expect(stored).toHaveLength(total)
        }),
      ),
      { numRuns: runs(60) },
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------------------------

/** A small body the server takes (right type, good token, under the limit), gzipped or not. */
const acceptedCase = (spec: fc.Arbitrary<BodySpec>) =>
  ingestCase(spec).map((c) => ({
    ...c,
    padTo: undefined,
    auth: INGEST,
    contentType: c.spec.format === 'ndjson' ? 'application/x-ndjson' : 'application/json',
    encoding: c.gzip ? 'gzip' : undefined,
  }))

const INGESTOR_REFUSALS = ['no_valid_records', 'invalid_body', 'empty_body', 'invalid_encoding']

describe('ingest: Idempotency-Key', () => {
  it('answers a retry with the same key and body with the first answer, byte for byte, and stores nothing again', async () => {
    await fc.assert(
      fc.asyncProperty(
        acceptedCase(bodySpec(10)),
        goodKey,
        goodAuth,
        fc.boolean(),
        (c, key, retryAuth, together) =>
          withApp(async (h) => {
            const first = ingestRequestOf(c, 's', key)
            const retry = ingestRequestOf({ ...c, auth: retryAuth }, 's', key)
            let answers: Res[]
            let before: { stored: Line[]; letters: number } | undefined
            if (together) {
              answers = await Promise.all([send(h.app, first.r), send(h.app, retry.r)])
            } else {
              answers = [await send(h.app, first.r)]
              before = {
                stored: await exported(h.app),
                letters: (await listAll<DeadLetterItem>(h.app, '/v1/dead-letters')).length,
              }
              answers.push(await send(h.app, retry.r))
            }
            const replayed = answers.map((a) => a.headers.get('idempotent-replayed'))
            expect(
              replayed.filter((x) => x === null),
              `one original answer: ${replayed}`,
            ).toHaveLength(1)
            const original = answers[replayed.indexOf(null)]!
            const replay = answers[replayed.indexOf(null) === 0 ? 1 : 0]!
            expect([200, 400], original.text).toContain(original.status)
            if (original.status === 400)
              expect(INGESTOR_REFUSALS).toContain(expectErrorShape(original, 'first answer').code)
            expect(replay.headers.get('idempotent-replayed')).toBe('true')
            expect(replay.status).toBe(original.status)
            expect(replay.text, 'the replay is the first answer byte for byte').toBe(original.text)
            const stored = await exported(h.app)
            const letters = (await listAll<DeadLetterItem>(h.app, '/v1/dead-letters')).length
            const accepted =
              original.status === 200 ? (JSON.parse(original.text) as IngestResult).accepted : 0
            expect(stored, 'records stored once').toHaveLength(accepted)
            if (before) {
              expect(stored, 'the retry stored nothing').toEqual(before.stored)
              expect(letters, 'the retry kept no dead letter').toBe(before.letters)
            }
          }),
      ),
      { numRuns: runs(150) },
    )
  })

  it('refuses a malformed Idempotency-Key with 400 invalid_idempotency_key and stores nothing', async () => {
    await fc.assert(
      fc.asyncProperty(acceptedCase(bodySpec(6)), badKey, (c, key) =>
        withApp(async (h) => {
          const { r } = ingestRequestOf(c, 's', key)
          const res = await send(h.app, r)
          expect(res.status, `key ${JSON.stringify(key)} -> ${res.text}`).toBe(400)
          expect(expectErrorShape(res, 'bad key').code).toBe('invalid_idempotency_key')
          expect(await exported(h.app)).toEqual([])
          expect(await listAll<DeadLetterItem>(h.app, '/v1/dead-letters')).toEqual([])
        }),
      ),
      { numRuns: runs(100) },
    )
  })

  it('never acknowledges a different body under a used key without storing it (422 idempotency_key_reused)', async () => {
    await fc.assert(
      fc.asyncProperty(
        acceptedCase(acceptedBodySpec(6)),
        acceptedCase(acceptedBodySpec(6)),
        goodKey,
        fc.boolean(),
        (a, b, key, together) =>
          withApp(async (h) => {
            const sent = [ingestRequestOf(a, 'A', key), ingestRequestOf(b, 'B', key)]
            const answers = together
              ? await Promise.all(sent.map((s) => send(h.app, s.r)))
              : [await send(h.app, sent[0]!.r), await send(h.app, sent[1]!.r)]
            const stored = await exported(h.app)
            const tags = ['A', 'B']
            let acknowledged = 0
            answers.forEach((res, k) => {
              const what = `body ${tags[k]} -> ${res.status} ${res.headers.get('idempotent-replayed') ? '(replayed) ' : ''}${res.text}`
              const mine = stored.filter((l) => String(l._seq).startsWith(tags[k]!))
              if (res.status >= 200 && res.status < 300) {
                acknowledged++
                const answer = JSON.parse(res.text) as IngestResult
                expect(mine.length, `${what}\nbut stored ${mine.length} of its records`).toBe(answer.accepted)
                expect(answer.accepted, what).toBeGreaterThan(0)
              } else {
                expect(res.status, what).toBe(422)
                expect(expectErrorShape(res, what).code).toBe('idempotency_key_reused')
                expect(mine, what).toEqual([])
              }
            })
            expect(acknowledged, 'exactly one of the two bodies is taken under the key').toBe(1)
          }),
      ),
      { numRuns: runs(100) },
    )
  })
})
