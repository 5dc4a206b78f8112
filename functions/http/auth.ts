// Bearer-token auth for /v1: the ingest token opens POST /v1/ingest, the admin token opens everything.
import type { MiddlewareHandler } from 'hono'
import { ApiError } from './errors.js'

export interface Tokens {
  ingest: string
  admin: string
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

export function bearerAuth(tokens: Tokens): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header)
    const given = match?.[1] ?? ''
    const isAdmin = safeEqual(given, tokens.admin)
    const isIngest = safeEqual(given, tokens.ingest)
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
