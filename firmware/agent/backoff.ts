// Retry delays: "full jitter" exponential backoff (a uniform draw in [0, min(cap, base * 2^attempt)]),
// so that many devices that lost the network together do not come back together; a server's
// Retry-After is a floor that the jitter is added to, for the same reason.

export interface BackoffPolicy {
  baseMs: number
  capMs: number
  /** The longest Retry-After obeyed: a larger one (or a date far ahead) is cut to this. */
  maxRetryAfterMs: number
  /** Uniform in [0, 1). */
  random: () => number
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  baseMs: 500,
  capMs: 30_000,
  maxRetryAfterMs: 300_000,
  random: Math.random,
}

/** The ceiling of the draw for a 0-based attempt. */
export function backoffCeiling(attempt: number, policy: BackoffPolicy): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 52))
}

export function fullJitter(attempt: number, policy: BackoffPolicy): number {
  return Math.floor(policy.random() * backoffCeiling(attempt, policy))
}

/** Retry-After as delay-seconds or an HTTP date, in ms from `nowMs`; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const date = Date.parse(text)
  if (Number.isNaN(date)) return null
  return Math.max(0, date - nowMs)
}

/** The wait before retry number `attempt` (0-based): Retry-After (capped) plus full jitter. */
export function retryDelay(
  attempt: number,
  retryAfter: string | undefined,
  nowMs: number,
  policy: BackoffPolicy,
): number {
  const floor = parseRetryAfter(retryAfter, nowMs)
  const jitter = fullJitter(attempt, policy)
  return floor === null ? jitter : Math.min(floor, policy.maxRetryAfterMs) + jitter
}
