// Which device a device token belongs to, for routing only: the front door sends a device's own
// requests (its ingest, heartbeats, goodbye) to the shard that owns its state. The shard checks the
// token in full (expiry, revocation) as it always did; a token never changes owner, so what was
// found once is kept for as long as the isolate lives, and a wrong or unknown token is not kept
// (it goes to shard 0, which refuses it).
import { DEVICE_TOKEN_PREFIX } from '../domain/fleet/credentials.js'
import { tokenHash } from '../domain/fleet/crypto.js'
import type { FleetStore } from '../store/fleet-port.js'

/** Tokens remembered per isolate (oldest forgotten first): a fleet's live tokens, bounded. */
const REMEMBERED = 100_000

export class DeviceTokens {
  private readonly known = new Map<string, string>()

  constructor(private readonly store: Pick<FleetStore, 'findDeviceToken'>) {}

  /** The token's device, or undefined when it is no device token the store knows. */
  async deviceOf(token: string | undefined): Promise<string | undefined> {
    if (token === undefined || !token.startsWith(DEVICE_TOKEN_PREFIX)) return undefined
    const known = this.known.get(token)
    if (known !== undefined) return known
    let found: { deviceId: string } | undefined
    try {
      found = await this.store.findDeviceToken(await tokenHash(token))
    } catch {
      return undefined // the schema may not exist yet; shard 0 answers, as one object would
    }
    if (!found) return undefined
    this.known.set(token, found.deviceId)
    if (this.known.size > REMEMBERED) this.known.delete(this.known.keys().next().value!)
    return found.deviceId
  }
}

/** The bearer token of a request, as the app's auth reads it. */
export function bearerToken(request: Request): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '')
  return match?.[1]
}
