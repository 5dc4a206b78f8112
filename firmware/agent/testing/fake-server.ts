// An edgewatch server for tests, as a fetch function: it really implements the device protocol
// (enrolment with signature and timestamp checks, single-use challenges, expiring tokens, idempotent
// ingest bound to the body, heartbeats, goodbye, the gateway relay) and keeps what it stored, so
// tests can check that nothing was lost or stored twice. Its network can be switched off, answers can
// be lost after the work was done, and any path can be made to fail for a while.
import { randomId } from '../encoding.js'
import { enrolMessage, type PublicJwk, thumbprint, tokenMessage, verify } from '../identity.js'
import type { Clock } from '../ports.js'
import type { FetchLike, TransportRequest, TransportResponse } from '../transport.js'

export interface FakeServerOptions {
  clock: Clock
  /** Enrolment tokens and how many devices each may enrol (default: `enrol-token`, unlimited). */
  enrolmentTokens?: Record<string, { uses?: number; expiresAt?: number }>
  tokenTtlMs?: number
  challengeTtlMs?: number
  heartbeatIntervalMs?: number
  maxSkewMs?: number
  bodyLimit?: number
}

export interface FakeDevice {
  id: string
  thumbprint: string
  publicKey: PublicJwk
  name: string | null
  agent: unknown
  revoked: boolean
  heartbeats: Array<Record<string, unknown>>
  goodbyes: number
}

export interface StoredRecord {
  deviceId: string
  ts: number
  [field: string]: unknown
}

export interface LogEntry {
  at: number
  method: string
  path: string
  /** The status answered, or what happened to the request instead. */
  status: number | 'offline' | 'lost'
  relayed: boolean
  /** For /v1/gateway/relay: how many parts. */
  parts?: number
  idempotencyKey?: string
  deviceId?: string
}

interface Failure {
  remaining: number
  status: number
  code: string
  headers: Record<string, string>
}

export interface FakeServer {
  fetch: FetchLike
  /** False: every request fails as a network error, before the server sees it. */
  online: boolean
  /** The next `n` requests to `path` are handled (committed), then their answers are lost. */
  loseAnswers(path: string, n: number): void
  /** The next `n` requests to `path` get this error answer instead of being handled. */
  failNext(path: string, n: number, status: number, code: string, headers?: Record<string, string>): void
  revoke(deviceId: string): void
  /** Every device token issued so far answers 401 token_expired from now on. */
  expireTokens(): void
  /** Forgets every device, token and challenge, as a server whose fleet data was reset. */
  forgetDevices(): void
  readonly devices: Map<string, FakeDevice>
  /** Committed records, in commit order. */
  readonly records: StoredRecord[]
  /** Committed batches by Idempotency-Key. */
  readonly batches: Map<string, { deviceId: string; body: string; records: number }>
  readonly log: LogEntry[]
  /** Log entries for a path (the relayed parts included), optionally only those answered `status`. */
  requests(path: string, status?: number): LogEntry[]
  /** Records stored more than once (by deviceId and ts): must stay empty. */
  duplicates(): StoredRecord[]
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): TransportResponse => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
})
const error = (status: number, code: string, message: string, details: unknown = null, headers = {}) =>
  json(status, { error: { code, message, details } }, headers)

