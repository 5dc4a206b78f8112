// One error shape for every route: { "error": { "code", "message", "details" } }.
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    /** Extra response headers, e.g. Retry-After on a 503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details: unknown }
}

export function errorBody(code: string, message: string, details: unknown = null): ErrorBody {
  return { error: { code, message, details } }
}

export function sendError(c: Context, e: ApiError): Response {
  return c.json(errorBody(e.code, e.message, e.details), e.status, e.headers)
}
