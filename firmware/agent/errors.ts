// Reading the server's answers: the one error shape `{"error": {"code", "message", "details"}}`, and
// the agent's own error values.
import type { TransportResponse } from './transport.js'

export interface ErrorValue {
  code: string
  message: string
  details: unknown
}

/** The error of an answer; an answer that is not the error shape gets `http_<status>`. */
export function errorOf(res: TransportResponse): ErrorValue {
  const fallback = { code: `http_${res.status}`, message: res.body.slice(0, 200), details: null }
  try {
    const parsed = JSON.parse(res.body) as { error?: Partial<ErrorValue> }
    const e = parsed?.error
    if (!e || typeof e.code !== 'string') return fallback
    return {
      code: e.code,
      message: typeof e.message === 'string' ? e.message : '',
      details: e.details ?? null,
    }
  } catch {
    return fallback
  }
}

/** A JSON answer body, or a ProtocolError saying the server broke the protocol. */
export function jsonOf<T>(res: TransportResponse): T {
  try {
    return JSON.parse(res.body) as T
  } catch {
    throw new ProtocolError(res.status, 'invalid_answer', 'the server answered a body that is not JSON', null)
  }
}

/** The server answered, but not with success. */
export class ProtocolError extends Error {
  override name = 'ProtocolError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
    /** From Retry-After, when the answer had one. */
    readonly retryAfter: string | undefined = undefined,
  ) {
    super(message)
  }

  static of(res: TransportResponse): ProtocolError {
    const e = errorOf(res)
    return new ProtocolError(res.status, e.code, e.message, e.details, res.headers['retry-after'])
  }
}

/** 403 device_revoked: the agent stops for good. */
export class RevokedError extends Error {
  override name = 'RevokedError'
}

export const isRevoked = (res: TransportResponse): boolean =>
  res.status === 403 && errorOf(res).code === 'device_revoked'

/** The agent was stopped while it waited or sent. */
export const isAbort = (e: unknown, signal: AbortSignal): boolean => signal.aborted && e === signal.reason
