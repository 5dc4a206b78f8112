// The fleet through the app: enrolment and its refusals, device credentials (forged, replayed,
// expired, revoked), device scoping on ingest, heartbeats and status on a fake clock, events, the
// unreachable sweep, the relay. A small client here speaks the protocol from its description.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Kernel } from '../../../kernels/host/kernel.js'
import { loadNodeKernel } from '../../../kernels/node.js'
import { testDevice } from '../../../test/device-client.js'
import { type App, createApp } from '../../app.js'
import { Metrics } from '../../observability/metrics.js'
import { openSqliteStore } from '../../store/sqlite.js'
import { resolveAnalysisConfig } from '../analysis-config.js'
import { base64url, signed } from './crypto.js'
import { sweepUnreachable } from './sweeper.js'

const ADMIN = 'fleet-admin-token-01'
const INGEST = 'fleet-ingest-token-1'
const T0 = Date.UTC(2026, 10, 30, 12)

let kernel: Kernel
beforeAll(async () => {
  kernel = await loadNodeKernel()
})

let app: App
let clock: { now: number }
let store: ReturnType<typeof openSqliteStore>
let metrics: Metrics
beforeEach(() => {
  clock = { now: T0 }
  store = openSqliteStore(':memory:')
  metrics = new Metrics()
  app = createApp({
    store,
    kernel,
    analysis: resolveAnalysisConfig({}),
    tokens: { ingest: [INGEST], admin: [ADMIN] },
    bodyLimitBytes: 1 << 20,
    now: () => clock.now,
    metrics,
    fleet: { heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 30_000 },
  })
})

const call = (
  path: string,
  init: {
    method?: string
    token?: string
    body?: unknown
    raw?: string
    headers?: Record<string, string>
  } = {},
) =>
  app.request(path, {
    method: init.method ?? 'POST',
    headers: {
      ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
      'Content-Type': 'application/json',
      ...init.headers,
    },
    ...(init.body !== undefined || init.raw !== undefined
      ? { body: init.raw ?? JSON.stringify(init.body) }
      : {}),
  })
const admin = (path: string, init: Parameters<typeof call>[1] = {}) =>
  call(path, { method: 'GET', token: ADMIN, ...init })
const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

async function enrolmentToken(body: Record<string, unknown> = {}): Promise<string> {
  const res = await admin('/v1/fleet/enrolment-tokens', { method: 'POST', body })
  expect(res.status).toBe(201)
  return ((await res.json()) as { token: string }).token
}

/** A device speaking the protocol to the in-process app, on the fake clock. */
const device = () =>
  testDevice(
    async (path, init) => app.request(path, init),
    () => clock.now,
  )

async function enrolled(labels: Record<string, string> = {}) {
  const d = await device()
  expect((await d.enrol(await enrolmentToken({ labels }))).status).toBe(201)
  expect((await d.login()).status).toBe(200)
  return d
}

const statusOf = async (deviceId: string) =>
  ((await (await admin(`/v1/devices/${deviceId}`)).json()) as { status: string }).status
const events = async (deviceId: string) =>
  ((await (await admin(`/v1/devices/${deviceId}/events`)).json()) as { items: { kind: string }[] }).items
    .map((e) => e.kind)
    .reverse()

