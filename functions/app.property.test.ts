// Property-based tests over every route of the app, created in process on a real SQLite store in
// memory. fast-check generates bodies, headers, query strings and path segments; a failure is shrunk
// to a small input. Each property is a claim of ARCHITECTURE.md ("Ack means durable", "Errors are
// values", "Limits are real") or of README's "Routes", stated as it should hold whatever arrives.
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kernel } from '../kernels/host/kernel.js'
import { loadNodeKernel } from '../kernels/node.js'
import { type App, createApp } from './app.js'
import { type AnalysisConfig, resolveAnalysisConfig } from './domain/analysis-config.js'
import type { Store } from './store/port.js'
import { openSqliteStore } from './store/sqlite.js'

/** EDGEWATCH_PROPERTY_RUNS=10 runs every property ten times as long (a deeper search, not for CI). */
const RUNS_SCALE = Number(process.env.EDGEWATCH_PROPERTY_RUNS ?? 1) || 1
const runs = (n: number) => Math.max(1, Math.round(n * RUNS_SCALE))

const tokens = {
  ingest: ['ingest-token-0123456789', 'ingest-token-rotated-0123'],
  admin: ['admin-token-0123456789'],
}
const ADMIN = `Bearer ${tokens.admin[0]}`
const INGEST = `Bearer ${tokens.ingest[0]}`
const ROTATED = `Bearer ${tokens.ingest[1]}`
/** The admin and an ingest token as strings, for spelling variants and near misses. */
const ADMIN_TOKEN = tokens.admin[0]!
const INGEST_TOKEN = tokens.ingest[0]!
const LIMIT = 64 * 1024
/** Latest accepted record time (year 2200), as in domain/time.ts. */
const MAX_TS = 7_258_118_400_000
const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal']
const RESERVED = new Set(['deviceId', 'ts', 'level', 'msg', 'metrics', '_seq', '__proto__'])
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
/** Non-ASCII as \\u escapes, so that odd spaces and surrogates show in messages. */
const visible = (s: string) =>
  s.replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))

// ---------------------------------------------------------------------------------------------
// The app under test and how requests reach it
// ---------------------------------------------------------------------------------------------

let kernel: Kernel
let analysis: AnalysisConfig
beforeAll(async () => {
  kernel = await loadNodeKernel()
  analysis = resolveAnalysisConfig({})
})

interface Harness {
  app: App
  store: Store
  /** The error lines the app logged (one per 500, with the stack). */
  errors: string[]
}

function openApp(): Harness {
  const store = openSqliteStore(':memory:')
  const errors: string[] = []
  const app = createApp({
    store,
    kernel,
    analysis,
    tokens,
    bodyLimitBytes: LIMIT,
    log: (line) => {
      if (line.includes('"level":"error"')) errors.push(line)
    },
  })
  return { app, store, errors }
}

/** A few records of the pool's devices, with anomalies and dead letters, for the read routes to find. */
function seedBody(): Uint8Array {
  const lines = Array.from({ length: 30 }, (_, i) =>
    JSON.stringify({
      deviceId: POOL[i % POOL.length],
      ts: 1_700_000_000_000 + i * 1000,
      temp: i % 7 === 0 ? 95 : 20,
      latencyMs: i % 11 === 0 ? 4000 : 50,
      ...(i % 13 === 0 ? { level: 'error', msg: 'fault' } : {}),
    }),
  )
  return bytesOf([...lines, '{broken', '{"nodevice":1}'].join('\n'))
}

/** A fresh app on a fresh in-memory store for one property run (seeded if asked); the store is closed afterwards. */
async function withApp<T>(run: (h: Harness) => Promise<T>, seeded = false): Promise<T> {
  const h = openApp()
  try {
    if (seeded) {
      const res = await send(
        h.app,
        req(
          'POST',
          '/v1/ingest',
          [
            ['Authorization', INGEST],
            ['Content-Type', 'application/x-ndjson'],
          ],
          seedBody(),
        ),
      )
      expect(res.status, res.text).toBe(200)
    }
    return await run(h)
  } finally {
    await h.store.close()
  }
}

