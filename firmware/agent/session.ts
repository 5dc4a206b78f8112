// The device's standing with the server: its identity (loaded or created once), its enrolment, and a
// device token obtained by signing a single-use challenge. `call` sends a request with a valid token:
// it authenticates when there is none (one authentication at a time, shared by all callers), and
// when the server answers 401 invalid_token or token_expired it authenticates again and retries once.
// 403 device_revoked from any call becomes a RevokedError. A server that answers unknown_device (its
// fleet data was reset) gets the same key enrolled again, with the enrolment token the agent still has.
import { errorOf, isRevoked, jsonOf, ProtocolError, RevokedError } from './errors.js'
import {
  enrolMessage,
  generateKeyPair,
  type PublicJwk,
  publicJwk,
  sign,
  thumbprint,
  tokenMessage,
} from './identity.js'
import type { Clock, Identity, IdentityStore } from './ports.js'
import type { Transport, TransportRequest, TransportResponse } from './transport.js'

const TOKEN_CODES = new Set(['invalid_token', 'token_expired'])
/** A token lifetime outside (0, this] is not believed (device clock far off): refresh only on 401. */
const MAX_BELIEVED_TOKEN_LIFETIME_MS = 24 * 3600_000
/** Clock offset samples kept (heartbeats): the one with the shortest round trip is used. */
const OFFSET_SAMPLES = 8

export interface SessionOptions {
  transport: Transport
  clock: Clock
  identityStore: IdentityStore
  enrolmentToken: string
  name?: string
  agentVersion: string
  platform: string
  /** Authenticate again this long before the token expires (at most a fifth of its lifetime). */
  refreshMarginMs?: number
}

export interface Enrolment {
  deviceId: string
  name: string | null
  labels: Record<string, string>
  status: string
  heartbeatIntervalMs: number | null
  /** 201: enrolled now; 200: this key was already enrolled. */
  created: boolean
}

interface DeviceToken {
  value: string
  /** Device clock time after which it is refreshed before use. */
  refreshAt: number
}

export class Session {
  private identity: Identity | null = null
  private jwk: PublicJwk | null = null
  private token: DeviceToken | null = null
  private authenticating: Promise<string> | null = null
  /** Server time minus device time, learned from heartbeats (precise) or Date headers (coarse). */
  private offsetMs = 0
  private preciseOffset = false
  private readonly samples: Array<{ offset: number; rtt: number }> = []
  /** From the enrolment answer, when this run enrolled. */
  heartbeatIntervalMs: number | null = null
  onAuthenticated: (expiresAt: number) => void = () => {}
  /** Called when the server had forgotten the device and it enrolled again. */
  onReenrolled: () => void = () => {}

  constructor(private readonly o: SessionOptions) {}

  get deviceId(): string | null {
    return this.identity?.deviceId ?? null
  }

  get clockOffsetMs(): number {
    return this.offsetMs
  }

  /** The server's time as best known. */
  serverNow(): number {
    return this.o.clock.now() + this.offsetMs
  }

  /** Loads the identity, or creates and saves one (before enrolling, so a crash cannot orphan a key). */
  async load(): Promise<Identity> {
    let identity = await this.o.identityStore.loadIdentity()
    if (!identity) {
      identity = { keyPair: await generateKeyPair(this.o.identityStore.extractableKeys), deviceId: null }
      await this.o.identityStore.saveIdentity(identity)
    }
    this.identity = identity
    this.jwk = await publicJwk(identity.keyPair.publicKey)
    return identity
  }

  async thumbprint(): Promise<string> {
    return thumbprint(this.requireJwk())
  }

  /**
   * A server time measured around a request (heartbeat serverTime). As NTP does, the offset comes from
   * the round trip's midpoint, and of the last few samples the one with the shortest round trip wins:
   * its error is at most half that round trip.
   */
  learnServerTime(serverTime: number, sentAt: number, receivedAt: number): void {
    if (!Number.isFinite(serverTime)) return
    this.samples.push({
      offset: Math.round(serverTime - (sentAt + receivedAt) / 2),
      rtt: receivedAt - sentAt,
    })
    if (this.samples.length > OFFSET_SAMPLES) this.samples.shift()
    this.offsetMs = this.samples.reduce((best, s) => (s.rtt < best.rtt ? s : best)).offset
    this.preciseOffset = true
  }

