import { describe, expect, it } from 'vitest'
import { base64url, fromBase64url, utf8 } from './encoding.js'
import {
  enrolMessage,
  generateKeyPair,
  publicJwk,
  sign,
  thumbprint,
  tokenMessage,
  verify,
} from './identity.js'

describe('device key', () => {
  it('signs with raw r||s (64 bytes) in unpadded base64url, verifiable with WebCrypto', async () => {
    const keys = await generateKeyPair(false)
    const signature = await sign(keys.privateKey, 'edgewatch-token\ndev-1\nabc')
    expect(signature).toMatch(/^[A-Za-z0-9_-]{86}$/)
    const bytes = fromBase64url(signature)
    expect(bytes.length).toBe(64)
    const ok = await crypto.subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      keys.publicKey,
      bytes,
      utf8('edgewatch-token\ndev-1\nabc'),
    )
    expect(ok).toBe(true)
  })

  it('verify answers false for another message, another key, or a malformed signature', async () => {
    const keys = await generateKeyPair(false)
    const other = await generateKeyPair(false)
    const jwk = await publicJwk(keys.publicKey)
    const signature = await sign(keys.privateKey, 'm')
    expect(await verify(jwk, 'm', signature)).toBe(true)
    expect(await verify(jwk, 'n', signature)).toBe(false)
    expect(await verify(await publicJwk(other.publicKey), 'm', signature)).toBe(false)
    expect(await verify(jwk, 'm', 'not+base64')).toBe(false)
    expect(await verify(jwk, 'm', signature.slice(0, 40))).toBe(false)
  })

  it('a non-extractable private key cannot be exported; the public key always can', async () => {
    const keys = await generateKeyPair(false)
    await expect(crypto.subtle.exportKey('jwk', keys.privateKey)).rejects.toThrow()
    const jwk = await publicJwk(keys.publicKey)
    expect(Object.keys(jwk).sort()).toEqual(['crv', 'kty', 'x', 'y'])
  })

  it('thumbprint is RFC 7638: sha256 of the required members in lexicographic order', async () => {
    const jwk = await publicJwk((await generateKeyPair(false)).publicKey)
    const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
    const expected = base64url(await crypto.subtle.digest('SHA-256', utf8(canonical)))
    expect(await thumbprint(jwk)).toBe(expected)
    expect(await thumbprint(jwk)).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('the signed messages are the protocol strings', () => {
    expect(enrolMessage(1700000000000, 'T')).toBe('edgewatch-enrol\n1700000000000\nT')
    expect(tokenMessage('dev-1', 'C')).toBe('edgewatch-token\ndev-1\nC')
  })
})