interface Req {
  method: string
  /** Path and query, as sent on the request line. */
  path: string
  headers: [string, string][]
  body?: Uint8Array<ArrayBuffer> | undefined
}

interface Res {
  status: number
  headers: Headers
  text: string
}

const utf8Lossy = new TextDecoder()

/** How fast-check prints a request in a counterexample: readable, bodies as text when they are text. */
function describeReq(r: Req): string {
  const body =
    r.body === undefined
      ? ''
      : ` body(${r.body.byteLength} bytes)=${JSON.stringify(utf8Lossy.decode(r.body.subarray(0, 600)))}`
  return `${r.method} ${r.path} ${JSON.stringify(r.headers)}${body}`
}

function req(method: string, path: string, headers: [string, string | undefined][], body?: Uint8Array): Req {
  const r: Req = {
    method,
    path,
    headers: headers.filter((h): h is [string, string] => h[1] !== undefined),
    body: body === undefined ? undefined : new Uint8Array(body),
  }
  Object.defineProperty(r, fc.toStringMethod, { value: () => describeReq(r), enumerable: false })
  return r
}

async function send(app: App, r: Req): Promise<Res> {
  const res = await app.fetch(
    new Request(`http://localhost${r.path}`, { method: r.method, headers: r.headers, body: r.body }),
  )
  return { status: res.status, headers: res.headers, text: await res.text() }
}

const get = (app: App, path: string) => send(app, req('GET', path, [['Authorization', ADMIN]]))

async function getJson<T>(app: App, path: string): Promise<T> {
  const res = await get(app, path)
  expect(res.status, `${path}: ${res.text}`).toBe(200)
  return JSON.parse(res.text) as T
}

interface Page<T> {
  items: T[]
  next: string | null
}