export function createFakeServer(options: FakeServerOptions): FakeServer {
  const { clock } = options
  const tokenTtlMs = options.tokenTtlMs ?? 15 * 60_000
  const challengeTtlMs = options.challengeTtlMs ?? 60_000
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 30_000
  const maxSkewMs = options.maxSkewMs ?? 5 * 60_000
  const bodyLimit = options.bodyLimit ?? 8 * 1024 * 1024
  const enrolmentTokens = new Map(
    Object.entries(options.enrolmentTokens ?? { 'enrol-token': {} }).map(([t, o]) => [
      t,
      {
        uses: o.uses ?? Number.POSITIVE_INFINITY,
        used: 0,
        expiresAt: o.expiresAt ?? Number.POSITIVE_INFINITY,
      },
    ]),
  )
  const devices = new Map<string, FakeDevice>()
  const byThumbprint = new Map<string, FakeDevice>()
  const challenges = new Map<string, { deviceId: string; expiresAt: number }>()
  const tokens = new Map<string, { deviceId: string; expiresAt: number }>()
  const idempotency = new Map<string, { body: string; answer: TransportResponse }>()
  const batches = new Map<string, { deviceId: string; body: string; records: number }>()
  const records: StoredRecord[] = []
  const log: LogEntry[] = []
  const lose = new Map<string, number>()
  const failures = new Map<string, Failure>()

  const deviceOf = (req: TransportRequest): FakeDevice | TransportResponse => {
    const token = bearer(req)
    const entry = token === null ? undefined : tokens.get(token)
    if (!entry) return error(401, 'invalid_token', 'unknown device token')
    if (clock.now() >= entry.expiresAt) return error(401, 'token_expired', 'the device token has expired')
    const device = devices.get(entry.deviceId)!
    if (device.revoked) return error(403, 'device_revoked', 'this device is revoked')
    return device
  }

  const enrol = async (req: TransportRequest): Promise<TransportResponse> => {
    const token = enrolmentTokens.get(bearer(req) ?? '')
    if (!token) return error(401, 'invalid_enrolment_token', 'unknown enrolment token')
    if (clock.now() >= token.expiresAt) return error(401, 'enrolment_token_expired', 'the token has expired')
    const body = parse(req.body) as {
      publicKey?: PublicJwk
      name?: string
      agent?: unknown
      timestamp?: number
      signature?: string
    } | null
    const key = body?.publicKey
    if (
      !body ||
      key?.kty !== 'EC' ||
      key.crv !== 'P-256' ||
      typeof key.x !== 'string' ||
      typeof key.y !== 'string' ||
      typeof body.timestamp !== 'number' ||
      typeof body.signature !== 'string'
    ) {
      return error(400, 'invalid_body', 'publicKey, timestamp and signature are required')
    }
    if (Math.abs(body.timestamp - clock.now()) > maxSkewMs) {
      return error(400, 'stale_timestamp', 'the timestamp is too far from the server time', {
        serverTime: clock.now(),
      })
    }
    const jwk: PublicJwk = { kty: 'EC', crv: 'P-256', x: key.x, y: key.y }
    const thumb = await thumbprint(jwk)
    if (!(await verify(jwk, enrolMessage(body.timestamp, thumb), body.signature))) {
      return error(400, 'invalid_signature', 'the signature does not verify')
    }
    const known = byThumbprint.get(thumb)
    if (known) {
      if (known.revoked) return error(403, 'device_revoked', 'this device is revoked')
      return json(200, answerOf(known))
    }
    if (token.used >= token.uses) return error(401, 'enrolment_token_used_up', 'the token has no uses left')
    token.used += 1
    const device: FakeDevice = {
      // As the real server does: the id comes from the key, so the same key always gets the same id.
      id: `dev-${thumb.slice(0, 22)}`,
      thumbprint: thumb,
      publicKey: jwk,
      name: typeof body.name === 'string' ? body.name : null,
      agent: body.agent ?? null,
      revoked: false,
      heartbeats: [],
      goodbyes: 0,
    }
    devices.set(device.id, device)
    byThumbprint.set(thumb, device)
    return json(201, answerOf(device))
  }

  const answerOf = (d: FakeDevice) => ({
    deviceId: d.id,
    name: d.name,
    labels: {},
    status: 'active',
    heartbeatIntervalMs,
  })

  const challenge = (req: TransportRequest): TransportResponse => {
    const body = parse(req.body) as { deviceId?: unknown } | null
    const device = typeof body?.deviceId === 'string' ? devices.get(body.deviceId) : undefined
    if (!device) return error(404, 'unknown_device', 'no such device')
    if (device.revoked) return error(403, 'device_revoked', 'this device is revoked')
    const value = randomId()
    const expiresAt = clock.now() + challengeTtlMs
    challenges.set(value, { deviceId: device.id, expiresAt })
    return json(200, { challenge: value, expiresAt })
  }

  const token = async (req: TransportRequest): Promise<TransportResponse> => {
    const body = parse(req.body) as { deviceId?: unknown; challenge?: unknown; signature?: unknown } | null
    if (typeof body?.deviceId !== 'string' || typeof body.challenge !== 'string') {
      return error(400, 'invalid_body', 'deviceId, challenge and signature are required')
    }
    const issued = challenges.get(body.challenge)
    challenges.delete(body.challenge) // single use, whatever happens next
    if (!issued || issued.deviceId !== body.deviceId || clock.now() > issued.expiresAt) {
      return error(401, 'invalid_challenge', 'unknown, used or expired challenge')
    }
    const device = devices.get(body.deviceId)!
    if (device.revoked) return error(403, 'device_revoked', 'this device is revoked')
    const signature = typeof body.signature === 'string' ? body.signature : ''
    if (!(await verify(device.publicKey, tokenMessage(device.id, body.challenge), signature))) {
      return error(401, 'invalid_signature', 'the signature does not verify')
    }
    const value = randomId()
    const expiresAt = clock.now() + tokenTtlMs
    tokens.set(value, { deviceId: device.id, expiresAt })
    return json(200, { token: value, expiresAt })
  }

  const ingest = (req: TransportRequest, device: FakeDevice): TransportResponse => {
    const body = req.body ?? ''
    const key = req.headers['idempotency-key']
    if (key !== undefined) {
      const seen = idempotency.get(key)
      if (seen) {
        if (seen.body !== body) return error(422, 'idempotency_key_reused', 'this key came with another body')
        return { ...seen.answer, headers: { ...seen.answer.headers, 'idempotent-replayed': 'true' } }
      }
    }
    if (body.length > bodyLimit) return error(413, 'payload_too_large', 'body too large')
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-ndjson')) {
      return error(415, 'unsupported_media_type', 'send NDJSON')
    }
    const accepted: StoredRecord[] = []
    const rejected: Array<{ line: number; reason: string }> = []
    body.split('\n').forEach((line, i) => {
      if (line.trim() === '') return
      const record = parse(line) as Record<string, unknown> | null
      if (!record || typeof record !== 'object' || Array.isArray(record)) {
        rejected.push({ line: i + 1, reason: 'not a JSON object' })
      } else if (record.deviceId !== undefined && record.deviceId !== device.id) {
        rejected.push({ line: i + 1, reason: 'a device writes only its own records' })
      } else if (typeof record.ts !== 'number') {
        rejected.push({ line: i + 1, reason: 'ts must be epoch ms' })
      } else {
        accepted.push({ ...record, deviceId: device.id, ts: record.ts })
      }
    })
    if (accepted.length === 0) {
      return error(400, 'invalid_body', 'nothing usable in the body', { rejected: rejected.slice(0, 100) })
    }
    records.push(...accepted)
    if (key !== undefined) batches.set(key, { deviceId: device.id, body, records: accepted.length })
    const answer = json(200, {
      accepted: accepted.length,
      rejectedCount: rejected.length,
      rejected: rejected.slice(0, 100),
      anomalyCount: 0,
      anomalies: [],
    })
    if (key !== undefined) idempotency.set(key, { body, answer })
    return answer
  }

  const heartbeat = (req: TransportRequest, device: FakeDevice): TransportResponse => {
    const body = parse(req.body) as Record<string, unknown> | null
    const numbers = ['uptimeMs', 'outboxDepth', 'outboxDropped']
    if (
      !body ||
      numbers.some((n) => typeof body[n] !== 'number') ||
      typeof body.agentVersion !== 'string' ||
      !(body.freeMemoryBytes === null || typeof body.freeMemoryBytes === 'number') ||
      !Array.isArray(body.apps)
    ) {
      return error(400, 'invalid_body', 'not a heartbeat')
    }
    device.heartbeats.push({ ...body, at: clock.now() })
    return json(200, {
      intervalMs: heartbeatIntervalMs,
      timeoutMs: heartbeatIntervalMs * 3,
      serverTime: clock.now(),
      status: 'active',
    })
  }

  /** One request, as if sent alone (relayed parts come through here too). */
  const handle = async (req: TransportRequest, relayed: boolean): Promise<TransportResponse> => {
    const entry: LogEntry = { at: clock.now(), method: req.method, path: req.path, status: 0, relayed }
    if (req.headers['idempotency-key']) entry.idempotencyKey = req.headers['idempotency-key']
    log.push(entry)
    const failure = failures.get(req.path)
    let res: TransportResponse
    if (failure && failure.remaining > 0) {
      failure.remaining -= 1
      res = error(failure.status, failure.code, 'injected failure', null, failure.headers)
    } else {
      res = await route(req, relayed, entry)
    }
    entry.status = res.status
    return res
  }

  const route = async (
    req: TransportRequest,
    relayed: boolean,
    entry: LogEntry,
  ): Promise<TransportResponse> => {
    if (req.method !== 'POST') return error(405, 'method_not_allowed', 'POST only')
    if (relayed && !['/v1/ingest', '/v1/device/heartbeat', '/v1/device/goodbye'].includes(req.path)) {
      return error(400, 'not_relayable', 'only ingest, heartbeat and goodbye are relayed')
    }
    switch (req.path) {
      case '/v1/device/enrol':
        return enrol(req)
      case '/v1/device/challenge':
        return challenge(req)
      case '/v1/device/token':
        return token(req)
      case '/v1/gateway/relay':
        return relay(req, entry)
    }
    const device = deviceOf(req)
    if (!('id' in device)) return device
    entry.deviceId = device.id
    switch (req.path) {
      case '/v1/ingest':
        return ingest(req, device)
      case '/v1/device/heartbeat':
        return heartbeat(req, device)
      case '/v1/device/goodbye':
        device.goodbyes += 1
        return { status: 204, headers: {}, body: '' }
    }
    return error(404, 'not_found', 'no such route')
  }

  const relay = async (req: TransportRequest, entry: LogEntry): Promise<TransportResponse> => {
    const body = parse(req.body) as { parts?: unknown } | null
    if (!body || !Array.isArray(body.parts)) return error(400, 'invalid_body', 'parts must be an array')
    if (body.parts.length > 1000) return error(400, 'too_many_parts', 'at most 1,000 parts')
    entry.parts = body.parts.length
    const answers: TransportResponse[] = []
    for (const part of body.parts as TransportRequest[]) {
      const headers: Record<string, string> = {}
      for (const [n, v] of Object.entries(part.headers ?? {})) headers[n.toLowerCase()] = String(v)
      answers.push(await handle({ method: part.method, path: part.path, headers, body: part.body }, true))
    }
    return json(200, { parts: answers })
  }

  const server: FakeServer = {
    online: true,
    async fetch(url, init) {
      if (init.signal?.aborted) throw init.signal.reason
      const { pathname, search } = new URL(url)
      const path = pathname + search
      const method = init.method ?? 'GET'
      if (!server.online) {
        log.push({ at: clock.now(), method, path, status: 'offline', relayed: false })
        throw new TypeError('fetch failed')
      }
      const headers: Record<string, string> = {}
      new Headers(init.headers).forEach((v, n) => {
        headers[n] = v
      })
      const body = typeof init.body === 'string' ? init.body : ''
      const res = await handle({ method, path, headers, body }, false)
      const losing = lose.get(path) ?? 0
      if (losing > 0) {
        lose.set(path, losing - 1)
        log.push({ at: clock.now(), method, path, status: 'lost', relayed: false })
        throw new TypeError('fetch failed (the answer was lost)')
      }
      return new Response(res.status === 204 ? null : res.body, {
        status: res.status,
        headers: { ...res.headers, date: new Date(clock.now()).toUTCString() },
      })
    },
    loseAnswers(path, n) {
      lose.set(path, n)
    },
    failNext(path, n, status, code, headers = {}) {
      failures.set(path, { remaining: n, status, code, headers })
    },
    revoke(deviceId) {
      const device = devices.get(deviceId)
      if (!device) throw new Error(`no device ${deviceId}`)
      device.revoked = true
    },
    expireTokens() {
      for (const t of tokens.values()) t.expiresAt = Math.min(t.expiresAt, clock.now())
    },
    forgetDevices() {
      devices.clear()
      byThumbprint.clear()
      tokens.clear()
      challenges.clear()
    },
    devices,
    records,
    batches,
    log,
    requests: (path, status) =>
      log.filter((e) => e.path === path && (status === undefined || e.status === status)),
    duplicates() {
      const seen = new Set<string>()
      return records.filter((r) => {
        const key = `${r.deviceId}\u0000${r.ts}`
        if (seen.has(key)) return true
        seen.add(key)
        return false
      })
    },
  }
  return server
}

function bearer(req: TransportRequest): string | null {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
  return m ? m[1]! : null
}

function parse(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '')
  } catch {
    return null
  }
}