  /** Enrols the identity's key; saves the deviceId with it. Throws ProtocolError, RevokedError, TransportError. */
  async enrol(signal?: AbortSignal): Promise<Enrolment> {
    const identity = this.requireIdentity()
    const keyThumbprint = await this.thumbprint()
    for (let attempt = 0; ; attempt++) {
      const timestamp = Math.round(this.serverNow())
      const body = {
        publicKey: this.requireJwk(),
        ...(this.o.name === undefined ? {} : { name: this.o.name }),
        agent: { version: this.o.agentVersion, platform: this.o.platform },
        timestamp,
        signature: await sign(identity.keyPair.privateKey, enrolMessage(timestamp, keyThumbprint)),
      }
      const res = await this.send(
        {
          method: 'POST',
          path: '/v1/device/enrol',
          headers: { authorization: `Bearer ${this.o.enrolmentToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        },
        signal,
      )
      if (res.status === 200 || res.status === 201) {
        const answer = jsonOf<Partial<Enrolment>>(res)
        if (typeof answer.deviceId !== 'string' || answer.deviceId === '') {
          throw new ProtocolError(
            res.status,
            'invalid_answer',
            'the enrolment answer has no deviceId',
            answer,
          )
        }
        this.identity = { ...identity, deviceId: answer.deviceId }
        await this.o.identityStore.saveIdentity(this.identity)
        const interval = answer.heartbeatIntervalMs
        this.heartbeatIntervalMs = typeof interval === 'number' && interval > 0 ? interval : null
        return {
          deviceId: answer.deviceId,
          name: typeof answer.name === 'string' ? answer.name : null,
          labels: answer.labels ?? {},
          status: typeof answer.status === 'string' ? answer.status : 'active',
          heartbeatIntervalMs: this.heartbeatIntervalMs,
          created: res.status === 201,
        }
      }
      if (isRevoked(res)) throw new RevokedError('this device key is revoked')
      const error = ProtocolError.of(res)
      // A device clock far off: the server's time (details.serverTime or the Date header) corrects it once.
      if (error.code === 'stale_timestamp' && attempt === 0) {
        const serverTime = (error.details as { serverTime?: unknown } | null)?.serverTime
        if (typeof serverTime === 'number') this.offsetMs = serverTime - this.o.clock.now()
        if (Math.abs(this.serverNow() - timestamp) > 1000) continue
      }
      throw error
    }
  }

  /**
   * Sends `request` with the device token. Answers whatever the server answered, except 403
   * device_revoked (RevokedError). Throws TransportError, and ProtocolError when authentication fails.
   */
  async call(request: TransportRequest, signal?: AbortSignal): Promise<TransportResponse> {
    const token = await this.validToken(signal)
    let res = await this.send(withToken(request, token), signal)
    if (res.status === 401 && TOKEN_CODES.has(errorOf(res).code)) {
      if (this.token?.value === token) this.token = null
      res = await this.send(withToken(request, await this.validToken(signal)), signal)
    }
    if (isRevoked(res)) throw new RevokedError('the server revoked this device')
    return res
  }

  /** Resolves once there is a valid token (authenticating if needed), e.g. before timing a round trip. */
  async ready(signal?: AbortSignal): Promise<void> {
    await this.validToken(signal)
  }

  /** Forget the token (the next call authenticates). */
  dropToken(): void {
    this.token = null
  }

  private async validToken(signal?: AbortSignal): Promise<string> {
    if (this.token && this.o.clock.now() < this.token.refreshAt) return this.token.value
    this.authenticating ??= this.authenticate(signal).finally(() => {
      this.authenticating = null
    })
    return this.authenticating
  }

  private async authenticate(signal?: AbortSignal, reenrolled = false): Promise<string> {
    const identity = this.requireIdentity()
    const deviceId = identity.deviceId
    if (!deviceId) throw new Error('the device is not enrolled')
    const challengeRes = await this.post('/v1/device/challenge', { deviceId }, signal)
    if (challengeRes.status === 404 && errorOf(challengeRes).code === 'unknown_device' && !reenrolled) {
      // The server no longer knows this device (its fleet data was reset): enrol the same key again.
      await this.enrol(signal)
      this.onReenrolled()
      return this.authenticate(signal, true)
    }
    if (challengeRes.status !== 200) throw this.failure(challengeRes)
    const { challenge } = jsonOf<{ challenge?: unknown }>(challengeRes)
    if (typeof challenge !== 'string') {
      throw new ProtocolError(200, 'invalid_answer', 'the challenge answer has no challenge', null)
    }
    const signature = await sign(identity.keyPair.privateKey, tokenMessage(deviceId, challenge))
    const tokenRes = await this.post('/v1/device/token', { deviceId, challenge, signature }, signal)
    if (tokenRes.status !== 200) throw this.failure(tokenRes)
    const { token, expiresAt } = jsonOf<{ token?: unknown; expiresAt?: unknown }>(tokenRes)
    if (typeof token !== 'string' || token === '') {
      throw new ProtocolError(200, 'invalid_answer', 'the token answer has no token', null)
    }
    const now = this.o.clock.now()
    const lifetime = typeof expiresAt === 'number' ? expiresAt - this.serverNow() : Number.NaN
    const believed = lifetime > 0 && lifetime <= MAX_BELIEVED_TOKEN_LIFETIME_MS
    const margin = Math.min(this.o.refreshMarginMs ?? 60_000, lifetime / 5)
    this.token = { value: token, refreshAt: believed ? now + lifetime - margin : Number.POSITIVE_INFINITY }
    this.onAuthenticated(typeof expiresAt === 'number' ? expiresAt : Number.NaN)
    return token
  }

  private failure(res: TransportResponse): Error {
    return isRevoked(res) ? new RevokedError('the server revoked this device') : ProtocolError.of(res)
  }

  private post(path: string, body: unknown, signal?: AbortSignal): Promise<TransportResponse> {
    const headers = { 'content-type': 'application/json' }
    return this.send({ method: 'POST', path, headers, body: JSON.stringify(body) }, signal)
  }

  /** Every answer's Date header corrects the clock offset coarsely until a heartbeat gives a precise one. */
  private async send(request: TransportRequest, signal?: AbortSignal): Promise<TransportResponse> {
    const res = await this.o.transport.send(request, signal)
    const date = res.headers.date
    if (!this.preciseOffset && date) {
      const serverTime = Date.parse(date)
      if (!Number.isNaN(serverTime)) {
        // The header has whole seconds: move only when off by more than that.
        const coarse = serverTime + 500 - this.o.clock.now()
        if (Math.abs(coarse - this.offsetMs) > 1500) this.offsetMs = coarse
      }
    }
    return res
  }

  private requireIdentity(): Identity {
    if (!this.identity) throw new Error('Session.load() first')
    return this.identity
  }

  private requireJwk(): PublicJwk {
    if (!this.jwk) throw new Error('Session.load() first')
    return this.jwk
  }
}

function withToken(request: TransportRequest, token: string): TransportRequest {
  return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } }
}
