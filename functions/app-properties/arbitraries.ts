// The fast-check generators: auth headers, content types, encodings, Idempotency-Keys, records,
// bodies and how they are rendered, query strings and path segments.
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { ADMIN, ADMIN_TOKEN, bytesOf, INGEST, INGEST_TOKEN, LIMIT, POOL, ROTATED } from './harness.js'

/** Latest accepted record time (year 2200), as in domain/time.ts. */
const MAX_TS = 7_258_118_400_000
const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal']
const RESERVED = new Set(['deviceId', 'ts', 'level', 'msg', 'metrics', '_seq', '__proto__'])
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

export const gzip = (b: Uint8Array) => new Uint8Array(gzipSync(b))
/** A Unicode string as it arrives in an HTTP header: its UTF-8 bytes, one Latin-1 character each. */
const asHeader = (s: string) =>
  Buffer.from(s, 'utf8')
    .toString('latin1')
    .replace(/[\0\r\n]/g, '')
/** What Headers keeps of a value: leading and trailing HTTP whitespace goes. */
const trimHttp = (s: string) => s.replace(/^[\t ]+|[\t ]+$/g, '')
const isControl = (code: number) => code <= 0x1f || code === 0x7f
export const isDeviceId = (s: string) =>
  s.length >= 1 && s.length <= 128 && ![...s].some((c) => isControl(c.codePointAt(0)!))

export const unicode = (maxLength: number, minLength = 0) =>
  fc.string({ unit: 'grapheme', minLength, maxLength })
const visibleAscii = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c))
const headerChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
  .map((c) => String.fromCharCode(c))
const headerValue = (maxLength: number) =>
  fc.oneof(fc.string({ unit: headerChar, maxLength }), unicode(maxLength).map(asHeader))