/** Every item of a list route, page by page. */
async function listAll<T>(app: App, path: string): Promise<T[]> {
  const out: T[] = []
  let cursor: string | null = null
  do {
    const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`
    const page: Page<T> = await getJson<Page<T>>(app, `${path}?limit=1000${q}`)
    out.push(...page.items)
    cursor = page.next
  } while (cursor !== null)
  return out
}

type Line = Record<string, unknown>

/** The record lines of an export, after checking its last line says it is complete. */
function exportRecords(text: string, what: string): Line[] {
  expect(text.endsWith('\n'), `${what}: ends with a newline`).toBe(true)
  const lines = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line)
  const end = lines.pop()
  expect(end, `${what}: the last line tells the export is complete`).toEqual({
    export: { complete: true, records: lines.length },
  })
  return lines
}

/** Every stored record, as /v1/export gives them. */
async function exported(app: App): Promise<Line[]> {
  const res = await get(app, '/v1/export')
  expect(res.status, res.text).toBe(200)
  return exportRecords(res.text, '/v1/export')
}

interface DeviceItem {
  deviceId: string
  recordCount: number
}
interface DeadLetterItem {
  id: number
  position: string
  reason: string
  raw: string
}

interface IngestResult {
  accepted: number
  rejectedCount: number
  rejected: { index?: number; line?: number; reason: string }[]
  anomalies: unknown[]
}

interface ErrorBody {
  error: { code: string; message: string; details: unknown }
}

/** The one error shape, with its content type. */
function expectErrorShape(res: Res, what: string): ErrorBody['error'] {
  expect(res.headers.get('content-type') ?? '', `${what}: content-type`).toMatch(
    /^application\/json\s*(;|$)/i,
  )
  let body: unknown
  try {
    body = JSON.parse(res.text)
  } catch {
    throw new Error(`${what}: a ${res.status} body is not JSON: ${res.text.slice(0, 300)}`)
  }
  expect(body, what).toBeTypeOf('object')
  expect(body, what).not.toBeNull()
  expect(Object.keys(body as object), `${what}: ${res.text}`).toEqual(['error'])
  const error = (body as ErrorBody).error
  expect(error, what).toBeTypeOf('object')
  expect(error, what).not.toBeNull()
  expect(Object.keys(error).sort(), `${what}: ${res.text}`).toEqual(['code', 'details', 'message'])
  expect(error.code, what).toBeTypeOf('string')
  expect(error.code.length, what).toBeGreaterThan(0)
  expect(error.message, what).toBeTypeOf('string')
  return error
}

// ---------------------------------------------------------------------------------------------
// Generators: text, headers, records, bodies
// ---------------------------------------------------------------------------------------------

const encoder = new TextEncoder()
const bytesOf = (s: string) => encoder.encode(s)
const gzip = (b: Uint8Array) => new Uint8Array(gzipSync(b))
/** A Unicode string as it arrives in an HTTP header: its UTF-8 bytes, one Latin-1 character each. */
const asHeader = (s: string) =>
  Buffer.from(s, 'utf8')
    .toString('latin1')
    .replace(/[\0\r\n]/g, '')
/** What Headers keeps of a value: leading and trailing HTTP whitespace goes. */
const trimHttp = (s: string) => s.replace(/^[\t ]+|[\t ]+$/g, '')
const isControl = (code: number) => code <= 0x1f || code === 0x7f
const isDeviceId = (s: string) =>
  s.length >= 1 && s.length <= 128 && ![...s].some((c) => isControl(c.codePointAt(0)!))

const unicode = (maxLength: number, minLength = 0) => fc.string({ unit: 'grapheme', minLength, maxLength })
const visibleAscii = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c))
const headerChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
  .map((c) => String.fromCharCode(c))
const headerValue = (maxLength: number) =>
  fc.oneof(fc.string({ unit: headerChar, maxLength }), unicode(maxLength).map(asHeader))

const GOOD_AUTH = [ADMIN, INGEST, ROTATED, `bearer  ${ADMIN_TOKEN}`, `BEARER ${INGEST_TOKEN}  `]
const goodAuth = fc.constantFrom(...GOOD_AUTH)
const badAuth = fc.oneof(
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
const anyAuth = fc.oneof({ weight: 5, arbitrary: goodAuth }, { weight: 1, arbitrary: badAuth })
/** For the routes only the admin token opens. */
const readAuth = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(ADMIN, `bearer  ${ADMIN_TOKEN}`) },
  { weight: 1, arbitrary: fc.constant(INGEST) },
  { weight: 1, arbitrary: badAuth },
)

const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/vnd.edgewatch+json',
  'application/json;charset=latin1',
  'application/json; foo="bar;baz"',
]
const NDJSON_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/x-ndjson; charset=utf-8',
  'APPLICATION/X-NDJSON',
]
const BAD_TYPES = [
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
const anyContentType = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...JSON_TYPES) },
  { weight: 6, arbitrary: fc.constantFrom(...NDJSON_TYPES) },
  fc.constantFrom(...BAD_TYPES),
  headerValue(60),
  fc.constant(undefined),
)
const GZIP_ENCODINGS = ['gzip', 'x-gzip', 'GZIP', ' gzip ']
const PLAIN_ENCODINGS = [undefined, 'identity', '']
const BAD_ENCODINGS = ['br', 'deflate', 'compress', 'zstd', 'gzip, identity', 'gzip, gzip']
const anyEncoding = fc.oneof(
  fc.constantFrom(...GZIP_ENCODINGS, ...PLAIN_ENCODINGS, ...BAD_ENCODINGS),
  headerValue(20),
)

const goodKey = fc.oneof(
  { withCrossShrink: true },
  fc.string({ unit: visibleAscii, minLength: 1, maxLength: 40 }),
  fc.string({ unit: visibleAscii, minLength: 190, maxLength: 200 }),
)
const isGoodKey = (headerValue: string) => IDEMPOTENCY_KEY.test(trimHttp(headerValue))
/** Idempotency-Key values that are not 1-200 visible ASCII characters, as a client may send them. */
const badKey = fc
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
const anyKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('k1', 'k2', 'k3') },
  { weight: 2, arbitrary: goodKey },
  badKey,
  headerValue(30),
)

const POOL = ['pump-1', 'pump-2', 'a', 'ü-sensor', 'a/b', 'a%2Fb', '100%', '日本', 'x y', '..', '🙂', 'a?b#c']
const deviceId = fc.oneof(fc.constantFrom(...POOL), unicode(30, 1).filter(isDeviceId))
const validTs = fc.oneof(
  fc.integer({ min: 0, max: MAX_TS }),
  fc.integer({ min: 0, max: MAX_TS }).map((ms) => new Date(ms).toISOString()),
  fc.integer({ min: 1_700_000_000_000, max: 1_700_000_600_000 }),
)
const metricName = unicode(8, 1).filter((n) => n.length <= 64 && !RESERVED.has(n))
const finite = fc.double({ noNaN: true, noDefaultInfinity: true })

type Obj = Record<string, unknown>

/** A record every rule of domain/record.ts accepts. */
const validRecord: fc.Arbitrary<Obj> = fc
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

type Entry =
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

type Format = 'array' | 'object' | 'ndjson'

interface BodySpec {
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
const bodySpec = (max = 25): fc.Arbitrary<BodySpec> =>
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
const acceptedBodySpec = (max = 10): fc.Arbitrary<BodySpec> =>
  fc.tuple(bodySpec(max), validEntry, fc.nat()).map(([spec, valid, at]) => {
    if (spec.format === 'object') return { ...spec, entries: [valid] }
    const entries = [...spec.entries]
    entries.splice(at % (entries.length + 1), 0, valid)
    return { ...spec, entries }
  })

/** The `_seq` tag that ties a stored record to the entry it came from. */
const seqOf = (tag: string, i: number) => `${tag}${i}`

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
function renderPadded(spec: BodySpec, tag: string, padTo: number | undefined) {
  if (padTo === undefined) return render(spec, tag)
  const bare = bytesOf(render(spec, tag, '').text).byteLength
  return render(spec, tag, 'x'.repeat(Math.max(0, padTo - bare)))
}

/** Indexes of the entries the server must answer for: every array item; every line that is not blank. */
function countable(format: Format, entries: Entry[]): number[] {
  return entries.flatMap((e, i) => (format === 'ndjson' && e.kind === 'blank' ? [] : [i]))
}
const positionOf = (format: Format, i: number) => (format === 'ndjson' ? i + 1 : i)

/** Arbitrary request bodies: bytes, text, JSON, records, NDJSON, and gzip of any of them (valid or not). */
type AnyBody = { bytes: Uint8Array; gz: boolean; ndjson: boolean }
const textBody = (ndjson: boolean) => (text: string) => ({ bytes: bytesOf(text), ndjson })
const anyBody: fc.Arbitrary<AnyBody> = fc
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
const KINDS = ['high_temp', 'slow_response', 'error', 'spike', 'level_shift', 'drift']
const validTime = fc.oneof(
  fc.integer({ min: 0, max: MAX_TS }).map(String),
  fc.integer({ min: 0, max: MAX_TS }).map((ms) => new Date(ms).toISOString()),
  fc.constantFrom('2023-11-14', '2023-11-14 22:13', '2023-11-14T22:13:20+01:00', '1700000100000'),
)

/** base64url of a JSON array: cursors in the right format that the server never made. */
const forgeCursor = (value: unknown[]) =>
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

type Pairs = [string, string][]

/** Query pairs, each sent encoded or raw (raw keeps `%ZZ`, spaces, Unicode; only & = # are escaped). */
const queryPairs = (cursors: string[]): fc.Arbitrary<{ pairs: Pairs; raw: boolean }> =>
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
function queryString(q: { pairs: Pairs; raw: boolean }): string {
  if (q.pairs.length === 0) return ''
  const parts = q.pairs.map(([k, v]) =>
    q.raw ? `${rawPart(k)}=${rawPart(v)}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
  )
  return '?' + parts.join('&')
}