describe('enrolment', () => {
  it('enrols a device under an id from its key, with the token labels, once per key', async () => {
    const token = await enrolmentToken({ labels: { site: 'plant-3' }, maxUses: 2 })
    const d = await device()
    const first = await d.enrol(token)
    expect(first.status).toBe(201)
    const body = (await first.json()) as { deviceId: string; labels: object; status: string }
    expect(body).toMatchObject({ labels: { site: 'plant-3' }, status: 'pending' })
    expect(body.deviceId).toMatch(/^dev-[A-Za-z0-9_-]{22}$/)
    // The same key again: the same device, and no use of the token spent.
    const again = await d.enrol(token)
    expect(again.status).toBe(200)
    expect(((await again.json()) as { deviceId: string }).deviceId).toBe(body.deviceId)
    const tokens = (await (await admin('/v1/fleet/enrolment-tokens')).json()) as { items: { uses: number }[] }
    expect(tokens.items[0]!.uses).toBe(1)
    expect(JSON.stringify(tokens)).not.toContain(token)
    expect(await events(body.deviceId)).toEqual(['enrolled'])
  })

  it('refuses unknown, used-up, expired and revoked enrolment tokens', async () => {
    expect(await code(await (await device()).enrol('ewe_nope'))).toBe('invalid_enrolment_token')
    const once = await enrolmentToken({ maxUses: 1 })
    expect((await (await device()).enrol(once)).status).toBe(201)
    const used = await (await device()).enrol(once)
    expect([used.status, await code(used)]).toEqual([401, 'enrolment_token_used_up'])
    const short = await enrolmentToken({ expiresIn: '1m' })
    clock.now += 60_001
    expect(await code(await (await device()).enrol(short))).toBe('enrolment_token_expired')
    const revoked = await enrolmentToken()
    const list = (await (await admin('/v1/fleet/enrolment-tokens')).json()) as { items: { id: string }[] }
    const revokedAnswer = await admin(`/v1/fleet/enrolment-tokens/${list.items[0]!.id}/revoke`, {
      method: 'POST',
    })
    expect(await revokedAnswer.json()).toMatchObject({ revokedAt: new Date(T0 + 60_001).toISOString() })
    expect(await code(await (await device()).enrol(revoked))).toBe('enrolment_token_revoked')
    expect(metrics.enrolments.get()).toBe(1)
  })

  it('refuses a forged signature, another key, a bad key and a replay past the window', async () => {
    const token = await enrolmentToken({ maxUses: 10 })
    const d = await device()
    const body = await d.enrolBody()
    const forged = { ...body, signature: base64url(new Uint8Array(64)) }
    expect(await code(await call('/v1/device/enrol', { token, body: forged }))).toBe('invalid_signature')
    const other = await device()
    const swapped = { ...body, signature: (await other.enrolBody()).signature }
    expect(await code(await call('/v1/device/enrol', { token, body: swapped }))).toBe('invalid_signature')
    const badKey = { ...body, publicKey: { kty: 'EC', crv: 'P-384', x: 'a', y: 'b' } }
    expect(await code(await call('/v1/device/enrol', { token, body: badKey }))).toBe('invalid_public_key')
    // A captured enrolment replayed 11 minutes later.
    clock.now += 11 * 60_000
    expect(await code(await call('/v1/device/enrol', { token, body }))).toBe('stale_timestamp')
    expect(await code(await call('/v1/device/enrol', { token, raw: '{"publicKey":' }))).toBe('invalid_body')
  })
})

describe('device credentials', () => {
  it('gives a token for a signed challenge, once per challenge', async () => {
    const d = await enrolled()
    const challenge = await d.challenge()
    const signature = await d.sign(signed.token(d.deviceId, challenge))
    const ok = await call('/v1/device/token', { body: { deviceId: d.deviceId, challenge, signature } })
    expect(ok.status).toBe(200)
    // The same captured request again: the challenge is used up.
    const replay = await call('/v1/device/token', { body: { deviceId: d.deviceId, challenge, signature } })
    expect([replay.status, await code(replay)]).toEqual([401, 'invalid_challenge'])
  })

  it('refuses a signature by another key, and burns the challenge', async () => {
    const d = await enrolled()
    const thief = await device()
    const challenge = await d.challenge()
    const forged = await thief.sign(signed.token(d.deviceId, challenge))
    expect(
      await code(
        await call('/v1/device/token', { body: { deviceId: d.deviceId, challenge, signature: forged } }),
      ),
    ).toBe('invalid_signature')
    const honest = await d.sign(signed.token(d.deviceId, challenge))
    expect(
      await code(
        await call('/v1/device/token', { body: { deviceId: d.deviceId, challenge, signature: honest } }),
      ),
    ).toBe('invalid_challenge')
  })

  it('refuses an expired challenge and an expired token', async () => {
    const d = await enrolled()
    const challenge = await d.challenge()
    clock.now += 61_000
    const signature = await d.sign(signed.token(d.deviceId, challenge))
    expect(
      await code(await call('/v1/device/token', { body: { deviceId: d.deviceId, challenge, signature } })),
    ).toBe('invalid_challenge')
    await d.login()
    expect((await d.heartbeat()).status).toBe(200)
    clock.now += 15 * 60_000 + 1
    const late = await d.heartbeat()
    expect([late.status, await code(late)]).toEqual([401, 'token_expired'])
  })

  it('refuses a revoked device at once, everywhere, and for good', async () => {
    const d = await enrolled()
    expect((await d.heartbeat()).status).toBe(200)
    expect((await admin(`/v1/devices/${d.deviceId}/revoke`, { method: 'POST' })).status).toBe(200)
    for (const res of [await d.heartbeat(), await d.ingest([{ ts: T0, v: 1 }])])
      expect([res.status, await code(res)]).toEqual([403, 'device_revoked'])
    expect(await code(await call('/v1/device/challenge', { body: { deviceId: d.deviceId } }))).toBe(
      'device_revoked',
    )
    expect(
      await code(
        await call('/v1/device/enrol', { token: await enrolmentToken(), body: await d.enrolBody() }),
      ),
    ).toBe('device_revoked')
    expect(await statusOf(d.deviceId)).toBe('revoked')
    expect(await events(d.deviceId)).toEqual(['enrolled', 'connected', 'revoked'])
  })

  it('lets a device token open only ingest and the device routes', async () => {
    const d = await enrolled()
    const res = await call('/v1/devices', { method: 'GET', token: d.token })
    expect([res.status, await code(res)]).toEqual([403, 'forbidden'])
    expect(await code(await call('/v1/device/heartbeat', { token: ADMIN, body: {} }))).toBe('unauthorized')
    expect(await code(await call('/v1/device/heartbeat', { token: 'ewd_forged', body: {} }))).toBe(
      'invalid_token',
    )
    expect(await code(await call('/v1/device/challenge', { body: { deviceId: 'dev-nobody' } }))).toBe(
      'unknown_device',
    )
  })
})

