import { describe, expect, it } from 'vitest'
import { base64url, fromBase64url, randomId, utf8 } from './encoding.js'

describe('base64url', () => {
  it('round-trips every byte value without padding', () => {
    const bytes = new Uint8Array(256).map((_, i) => i)
    const text = base64url(bytes)
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/)
    expect([...fromBase64url(text)]).toEqual([...bytes])
  })
  it('encodes text as UTF-8', () => {
    expect(base64url(utf8('é'))).toBe('w6k')
  })
  it('refuses what is not base64url', () => {
    expect(() => fromBase64url('a+b=')).toThrow()
    expect(() => fromBase64url('abcde')).toThrow()
  })
  it('makes 128-bit ids', () => {
    expect(randomId()).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(randomId()).not.toBe(randomId())
  })
})