const segment = fc.oneof(
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

// Requests to every route.

/** Pool device ids as path segments. '.' and '..' are dot segments in any URL (even as %2E%2E): no path names them. */
const addressable = fc.constantFrom(...POOL.filter((id) => id !== '.' && id !== '..')).map(encodeURIComponent)

const ingestRequest = fc
  .record({
    auth: anyAuth,
    contentType: fc.oneof({ weight: 3, arbitrary: fc.constant('match') }, anyContentType),
    typeIndex: fc.nat(),
    body: anyBody,
    encoding: fc.oneof({ weight: 4, arbitrary: fc.constant('match') }, anyEncoding),
    key: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, anyKey),
    query: fc.option(queryPairs([]), { nil: undefined }),
    contentLength: fc.boolean(),
  })
  .map((r) => {
    const encoding = r.encoding === 'match' ? (r.body.gz ? 'gzip' : undefined) : r.encoding
    const types = r.body.ndjson ? NDJSON_TYPES : JSON_TYPES
    const contentType = r.contentType === 'match' ? types[r.typeIndex % types.length] : r.contentType
    return req(
      'POST',
      '/v1/ingest' + (r.query ? queryString(r.query) : ''),
      [
        ['Authorization', r.auth],
        ['Content-Type', contentType],
        ['Content-Encoding', encoding],
        ['Idempotency-Key', r.key],
        ['Content-Length', r.contentLength ? String(r.body.bytes.byteLength) : undefined],
      ],
      r.body.bytes,
    )
  })

