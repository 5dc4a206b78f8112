// Property tests for apps and deployments: whatever bytes are uploaded (random, truncated, flipped
// or spliced modules), whatever the query, the deployment request or a device's report of its
// apps, the server answers in the one error shape and never fails: an app upload is 201 or 400
// `invalid_app` with a reason, and the server never runs what it was sent.
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { custom, minimalApp } from '../../firmware/apps/wasm/testing/assemble.js'
import { buildFixture } from '../../firmware/apps/wasm/testing/fixtures.js'
import { testDevice } from '../../test/device-client.js'
import { ADMIN, bytesOf, expectErrorShape, type Harness, req, runs, send, withApp } from './harness.js'

let real: Uint8Array[]
beforeAll(async () => {
  // Modules as AssemblyScript builds them, and the smallest valid one.
  real = [await buildFixture('counter'), await buildFixture('bulk'), minimalApp()]
}, 60_000)

/** Bytes that are almost a module: truncated, with bytes flipped, or with a slice of another spliced in. */
const damaged = fc
  .record({
    which: fc.nat(),
    cut: fc.nat(),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }),
    splice: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 64 }))),
  })
  .map(({ which, cut, flips, splice }) => {
    const source = real[which % real.length]!
    let bytes = Uint8Array.from(source.subarray(0, cut % (source.length + 1)))
    if (splice && bytes.length > 0) {
      const at = splice[0] % bytes.length
      bytes = Uint8Array.from([...bytes.subarray(0, at), ...splice[1], ...bytes.subarray(at)])
    }
    for (const [i, x] of flips) if (bytes.length > 0) bytes[i % bytes.length]! ^= x
    return bytes
  })

const anyModuleBytes = fc.oneof(
  { weight: 4, arbitrary: damaged },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4096 }) },
  // The magic and version, then anything.
  {
    weight: 2,
    arbitrary: fc
      .uint8Array({ maxLength: 512 })
      .map((b) => Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...b])),
  },
)

const upload = (h: Harness, bytes: Uint8Array, query = 'name=p&version=1') =>
  send(
    h.app,
    req(
      'POST',
      `/v1/apps?${query}`,
      [
        ['Authorization', ADMIN],
        ['Content-Type', 'application/wasm'],
      ],
      bytes,
    ),
  )

describe('app uploads', () => {
  it('any bytes: 201, or 400 invalid_app with a reason; never a failure', async () => {
    await withApp(async (h) => {
      let version = 0
      await fc.assert(
        fc.asyncProperty(anyModuleBytes, async (bytes) => {
          const res = await upload(h, bytes, `name=p&version=${++version}`)
          if (res.status === 201) return
          expect(res.status, res.text).toBe(400)
          const error = expectErrorShape(res, 'upload')
          expect(error.code).toBe('invalid_app')
          expect(error.message.length).toBeGreaterThan(10)
        }),
        { numRuns: runs(400) },
      )
      expect(h.errors).toEqual([])
    })
  })

  it('the real modules are accepted, each truncation of them refused', async () => {
    await withApp(async (h) => {
      const counter = real[0]!
      expect((await upload(h, counter, 'name=c&version=1&memoryPages=4')).status).toBe(201)
      for (let cut = 0; cut < counter.length; cut += Math.max(1, Math.floor(counter.length / 60))) {
        const res = await upload(h, counter.subarray(0, cut), `name=c&version=cut-${cut}&memoryPages=4`)
        expect(res.status, `cut at ${cut}: ${res.text}`).toBe(400)
        expect(expectErrorShape(res, `cut at ${cut}`).code).toBe('invalid_app')
      }
    })
  })

  it('any query: a release with bounded limits, or 400', async () => {
    const value = fc.oneof(
      fc.constantFrom(
        '0',
        '-1',
        '1',
        '1e9',
        '9e99',
        'NaN',
        '',
        'x',
        '4',
        '256',
        '257',
        'add',
        'replace',
        'both',
      ),
      fc.string({ maxLength: 40 }),
    )
    const key = fc.constantFrom(
      'name',
      'version',
      'memoryPages',
      'fuel',
      'tickMs',
      'wallMs',
      'maxRestarts',
      'telemetry',
      'other',
    )
    await withApp(async (h) => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(key, value), { maxLength: 8 }), async (pairs) => {
          const query = new URLSearchParams(pairs).toString()
          const res = await upload(h, minimalApp({ extra: [custom('q', [...bytesOf(query)])] }), query)
          if (res.status === 201) {
            const app = JSON.parse(res.text) as { limits: Record<string, number> }
            expect(app.limits.memoryPages).toBeLessThanOrEqual(256)
            expect(app.limits.wallMs).toBeLessThanOrEqual(60_000)
            return
          }
          expect([400, 409], res.text).toContain(res.status)
          expectErrorShape(res, res.text)
        }),
        { numRuns: runs(200) },
      )
      expect(h.errors).toEqual([])
    })
  })

  it('refuses other content types and bodies past the limit without reading them whole', async () => {
    await withApp(async (h) => {
      const json = await send(
        h.app,
        req(
          'POST',
          '/v1/apps?name=a&version=1',
          [
            ['Authorization', ADMIN],
            ['Content-Type', 'application/json'],
          ],
          minimalApp(),
        ),
      )
      expect(json.status).toBe(415)
      const big = await send(
        h.app,
        req(
          'POST',
          '/v1/apps?name=a&version=1',
          [
            ['Authorization', ADMIN],
            ['Content-Type', 'application/wasm'],
            ['Content-Length', String(100 << 20)],
          ],
          new Uint8Array(1024),
        ),
      )
      expect([big.status, expectErrorShape(big, 'oversized').code]).toEqual([400, 'invalid_app'])
    })
  })
})

