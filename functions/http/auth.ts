// Bearer-token auth for /v1: an ingest token opens POST /v1/ingest, an admin token opens everything.
// Each role may have several tokens at once, so a token can be rotated without downtime: add the
// new one, move clients over, remove the old one.
import type { MiddlewareHandler } from 'hono'
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

export function bearerAuth(tokens: Tokens): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header)
    const given = match?.[1] ?? ''
    const isAdmin = given !== '' && isOneOf(given, tokens.admin)
    const isIngest = given !== '' && isOneOf(given, tokens.ingest)
    const ingestRoute = c.req.method === 'POST' && c.req.path === '/v1/ingest'
    if (isAdmin || (isIngest && ingestRoute)) return next()
    const message = !match
      ? 'missing bearer token: send Authorization: Bearer <token>'
      : isIngest
        ? 'the ingest token only opens POST /v1/ingest; this route needs the admin token'
        : 'invalid token'
    c.header('WWW-Authenticate', 'Bearer realm="edgewatch"')
    throw new ApiError(401, 'unauthorized', message)
  }
}
