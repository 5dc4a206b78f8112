// A minimal device for tests: a P-256 key pair and the protocol's steps (enrol, challenge, token,
// heartbeat, ingest, goodbye), written from the protocol's description, over any `request`
// function (the in-process app, or fetch against a running runtime).
import { base64url, signed, thumbprint } from '../functions/domain/fleet/crypto.js'

export type Requester = (path: string, init: RequestInit) => Promise<Response>

const encoder = new TextEncoder()

export interface TestDevice {
  deviceId: string
  token: string
  sign(message: string): Promise<string>
  enrolBody(timestamp?: number): Promise<Record<string, unknown>>
  enrol(enrolmentToken: string): Promise<Response>
  challenge(): Promise<string>
  login(): Promise<Response>
  heartbeat(body?: Record<string, unknown>): Promise<Response>
  ingest(lines: object[], key?: string): Promise<Response>
  goodbye(): Promise<Response>
}

export async function testDevice(request: Requester, now: () => number = Date.now): Promise<TestDevice> {
  const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const jwk = await crypto.subtle.exportKey('jwk', keys.publicKey)
  const publicKey = { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! }
  const thumb = await thumbprint(publicKey)
  const json = (body: unknown, token?: string, headers: Record<string, string> = {}): RequestInit => ({
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const d: TestDevice = {
    deviceId: '',
    token: '',
    sign: async (message) =>
      base64url(
        new Uint8Array(
          await crypto.subtle.sign(
            { name: 'ECDSA', hash: 'SHA-256' },
            keys.privateKey,
            encoder.encode(message),
          ),
        ),
      ),
    enrolBody: async (timestamp = now()) => ({
      publicKey,
      name: 'pump-7',
      agent: { version: '0.1.0', platform: 'test' },
      timestamp,
      signature: await d.sign(signed.enrol(timestamp, thumb)),
    }),
    async enrol(enrolmentToken) {
      const res = await request('/v1/device/enrol', json(await d.enrolBody(), enrolmentToken))
      if (res.ok) d.deviceId = ((await res.clone().json()) as { deviceId: string }).deviceId
      return res
    },
    async challenge() {
      const res = await request('/v1/device/challenge', json({ deviceId: d.deviceId }))
      return ((await res.json()) as { challenge: string }).challenge
    },
    async login() {
      const challenge = await d.challenge()
      const signature = await d.sign(signed.token(d.deviceId, challenge))
      const res = await request('/v1/device/token', json({ deviceId: d.deviceId, challenge, signature }))
      if (res.ok) d.token = ((await res.clone().json()) as { token: string }).token
      return res
    },
    heartbeat: (body = { uptimeMs: 1000, agentVersion: '0.1.0' }) =>
      request('/v1/device/heartbeat', json(body, d.token)),
    ingest: (lines, key) =>
      request(
        '/v1/ingest',
        json(lines.map((l) => JSON.stringify(l)).join('\n'), d.token, {
          'Content-Type': 'application/x-ndjson',
          ...(key ? { 'Idempotency-Key': key } : {}),
        }),
      ),
    goodbye: () => request('/v1/device/goodbye', json('', d.token)),
  }
  return d
}
