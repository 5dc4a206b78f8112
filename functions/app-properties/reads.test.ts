// Property tests of the read routes (lists, export, series) over one seeded store: any query gets
// a page, NDJSON records, the series, or a 400/404, and following `next` never errors.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  addressable,
  forgeCursor,
  KINDS,
  LIST_ROUTES,
  type Obj,
  type Pairs,
  queryPairs,
  queryString,
  segment,
  validTime,
} from './arbitraries.js'
import {
  bytesOf,
  expectErrorShape,
  exportRecords,
  get,
  getJson,
  type Harness,
  ingestNdjson,
  openApp,
  type Page,
  POOL,
  runs,
} from './harness.js'

// ---------------------------------------------------------------------------------------------
// Read routes: any query is a page or a 400; following `next` never errors
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
    const res = await ingestNdjson(shared.app, bytesOf(lines.join('\n')))
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