const LIST_ROUTES = ['/v1/anomalies', '/v1/devices', '/v1/dead-letters'] as const
const listRequest = fc
  .tuple(fc.constantFrom(...LIST_ROUTES, '/v1/export'), queryPairs([]), readAuth)
  .map(([path, q, auth]) => req('GET', path + queryString(q), [['Authorization', auth]]))
const seriesRequest = fc
  .tuple(
    fc.oneof({ weight: 3, arbitrary: addressable }, segment),
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom('temp', 'latencyMs') }, segment),
    queryPairs([]),
    readAuth,
  )
  .map(([id, metric, q, auth]) =>
    req('GET', `/v1/devices/${id}/series/${metric}${queryString(q)}`, [['Authorization', auth]]),
  )
const OPS = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']
const opsRequest = fc
  .tuple(fc.constantFrom(...OPS), queryPairs([]), fc.option(anyAuth, { nil: undefined }))
  .map(([path, q, auth]) => req('GET', path + queryString(q), [['Authorization', auth]]))
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'FOO', 'get', 'post', 'propfind']
const withMethod = (method: string, path: string, auth: string | undefined, body: Uint8Array | undefined) =>
  req(
    method,
    path,
    [
      ['Authorization', auth],
      ['Content-Type', body ? 'application/json' : undefined],
    ],
    ['GET', 'HEAD', 'get'].includes(method) ? undefined : body,
  )
const KNOWN_PATHS = [
  '/v1/ingest',
  ...LIST_ROUTES,
  '/v1/devices/pump-1/series/temp',
  '/v1/export',
  ...OPS,
  '/v1/devices/',
  '/healthz/',
  '/v1',
  '/v1/',
  '/V1/devices',
]
const wrongMethodRequest = fc
  .tuple(fc.constantFrom(...METHODS), fc.constantFrom(...KNOWN_PATHS), anyAuth, fc.option(anyBody))
  .map(([method, path, auth, body]) => withMethod(method, path, auth, body?.bytes))
const unknownRequest = fc
  .tuple(
    fc.constantFrom(...METHODS),
    fc.array(segment, { minLength: 1, maxLength: 5 }),
    queryPairs([]),
    anyAuth,
    fc.option(anyBody),
  )
  .map(([method, segments, q, auth, body]) =>
    withMethod(method, '/' + segments.join('/') + queryString(q), auth, body?.bytes),
  )

const anyRequest = fc.oneof(
  { weight: 5, arbitrary: ingestRequest },
  { weight: 3, arbitrary: listRequest },
  { weight: 2, arbitrary: seriesRequest },
  { weight: 1, arbitrary: opsRequest },
  { weight: 1, arbitrary: wrongMethodRequest },
  { weight: 1, arbitrary: unknownRequest },
)
const requestSequence = fc.array(anyRequest, { minLength: 1, maxLength: 6 })

// ---------------------------------------------------------------------------------------------
// 1-2. Any request to any route: never a 5xx; every error in the one error shape
// ---------------------------------------------------------------------------------------------

