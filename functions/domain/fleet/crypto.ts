// The cryptography of device identity, with WebCrypto only (Node, workerd, browsers and Spin's JS
// engine all have it): ECDSA P-256 signatures over SHA-256 (raw r||s, base64url), RFC 7638 key
// thumbprints, random tokens, and hashes for storing tokens.
import { sha256Hex } from '../hash.js'

const encoder = new TextEncoder()

export function base64url(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Undefined when the text is not canonical base64url (no padding, no other characters). */
export function fromBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
    return base64url(bytes) === text ? bytes : undefined
  } catch {
    return undefined
  }
}

/** The public part of a P-256 JWK, checked: 32-byte coordinates; anything else is refused. */
export function publicJwk(value: unknown): { kty: 'EC'; crv: 'P-256'; x: string; y: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { kty, crv, x, y } = value as Record<string, unknown>
  if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string') return undefined
  if (fromBase64url(x)?.length !== 32 || fromBase64url(y)?.length !== 32) return undefined
  return { kty, crv, x, y }
}

/** RFC 7638: base64url(sha256 of the required members in lexicographic order, no spaces). */
export async function thumbprint(jwk: { crv: string; kty: string; x: string; y: string }): Promise<string> {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(canonical))))
}

/** Whether `signature` (raw r||s, base64url) is the key's ECDSA P-256/SHA-256 signature of `message`. */
export async function verify(jwk: JsonWebKey, message: string, signature: string): Promise<boolean> {
  const sig = fromBase64url(signature)
  if (sig?.length !== 64) return false
  try {
    const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'verify',
    ])
    const bytes = sig as Uint8Array<ArrayBuffer>
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, bytes, encoder.encode(message))
  } catch {
    return false
  }
}

/** A random token (32 bytes) with a prefix that says what it is. */
export function randomToken(prefix: string): string {
  return prefix + base64url(crypto.getRandomValues(new Uint8Array(32)))
}

/** How tokens are stored: their sha256, never the token itself. */
export function tokenHash(token: string): Promise<string> {
  return sha256Hex(encoder.encode(token))
}

/** What a device signs to enrol, and to get a token: fixed prefixes, so one can never pass for the other. */
export const signed = {
  enrol: (timestamp: number, keyThumbprint: string) => `edgewatch-enrol\n${timestamp}\n${keyThumbprint}`,
  token: (deviceId: string, challenge: string) => `edgewatch-token\n${deviceId}\n${challenge}`,
}
