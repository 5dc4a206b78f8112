// Enrolment: an admin makes an enrolment token (shown once, stored hashed); a device proves it holds
// a private key by signing its enrolment with it, and gets an id derived from its public key. The
// same key enrolling again gets the same device back and uses nothing: a replayed enrolment within
// the timestamp window gains an attacker nothing, since every later step needs the private key.
import { ApiError } from '../../http/errors.js'
import type { Metrics } from '../../observability/metrics.js'
import { EnrolmentRefusedError, type EnrolmentToken, type FleetStore } from '../../store/fleet-port.js'
import { publicJwk, randomToken, signed, thumbprint, tokenHash, verify } from './crypto.js'
import type { FleetOptions } from './options.js'

export interface EnrolRequest {
  publicKey: unknown
  name?: string | undefined
  agent?: { version?: string | undefined; platform?: string | undefined } | undefined
  timestamp: number
  signature: string
}

export interface EnrolAnswer {
  created: boolean
  deviceId: string
  name: string | undefined
  labels: Record<string, string>
}

const refused = (code: string, message: string) => new ApiError(401, code, message)

export class Enrolments {
  constructor(
    private readonly store: FleetStore,
    private readonly metrics: Metrics,
    private readonly now: () => number,
    private readonly options: FleetOptions,
  ) {}

  async createToken(input: {
    labels: Record<string, string>
    maxUses: number
    expiresInMs: number
  }): Promise<{ token: string; record: EnrolmentToken }> {
    const at = this.now()
    const token = randomToken('ewe_')
    const record: EnrolmentToken = {
      // Prefixed like app_ and dep_ ids: a bare base64url id can start with `-`, which a command line
      // reads as an option (`edgewatch fleet tokens revoke -x…`).
      id: randomToken('tok_').slice(0, 20),
      labels: input.labels,
      maxUses: input.maxUses,
      uses: 0,
      expiresAt: at + input.expiresInMs,
      createdAt: at,
      revokedAt: undefined,
    }
    await this.store.createEnrolmentToken(record, await tokenHash(token))
    return { token, record }
  }

  async enrol(enrolmentToken: string, request: EnrolRequest): Promise<EnrolAnswer> {
    const at = this.now()
    const token = await this.store.findEnrolmentToken(await tokenHash(enrolmentToken))
    if (!token) throw refused('invalid_enrolment_token', 'this enrolment token is not known')
    const jwk = publicJwk(request.publicKey)
    if (!jwk)
      throw new ApiError(400, 'invalid_public_key', 'publicKey must be an EC P-256 JWK (kty, crv, x, y)')
    if (Math.abs(at - request.timestamp) > this.options.enrolWindowMs)
      throw new ApiError(400, 'stale_timestamp', 'the enrolment timestamp is too far from the server clock', {
        serverTime: at,
      })
    const thumb = await thumbprint(jwk)
    if (!(await verify(jwk, signed.enrol(request.timestamp, thumb), request.signature)))
      throw new ApiError(400, 'invalid_signature', 'the signature does not match the public key')
    // A key already enrolled gets its device back whatever its token's state since (a device that
    // crashed before saving its id must not be locked out): the signature proved it holds the key.
    const existing = await this.store.findByThumbprint(thumb)
    if (existing?.revokedAt !== undefined)
      throw new ApiError(403, 'device_revoked', 'this device was revoked')
    if (existing)
      return { created: false, deviceId: existing.deviceId, name: request.name, labels: token.labels }
    this.usable(token, at, true)
    const deviceId = `dev-${thumb.slice(0, 22)}`
    try {
      await this.store.enrol({
        deviceId,
        publicKey: jwk,
        thumbprint: thumb,
        name: request.name,
        labels: token.labels,
        agentVersion: request.agent?.version,
        tokenId: token.id,
        at,
      })
    } catch (e) {
      if (!(e instanceof EnrolmentRefusedError)) throw e
      // Another enrolment took the last use (or the token was revoked) meanwhile: say which.
      const now = await this.store.findEnrolmentToken(await tokenHash(enrolmentToken))
      if (now) this.usable(now, at, true)
      throw refused('enrolment_token_used_up', e.message)
    }
    this.metrics.enrolments.inc()
    return { created: true, deviceId, name: request.name, labels: token.labels }
  }

  /** Throws the refusal a token gets: revoked, expired, or (when a use is needed) used up. */
  private usable(token: EnrolmentToken, at: number, needsUse: boolean): void {
    if (token.revokedAt !== undefined)
      throw refused('enrolment_token_revoked', 'this enrolment token was revoked')
    if (token.expiresAt <= at) throw refused('enrolment_token_expired', 'this enrolment token has expired')
    if (needsUse && token.uses >= token.maxUses)
      throw refused(
        'enrolment_token_used_up',
        `this enrolment token was used ${token.uses} times, its maximum`,
      )
  }
}
