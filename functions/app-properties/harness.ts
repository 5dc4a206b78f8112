// The app under test, opened in process on a real SQLite store in memory, and how requests reach it:
// sending one, reading a list or an export page by page, checking the one error shape.
import fc from 'fast-check'
import { beforeAll, expect } from 'vitest'
import type { Kernel } from '../../kernels/host/kernel.js'
import { loadNodeKernel } from '../../kernels/node.js'
import { type App, createApp } from '../app.js'
import { type AnalysisConfig, resolveAnalysisConfig } from '../domain/analysis-config.js'
import type { Store } from '../store/port.js'
import { openSqliteStore } from '../store/sqlite.js'

/** EDGEWATCH_PROPERTY_RUNS=10 runs every property ten times as long (a deeper search, not for CI). */
const RUNS_SCALE = Number(process.env.EDGEWATCH_PROPERTY_RUNS ?? 1) || 1
export const runs = (n: number) => Math.max(1, Math.round(n * RUNS_SCALE))

const tokens = {
  ingest: ['ingest-token-0123456789', 'ingest-token-rotated-0123'],
  admin: ['admin-token-0123456789'],
}
export const ADMIN = `Bearer ${tokens.admin[0]}`
export const INGEST = `Bearer ${tokens.ingest[0]}`
export const ROTATED = `Bearer ${tokens.ingest[1]}`
/** The admin and an ingest token as strings, for spelling variants and near misses. */
export const ADMIN_TOKEN = tokens.admin[0]!
export const INGEST_TOKEN = tokens.ingest[0]!
export const LIMIT = 64 * 1024

// The hook joins each test file that imports this module (vitest gives every file its own modules).
let kernel: Kernel
let analysis: AnalysisConfig
beforeAll(async () => {
  kernel = await loadNodeKernel()
  analysis = resolveAnalysisConfig({})
})

export interface Harness {
  app: App
  store: Store
  /** The error lines the app logged (one per 500, with the stack). */
  errors: string[]
}

export function openApp(): Harness {
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

/** The device ids the seeded stores hold, and the ones the generators favour. */
export const POOL = [
  'pump-1',
  'pump-2',
  'a',
  'ü-sensor',
  'a/b',
  'a%2Fb',
  '100%',
  '日本',
  'x y',
  '..',
  '🙂',
  'a?b#c',
]

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
export async function withApp<T>(run: (h: Harness) => Promise<T>, seeded = false): Promise<T> {
  const h = openApp()
  try {
    if (seeded) {
      const res = await ingestNdjson(h.app, seedBody())
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

export interface Res {
  status: number
  headers: Headers
  text: string
}

const encoder = new TextEncoder()
export const bytesOf = (s: string) => encoder.encode(s)

const utf8Lossy = new TextDecoder()

/** How fast-check prints a request in a counterexample: readable, bodies as text when they are text. */
export function describeReq(r: Req): string {
  const body =
    r.body === undefined
      ? ''
      : ` body(${r.body.byteLength} bytes)=${JSON.stringify(utf8Lossy.decode(r.body.subarray(0, 600)))}`
  return `${r.method} ${r.path} ${JSON.stringify(r.headers)}${body}`
}

export function req(
  method: string,
  path: string,
  headers: [string, string | undefined][],
  body?: Uint8Array,
): Req {
  const r: Req = {
    method,
    path,
    headers: headers.filter((h): h is [string, string] => h[1] !== undefined),
    body: body === undefined ? undefined : new Uint8Array(body),
  }
  Object.defineProperty(r, fc.toStringMethod, { value: () => describeReq(r), enumerable: false })
  return r
}

export async function send(app: App, r: Req): Promise<Res> {
  const res = await app.fetch(
    new Request(`http://localhost${r.path}`, { method: r.method, headers: r.headers, body: r.body }),
  )
  return { status: res.status, headers: res.headers, text: await res.text() }
}

export const get = (app: App, path: string) => send(app, req('GET', path, [['Authorization', ADMIN]]))

/** POST /v1/ingest of an NDJSON body with the ingest token, as seeding a store does. */
export const ingestNdjson = (app: App, body: Uint8Array) =>
  send(
    app,
    req(
      'POST',
      '/v1/ingest',
      [
        ['Authorization', INGEST],
        ['Content-Type', 'application/x-ndjson'],
      ],
      body,
    ),
  )

export async function getJson<T>(app: App, path: string): Promise<T> {
  const res = await get(app, path)
  expect(res.status, `${path}: ${res.text}`).toBe(200)
  return JSON.parse(res.text) as T
}

export interface Page<T> {
  items: T[]
  next: string | null
}

/** Every item of a list route, page by page. */
export async function listAll<T>(app: App, path: string): Promise<T[]> {
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

export type Line = Record<string, unknown>

/** The record lines of an export, after checking its last line says it is complete. */
export function exportRecords(text: string, what: string): Line[] {
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
export async function exported(app: App): Promise<Line[]> {
  const res = await get(app, '/v1/export')
  expect(res.status, res.text).toBe(200)
  return exportRecords(res.text, '/v1/export')
}

export interface DeviceItem {
  deviceId: string
  recordCount: number
}
export interface DeadLetterItem {
  id: number
  position: string
  reason: string
  raw: string
}

export interface IngestResult {
  accepted: number
  rejectedCount: number
  rejected: { index?: number; line?: number; reason: string }[]
  anomalies: unknown[]
}

interface ErrorBody {
  error: { code: string; message: string; details: unknown }
}

/** The one error shape, with its content type. */
export function expectErrorShape(res: Res, what: string): ErrorBody['error'] {
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
