// Device credentials: a device that enrolled gets short-lived bearer tokens by signing single-use
// challenges with its private key. Tokens are stored hashed and checked on every request, so a
// revoked device is refused at once; a captured token works only until it expires.
import { ApiError } from '../../http/errors.js'
import type { Metrics } from '../../observability/metrics.js'
import type { DeviceIdentity, FleetStore } from '../../store/fleet-port.js'
import { randomToken, signed, tokenHash, verify } from './crypto.js'
import type { FleetOptions } from './options.js'

/** Device tokens carry this prefix, so other bearer tokens are never looked up. */
export const DEVICE_TOKEN_PREFIX = 'ewd_'

export type DeviceAuth =
  | { deviceId: string }
  | { refused: 'invalid_token' | 'token_expired' | 'device_revoked' }

/**
 * A token checked against the store this recently is trusted without asking again: a fleet sends a
 * request per device every second or so, and each would otherwise cost a hash and a lookup. A
 * revocation made through this process drops the device's tokens at once; one made by another
 * process on the same database takes effect here within this time.
 */
export const TOKEN_RECHECK_MS = 2000
const RECENT_TOKENS = 100_000

export class Credentials {
  private readonly recent = new Map<string, { deviceId: string; expiresAt: number; checkedAt: number }>()
  constructor(
    private readonly store: FleetStore,
    private readonly metrics: Metrics,
    private readonly now: () => number,
    private readonly options: FleetOptions,
  ) {}

  async challenge(deviceId: string): Promise<{ challenge: string; expiresAt: number }> {
    await this.identity(deviceId)
    const challenge = randomToken('')
    const expiresAt = this.now() + this.options.challengeTtlMs
    await this.store.addChallenge(challenge, deviceId, expiresAt)
    return { challenge, expiresAt }
  }

  /** A token for a device that signed one of its challenges. The challenge is used up, right or wrong. */
  async token(
    deviceId: string,
    challenge: string,
    signature: string,
  ): Promise<{ token: string; expiresAt: number; expiresInMs: number; serverTime: number }> {
    const identity = await this.identity(deviceId)
    const at = this.now()
    if (!(await this.store.takeChallenge(challenge, deviceId, at))) {
      this.metrics.deviceAuthRefused.inc({ reason: 'invalid_challenge' })
      throw new ApiError(
        401,
        'invalid_challenge',
        'this challenge is unknown, used or expired: ask for a new one',
      )
    }
    if (!(await verify(identity.publicKey, signed.token(deviceId, challenge), signature))) {
      this.metrics.deviceAuthRefused.inc({ reason: 'invalid_signature' })
      throw new ApiError(401, 'invalid_signature', "the signature does not match the device's key")
    }
    const token = randomToken(DEVICE_TOKEN_PREFIX)
    const expiresAt = at + this.options.deviceTokenTtlMs
    await this.store.addDeviceToken(await tokenHash(token), deviceId, expiresAt)
    return { token, expiresAt, expiresInMs: this.options.deviceTokenTtlMs, serverTime: at }
  }

  /** Who a device token belongs to, or why it is refused. */
  async authenticate(token: string): Promise<DeviceAuth> {
    const at = this.now()
    const seen = this.recent.get(token)
    if (seen && at - seen.checkedAt < TOKEN_RECHECK_MS && at < seen.expiresAt)
      return { deviceId: seen.deviceId }
    const found = await this.store.findDeviceToken(await tokenHash(token))
    const refused = !found
      ? 'invalid_token'
      : found.revoked
        ? 'device_revoked'
        : found.expiresAt <= at
          ? 'token_expired'
          : undefined
    this.recent.delete(token)
    if (refused) {
      this.metrics.deviceAuthRefused.inc({ reason: refused })
      return { refused }
    }
    this.recent.set(token, { deviceId: found!.deviceId, expiresAt: found!.expiresAt, checkedAt: at })
    if (this.recent.size > RECENT_TOKENS) this.recent.delete(this.recent.keys().next().value!)
    return { deviceId: found!.deviceId }
  }

  /** Forgets the device's tokens seen lately (it was revoked): its next request asks the store. */
  forget(deviceId: string): void {
    for (const [token, seen] of this.recent) if (seen.deviceId === deviceId) this.recent.delete(token)
  }

  private async identity(deviceId: string): Promise<DeviceIdentity> {
    const identity = await this.store.getIdentity(deviceId)
    if (!identity) throw new ApiError(404, 'unknown_device', `no enrolled device ${deviceId.slice(0, 128)}`)
    if (identity.revokedAt !== undefined) throw new ApiError(403, 'device_revoked', 'this device was revoked')
    return identity
  }
}