export const GOOD_AUTH = [ADMIN, INGEST, ROTATED, `bearer  ${ADMIN_TOKEN}`, `BEARER ${INGEST_TOKEN}  `]
export const goodAuth = fc.constantFrom(...GOOD_AUTH)
export const badAuth = fc.oneof(
  fc.constantFrom(
    undefined,
    '',
    'Bearer',
    'Bearer ',
    ADMIN_TOKEN,
    INGEST_TOKEN,
    `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}`,
    `Bearer ${ADMIN_TOKEN}x`,
    `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
    `Bearer ${ADMIN_TOKEN} ${ADMIN_TOKEN}`,
    `Token ${ADMIN_TOKEN}`,
    `Bearer\t${ADMIN_TOKEN}`,
    `Bearer ${INGEST_TOKEN.toUpperCase()}`,
  ),
  headerValue(80),
  headerValue(40).map((t) => `Bearer ${t}`),
)
export const anyAuth = fc.oneof({ weight: 5, arbitrary: goodAuth }, { weight: 1, arbitrary: badAuth })
/** For the routes only the admin token opens. */
export const readAuth = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(ADMIN, `bearer  ${ADMIN_TOKEN}`) },
  { weight: 1, arbitrary: fc.constant(INGEST) },
  { weight: 1, arbitrary: badAuth },
)

export const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/vnd.edgewatch+json',
  'application/json;charset=latin1',
  'application/json; foo="bar;baz"',
]
export const NDJSON_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/x-ndjson; charset=utf-8',
  'APPLICATION/X-NDJSON',
]
export const BAD_TYPES = [
  'text/plain',
  '',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  'json',
  'application/',
  ';application/json',
  'application/x-www-form-urlencoded',
  'text/json',
]
export const anyContentType = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...JSON_TYPES) },
  { weight: 6, arbitrary: fc.constantFrom(...NDJSON_TYPES) },
  fc.constantFrom(...BAD_TYPES),
  headerValue(60),
  fc.constant(undefined),
)
export const GZIP_ENCODINGS = ['gzip', 'x-gzip', 'GZIP', ' gzip ']
export const PLAIN_ENCODINGS = [undefined, 'identity', '']
export const BAD_ENCODINGS = ['br', 'deflate', 'compress', 'zstd', 'gzip, identity', 'gzip, gzip']
export const anyEncoding = fc.oneof(
  fc.constantFrom(...GZIP_ENCODINGS, ...PLAIN_ENCODINGS, ...BAD_ENCODINGS),
  headerValue(20),
)

export const goodKey = fc.oneof(
  { withCrossShrink: true },
  fc.string({ unit: visibleAscii, minLength: 1, maxLength: 40 }),
  fc.string({ unit: visibleAscii, minLength: 190, maxLength: 200 }),
)
const isGoodKey = (headerValue: string) => IDEMPOTENCY_KEY.test(trimHttp(headerValue))
/** Idempotency-Key values that are not 1-200 visible ASCII characters, as a client may send them. */
export const badKey = fc
  .oneof(
    unicode(20, 1)
      .filter((s) => /[^\x21-\x7e]/.test(s))
      .map(asHeader),
    fc
      .tuple(
        fc.string({ unit: visibleAscii, minLength: 1, maxLength: 20 }),
        fc.constantFrom(' ', '\t', '  '),
        fc.string({ unit: visibleAscii, minLength: 1, maxLength: 20 }),
      )
      .map((parts) => parts.join('')),
    fc.string({ unit: visibleAscii, minLength: 201, maxLength: 5000 }),
    fc.constantFrom(asHeader('ключ'), '\u00e9', 'caf\u00e9-1', 'x'.repeat(201)),
  )
  .filter((k) => !isGoodKey(k))
/** Keys for request sequences: often one of a few, so that later requests reuse earlier keys. */
export const anyKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('k1', 'k2', 'k3') },
  { weight: 2, arbitrary: goodKey },
  badKey,
  headerValue(30),
)

const deviceId = fc.oneof(fc.constantFrom(...POOL), unicode(30, 1).filter(isDeviceId))
const validTs = fc.oneof(
  fc.integer({ min: 0, max: MAX_TS }),
  fc.integer({ min: 0, max: MAX_TS }).map((ms) => new Date(ms).toISOString()),
  fc.integer({ min: 1_700_000_000_000, max: 1_700_000_600_000 }),
)
const metricName = unicode(8, 1).filter((n) => n.length <= 64 && !RESERVED.has(n))
const finite = fc.double({ noNaN: true, noDefaultInfinity: true })

export type Obj = Record<string, unknown>

/** A record every rule of domain/record.ts accepts. */
export const validRecord: fc.Arbitrary<Obj> = fc
  .record(
    {
      deviceId,
      ts: validTs,
      level: fc.constantFrom(...LEVELS, 'ERROR', 'Warn'),
      msg: unicode(30),
      temp: fc.double({ min: -50, max: 150, noNaN: true }),
      metrics: fc.dictionary(metricName, finite, { maxKeys: 4 }),
      extra: fc.dictionary(metricName, fc.oneof(finite, unicode(10), fc.boolean(), fc.constant(null)), {
        maxKeys: 4,
      }),
    },
    { requiredKeys: ['deviceId'] },
  )
  .map(({ extra, ...r }) => ({ ...extra, ...r }))

const junk = fc.oneof(fc.jsonValue({ maxDepth: 2 }), finite, unicode(12))
/** A record-like object with fields of random types: accepted or rejected, the answer says which. */
const maybeRecord: fc.Arbitrary<Obj> = fc
  .record(
    {
      deviceId: fc.oneof(
        deviceId,
        fc.constantFrom('', 'x'.repeat(129), 'a\u0000b', 'tab\there', 'del\u007f'),
        junk,
      ),
      ts: fc.oneof(
        validTs,
        fc.constantFrom(
          -1,
          MAX_TS + 1,
          1e300,
          -0.5,
          '2024-13-01',
          'yesterday',
          '',
          ' 1700000000000 ',
          '1.5e12',
          '2024-01-01T00:00:00+25:00',
          '2024-02-30',
        ),
        junk,
      ),
      level: fc.oneof(fc.constantFrom(...LEVELS, 'ERROR', 'critical', ''), junk),
      msg: fc.oneof(unicode(20), junk),
      temp: fc.oneof(finite, junk),
      metrics: fc.oneof(
        fc.dictionary(metricName, finite, { maxKeys: 3 }),
        fc.dictionary(unicode(70, 65), finite, { maxKeys: 1 }),
        junk,
      ),
      extra: fc.dictionary(fc.oneof(metricName, unicode(70, 65)), junk, { maxKeys: 3 }),
    },
    { requiredKeys: [] },
  )
  .map(({ extra, ...r }) => ({ ...extra, ...r }))

const parses = (text: string) => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/** One line of NDJSON that is not JSON (no newline, not blank). */
const badJsonLine = fc
  .oneof(
    fc.constantFrom(
      '{broken',
      '{"deviceId":',
      '[1,',
      'nul',
      "{'deviceId':'a'}",
      '{"deviceId":"a",}',
      'NaN',
      '{"deviceId":"a"}}',
      '\u00a0{"deviceId":"a"}',
      'undefined',
      '{"deviceId":"a"} {"deviceId":"b"}',
      '0x10',
      '01',
      '{"deviceId":"\\ud83"}',
    ),
    unicode(30, 1),
    validRecord.chain((r) => {
      const text = JSON.stringify(r)
      return fc.integer({ min: 1, max: text.length - 1 }).map((n) => text.slice(0, n))
    }),
  )
  // Text as it travels: UTF-8 has no lone surrogates (a cut surrogate pair would arrive as U+FFFD).
  .filter(
    (t) => !t.includes('\n') && !t.includes('\r') && t.trim() !== '' && !LONE_SURROGATE.test(t) && !parses(t),
  )

export type Entry =
  | { kind: 'valid' | 'maybe'; value: Obj }
  | { kind: 'nonobject'; value: unknown }
  | { kind: 'badjson'; text: string }
  | { kind: 'blank'; text: string }

const validEntry = validRecord.map((value): Entry => ({ kind: 'valid', value }))
const maybeEntry = maybeRecord.map((value): Entry => ({ kind: 'maybe', value }))
const nonObjectEntry = fc
  .jsonValue({ maxDepth: 2 })
  .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
  .map((value): Entry => ({ kind: 'nonobject', value }))
const badJsonEntry = badJsonLine.map((text): Entry => ({ kind: 'badjson', text }))
const blankEntry = fc.constantFrom('', ' ', '\t', '  \t ').map((text): Entry => ({ kind: 'blank', text }))

export type Format = 'array' | 'object' | 'ndjson'

export interface BodySpec {
  format: Format
  entries: Entry[]
  /** JSON: indented; NDJSON: CRLF line ends. */
  variant: boolean
  trailingNewline: boolean
}

const arrayEntries = (min: number, max: number) =>
  fc.array(
    fc.oneof(
      { weight: 3, arbitrary: validEntry },
      { weight: 3, arbitrary: maybeEntry },
      { weight: 1, arbitrary: nonObjectEntry },
    ),
    { minLength: min, maxLength: max },
  )
const ndjsonEntries = (min: number, max: number) =>
  fc.array(
    fc.oneof(
      { weight: 3, arbitrary: validEntry },
      { weight: 3, arbitrary: maybeEntry },
      { weight: 1, arbitrary: nonObjectEntry },
      { weight: 1, arbitrary: badJsonEntry },
      { weight: 1, arbitrary: blankEntry },
    ),
    { minLength: min, maxLength: max },
  )

/** Bodies of records in one of the three formats, of up to `max` entries. */
export const bodySpec = (max = 25): fc.Arbitrary<BodySpec> =>
  fc.oneof(
    fc.record({
      format: fc.constant<Format>('array'),
      entries: arrayEntries(0, max),
      variant: fc.boolean(),
      trailingNewline: fc.boolean(),
    }),
    fc.record({
      format: fc.constant<Format>('object'),
      entries: fc.oneof(validEntry, maybeEntry).map((e) => [e]),
      variant: fc.boolean(),
      trailingNewline: fc.boolean(),
    }),
    fc.record({
      format: fc.constant<Format>('ndjson'),
      entries: ndjsonEntries(0, max),
      variant: fc.boolean(),
      trailingNewline: fc.boolean(),
    }),
  )

/** A body spec with at least one record that must be accepted (so a first answer is a 200). */
export const acceptedBodySpec = (max = 10): fc.Arbitrary<BodySpec> =>
  fc.tuple(bodySpec(max), validEntry, fc.nat()).map(([spec, valid, at]) => {
    if (spec.format === 'object') return { ...spec, entries: [valid] }
    const entries = [...spec.entries]
    entries.splice(at % (entries.length + 1), 0, valid)
    return { ...spec, entries }
  })

/** The `_seq` tag that ties a stored record to the entry it came from. */
export const seqOf = (tag: string, i: number) => `${tag}${i}`

/** The entries with their `_seq` tags, and the body text. */
function render(spec: BodySpec, tag: string, pad?: string): { entries: Entry[]; text: string } {
  const entries = spec.entries.map((e, i): Entry => {
    if (e.kind !== 'valid' && e.kind !== 'maybe') return e
    return { kind: e.kind, value: { ...e.value, _seq: seqOf(tag, i) } }
  })
  if (pad !== undefined) {
    if (spec.format === 'object') {
      const first = entries[0] as { kind: 'valid' | 'maybe'; value: Obj }
      entries[0] = { kind: first.kind, value: { ...first.value, pad } }
    } else {
      entries.push({
        kind: 'valid',
        value: { deviceId: 'pad-device', pad, _seq: seqOf(tag, entries.length) },
      })
    }
  }
  const end = spec.trailingNewline ? '\n' : ''
  if (spec.format === 'ndjson') {
    const lines = entries.map((e) => {
      const text = e.kind === 'blank' || e.kind === 'badjson' ? e.text : JSON.stringify(e.value)
      return spec.variant ? text + '\r' : text
    })
    return { entries, text: lines.join('\n') + end }
  }
  const values = entries.map((e) => (e.kind === 'blank' || e.kind === 'badjson' ? null : e.value))
  const value = spec.format === 'object' ? values[0] : values
  return { entries, text: JSON.stringify(value, null, spec.variant ? 2 : undefined) + end }
}

/** Renders the body, padded with a `pad` field so that it is exactly `padTo` bytes when it can be. */
export function renderPadded(spec: BodySpec, tag: string, padTo: number | undefined) {
  if (padTo === undefined) return render(spec, tag)
  const bare = bytesOf(render(spec, tag, '').text).byteLength
  return render(spec, tag, 'x'.repeat(Math.max(0, padTo - bare)))
}

/** Indexes of the entries the server must answer for: every array item; every line that is not blank. */
export function countable(format: Format, entries: Entry[]): number[] {
  return entries.flatMap((e, i) => (format === 'ndjson' && e.kind === 'blank' ? [] : [i]))
}
export const positionOf = (format: Format, i: number) => (format === 'ndjson' ? i + 1 : i)

/** Arbitrary request bodies: bytes, text, JSON, records, NDJSON, and gzip of any of them (valid or not). */
type AnyBody = { bytes: Uint8Array; gz: boolean; ndjson: boolean }
const textBody = (ndjson: boolean) => (text: string) => ({ bytes: bytesOf(text), ndjson })
export const anyBody: fc.Arbitrary<AnyBody> = fc
  .tuple(
    fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ bytes, ndjson: false })),
      unicode(100).map(textBody(false)),
      fc.string({ unit: 'binary', maxLength: 60 }).map(textBody(true)),
      fc.json({ maxDepth: 3 }).map(textBody(false)),
      {
        weight: 8,
        arbitrary: bodySpec(12).map((s) => textBody(s.format === 'ndjson')(render(s, 'r').text)),
      },
      fc
        .tuple(bodySpec(3), fc.constantFrom(LIMIT, LIMIT + 1, 3 * LIMIT))
        .map(([s, to]) => textBody(s.format === 'ndjson')(renderPadded(s, 'r', to).text)),
    ),
    fc.constantFrom(
      ...['plain', 'plain', 'plain', 'plain', 'gzip', 'gzip'],
      ...['truncated', 'junk-after', 'flipped', 'two-members'],
    ),
    fc.nat(),
    fc.uint8Array({ minLength: 1, maxLength: 20 }),
  )
  .map(([{ bytes, ndjson }, how, n, junkBytes]): AnyBody => {
    if (how === 'plain') return { bytes, gz: false, ndjson }
    const z = gzip(bytes)
    const gz = (out: Uint8Array) => ({ bytes: out, gz: true, ndjson })
    switch (how) {
      case 'gzip':
        return gz(z)
      case 'truncated':
        return gz(z.subarray(0, n % z.length))
      case 'junk-after':
        return gz(new Uint8Array([...z, ...junkBytes]))
      case 'flipped': {
        const out = new Uint8Array(z)
        const at = n % out.length
        out[at] = out[at]! ^ (junkBytes[0]! || 1)
        return gz(out)
      }
      default:
        return gz(new Uint8Array([...z, ...gzip(junkBytes)]))
    }
  })

// Query strings and path segments.

const QUERY_KEYS = ['limit', 'cursor', 'since', 'until', 'deviceId', 'kind', 'windows']
export const KINDS = ['high_temp', 'slow_response', 'error', 'spike', 'level_shift', 'drift']
export const validTime = fc.oneof(
  fc.integer({ min: 0, max: MAX_TS }).map(String),
  fc.integer({ min: 0, max: MAX_TS }).map((ms) => new Date(ms).toISOString()),
  fc.constantFrom('2023-11-14', '2023-11-14 22:13', '2023-11-14T22:13:20+01:00', '1700000100000'),
)

/** base64url of a JSON array: cursors in the right format that the server never made. */
export const forgeCursor = (value: unknown[]) =>
  Buffer.from(JSON.stringify(value))
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
const forgedCursor = fc.oneof(
  fc.constantFrom(
    forgeCursor(['a', 1e308, 1]),
    forgeCursor(['a', -1, -1]),
    forgeCursor(['a', 1.5, 2]),
    forgeCursor(['a', 1, 2 ** 53]),
    forgeCursor(['d', '']),
    forgeCursor(['d', 'x'.repeat(2000)]),
    forgeCursor(['d', '\u0000']),
    forgeCursor(['d', 5]),
    forgeCursor(['l', Number.MAX_SAFE_INTEGER]),
    forgeCursor(['l', -5]),
    forgeCursor(['l', 0]),
    forgeCursor(['x', 1]),
    forgeCursor([]),
    forgeCursor(['a', 1, 2, 3]),
    Buffer.from('["l",1]').toString('base64') + '==',
    'eyJ',
    '_-_-',
  ),
  fc
    .tuple(fc.constantFrom('a', 'd', 'l'), fc.jsonValue({ maxDepth: 1 }), fc.jsonValue({ maxDepth: 1 }))
    .map(([tag, a, b]) => forgeCursor(tag === 'a' ? [tag, a, b] : [tag, a])),
)
const mutate = (cursor: string) =>
  fc.oneof(
    fc.nat().map((n) => {
      const at = n % Math.max(1, cursor.length)
      const c = cursor[at] === 'A' ? 'B' : 'A'
      return cursor.slice(0, at) + c + cursor.slice(at + 1)
    }),
    fc.constantFrom(
      cursor + '=',
      cursor + 'A',
      cursor.slice(1),
      cursor.toUpperCase(),
      cursor.replace(/-/g, '+'),
    ),
  )

const huge = fc.string({ unit: visibleAscii, minLength: 1000, maxLength: 3000 })
const queryValue = (cursors: string[]) =>
  fc.oneof(
    fc.integer().map(String),
    fc.integer({ min: 1, max: 1000 }).map(String),
    fc.constantFrom(
      '0',
      '-1',
      '1.5',
      '1e3',
      '0x10',
      '  7 ',
      '',
      'NaN',
      'Infinity',
      '99999999999999999999',
      '1e400',
      'null',
      'true',
      '[]',
      '%',
      '%ZZ',
      '%00',
      '%E0%A4%A',
      '+',
      '%2B',
    ),
    validTime,
    unicode(20),
    huge,
    fc.constantFrom(...POOL, ...KINDS),
    forgedCursor,
    ...(cursors.length > 0 ? [fc.constantFrom(...cursors), fc.constantFrom(...cursors).chain(mutate)] : []),
  )

export type Pairs = [string, string][]

/** Query pairs, each sent encoded or raw (raw keeps `%ZZ`, spaces, Unicode; only & = # are escaped). */
export const queryPairs = (cursors: string[]): fc.Arbitrary<{ pairs: Pairs; raw: boolean }> =>
  fc.record({
    pairs: fc.array(
      fc.tuple(
        fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom(...QUERY_KEYS) },
          { weight: 1, arbitrary: unicode(8) },
          { weight: 1, arbitrary: fc.constantFrom('LIMIT', 'limit[]', 'cursor ', '') },
        ),
        queryValue(cursors),
      ),
      { maxLength: 6 },
    ),
    raw: fc.boolean(),
  })

const rawPart = (s: string) => s.replace(/&/g, '%26').replace(/=/g, '%3D').replace(/#/g, '%23')
export function queryString(q: { pairs: Pairs; raw: boolean }): string {
  if (q.pairs.length === 0) return ''
  const parts = q.pairs.map(([k, v]) =>
    q.raw ? `${rawPart(k)}=${rawPart(v)}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
  )
  return '?' + parts.join('&')
}

export const segment = fc.oneof(
  fc.constantFrom(
    'v1',
    'ingest',
    'devices',
    'series',
    'anomalies',
    'export',
    'dead-letters',
    'healthz',
    'metrics',
    'docs',
    'openapi.json',
    '',
    '..',
    '.',
    '%2e%2e',
    '%2F',
    '%ZZ',
    '%',
    '%00',
    '%C3%28',
    'V1',
    'INGEST',
  ),
  fc.constantFrom(...POOL, 'temp', 'latencyMs').map(encodeURIComponent),
  unicode(10).map(encodeURIComponent),
  fc.string({ unit: fc.constantFrom(..."abc%/.-_~!$&'()*+,;=:@é "), maxLength: 10 }),
)

/** Pool device ids as path segments. '.' and '..' are dot segments in any URL (even as %2E%2E): no path names them. */
export const addressable = fc
  .constantFrom(...POOL.filter((id) => id !== '.' && id !== '..'))
  .map(encodeURIComponent)

export const LIST_ROUTES = ['/v1/anomalies', '/v1/devices', '/v1/dead-letters'] as const