describe('deployments and device reports', () => {
  it('any deployment request: 201, or a 4xx in the error shape', async () => {
    const anyJson = fc.jsonValue({ maxDepth: 3 })
    const rollout = fc.record(
      {
        batches: fc.oneof(
          anyJson,
          fc.array(fc.oneof(fc.integer(), fc.constantFrom('10%', '100%', '0%', '200%', '%'))),
        ),
        bake: fc.oneof(anyJson, fc.constantFrom('10s', '0', 0, -1, '1y')),
        maxFailures: fc.oneof(anyJson, fc.constantFrom(0, 0.5, 1, 2, '10%')),
        healthGate: fc.oneof(anyJson, fc.constant(true), fc.record({ margin: anyJson })),
      },
      { requiredKeys: [] },
    )
    await withApp(async (h) => {
      const made = JSON.parse((await upload(h, minimalApp())).text) as { id: string }
      const token = await enrolmentToken(h)
      const d = await testDevice(async (path, init) => h.app.request(path, init))
      await d.enrol(token)
      const body = fc.record(
        {
          app: fc.oneof(fc.constant(made.id), fc.string({ maxLength: 80 })),
          target: fc.oneof(
            fc.constant({ labels: { site: 'p' } }),
            fc.constant({ devices: [d.deviceId] }),
            fc.record({ devices: fc.array(fc.string(), { maxLength: 5 }) }),
            anyJson,
          ),
          rollout,
        },
        { requiredKeys: [] },
      )
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          const res = await send(
            h.app,
            req(
              'POST',
              '/v1/deployments',
              [
                ['Authorization', ADMIN],
                ['Content-Type', 'application/json'],
              ],
              bytesOf(JSON.stringify(b)),
            ),
          )
          if (res.status === 201) return
          expect([400, 404], res.text).toContain(res.status)
          expectErrorShape(res, res.text)
        }),
        { numRuns: runs(200) },
      )
      expect(h.errors).toEqual([])
    })
  })

  it("any report of a device's apps: the heartbeat is answered and the deployment stays readable", async () => {
    await withApp(async (h) => {
      const made = JSON.parse((await upload(h, minimalApp())).text) as { id: string }
      const d = await testDevice(async (path, init) => h.app.request(path, init))
      await d.enrol(await enrolmentToken(h))
      await d.login()
      const res = await send(
        h.app,
        req(
          'POST',
          '/v1/deployments',
          [
            ['Authorization', ADMIN],
            ['Content-Type', 'application/json'],
          ],
          bytesOf(JSON.stringify({ app: made.id, target: { devices: [d.deviceId] } })),
        ),
      )
      const deployment = JSON.parse(res.text) as { id: string }
      const report = fc.record(
        {
          appId: fc.oneof(fc.constant(made.id), fc.string(), fc.integer()),
          deploymentId: fc.oneof(fc.constant(deployment.id), fc.string(), fc.constant(null)),
          state: fc.oneof(
            fc.constantFrom(
              'pending',
              'downloading',
              'starting',
              'running',
              'failed',
              'stopped',
              'rolled_back',
              'deferred',
            ),
            fc.string(),
          ),
          reason: fc.oneof(fc.string({ maxLength: 2000 }), fc.jsonValue()),
          ticks: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.array(fc.oneof(report, fc.jsonValue()), { maxLength: 8 }), fc.jsonValue()),
          async (apps) => {
            const beat = await d.heartbeat({ uptimeMs: 1, apps })
            expect([200, 400]).toContain(beat.status)
            const view = await send(
              h.app,
              req('GET', `/v1/deployments/${deployment.id}`, [['Authorization', ADMIN]]),
            )
            expect(view.status, view.text).toBe(200)
            const parsed = JSON.parse(view.text) as { devices: { items: { reason: string | null }[] } }
            expect(parsed.devices.items[0]!.reason?.length ?? 0).toBeLessThanOrEqual(500)
          },
        ),
        { numRuns: runs(150) },
      )
      expect(h.errors).toEqual([])
    })
  })
})

async function enrolmentToken(h: Harness): Promise<string> {
  const res = await send(
    h.app,
    req(
      'POST',
      '/v1/fleet/enrolment-tokens',
      [
        ['Authorization', ADMIN],
        ['Content-Type', 'application/json'],
      ],
      bytesOf(JSON.stringify({ labels: { site: 'p' }, maxUses: 10 })),
    ),
  )
  return (JSON.parse(res.text) as { token: string }).token
}