describe('ingest under a device credential', () => {
  it('takes records of the device itself (deviceId may be left out) and nothing of another', async () => {
    const d = await enrolled()
    const ok = await d.ingest([
      { ts: T0, v: 1 },
      { deviceId: d.deviceId, ts: T0 + 1, v: 2 },
    ])
    expect(((await ok.json()) as { accepted: number }).accepted).toBe(2)
    const foreign = await d.ingest([
      { ts: T0 + 2, v: 3 },
      { deviceId: 'pump-1', ts: T0 + 3, v: 4 },
    ])
    expect([foreign.status, await code(foreign)]).toEqual([403, 'forbidden_device'])
    const device = (await (await admin(`/v1/devices/${d.deviceId}`)).json()) as { recordCount: number }
    expect(device.recordCount).toBe(2)
    expect((await admin('/v1/devices/pump-1')).status).toBe(404)
    // The shared ingest token still writes any device, as gateways and log shippers need.
    const shared = await call('/v1/ingest', {
      token: INGEST,
      raw: JSON.stringify({ deviceId: 'pump-1', ts: T0, v: 1 }),
    })
    expect(shared.status).toBe(200)
  })

  it('keeps each device its own Idempotency-Keys', async () => {
    const a = await enrolled()
    const b = await enrolled()
    expect((await a.ingest([{ ts: T0, v: 1 }], 'batch-1')).status).toBe(200)
    const other = await b.ingest([{ ts: T0, v: 2 }], 'batch-1')
    expect(other.status).toBe(200)
    expect(other.headers.get('idempotent-replayed')).toBeNull()
    expect((await a.ingest([{ ts: T0, v: 1 }], 'batch-1')).headers.get('idempotent-replayed')).toBe('true')
  })
})

