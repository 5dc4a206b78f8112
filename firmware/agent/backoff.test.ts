import { describe, expect, it } from 'vitest'
import { backoffCeiling, DEFAULT_BACKOFF, fullJitter, parseRetryAfter, retryDelay } from './backoff.js'
import { seededRandom } from './testing/random.js'

const policy = { ...DEFAULT_BACKOFF, random: seededRandom(7) }

describe('full jitter backoff', () => {
  it('draws uniformly in [0, min(cap, base * 2^attempt)) and never passes the cap', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = Math.min(30_000, 500 * 2 ** attempt)
      expect(backoffCeiling(attempt, policy)).toBe(ceiling)
      const draws = Array.from({ length: 400 }, () => fullJitter(attempt, policy))
      expect(Math.min(...draws)).toBeGreaterThanOrEqual(0)
      expect(Math.max(...draws)).toBeLessThan(ceiling)
      // Full jitter spreads over the whole range, not around the ceiling.
      expect(Math.min(...draws)).toBeLessThan(ceiling * 0.05)
      expect(Math.max(...draws)).toBeGreaterThan(ceiling * 0.95)
    }
  })

  it('the extremes of the draw: 0 and just under the ceiling', () => {
    expect(fullJitter(3, { ...policy, random: () => 0 })).toBe(0)
    expect(fullJitter(3, { ...policy, random: () => 0.999999 })).toBe(3999)
    expect(fullJitter(1000, { ...policy, random: () => 0.999999 })).toBe(29_999)
  })

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0)
    expect(parseRetryAfter('7', now)).toBe(7000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
    expect(parseRetryAfter(new Date(now + 12_000).toUTCString(), now)).toBe(12_000)
    expect(parseRetryAfter(new Date(now - 12_000).toUTCString(), now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeNull()
    expect(parseRetryAfter(undefined, now)).toBeNull()
  })

  it('honours Retry-After as a floor and adds the jitter on top; a huge one is cut', () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const delay = retryDelay(attempt, '7', 0, policy)
      expect(delay).toBeGreaterThanOrEqual(7000)
      expect(delay).toBeLessThan(7000 + backoffCeiling(attempt, policy))
    }
    expect(retryDelay(0, '86400', 0, { ...policy, random: () => 0 })).toBe(300_000)
  })
})