describe('any request to any route', () => {
  it('never answers a 5xx, and every answer can be read to its end', async () => {
    await fc.assert(
      fc.asyncProperty(requestSequence, fc.boolean(), (requests, seeded) =>
        withApp(async (h) => {
          for (const r of requests) {
            const res = await send(h.app, r)
            expect(
              res.status,
              `${describeReq(r)}\n-> ${res.status} ${res.text}\n${h.errors.join('\n')}`,
            ).toBeLessThan(500)
          }
        }, seeded),
      ),
      { numRuns: runs(250) },
    )
  })

  it('answers every non-2xx in the one error shape as application/json; a 401 carries WWW-Authenticate', async () => {
    await fc.assert(
      fc.asyncProperty(requestSequence, fc.boolean(), (requests, seeded) =>
        withApp(async (h) => {
          for (const r of requests) {
            const res = await send(h.app, r)
            if (res.status >= 200 && res.status < 300) continue
            const what = `${describeReq(r)} -> ${res.status}`
            if (r.method === 'HEAD') {
              expect(res.headers.get('content-type') ?? '', what).toMatch(/^application\/json\s*(;|$)/i)
            } else {
              expectErrorShape(res, what)
            }
            if (res.status === 401)
              expect(res.headers.get('www-authenticate') ?? '', what).toMatch(/^Bearer /)
          }
        }, seeded),
      ),
      { numRuns: runs(250) },
    )
  })
})

// ---------------------------------------------------------------------------------------------
// 3. Ingest: nothing acknowledged is lost, nothing refused is stored
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
            const res = await send(
              h.app,
              req(
                'POST',
                '/v1/ingest',
                [
                  ['Authorization', INGEST],
                  ['Content-Type', 'application/x-ndjson'],
                ],
                bytesOf(lines.join('\n')),
              ),
            )
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
// 4. Idempotency
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

// ---------------------------------------------------------------------------------------------
// 5. Read routes: any query is a page or a 400; following `next` never errors
// ---------------------------------------------------------------------------------------------

