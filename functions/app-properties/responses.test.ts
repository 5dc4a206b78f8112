// Property tests over any request to any route: the app never answers a 5xx, and answers every
// non-2xx in the one error shape (ARCHITECTURE.md, "Errors are values").
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  addressable,
  anyAuth,
  anyBody,
  anyContentType,
  anyEncoding,
  anyKey,
  JSON_TYPES,
  LIST_ROUTES,
  NDJSON_TYPES,
  queryPairs,
  queryString,
  readAuth,
  segment,
} from './arbitraries.js'
import { describeReq, expectErrorShape, req, runs, send, withApp } from './harness.js'

// Requests to every route.

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
// Any request to any route: never a 5xx; every error in the one error shape
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
