// Who sends an Influx write, from wherever Influx clients put their credentials: `Authorization:
// Token <token>` (v2 clients, Telegraf's influxdb_v2 output; InfluxDB 1.8's `Token user:password`
// too), basic auth with the token as password (v1 clients, Telegraf's influxdb output), the `u`
// and `p` query parameters (InfluxDB 1.x), or edgewatch's own `Authorization: Bearer`. The token is
// the ingest token, the admin token, or a device token (which writes only that device's points).
import type { AppContext } from '../../app-context.js'
import { DEVICE_TOKEN_PREFIX } from '../../domain/fleet/credentials.js'
import { type Principal, safeEqual } from '../../http/auth.js'

/** The tokens a request offers, in the order looked at (at most two: a `user:password` pair's password, or the whole). */
export function offeredTokens(req: Request, query: URLSearchParams): string[] {
  const header = (req.headers.get('authorization') ?? '').trim()
  const scheme = /^(Token|Bearer|Basic)[ ]+(\S+)$/i.exec(header)
  if (scheme) {
    const [, name, value] = scheme as unknown as [string, string, string]
    if (name.toLowerCase() === 'basic') {
      const pair = decodeBasic(value)
      return pair === undefined ? [] : [passwordOf(pair)]
    }
    const colon = value.indexOf(':')
    return colon >= 0 && name.toLowerCase() === 'token' ? [value.slice(colon + 1), value] : [value]
  }
  const p = query.get('p')
  return p ? [p] : []
}

/** The principal a token is, `refused` with the reason, or undefined when it is no token at all. */
export async function principalOf(
  ctx: AppContext,
  tokens: string[],
): Promise<Principal | { refused: string; status: 401 | 403 } | undefined> {
  for (const token of tokens) {
    if (token.length === 0 || token.length > 512) continue
    if (isOneOf(token, ctx.tokens.admin)) return { role: 'admin' }
    if (isOneOf(token, ctx.tokens.ingest)) return { role: 'ingest' }
    if (token.startsWith(DEVICE_TOKEN_PREFIX)) {
      const device = await ctx.fleet.credentials.authenticate(token)
      if ('refused' in device)
        return {
          refused: device.refused === 'device_revoked' ? 'this device was revoked' : 'authorization failed',
          status: device.refused === 'device_revoked' ? 403 : 401,
        }
      return { role: 'device', deviceId: device.deviceId }
    }
  }
  return undefined
}

/** Compares with every token, so the time taken does not tell which one matched. */
function isOneOf(given: string, tokens: string[]): boolean {
  let found = false
  for (const t of tokens) found = safeEqual(given, t) || found
  return found
}

function decodeBasic(value: string): string | undefined {
  try {
    const binary = atob(value)
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0))
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

function passwordOf(pair: string): string {
  const colon = pair.indexOf(':')
  return colon >= 0 ? pair.slice(colon + 1) : pair
}
