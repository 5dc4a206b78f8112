// Bearer-token auth for /v1: an ingest token opens POST /v1/ingest, an admin token opens everything.
// Each role may have several tokens at once, so a token can be rotated without downtime: add the
// new one, move clients over, remove the old one.
import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from './env.js'
import { ApiError } from './errors.js'

export interface Tokens {
  ingest: string[]
  admin: string[]
}

/** Shorter tokens are refused at start: a guessable token is no protection. */
export const MIN_TOKEN_LENGTH = 16

export class TokenError extends Error {
  override name = 'TokenError'
}

/**
 * A role's tokens from a comma-separated list (surrounding blanks ignored). Throws TokenError,
 * naming `source` (where the list came from), when it is empty or a token is too short or holds a
 * blank or control character.
 */
export function parseTokens(list: string | undefined, source: string): string[] {
  const tokens = (list ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
  if (tokens.length === 0) throw new TokenError(`${source} is empty: set at least one token`)
  for (const t of tokens) {
    if (t.length < MIN_TOKEN_LENGTH)
      throw new TokenError(
        `${source}: a token is ${t.length} characters long; use at least ${MIN_TOKEN_LENGTH}`,
      )
    if (!/^[\x21-\x7e]+$/.test(t))
      throw new TokenError(`${source}: tokens must be visible ASCII characters without spaces or commas`)
  }
  return tokens
}

/** Checks tokens handed to the app directly (tests, embedders) by the same rules. */
export function checkTokens(tokens: Tokens): void {
  for (const role of ['ingest', 'admin'] as const) parseTokens(tokens[role].join(','), `the ${role} tokens`)
}

const encoder = new TextEncoder()

/** Compares in time that depends only on the expected token's length, not on where they differ. */
export function safeEqual(given: string, expected: string): boolean {
  const a = encoder.encode(given)
  const b = encoder.encode(expected)
  let diff = a.length ^ b.length
  for (let i = 0; i < b.length; i++) diff |= (a.length > 0 ? a[i % a.length]! : 0) ^ b[i]!
  return diff === 0
}

/** Whether `given` is one of `tokens`; every token is compared, so the time does not tell which. */
function isOneOf(given: string, tokens: string[]): boolean {
  let found = false
  for (const t of tokens) found = safeEqual(given, t) || found
  return found
}

/** Who a request speaks for. */
export type Principal = { role: 'admin' } | { role: 'ingest' } | { role: 'device'; deviceId: string }

/** Routes that authenticate their own way: an enrolment token, a signature, or each relayed part. */
const SELF_AUTHENTICATED = new Set([
  '/v1/device/enrol',
  '/v1/device/challenge',
  '/v1/device/token',
  '/v1/gateway/relay',
  // Influx line protocol: credentials as Influx clients send them (protocols/influx/credentials.ts).
  '/v1/write',
  // OTLP/HTTP: answers a refusal in OTLP's shape (protocols/otlp/export-routes.ts).
  '/v1/otlp/v1/logs',
  '/v1/otlp/v1/metrics',
])
/** Routes for a device's own token only: heartbeat, goodbye, and downloading the apps it is to run. */
const DEVICE_ROUTES = new Set(['/v1/device/heartbeat', '/v1/device/goodbye'])
const isDeviceRoute = (method: string, path: string) =>
  method === 'POST' ? DEVICE_ROUTES.has(path) : method === 'GET' && path.startsWith('/v1/device/apps/')

const REFUSALS: Record<'invalid_token' | 'token_expired' | 'device_revoked', [401 | 403, string]> = {
  invalid_token: [401, 'invalid token'],
  token_expired: [401, 'the device token has expired: sign a new challenge for another'],
  device_revoked: [403, 'this device was revoked'],
}

/**
 * Bearer tokens for /v1: an admin token opens everything but the device routes; an ingest token
 * opens POST /v1/ingest; a device token (looked up by `devices`) opens POST /v1/ingest, for its own
 * records only, and the device routes.
 */
export function bearerAuth(
  tokens: Tokens,
  devices: (token: string) => Promise<{ deviceId: string } | { refused: keyof typeof REFUSALS }>,
  devicePrefix: string,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const post = c.req.method === 'POST'
    if (post && SELF_AUTHENTICATED.has(c.req.path)) return next()
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header)
    const given = match?.[1] ?? ''
    const ingestRoute = post && c.req.path === '/v1/ingest'
    const deviceRoute = isDeviceRoute(c.req.method, c.req.path)
    const isAdmin = given !== '' && isOneOf(given, tokens.admin)
    const isIngest = given !== '' && isOneOf(given, tokens.ingest)
    if (!isAdmin && !isIngest && given.startsWith(devicePrefix)) {
      const device = await devices(given)
      if ('refused' in device) {
        const [status, message] = REFUSALS[device.refused]
        throw new ApiError(status, device.refused, message)
      }
      if (!ingestRoute && !deviceRoute)
        throw new ApiError(
          403,
          'forbidden',
          'a device token opens only POST /v1/ingest and the /v1/device routes',
        )
      c.set('principal', { role: 'device', deviceId: device.deviceId })
      return next()
    }
    if (deviceRoute) throw unauthorized(c, 'this route needs a device token (see POST /v1/device/token)')
    if (isAdmin) c.set('principal', { role: 'admin' })
    else if (isIngest && ingestRoute) c.set('principal', { role: 'ingest' })
    else
      throw unauthorized(
        c,
        !match
          ? 'missing bearer token: send Authorization: Bearer <token>'
          : isIngest
            ? 'the ingest token only opens POST /v1/ingest; this route needs the admin token'
            : 'invalid token',
      )
    return next()
  }
}

function unauthorized(c: Context, message: string): ApiError {
  c.header('WWW-Authenticate', 'Bearer realm="edgewatch"')
  return new ApiError(401, 'unauthorized', message)
}