describe('read routes', () => {
  let shared: Harness
  const cursors: Record<(typeof LIST_ROUTES)[number], string[]> = {
    '/v1/anomalies': [],
    '/v1/devices': [],
    '/v1/dead-letters': [],
  }
  const T0 = 1_700_000_000_000

  beforeAll(async () => {
    shared = openApp()
    const lines: string[] = []
    for (let i = 0; i < 400; i++) {
      const id = POOL[i % POOL.length]!
      lines.push(
        JSON.stringify({
          deviceId: id,
          ts: T0 + i * 1000,
          temp: i % 97 === 0 ? 95 : 20 + Math.sin(i),
          latencyMs: i % 131 === 0 ? 4000 : 50,
          ...(i % 53 === 0 ? { level: 'error', msg: `fault ${i}` } : {}),
        }),
      )
      if (i % 10 === 0) lines.push(i % 20 === 0 ? `{broken ${i}` : JSON.stringify({ nodevice: i }))
    }
    const res = await send(
      shared.app,
      req(
        'POST',
        '/v1/ingest',
        [
          ['Authorization', INGEST],
          ['Content-Type', 'application/x-ndjson'],
        ],
        bytesOf(lines.join('\n')),
      ),
    )
    expect(res.status, res.text).toBe(200)
    for (const route of LIST_ROUTES) {
      let next: string | null = null
      for (let k = 0; k < 8; k++) {
        const q: string = next === null ? '' : `&cursor=${encodeURIComponent(next)}`
        const page: Page<unknown> = await getJson<Page<unknown>>(
          shared.app,
          `${route}?limit=${1 + (k % 3)}${q}`,
        )
        if (page.next === null) break
        cursors[route].push(page.next)
        next = page.next
      }
      expect(cursors[route].length, route).toBeGreaterThan(0)
    }
  })
  afterAll(async () => {
    await shared.store.close()
  })

  const allCursors = () => Object.values(cursors).flat()

  /** Queries a list route surely answers with a page: in range, its own cursors. */
  const validListQuery = (route: (typeof LIST_ROUTES)[number]) =>
    fc
      .record(
        {
          limit: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1000 })).map(String),
          cursor: fc.constantFrom(...cursors[route]),
          ...(route === '/v1/anomalies'
            ? {
                since: validTime,
                until: validTime,
                deviceId: fc.constantFrom(...POOL),
                kind: fc.constantFrom(...KINDS),
              }
            : {}),
        },
        { requiredKeys: [] },
      )
      .map((q) => ({ pairs: Object.entries(q) as Pairs, raw: false }))

  const utf8Compare = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

  /** The order a listing promises, checked across all its pages; no item twice. */
  function checkOrder(route: string, items: Obj[]) {
    const keys = items.map((it) => (route === '/v1/devices' ? it.deviceId : it.id))
    expect(new Set(keys).size, `${route}: an item appears on two pages`).toBe(keys.length)
    for (let i = 1; i < items.length; i++) {
      const a = items[i - 1]!
      const b = items[i]!
      if (route === '/v1/devices')
        expect(utf8Compare(a.deviceId as string, b.deviceId as string), 'devices by id').toBeLessThan(0)
      if (route === '/v1/dead-letters')
        expect(a.id as number, 'dead letters newest first').toBeGreaterThan(b.id as number)
      if (route === '/v1/anomalies') {
        const [at, bt] = [a.ts as string, b.ts as string]
        expect(at > bt || (at === bt && (a.id as number) > (b.id as number)), 'anomalies newest first').toBe(
          true,
        )
      }
    }
  }

  it('answers any query to a list route with a page or a 400, and its next cursors never fail', async () => {
    const cases = fc.oneof(
      fc.tuple(fc.constantFrom(...LIST_ROUTES), queryPairs(allCursors()), fc.constant(false)),
      ...LIST_ROUTES.map((route) => fc.tuple(fc.constant(route), validListQuery(route), fc.constant(true))),
    )
    await fc.assert(
      fc.asyncProperty(cases, async ([route, q, mustAnswer]) => {
        const path = route + queryString(q)
        const res = await get(shared.app, path)
        expect([200, 400], `${path} -> ${res.status} ${res.text}`).toContain(res.status)
        if (res.status === 400) {
          expect(mustAnswer, `${path} -> ${res.text}`).toBe(false)
          expect(expectErrorShape(res, path).code).toMatch(/^invalid_/)
          return
        }
        const items: Obj[] = []
        let page = JSON.parse(res.text) as Page<Obj>
        for (let pages = 0; ; pages++) {
          expect(Object.keys(page).sort(), path).toEqual(['items', 'next'])
          expect(Array.isArray(page.items), path).toBe(true)
          expect(page.next === null || typeof page.next === 'string', path).toBe(true)
          items.push(...page.items)
          if (page.next === null || pages >= 200) break
          const rest = q.pairs.filter(([k]) => k !== 'cursor')
          const nextPath =
            route +
            (queryString({ pairs: rest, raw: q.raw }) || '?') +
            `&cursor=${encodeURIComponent(page.next)}`
          const more = await get(shared.app, nextPath)
          expect(more.status, `following next: ${nextPath} -> ${more.text}`).toBe(200)
          page = JSON.parse(more.text) as Page<Obj>
        }
        checkOrder(route, items)
      }),
      { numRuns: runs(300) },
    )
  })

  it('lists only anomalies that match deviceId, kind, since and until, on every page, whatever the cursor', async () => {
    const time = fc
      .integer({ min: T0 - 10_000, max: T0 + 410_000 })
      .chain((ms) => fc.constantFrom<[string, number]>([String(ms), ms], [new Date(ms).toISOString(), ms]))
    const anomalyCursor = fc.oneof(
      { withCrossShrink: true },
      fc.constantFrom(...cursors['/v1/anomalies']),
      fc
        .tuple(fc.integer({ min: T0 - 10_000, max: T0 + 410_000 }), fc.nat(10_000))
        .map(([ts, id]) => forgeCursor(['a', ts, id])),
    )
    const query = fc.record(
      {
        deviceId: fc.constantFrom(...POOL),
        kind: fc.constantFrom(...KINDS),
        since: time,
        until: time,
        limit: fc.integer({ min: 1, max: 20 }),
        cursor: anomalyCursor,
      },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const pairs: Pairs = []
        if (q.deviceId !== undefined) pairs.push(['deviceId', q.deviceId])
        if (q.kind !== undefined) pairs.push(['kind', q.kind])
        if (q.since !== undefined) pairs.push(['since', q.since[0]])
        if (q.until !== undefined) pairs.push(['until', q.until[0]])
        if (q.limit !== undefined) pairs.push(['limit', String(q.limit)])
        let cursor = q.cursor ?? null
        for (let pages = 0; pages < 100; pages++) {
          const all = cursor === null ? pairs : [...pairs, ['cursor', cursor] as [string, string]]
          const path = '/v1/anomalies' + queryString({ pairs: all, raw: false })
          const res = await get(shared.app, path)
          expect(res.status, `${path} -> ${res.text}`).toBe(200)
          const page = JSON.parse(res.text) as Page<{ deviceId: string; kind: string; ts: string }>
          for (const a of page.items) {
            const ts = Date.parse(a.ts)
            const what = `${path}\n-> ${JSON.stringify(a)}`
            if (q.deviceId !== undefined) expect(a.deviceId, what).toBe(q.deviceId)
            if (q.kind !== undefined) expect(a.kind, what).toBe(q.kind)
            if (q.since !== undefined)
              expect(ts, `${what} is before since`).toBeGreaterThanOrEqual(q.since[1])
            if (q.until !== undefined) expect(ts, `${what} is not before until`).toBeLessThan(q.until[1])
          }
          cursor = page.next
          if (cursor === null) break
        }
      }),
      { numRuns: runs(150) },
    )
  })

  it('answers any export query with NDJSON records or a 400', async () => {
    const valid = fc
      .record(
        { deviceId: fc.constantFrom(...POOL), since: validTime, until: validTime },
        { requiredKeys: [] },
      )
      .map((q) => ({ pairs: Object.entries(q) as Pairs, raw: false }))
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.tuple(queryPairs(allCursors()), fc.constant(false)), fc.tuple(valid, fc.constant(true))),
        async ([q, mustAnswer]) => {
          const path = '/v1/export' + queryString(q)
          const res = await get(shared.app, path)
          expect([200, 400], `${path} -> ${res.status} ${res.text}`).toContain(res.status)
          if (res.status === 400) {
            expect(mustAnswer, `${path} -> ${res.text}`).toBe(false)
            expectErrorShape(res, path)
            return
          }
          expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
          for (const record of exportRecords(res.text, path)) {
            expect(record.deviceId).toBeTypeOf('string')
            expect(record.ts).toBeTypeOf('string')
            expect(record.score).toBeTypeOf('number')
            expect(record.anomalies).toBeTypeOf('string')
          }
        },
      ),
      { numRuns: runs(150) },
    )
  })

  it('answers any series path and query with the series, a 400 or a 404', async () => {
    const metric = fc.oneof(fc.constantFrom('temp', 'latencyMs', 'ts'), segment)
    const valid = fc
      .record(
        {
          limit: fc.integer({ min: 1, max: 10_000 }).map(String),
          windows: fc.integer({ min: 1, max: 1000 }).map(String),
          since: validTime,
        },
        { requiredKeys: [] },
      )
      .map((q) => ({ pairs: Object.entries(q) as Pairs, raw: false }))
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(fc.oneof(addressable, segment), metric, queryPairs([]), fc.constant(false)),
          fc.tuple(addressable, fc.constantFrom('temp', 'latencyMs', 'other'), valid, fc.constant(true)),
        ),
        async ([id, m, q, mustAnswer]) => {
          const path = `/v1/devices/${id}/series/${m}${queryString(q)}`
          const res = await get(shared.app, path)
          expect([200, 400, 404], `${path} -> ${res.status} ${res.text}`).toContain(res.status)
          if (mustAnswer) expect(res.status, `${path} -> ${res.text}`).toBe(200)
          if (res.status !== 200) {
            expectErrorShape(res, path)
            return
          }
          const series = JSON.parse(res.text) as {
            deviceId: string
            metric: string
            samples: number
            values: { ts: string; value: unknown; score: number; anomalies: unknown[] }[]
            windows: unknown[]
          }
          expect(series.samples).toBeTypeOf('number')
          expect(Array.isArray(series.windows)).toBe(true)
          for (const v of series.values) {
            expect(v.value, `${path}: a series value`).toBeTypeOf('number')
            expect(v.score).toBeTypeOf('number')
            expect(Array.isArray(v.anomalies)).toBe(true)
          }
        },
      ),
      { numRuns: runs(150) },
    )
  })
})