describe('status and events', () => {
  it('goes pending, connected, unreachable (with an event and an anomaly), connected, disconnected', async () => {
    const d = await enrolled({ line: 'a' })
    expect(await statusOf(d.deviceId)).toBe('pending')
    const beat = await d.heartbeat({ uptimeMs: 5, agentVersion: '0.2.0', outboxDepth: 3 })
    expect(await beat.json()).toEqual({
      intervalMs: 10_000,
      timeoutMs: 30_000,
      serverTime: T0,
      status: 'connected',
      apps: [],
    })
    const shown = (await (await admin(`/v1/devices/${d.deviceId}`)).json()) as Record<string, unknown>
    expect(shown).toMatchObject({
      status: 'connected',
      name: 'pump-7',
      labels: { line: 'a' },
      agentVersion: '0.2.0',
      heartbeat: { uptimeMs: 5, agentVersion: '0.2.0', outboxDepth: 3 },
      lastTs: null,
      recordCount: 0,
    })
    clock.now += 30_001
    expect(await statusOf(d.deviceId)).toBe('unreachable')
    expect(await sweepUnreachable(store.fleet, metrics, clock.now, 30_000)).toBe(1)
    expect(await sweepUnreachable(store.fleet, metrics, clock.now, 30_000)).toBe(0)
    const anomalies = (await (await admin(`/v1/anomalies?deviceId=${d.deviceId}`)).json()) as {
      items: { kind: string; ts: string }[]
    }
    expect(anomalies.items).toEqual([
      expect.objectContaining({ kind: 'device_unreachable', ts: new Date(T0 + 30_000).toISOString() }),
    ])
    // The sweep's anomaly counts in the device's last hour, like those found in its records.
    expect(await (await admin(`/v1/devices/${d.deviceId}`)).json()).toMatchObject({
      lastHour: { records: 0, anomalies: 1 },
    })
    clock.now += 5000
    await d.login()
    await d.heartbeat()
    expect(await statusOf(d.deviceId)).toBe('connected')
    expect((await call('/v1/device/goodbye', { token: d.token })).status).toBe(200)
    expect(await statusOf(d.deviceId)).toBe('disconnected')
    expect(await events(d.deviceId)).toEqual([
      'enrolled',
      'connected',
      'unreachable',
      'connected',
      'disconnected',
    ])
  })

  it('lists devices with their status, filtered by status and label; unmanaged ones too', async () => {
    const a = await enrolled({ site: 'north' })
    await enrolled({ site: 'south' })
    await a.heartbeat()
    await call('/v1/ingest', { token: INGEST, raw: JSON.stringify({ deviceId: 'legacy-1', ts: T0, v: 1 }) })
    const list = async (q: string) =>
      ((await (await admin(`/v1/devices?${q}`)).json()) as { items: { deviceId: string; status: string }[] })
        .items
    expect((await list('')).map((d) => d.status).sort()).toEqual(['connected', 'pending', 'unmanaged'])
    expect((await list('status=connected')).map((d) => d.deviceId)).toEqual([a.deviceId])
    expect((await list('label=site%3Dnorth')).map((d) => d.deviceId)).toEqual([a.deviceId])
    expect((await list('status=unmanaged')).map((d) => d.deviceId)).toEqual(['legacy-1'])
    expect((await admin('/v1/devices?status=asleep')).status).toBe(400)
    const metricsText = await (await app.request('/metrics')).text()
    expect(metricsText).toMatch(/^edgewatch_devices\{status="connected"\} 1$/m)
    expect(metricsText).toMatch(/^edgewatch_devices\{status="pending"\} 1$/m)
    expect(metricsText).toMatch(/^edgewatch_heartbeats_total 1$/m)
  })

  it('renames and relabels a device', async () => {
    const d = await enrolled()
    const res = await admin(`/v1/devices/${d.deviceId}`, {
      method: 'PATCH',
      body: { name: 'pump-8', labels: { a: 'b' } },
    })
    expect(await res.json()).toMatchObject({ name: 'pump-8', labels: { a: 'b' } })
    expect(
      await code(await admin(`/v1/devices/${d.deviceId}`, { method: 'PATCH', body: { colour: 'red' } })),
    ).toBe('invalid_request')
    expect((await admin('/v1/devices/nobody', { method: 'PATCH', body: { name: 'x' } })).status).toBe(404)
    expect(await events('nobody')).toEqual([])
  })
})

describe('the gateway relay', () => {
  it('answers each part as if it came alone', async () => {
    const a = await enrolled()
    const b = await enrolled()
    const part = (token: string, path: string, body: string, type = 'application/json') => ({
      method: 'POST',
      path,
      headers: { authorization: `Bearer ${token}`, 'content-type': type },
      body,
    })
    const res = await call('/v1/gateway/relay', {
      body: {
        parts: [
          part(a.token, '/v1/ingest', JSON.stringify({ ts: T0, v: 1 })),
          part(b.token, '/v1/device/heartbeat', '{}'),
          part(b.token, '/v1/ingest', JSON.stringify({ deviceId: a.deviceId, ts: T0, v: 1 })),
          part('ewd_nope', '/v1/ingest', '{}'),
        ],
      },
    })
    expect(res.status).toBe(200)
    const parts = ((await res.json()) as { parts: { status: number; body: string }[] }).parts
    expect(parts.map((p) => p.status)).toEqual([200, 200, 403, 401])
    expect(JSON.parse(parts[0]!.body)).toMatchObject({ accepted: 1 })
    expect(JSON.parse(parts[2]!.body).error.code).toBe('forbidden_device')
    expect(await statusOf(b.deviceId)).toBe('connected')
    const bad = await call('/v1/gateway/relay', {
      body: { parts: [{ ...part(a.token, '/v1/devices', ''), method: 'POST' }] },
    })
    expect([bad.status, await code(bad)]).toEqual([400, 'invalid_request'])
  })
})
